// A StatefulSet re-created after `kubectl delete sts --cascade=orphan` (the documented way to change an immutable
// field): the garbage collector stripped the old owner reference from its pods, which keep running, and the new
// StatefulSet's controller adopts those named for it (ClaimPods: orphans, not being deleted). Pods inside its ordinal
// range keep their PVCs: the re-create passes. Pods outside it (the manifest declares fewer replicas than ran, e.g.
// after an autoscaler raised them) are condemned at once; under whenScaled: Delete the controller makes each the owner
// of its PVCs and deletes it, and the garbage collector deletes the PVCs. That is judged at the CREATE, like a
// scale-down by the same writer.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { statefulSetValidator } from '../../../src/admission/validators/statefulset.ts';
import { collectClaimsDeletedByAdoption } from '../../../src/checks/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { parseManifest } from '../../../src/helm/manifest.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();
const validator = statefulSetValidator(config);
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const NS = 'shop';

function stsObject(replicas: number, whenScaled = 'Delete'): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'db' } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'db:2' }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'] } }],
    },
  };
}

function create(object: unknown, user: UserInfo): AdmissionRequest {
  return request({
    kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
    resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
    operation: 'CREATE',
    namespace: NS,
    name: 'db',
    userInfo: user,
    object,
  });
}

/** The old StatefulSet db ran 4 pods, orphaned by --cascade=orphan; their PVCs are Bound to PVs with reclaim Delete. */
function orphaned(options: { podFields?: Parameters<typeof pod>[0]; approved?: string } = {}): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: NS }));
  for (const ordinal of [0, 1, 2, 3]) {
    const name = `data-db-${ordinal}`;
    const annotations: Record<string, string> = options.approved === name ? { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': ARGO.username } : {};
    m.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}`, annotations }));
    m.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [name], controllerKind: '', ...options.podFields }));
  }
  return m;
}

describe('StatefulSet re-created after --cascade=orphan', () => {
  it('passes when it covers every orphaned pod (their PVCs stay in use)', () => {
    for (const user of [ADMIN, ARGO]) expect(validator.handle(create(stsObject(4), user), context(orphaned())).allowed).toBe(true);
  });

  it('refuses an automation whose re-create condemns adopted pods under whenScaled: Delete, naming their PVCs', () => {
    const decision = validator.handle(create(stsObject(2), ARGO), context(orphaned()));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain('[pvc-delete]');
    expect(message).toContain('shop/data-db-2');
    expect(message).toContain('shop/data-db-3');
    expect(message).not.toContain('shop/data-db-1');
    // Under whenScaled: Retain the condemned pods go and their PVCs stay.
    expect(validator.handle(create(stsObject(2, 'Retain'), ARGO), context(orphaned())).allowed).toBe(true);
  });

  it('follows pvcDelete.others for a person (off by default), like a scale-down', () => {
    expect(validator.handle(create(stsObject(2), ADMIN), context(orphaned())).allowed).toBe(true);
    const strict = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' as const } };
    expect(statefulSetValidator(strict).handle(create(stsObject(2), ADMIN), context(orphaned(), { config: strict })).allowed).toBe(false);
  });

  const statefulSet = parseManifest(
    'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  replicas: 3\n  persistentVolumeClaimRetentionPolicy: {whenScaled: Delete}\n  volumeClaimTemplates: [{metadata: {name: data}}]\n',
    NS,
  ).statefulSets[0]!;

  it('leaves pods it does not adopt: another controller’s (terminating with it), or orphans already being deleted', () => {
    expect(collectClaimsDeletedByAdoption(orphaned({ podFields: { controllerKind: 'StatefulSet', deleting: true } }), statefulSet, Date.now()).findings).toEqual([]);
    expect(collectClaimsDeletedByAdoption(orphaned({ podFields: { deleting: true } }), statefulSet, Date.now()).findings).toEqual([]);
  });

  it('honors the PVCs’ delete approvals', () => {
    const findings = collectClaimsDeletedByAdoption(orphaned({ approved: 'data-db-3' }), statefulSet, Date.now()).findings;
    expect(findings.map((f) => [f.object.name, f.tags])).toEqual([['data-db-3', ['deleted-by-scale-down', 'reclaim-delete', 'adopted-pods', 'delete-approved']]]);
    expect(findings[0]!.reason).toContain('adopts the orphaned pods named for it, and has ordinals 0..2; pod db-3 is scaled away');
  });
});
