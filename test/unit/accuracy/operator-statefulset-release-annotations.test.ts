// Release messaging/mq renders only a RabbitmqCluster `mq`. rabbitmq's cluster-operator creates StatefulSet
// `mq-server` for it (an owner reference to the RabbitmqCluster, `controller: true`) and copies the resource's
// annotations onto it, Helm's `meta.helm.sh/release-name` / `-namespace` included. Helm deletes only what its previous
// manifest rendered and the new one does not; no manifest ever rendered mq-server (Helm sets no owner references), so
// `helm upgrade mq` leaves it, its pods and its PVCs alone. It must not be refused as "dropping StatefulSet mq-server"
// (orphan-pvc), nor its whenDeleted: Delete PVCs reported as deleted with it (pvc-delete). At `helm uninstall` the
// RabbitmqCluster goes, and the garbage collector takes mq-server with it: its PVCs are left behind, as said then.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { collectDroppedPvcs } from '../../../src/checks/pvc-delete.ts';
import { liveStatefulSetsOfRelease, orphanPvcCheck, pvcsLeftBehind } from '../../../src/checks/orphan-pvc.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { StatefulSetRecord } from '../../../src/cluster/records.ts';
import { transformStatefulSet } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { parseManifest } from '../../../src/helm/manifest.ts';
import type { HelmRelease } from '../../../src/helm/release.ts';
import { context } from '../../support/admission.ts';
import { namespace, pod, pv, pvc } from '../../support/fixtures.ts';
import { releaseRecordRequest, statefulSetManifest } from '../helm/helm-fixtures.ts';

const NS = 'messaging';
const CLAIM = 'persistence-mq-server-0';
const STS_UID = 'uid-mq-server';
const helm = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await helm.close?.();
});

const MANIFEST = `---
# Source: mq/templates/rabbitmqcluster.yaml
apiVersion: rabbitmq.com/v1beta1
kind: RabbitmqCluster
metadata:
  name: mq
  labels:
    app.kubernetes.io/instance: mq
spec:
  replicas: 1
  persistence:
    storage: 10Gi
`;

/** StatefulSet mq-server as the operator writes it: annotations copied from the RabbitmqCluster, owned by it. */
function operatorStatefulSet(options: { controller?: boolean } = {}): StatefulSetRecord {
  const record = transformStatefulSet({
    metadata: {
      name: 'mq-server',
      namespace: NS,
      uid: STS_UID,
      creationTimestamp: '2026-01-10T10:01:00Z',
      annotations: { 'meta.helm.sh/release-name': 'mq', 'meta.helm.sh/release-namespace': NS },
      ownerReferences: [
        {
          apiVersion: 'rabbitmq.com/v1beta1',
          kind: 'RabbitmqCluster',
          name: 'mq',
          uid: 'uid-rabbitmqcluster-mq',
          ...(options.controller === false ? {} : { controller: true, blockOwnerDeletion: true }),
        },
      ],
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'mq' } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
      volumeClaimTemplates: [{ metadata: { name: 'persistence' } }],
    },
  });
  if (record === undefined) throw new Error('not a StatefulSet');
  return record;
}

/** mq running: StatefulSet mq-server, its pod and its Bound PVC (owned by the StatefulSet under whenDeleted: Delete). */
function cluster(statefulSet: StatefulSetRecord = operatorStatefulSet()): ClusterModel {
  const model = new ClusterModel();
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('statefulSet', statefulSet);
  model.upsert('persistentVolume', pv({ name: `pv-${CLAIM}`, claimNamespace: NS, claimName: CLAIM, reclaimPolicy: 'Delete' }));
  model.upsert(
    'persistentVolumeClaim',
    pvc({
      namespace: NS,
      name: CLAIM,
      volumeName: `pv-${CLAIM}`,
      labels: { 'app.kubernetes.io/name': 'mq' },
      creationTimestamp: '2026-01-10T10:01:05Z',
      ownerReferences: [{ kind: 'StatefulSet', name: 'mq-server', uid: STS_UID }],
    }),
  );
  model.upsert('pod', pod({ namespace: NS, name: 'mq-server-0', claimNames: [CLAIM], controllerKind: 'StatefulSet' }));
  return model;
}

function release(version: number, status: string, manifest = MANIFEST): HelmRelease {
  return { name: 'mq', namespace: NS, version, status, manifest, chartName: 'mq', chartVersion: '1.0.0', labels: {}, firstDeployed: '2026-01-10T10:00:00Z' };
}

describe('an operator-made StatefulSet carrying the release annotations it copied', () => {
  it('the model keeps its controller owner reference; a plain owner reference is not a controller', () => {
    expect(operatorStatefulSet().controlled).toBe(true);
    expect(operatorStatefulSet({ controller: false })).not.toHaveProperty('controlled');
  });

  it('is not one of the release’s own StatefulSets', () => {
    const rel = release(2, 'pending-upgrade');
    expect(liveStatefulSetsOfRelease(cluster(), rel, parseManifest(MANIFEST, NS))).toEqual([]);
  });

  it('helm upgrade mq passes: nothing stranded, nothing deleted with it', () => {
    const decision = helm.handle(releaseRecordRequest({ name: 'mq', namespace: NS, version: 2, status: 'pending-upgrade', manifest: MANIFEST }), context(cluster()));
    expect(decision.allowed, decision.status?.message).toBe(true);
    expect((decision.warnings ?? []).join('\n')).not.toContain(CLAIM);
    const target = { release: release(2, 'pending-upgrade'), operation: 'upgrade' as const, manifest: parseManifest(MANIFEST, NS) };
    expect(orphanPvcCheck(cluster(), target)).toEqual([]);
    expect(collectDroppedPvcs(cluster(), target).findings).toEqual([]);
  });

  it('a helm rollback of mq passes too', () => {
    const decision = helm.handle(releaseRecordRequest({ name: 'mq', namespace: NS, version: 3, status: 'pending-rollback', manifest: MANIFEST }), context(cluster()));
    expect(decision.allowed, decision.status?.message).toBe(true);
  });

  it('helm uninstall mq still says its PVC is left behind (the garbage collector deletes mq-server with the RabbitmqCluster)', () => {
    const left = pvcsLeftBehind(cluster(), release(2, 'uninstalling'), parseManifest(MANIFEST, NS));
    // Owned by mq-server (whenDeleted: Delete): it goes with it; a claim without that owner reference stays.
    expect(left).toEqual([]);
    const model = cluster();
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: CLAIM, volumeName: `pv-${CLAIM}` }));
    expect(pvcsLeftBehind(model, release(2, 'uninstalling'), parseManifest(MANIFEST, NS)).map((claim) => [claim.name, claim.statefulSet])).toEqual([
      [CLAIM, 'mq-server'],
    ]);
  });

  it('a StatefulSet Helm rendered (no controller owner reference) is still dropped by an upgrade that no longer renders it', () => {
    const helmMade = operatorStatefulSet({ controller: false });
    const model = cluster(helmMade);
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: CLAIM, volumeName: `pv-${CLAIM}` }));
    const decision = helm.handle(
      releaseRecordRequest({ name: 'mq', namespace: NS, version: 2, status: 'pending-upgrade', manifest: statefulSetManifest({ replicas: 1 }) }),
      context(model),
    );
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`${NS}/${CLAIM}`);
    expect(decision.status?.message).toContain('this upgrade drops StatefulSet mq-server');
  });
});
