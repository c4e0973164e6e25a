// A StatefulSet re-created under the same name finds the PVCs its predecessor left at every ordinal. At its creation
// only the ordinals it runs are claimed (and judged); the others are claimed when it scales up. A Helm upgrade raising
// the replicas would re-attach a PVC older than the live StatefulSet (left by the earlier one), while a PVC the live
// StatefulSet itself created before a scale-down (younger than it) is meant to come back.
import { describe, expect, it } from 'vitest';
import { collectOrphanPvc } from '../../../src/checks/orphan-pvc.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { pendingRevision, statefulSetManifest } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const upgrade = (replicas: number) => pendingRevision(statefulSetManifest({ replicas }), { namespace: NS, version: 3 });

/** Live db (created 2026-03-01) at 1 replica; data-db-0 its own, data-db-1 from 2026-01 (an earlier db), data-db-2 from 2026-04. */
function cluster(): ClusterModel {
  const model = new ClusterModel();
  model.upsert(
    'statefulSet',
    statefulSet({ namespace: NS, name: 'db', uid: 'uid-db', replicas: 1, creationTimestamp: '2026-03-01T10:00:00Z', helmReleaseName: 'db', helmReleaseNamespace: NS }),
  );
  const created: Record<string, string> = { 'data-db-0': '2026-03-01T10:00:00Z', 'data-db-1': '2026-01-05T08:00:00Z', 'data-db-2': '2026-04-02T09:00:00Z' };
  for (const [name, creationTimestamp] of Object.entries(created)) {
    model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Retain' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}`, creationTimestamp }));
  }
  return model;
}

describe('a Helm upgrade raising the replicas of a re-created StatefulSet', () => {
  it('names the PVC an earlier StatefulSet of that name left at an ordinal it would now claim', () => {
    const findings = collectOrphanPvc(cluster(), upgrade(3)).findings;
    expect(findings.map((f) => f.object.name)).toEqual(['data-db-1']);
    expect(findings[0]!.reason).toBe('left by an earlier StatefulSet db; raising it to 3 replicas would re-attach its old data');
  });

  it('passes when the replicas stay, and for the live StatefulSet’s own scale-down leftovers', () => {
    expect(collectOrphanPvc(cluster(), upgrade(1)).findings).toEqual([]);
    const model = cluster();
    // Without the older PVC, only data-db-2 (younger than the StatefulSet: its own) is claimed by the scale-up.
    model.remove('persistentVolumeClaim', `${NS}/data-db-1`);
    expect(collectOrphanPvc(model, upgrade(3)).findings).toEqual([]);
  });
});
