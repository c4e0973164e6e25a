// Moving a StatefulSet's spec.ordinals.start (GA in 1.31) makes its controller run ordinals start..start+replicas-1
// (stateful_set_utils.go getStartOrdinal/getEndOrdinal), so it claims `<template>-<name>-<ordinal>` for ordinals it
// did not run before, whatever they hold: orphan-pvc judges that as it judges a scale-up. The refusal must say what
// the write does. It said "scale-up of StatefulSet shop/db to 1 replicas" and "raising it to 1 replicas" for a
// `kubectl patch` or `helm upgrade` that moved the ordinals and left the replicas alone (found by black-box testing
// with kubectl and Helm 4 against the real API server).
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { statefulSetValidator } from '../../../src/admission/validators/statefulset.ts';
import { collectOrphanPvc } from '../../../src/checks/orphan-pvc.ts';
import { collectDroppedPvcs } from '../../../src/checks/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ALICE, context, request } from '../../support/admission.ts';
import { pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { pendingRevision, statefulSetManifest } from '../helm/helm-fixtures.ts';

const validator = statefulSetValidator(defaultConfig());
const NS = 'shop';
const CREATED = '2026-03-01T10:00:00Z';
const EARLIER = '2026-01-05T08:00:00Z';

function stsObject(replicas: number, start: number, annotations: Record<string, string> = {}): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS, creationTimestamp: CREATED, annotations },
    spec: { replicas, ordinals: { start }, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
  };
}

function update(before: { replicas: number; start: number }, after: { replicas: number; start: number }): AdmissionRequest {
  return request({
    kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
    resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
    operation: 'UPDATE',
    namespace: NS,
    name: 'db',
    userInfo: ALICE,
    object: stsObject(after.replicas, after.start),
    oldObject: stsObject(before.replicas, before.start),
  });
}

/** Live db (release db) at 1 replica from ordinal 1, created in March; data-db-0 from January (an earlier db). */
function model(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert(
    'statefulSet',
    statefulSet({ namespace: NS, name: 'db', uid: 'uid-db', replicas: 1, ordinalsStart: 1, creationTimestamp: CREATED, helmReleaseName: 'db', helmReleaseNamespace: NS }),
  );
  m.upsert('persistentVolume', pv({ name: 'pv-data-db-0', claimNamespace: NS, claimName: 'data-db-0', reclaimPolicy: 'Retain' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-0', volumeName: 'pv-data-db-0', creationTimestamp: EARLIER }));
  return m;
}

describe('orphan-pvc refusing a move of ordinals.start says so', () => {
  it('kubectl patch of ordinals.start 1 -> 0 at 1 replica: refused as an ordinals move, not a scale-up to 1 replicas', () => {
    const decision = validator.handle(update({ replicas: 1, start: 1 }, { replicas: 1, start: 0 }), context(model()));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message.replace(/\s+/g, ' ');
    expect(message).toContain(`refused the move of StatefulSet ${NS}/db to ordinals 0..0`);
    expect(message).toContain(`PVC ${NS}/data-db-0`);
    expect(message).toContain('moving its ordinals to 0..0 would re-attach its old data');
    expect(message).not.toContain('replicas');
  });

  it('a write raising the replicas and moving the ordinals names the ordinals it runs afterwards', () => {
    const decision = validator.handle(update({ replicas: 1, start: 1 }, { replicas: 3, start: 0 }), context(model()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message.replace(/\s+/g, ' ')).toContain(`refused the move of StatefulSet ${NS}/db to ordinals 0..2`);
  });

  it('a scale-up to one replica says "1 replica"', () => {
    const m = model();
    m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'uid-db', replicas: 0, ordinalsStart: 0, creationTimestamp: CREATED }));
    const decision = validator.handle(update({ replicas: 0, start: 0 }, { replicas: 1, start: 0 }), context(m));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message.replace(/\s+/g, ' ');
    expect(message).toContain(`refused the scale-up of StatefulSet ${NS}/db to 1 replica:`);
    expect(message).toContain('scaling it to 1 replica would re-attach its old data');
  });

  it('helm upgrade declaring ordinals.start 0 at the same replicas: the finding says the ordinals move', () => {
    const findings = collectOrphanPvc(model(), pendingRevision(statefulSetManifest({ replicas: 1, start: 0 }), { namespace: NS, version: 3 })).findings;
    expect(findings.map((f) => f.object.name)).toEqual(['data-db-0']);
    expect(findings[0]!.reason).toBe('left by an earlier StatefulSet db; moving its ordinals to 0..0 would re-attach its old data');
  });

  it('helm upgrade raising the replicas only keeps the replicas wording', () => {
    const m = model();
    m.upsert('persistentVolume', pv({ name: 'pv-data-db-2', claimNamespace: NS, claimName: 'data-db-2', reclaimPolicy: 'Retain' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-2', volumeName: 'pv-data-db-2', creationTimestamp: EARLIER }));
    const findings = collectOrphanPvc(m, pendingRevision(statefulSetManifest({ replicas: 2 }), { namespace: NS, version: 3 })).findings;
    expect(findings.map((f) => [f.object.name, f.reason])).toEqual([
      ['data-db-2', 'left by an earlier StatefulSet db; raising it to 2 replicas would re-attach its old data'],
    ]);
  });
});

describe('pvc-delete for a Helm upgrade moving ordinals.start under whenScaled: Delete says the ordinals move', () => {
  /** Live db (release db) at 2 replicas from ordinal 0, whenScaled: Delete, pods db-0/1 on Bound PVCs of Delete PVs. */
  function scaled(): ClusterModel {
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'uid-db', replicas: 2, whenScaled: 'Delete', helmReleaseName: 'db', helmReleaseNamespace: NS }));
    for (const ordinal of [0, 1]) {
      const name = `data-db-${ordinal}`;
      m.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
      m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}` }));
      m.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [name], controllerKind: 'StatefulSet' }));
    }
    return m;
  }
  const upgrade = (options: { replicas: number; start?: number }) =>
    pendingRevision(statefulSetManifest({ ...options, whenDeleted: 'Retain', whenScaled: 'Delete' }), { namespace: NS, version: 2 });

  it('start 0 -> 1 at 2 replicas: pod db-0 goes, "moves StatefulSet db\'s ordinals to 1..2", not "sets it to 2 replicas"', () => {
    const findings = collectDroppedPvcs(scaled(), upgrade({ replicas: 2, start: 1 })).findings;
    expect(findings.map((f) => f.object.name)).toEqual(['data-db-0']);
    expect(findings[0]!.reason).toMatch(/^this upgrade moves StatefulSet db's ordinals to 1\.\.2; pod db-0 is scaled away/);
  });

  it('a replicas-only scale-down keeps "sets StatefulSet db to 1 ..."', () => {
    const findings = collectDroppedPvcs(scaled(), upgrade({ replicas: 1 })).findings;
    expect(findings.map((f) => f.object.name)).toEqual(['data-db-1']);
    expect(findings[0]!.reason).toMatch(/^this upgrade sets StatefulSet db to 1 replica; pod db-1 is scaled away/);
  });
});
