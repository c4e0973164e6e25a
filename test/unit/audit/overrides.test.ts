// Lingering overrides: what each key on each kind of object means, including the ones volume-guard ignores.
import { describe, expect, it } from 'vitest';
import { lingeringOverrides, modelCarriers, overridesOf, type OverrideCarrier } from '../../../src/audit/overrides.ts';
import { pv, pvc as pvcRecord, statefulSet, volume } from '../../support/fixtures.ts';
import { modelOf } from './golden-cluster.ts';

function carrier(fields: Partial<OverrideCarrier>): OverrideCarrier {
  return { kind: 'PersistentVolumeClaim', namespace: 'app', name: 'data', annotations: {}, labels: {}, appliesTo: 'somewhere', ...fields };
}

describe('overridesOf', () => {
  it('finds nothing on an object without override keys', () => {
    expect(overridesOf(carrier({ annotations: { 'volume-guard.io/skip-reason': 'orphaned reason' }, reusable: true }))).toEqual([]);
  });

  it('honors reuse only as the annotation "true" on a PVC', () => {
    const found = overridesOf(
      carrier({ reusable: true, annotations: { 'volume-guard.io/reuse': 'yes' }, labels: { 'volume-guard.io/reuse': 'true' } }),
    );
    expect(found.map((o) => [o.field, o.value, o.checks, o.effect])).toEqual([
      ['annotation', 'yes', [], 'not honored: the value must be "true"'],
      ['label', 'true', [], 'not honored: only the annotation counts'],
    ]);
    // On an object where reuse means nothing, it is not listed as a reuse override.
    expect(overridesOf(carrier({ kind: 'Node', annotations: { 'volume-guard.io/reuse': 'true' } }))).toEqual([]);
  });

  it('lists volume-guard.io/delete on a PVC: honored as the annotation "true" for pvc-delete, with its writer', () => {
    const pvc = (annotations: Record<string, string>, labels: Record<string, string> = {}): OverrideCarrier[] =>
      modelCarriers(modelOf({ persistentVolumeClaim: [pvcRecord({ namespace: 'app', name: 'data', annotations, labels })] }));
    const [found] = pvc({ 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'dave' }).flatMap((c) => overridesOf(c));
    expect(found).toMatchObject({
      object: { kind: 'PersistentVolumeClaim', namespace: 'app', name: 'data' },
      key: 'volume-guard.io/delete',
      checks: ['pvc-delete'],
      writer: 'dave',
    });
    expect(found!.effect).toBe('approves deleting it with its data (pvc-delete)');
    expect(found!.appliesTo).toMatch(/automation identities.*namespace or StatefulSet.*scale-down.*Helm upgrade/);
    const [not] = pvc({ 'volume-guard.io/delete': 'yes', 'volume-guard.io/skip-by': 'dave' }).flatMap((c) => overridesOf(c));
    expect(not).toMatchObject({ checks: [], effect: 'not honored: the value must be "true"' });
    // pvc-delete reads the annotation only: a label of that name is listed, not honored.
    const [label] = pvc({ 'volume-guard.io/skip-by': 'dave' }, { 'volume-guard.io/delete': 'true' }).flatMap((c) => overridesOf(c));
    expect(label).toMatchObject({ field: 'label', checks: [], effect: 'not honored: only the annotation counts' });
    // Like a reuse approval, it counts only with its writer recorded.
    const [unsigned] = pvc({ 'volume-guard.io/delete': 'true' }).flatMap((c) => overridesOf(c));
    expect(unsigned).toMatchObject({ checks: [], writer: '' });
    expect(unsigned!.effect).toMatch(/^not honored: no writer recorded/);
    const [expired] = overridesOf(
      carrier({
        deleteApproval: { effect: 'approves deleting it', appliesTo: 'deletes' },
        annotations: { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'dave', 'volume-guard.io/skip-until': '2020-01-01T00:00:00Z' },
      }),
    );
    expect(expired).toMatchObject({ checks: [], until: '2020-01-01T00:00:00Z' });
    expect(expired!.effect).toMatch(/^not honored: expired at 2020-01-01/);
  });

  it("lists a PVC's skip with no check skipped, even from an honored writer: no validator reads a skip there", () => {
    const annotations = { 'volume-guard.io/skip': 'node-local-volume,pvc-delete', 'volume-guard.io/skip-by': 'dave', 'volume-guard.io/skip-reason': 'moving it' };
    const [skip] = modelCarriers(modelOf({ persistentVolumeClaim: [pvcRecord({ namespace: 'app', name: 'data', annotations })] })).flatMap((c) => overridesOf(c));
    expect(skip).toMatchObject({ key: 'volume-guard.io/skip', checks: [], writer: 'dave' });
    expect(skip!.effect).toBe('skips no check (it names node-local-volume, pvc-delete)');
    expect(skip!.appliesTo).toMatch(/^nothing: no validator reads a skip on a PVC/);
  });

  it('lists the delete approvals the pvc-delete validator honors on PVs and Longhorn volumes, and only those keys', () => {
    const model = modelOf({
      persistentVolume: [
        pv({ name: 'pv-kept', phase: 'Released', annotations: { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'erin', 'volume-guard.io/skip-reason': 'obsolete' } }),
        pv({ name: 'pv-plain' }),
        pv({ name: 'pv-other', annotations: { 'volume-guard.io/skip-reason': 'nothing to waive' } }),
      ],
      longhornVolume: [
        volume({ name: 'vol-static', annotations: { 'volume-guard.io/delete': 'true' } }),
        volume({ name: 'vol-skip', annotations: { 'volume-guard.io/skip': 'pvc-delete', 'volume-guard.io/skip-by': 'erin' } }),
      ],
    });
    const found = lingeringOverrides(model);
    expect(found.map((o) => [o.object.kind, o.object.name, o.key, o.checks])).toEqual([
      ['PersistentVolume', 'pv-kept', 'volume-guard.io/delete', ['pvc-delete']],
      // Read by nothing there: no check skipped.
      ['Volume', 'vol-skip', 'volume-guard.io/skip', []],
      ['Volume', 'vol-static', 'volume-guard.io/delete', []],
    ]);
    const [pvApproval, volumeSkip, volumeApproval] = found;
    expect(pvApproval).toMatchObject({ writer: 'erin', reason: 'obsolete' });
    expect(pvApproval!.appliesTo).toMatch(/reclaim policy to Delete or Recycle/);
    expect(volumeApproval!.object).toEqual({ kind: 'Volume', namespace: 'longhorn-system', name: 'vol-static' });
    expect(volumeApproval!.effect).toMatch(/^not honored: no writer recorded.*; would approve deleting this Longhorn volume with its data/);
    // A skip on a Longhorn volume is listed, and says nothing reads it.
    expect(volumeSkip!.appliesTo).toMatch(/^nothing: no validator reads a skip on a Longhorn volume/);
  });

  it("lists a StatefulSet's skip: read at its CREATE only, from its creator, so waiving nothing now", () => {
    const model = modelOf({
      statefulSet: [
        statefulSet({ namespace: 'app', name: 'db', annotations: { 'volume-guard.io/skip': 'orphan-pvc', 'volume-guard.io/skip-reason': 'restored from backup' } }),
        statefulSet({ namespace: 'app', name: 'cache' }),
      ],
    });
    const found = lingeringOverrides(model);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ object: { kind: 'StatefulSet', namespace: 'app', name: 'db' }, key: 'volume-guard.io/skip', checks: [], reason: 'restored from backup' });
    expect(found[0]!.effect).toBe('not honored: read only when the StatefulSet is created, from whoever creates it; would skip orphan-pvc');
    expect(found[0]!.appliesTo).toMatch(/^its CREATE outside Helm only \(a re-create from the same manifest/);
  });

  it('a Helm release label needs no skip-by (its writer is whoever runs helm); listed as lingering, waiving nothing later', () => {
    const release = { kind: 'HelmRelease', writtenByRequester: true } as const;
    const [label] = overridesOf(carrier({ ...release, labels: { 'volume-guard.io/skip': 'orphan-pvc' } }));
    expect(label).toMatchObject({ field: 'label', checks: [], writer: '' });
    expect(label!.effect).toMatch(/^not honored: Helm copies it into later revisions.*skip-revision.*; would skip orphan-pvc$/);
    expect(label!.effect).not.toContain('no writer recorded');
    const [expired] = overridesOf(
      carrier({ ...release, labels: { 'volume-guard.io/skip': 'orphan-pvc' }, annotations: { 'volume-guard.io/skip-until': '2020-01-01T00:00:00Z' } }),
    );
    expect(expired!.effect).toMatch(/^not honored: expired at 2020-01-01/);
    // The same label on a PVC (stored, written around helm) counts for nothing without a writer.
    const [pvc] = overridesOf(carrier({ labels: { 'volume-guard.io/skip': 'orphan-pvc' } }));
    expect(pvc!.effect).toMatch(/^not honored: no writer recorded/);
  });

  it('reads the skip value as the validators do', () => {
    const [none] = overridesOf(carrier({ kind: 'Node', annotations: { 'volume-guard.io/skip': 'everything' } }));
    expect(none).toMatchObject({ checks: [], unknown: ['everything'], effect: 'not honored: names no check; unknown entries ignored: everything' });
    const [two] = overridesOf(
      carrier({ kind: 'Node', annotations: { 'volume-guard.io/skip': ' volume-health , single-replica ', 'volume-guard.io/skip-by': 'admin' } }),
    );
    expect(two).toMatchObject({ checks: ['volume-health', 'single-replica'], effect: 'skips volume-health, single-replica', writer: 'admin' });
    // Without a recorded writer, or past its expiry, it waives nothing, as in the validators.
    const [unsigned] = overridesOf(carrier({ kind: 'Node', annotations: { 'volume-guard.io/skip': 'volume-health' } }));
    expect(unsigned).toMatchObject({ checks: [], writer: '', effect: 'not honored: no writer recorded (volume-guard.io/skip-by); would skip volume-health' });
    const expiring = { 'volume-guard.io/skip': 'volume-health', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-until': '2026-03-01T10:00:00+01:00' };
    const [before] = overridesOf(carrier({ kind: 'Node', annotations: expiring }), Date.parse('2026-03-01T08:59:59Z'));
    expect(before).toMatchObject({ checks: ['volume-health'], until: '2026-03-01T10:00:00+01:00' });
    const [after] = overridesOf(carrier({ kind: 'Node', annotations: expiring }), Date.parse('2026-03-01T09:00:00Z'));
    expect(after).toMatchObject({ checks: [] });
    expect(after!.effect).toMatch(/^not honored: expired at 2026-03-01T09:00:00.000Z/);
  });

  it('takes the reason from the same place as the override, else from the other', () => {
    const found = overridesOf(
      carrier({
        kind: 'Plan',
        annotations: { 'volume-guard.io/skip-reason': 'window 3' },
        labels: { 'volume-guard.io/skip': 'volume-health' },
      }),
    );
    expect(found).toEqual([
      expect.objectContaining({ field: 'label', key: 'volume-guard.io/skip', reason: 'window 3', appliesTo: 'somewhere' }),
    ]);
  });

  it('lists Harvester\'s annotation on Harvester upgrades only, honored when "true"', () => {
    const annotations = { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'yes' };
    expect(overridesOf(carrier({ kind: 'Upgrade', annotations, harvesterUpgrade: true }))).toEqual([
      expect.objectContaining({ key: 'harvesterhci.io/skipSingleReplicaDetachedVol', checks: [], effect: 'not honored: the value must be "true"' }),
    ]);
    expect(overridesOf(carrier({ kind: 'Plan', annotations }))).toEqual([]);
  });
});
