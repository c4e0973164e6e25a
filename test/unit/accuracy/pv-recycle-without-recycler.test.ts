// Reclaim policy Recycle wipes a PV's data only where kube-controller-manager has a recycler for its source: the
// in-tree hostPath and NFS volume plugins are the only RecyclableVolumePlugins. For any other source (CSI, local,
// iSCSI, ...) recycleVolumeOperation (pkg/controller/volume/persistentvolume/pv_controller.go) finds none, marks the PV
// Failed with the event VolumeFailedRecycle "No recycler plugin found for the volume!" and retries at every sync: the
// data stays on the volume. Seen on the harness's kube-controller-manager 1.36: a CSI PV under Recycle whose claim was
// deleted ends Failed with that event. So deleting such a claim, its namespace or its StatefulSet, or turning a
// Released CSI PV to Recycle, loses nothing and is not refused; Helm dropping such a claim is a warning, as under Retain.
import { afterAll, describe, expect, it } from 'vitest';
import type { AdmissionRequest, Decision, UserInfo } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { PersistentVolumeRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { csiPV, hostPathPV, namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseSecret, type ReleaseFixture } from '../helm/helm-fixtures.ts';

const config = defaultConfig();
const validator = pvcDeleteValidator(config);
const helm = helmReleaseValidator(config);
afterAll(() => helm.close?.());

const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const NS = 'shop';
const HELM = { 'meta.helm.sh/release-name': 'app', 'meta.helm.sh/release-namespace': NS };

/** The sources a claim's PV may have, each under reclaim Recycle. */
const SOURCES: Readonly<Record<string, (fields: Partial<PersistentVolumeRecord>) => PersistentVolumeRecord>> = {
  csi: (fields) => csiPV('ebs.csi.aws.com', fields),
  local: (fields) => pv({ source: 'local', driver: '', storageClassName: 'local-storage', ...fields }),
  nfs: (fields) => pv({ source: 'nfs', driver: '', storageClassName: 'nfs', ...fields }),
  hostPath: (fields) => hostPathPV({ pinnedNode: '', ...fields }),
};

/** shop/data Bound to PV pv-data of this source under Recycle, owned by StatefulSet shop/db (whenDeleted: Delete). */
function model(source: string, annotations: Record<string, string> = {}): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: NS }));
  m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'uid-db' }));
  m.upsert('persistentVolume', SOURCES[source]!({ name: 'pv-data', claimNamespace: NS, claimName: 'data', reclaimPolicy: 'Recycle' }));
  m.upsert(
    'persistentVolumeClaim',
    pvc({ namespace: NS, name: 'data', volumeName: 'pv-data', annotations, ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 'uid-db' }] }),
  );
  return m;
}

function deleteOf(resource: 'persistentvolumeclaims' | 'namespaces' | 'statefulsets'): AdmissionRequest {
  const kinds = {
    persistentvolumeclaims: { group: '', kind: 'PersistentVolumeClaim', name: 'data', namespace: NS },
    namespaces: { group: '', kind: 'Namespace', name: NS, namespace: '' },
    statefulsets: { group: 'apps', kind: 'StatefulSet', name: 'db', namespace: NS },
  } as const;
  const { group, kind, name, namespace: ns } = kinds[resource];
  const metadata = { name, ...(ns ? { namespace: ns } : {}), uid: resource === 'statefulsets' ? 'uid-db' : `uid-${name}` };
  const oldObject =
    resource === 'persistentvolumeclaims'
      ? { apiVersion: 'v1', kind, metadata, spec: { volumeName: 'pv-data' }, status: { phase: 'Bound' } }
      : resource === 'statefulsets'
        ? { apiVersion: 'apps/v1', kind, metadata, spec: { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete' } } }
        : { apiVersion: 'v1', kind, metadata };
  return request({
    kind: { group, version: 'v1', kind },
    resource: { group, version: 'v1', resource },
    operation: 'DELETE',
    ...(ns ? { namespace: ns } : {}),
    name,
    userInfo: ARGO,
    oldObject,
    options: { apiVersion: 'meta.k8s.io/v1', kind: 'DeleteOptions', propagationPolicy: 'Background' },
  });
}

/** A PV UPDATE turning a Released PV (its claim gone) from Retain to Recycle; `source` is its volume source. */
function recycleChange(source: Record<string, unknown>): AdmissionRequest {
  const object = (policy: string) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: 'pv-old' },
    spec: { persistentVolumeReclaimPolicy: policy, claimRef: { namespace: NS, name: 'gone', uid: 'uid-gone' }, ...source },
    status: { phase: 'Released' },
  });
  return request({
    kind: { group: '', version: 'v1', kind: 'PersistentVolume' },
    resource: { group: '', version: 'v1', resource: 'persistentvolumes' },
    operation: 'UPDATE',
    name: 'pv-old',
    userInfo: ARGO,
    object: object('Recycle'),
    oldObject: object('Retain'),
  });
}

const CM_DOC = `---
# Source: app/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: shop
data:
  a: b
`;

/** Revision 2 of release shop/app, no longer declaring its PVC shop/data. */
function upgrade(): AdmissionRequest {
  const fixture: ReleaseFixture = { name: 'app', namespace: NS, version: 2, status: 'pending-upgrade', manifest: CM_DOC, chartName: 'app' };
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: NS,
    name: 'sh.helm.release.v1.app.v2',
    userInfo: ADMIN,
    object: releaseSecret(fixture),
  });
}

const said = (decision: Decision): string => [decision.status?.message ?? '', ...(decision.warnings ?? [])].join('\n').replace(/\n {2}/g, ' ');

describe('pvc-delete: reclaim policy Recycle on a volume no recycler serves keeps the data', () => {
  for (const resource of ['persistentvolumeclaims', 'namespaces', 'statefulsets'] as const) {
    it(`a ${resource} DELETE by automation: refused for an NFS or hostPath PV, allowed for a CSI or local one`, () => {
      for (const source of ['nfs', 'hostPath']) {
        const decision = validator.handle(deleteOf(resource), context(model(source)));
        expect(decision.allowed, `${source}: ${said(decision)}`).toBe(false);
        expect(decision.status?.message).toContain('reclaim policy Recycle wipes the data');
      }
      for (const source of ['csi', 'local']) {
        const decision = validator.handle(deleteOf(resource), context(model(source)));
        expect(decision.allowed, `${source}: ${said(decision)}`).toBe(true);
      }
    });
  }

  it('a Released PV turned to Recycle: refused for NFS and hostPath, allowed for CSI and local', () => {
    for (const source of [{ nfs: { server: 'nfs.example', path: '/export/a' } }, { hostPath: { path: '/srv/a' } }]) {
      const decision = validator.handle(recycleChange(source), context(model('csi')));
      expect(decision.allowed, said(decision)).toBe(false);
      expect(decision.status?.message).toContain('reclaim policy Retain → Recycle');
    }
    for (const source of [{ csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-1' } }, { local: { path: '/mnt/disks/a' } }]) {
      const decision = validator.handle(recycleChange(source), context(model('csi')));
      expect(decision.allowed, said(decision)).toBe(true);
    }
  });

  it('a Helm upgrade dropping such a claim: a warning saying the PV is marked Failed with the data, not a refusal', () => {
    const refused = helm.handle(upgrade(), context(model('nfs', HELM), { config }));
    expect(refused.allowed, said(refused)).toBe(false);
    expect(said(refused)).toContain('reclaim policy Recycle wipes the data');
    const decision = helm.handle(upgrade(), context(model('csi', HELM), { config }));
    expect(decision.allowed, said(decision)).toBe(true);
    const warnings = said(decision);
    expect(warnings).toContain('shop/data');
    expect(warnings).toContain('no recycler');
    expect(warnings).toContain('Failed');
    expect(warnings).not.toContain('wipes the data');
    expect(warnings).not.toContain('with the data on');
  });
});
