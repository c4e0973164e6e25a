// A Helm upgrade writes the chart's StatefulSet over the live one. A field the chart does not declare keeps its live
// value (three-way merge and server-side apply alike), unless the release set it before: Helm then removes it and the
// API server's default takes its place (ordinals from 0, 1 replica). The StatefulSet controller claims ordinals
// start..start+replicas-1 (stateful_set_utils.go getStartOrdinal / podInOrdinalRange), so orphan-pvc must judge the
// PVCs at the ordinals Helm leaves, not at the manifest's defaults. pvc-delete models the same for scale-downs.
import { describe, expect, it } from 'vitest';
import { collectOrphanPvc } from '../../../src/checks/orphan-pvc.ts';
import type { StatefulSetRecord } from '../../../src/cluster/records.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { pendingRevision, statefulSetManifest } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const LIVE_CREATED = '2026-03-01T10:00:00Z';
const EARLIER = '2026-01-05T08:00:00Z';

/**
 * Live StatefulSet db (release db) at 2 replicas from ordinal 5, set outside the chart (`kubectl patch`) unless
 * `releaseSets` says the release set it. data-db-5/6 are its own; data-db-7 and data-db-0 were left by an earlier db.
 */
function cluster(releaseSets?: StatefulSetRecord['releaseSets']): ClusterModel {
  const model = new ClusterModel();
  model.upsert(
    'statefulSet',
    statefulSet({
      namespace: NS,
      name: 'db',
      uid: 'uid-db',
      replicas: 2,
      ordinalsStart: 5,
      creationTimestamp: LIVE_CREATED,
      helmReleaseName: 'db',
      helmReleaseNamespace: NS,
      ...(releaseSets !== undefined ? { releaseSets } : {}),
    }),
  );
  const created: Record<string, string> = {
    'data-db-5': LIVE_CREATED,
    'data-db-6': LIVE_CREATED,
    'data-db-7': EARLIER,
    'data-db-0': EARLIER,
  };
  for (const [name, creationTimestamp] of Object.entries(created)) {
    model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Retain' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}`, creationTimestamp }));
  }
  return model;
}

const upgradeTo = (options: { replicas?: number; start?: number }) => pendingRevision(statefulSetManifest(options), { namespace: NS, version: 4 });
const namedBy = (model: ClusterModel, options: { replicas?: number; start?: number }): string[] =>
  collectOrphanPvc(model, upgradeTo(options))
    .findings.map((f) => f.object.name)
    .sort();

describe('Helm upgrade raising replicas of a StatefulSet whose live ordinals.start the chart does not declare', () => {
  it('names data-db-7, the leftover at the ordinal the upgrade adds (live start 5 + index 2)', () => {
    expect(namedBy(cluster(), { replicas: 3 })).toContain('data-db-7');
  });

  it('does not name data-db-0, which no ordinal of the upgraded StatefulSet claims', () => {
    expect(namedBy(cluster(), { replicas: 3 })).not.toContain('data-db-0');
  });

  it('says the live StatefulSet is raised to the manifest replicas', () => {
    const finding = collectOrphanPvc(cluster(), upgradeTo({ replicas: 3 })).findings.find((f) => f.object.name === 'data-db-7');
    expect(finding?.reason).toContain('raising it to 3 replicas');
  });
});

describe('Helm upgrade of a StatefulSet whose chart declares ordinals.start: the manifest value wins', () => {
  it('judges ordinals 0..2 when the chart declares start 0: data-db-0 is claimed, data-db-7 is not', () => {
    expect(namedBy(cluster(), { replicas: 3, start: 0 })).toEqual(['data-db-0']);
  });

  it('judges ordinals 6..8 when the chart declares start 6: data-db-7 is claimed, data-db-0 is not', () => {
    expect(namedBy(cluster(), { replicas: 3, start: 6 })).toEqual(['data-db-7']);
  });
});

describe('Helm upgrade dropping an ordinals.start the release set before: the API server default (0) applies', () => {
  it('judges ordinals 0..2: names data-db-0, not data-db-7', () => {
    const names = namedBy(cluster({ ordinalsStart: true }), { replicas: 3 });
    expect(names).toContain('data-db-0');
    expect(names).not.toContain('data-db-7');
  });
});

describe('Helm upgrade of a StatefulSet whose chart does not declare replicas', () => {
  it('keeps the live replica count set outside the chart: moving the start to 6 claims 6..7, not 6 alone', () => {
    // Live 2 replicas (kubectl scale, an autoscaler), the chart moves ordinals.start: ordinal 7 is claimed too.
    expect(namedBy(cluster(), { start: 6 })).toEqual(['data-db-7']);
  });

  it('falls to 1 replica when the release set the replicas before: moving the start to 6 claims 6 alone', () => {
    expect(namedBy(cluster({ replicas: true }), { start: 6 })).toEqual([]);
  });
});
