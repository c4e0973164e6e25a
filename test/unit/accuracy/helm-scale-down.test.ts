// A Helm upgrade or rollback that keeps a StatefulSet but lowers its replicas (or moves spec.ordinals.start) while its
// retention policy says whenScaled: Delete: Helm writes the new spec, the StatefulSet controller deletes the pods it
// scales away and, with them, their PVCs. Judged at the release record, before Helm touches anything. A chart that
// does not declare spec.replicas, spec.ordinals.start or whenScaled leaves the live value alone (three-way merge and
// server-side apply alike).
import { describe, expect, it } from 'vitest';
import { collectDroppedPvcs } from '../../../src/checks/pvc-delete.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { pendingRevision, statefulSetManifest } from '../helm/helm-fixtures.ts';

const NS = 'shop';

const manifest = (options: { replicas?: number; whenScaled?: string; start?: number }): string =>
  statefulSetManifest({ ...options, whenDeleted: 'Retain', whenScaled: options.whenScaled ?? 'Delete' });

const upgrade = (text: string, operation: 'upgrade' | 'rollback' = 'upgrade') => pendingRevision(text, { namespace: NS, version: 2, operation });

/** Live StatefulSet db at 3 replicas, pods db-0..2 with Bound PVCs on Delete PVs. */
function cluster(whenScaled = 'Delete'): ClusterModel {
  const model = new ClusterModel();
  model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'uid-db', replicas: 3, whenScaled, helmReleaseName: 'db', helmReleaseNamespace: NS }));
  for (const ordinal of [0, 1, 2]) {
    const name = `data-db-${ordinal}`;
    model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}` }));
    model.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [name], controllerKind: 'StatefulSet' }));
  }
  return model;
}

const names = (findings: readonly { object: { name: string } }[]) => findings.map((f) => f.object.name).sort();

/** The chart's StatefulSet without persistentVolumeClaimRetentionPolicy (nor ordinals) at all. */
const undeclared = (replicas: number): string => statefulSetManifest({ replicas });

describe('a Helm upgrade scaling a StatefulSet down under whenScaled: Delete', () => {
  it('reads the live whenScaled when the chart declares no retention policy: Helm leaves a field it never set', () => {
    // whenScaled: Delete set outside the chart (kubectl patch, a policy engine): neither the three-way merge (the
    // previous revision did not set it either) nor server-side apply (another manager owns it) removes it.
    expect(names(collectDroppedPvcs(cluster(), upgrade(undeclared(1))).findings)).toEqual(['data-db-1', 'data-db-2']);
    expect(collectDroppedPvcs(cluster('Retain'), upgrade(undeclared(1))).findings).toEqual([]);
  });

  it('reads the live ordinals.start when the chart does not declare spec.ordinals', () => {
    const model = new ClusterModel();
    model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'uid-db', replicas: 2, ordinalsStart: 5, whenScaled: 'Delete', helmReleaseName: 'db', helmReleaseNamespace: NS }));
    for (const ordinal of [5, 6]) {
      const name = `data-db-${ordinal}`;
      model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
      model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}` }));
      model.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [name], controllerKind: 'StatefulSet' }));
    }
    expect(collectDroppedPvcs(model, upgrade(manifest({ replicas: 2 }))).findings).toEqual([]);
    expect(names(collectDroppedPvcs(model, upgrade(manifest({ replicas: 1 }))).findings)).toEqual(['data-db-6']);
  });

  it('names the PVCs of the pods the controller scales away', () => {
    const findings = collectDroppedPvcs(cluster(), upgrade(manifest({ replicas: 1 }))).findings;
    expect(names(findings)).toEqual(['data-db-1', 'data-db-2']);
    expect(findings[0]!.reason).toContain('this upgrade sets StatefulSet db to 1 replica;');
    expect(findings[0]!.tags).toContain('deleted-by-scale-down');
    expect(names(collectDroppedPvcs(cluster(), upgrade(manifest({ replicas: 2 }), 'rollback')).findings)).toEqual(['data-db-2']);
  });

  it('counts a policy turned to Delete in the same upgrade, and a move of ordinals.start', () => {
    expect(names(collectDroppedPvcs(cluster('Retain'), upgrade(manifest({ replicas: 2 }))).findings)).toEqual(['data-db-2']);
    expect(names(collectDroppedPvcs(cluster(), upgrade(manifest({ replicas: 3, start: 1 }))).findings)).toEqual(['data-db-0']);
  });

  it('a revision that stops declaring the replicas the release set falls back to 1 (Helm removes the field it set)', () => {
    const model = cluster();
    model.upsert('statefulSet', { ...model.statefulSet(NS, 'db')!, releaseSets: { replicas: true } });
    const findings = collectDroppedPvcs(model, upgrade(manifest({}))).findings;
    expect(names(findings)).toEqual(['data-db-1', 'data-db-2']);
    expect(findings[0]!.reason).toContain('this upgrade no longer declares the replicas the release set on StatefulSet db: Helm removes them, 1 remains');
    // Still declared: the declared count, as before.
    expect(names(collectDroppedPvcs(model, upgrade(manifest({ replicas: 2 }))).findings)).toEqual(['data-db-2']);
    // whenScaled the release set and no longer declares goes back to Retain in the same write: nothing is deleted.
    const both = cluster();
    both.upsert('statefulSet', { ...both.statefulSet(NS, 'db')!, releaseSets: { replicas: true, whenScaled: true } });
    expect(collectDroppedPvcs(both, upgrade(undeclared(1))).findings).toEqual([]);
    // ordinals.start the release set falls back to 0: the pods above the new range go.
    const moved = new ClusterModel();
    moved.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'uid-db', replicas: 2, ordinalsStart: 5, whenScaled: 'Delete', helmReleaseName: 'db', helmReleaseNamespace: NS, releaseSets: { ordinalsStart: true } }));
    for (const ordinal of [5, 6]) {
      const name = `data-db-${ordinal}`;
      moved.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
      moved.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}` }));
      moved.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [name], controllerKind: 'StatefulSet' }));
    }
    expect(names(collectDroppedPvcs(moved, upgrade(manifest({ replicas: 2 }))).findings)).toEqual(['data-db-5', 'data-db-6']);
  });

  it('passes what deletes nothing: same replicas, replicas not declared, whenScaled Retain, scaling up', () => {
    expect(collectDroppedPvcs(cluster(), upgrade(manifest({ replicas: 3 }))).findings).toEqual([]);
    // The chart leaves spec.replicas to someone else (kubectl scale, an HPA): Helm does not touch the live count.
    expect(collectDroppedPvcs(cluster(), upgrade(manifest({}))).findings).toEqual([]);
    expect(collectDroppedPvcs(cluster(), upgrade(manifest({ replicas: 1, whenScaled: 'Retain' }))).findings).toEqual([]);
    expect(collectDroppedPvcs(cluster(), upgrade(manifest({ replicas: 5 }))).findings).toEqual([]);
  });
});

describe("counts spelled as Go's YAML reader reads them (sigs.k8s.io/yaml, go-yaml v2), not as YAML 1.2 does", () => {
  const spelled = (replicas: string, start?: string): string => {
    const text = manifest({ replicas: 3, ...(start === undefined ? {} : { start: 0 }) }).replace('  replicas: 3\n', `  replicas: ${replicas}\n`);
    return start === undefined ? text : text.replace('    start: 0\n', `    start: ${start}\n`);
  };

  it.each(['0b1', '1_', '0_1', '0b01', '01', '+1', '1.0', '0x1', '0o1', '1e0', '1.', '0.1e1'])('replicas: %s is 1: the upgrade deletes data-db-1 and data-db-2', (replicas) => {
    expect(names(collectDroppedPvcs(cluster(), upgrade(spelled(replicas))).findings)).toEqual(['data-db-1', 'data-db-2']);
  });

  it('a leading zero is octal: replicas: 010 of a StatefulSet at 10 is 8', () => {
    const model = new ClusterModel();
    model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'uid-db', replicas: 10, whenScaled: 'Delete', helmReleaseName: 'db', helmReleaseNamespace: NS }));
    for (const ordinal of [8, 9]) {
      const name = `data-db-${ordinal}`;
      model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
      model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}` }));
      model.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [name], controllerKind: 'StatefulSet' }));
    }
    expect(names(collectDroppedPvcs(model, upgrade(spelled('010'))).findings)).toEqual(['data-db-8', 'data-db-9']);
    expect(collectDroppedPvcs(model, upgrade(spelled('10'))).findings).toEqual([]);
  });

  it('ordinals.start spelled 0b1 moves the first ordinal', () => {
    expect(names(collectDroppedPvcs(cluster(), upgrade(spelled('3', '0b1'))).findings)).toEqual(['data-db-0']);
  });

  it('what Go reads as a string (1_a, a quoted "1") leaves the live count: the API server would refuse it', () => {
    expect(collectDroppedPvcs(cluster(), upgrade(spelled('1_a'))).findings).toEqual([]);
    expect(collectDroppedPvcs(cluster(), upgrade(spelled('"1"'))).findings).toEqual([]);
  });
});
