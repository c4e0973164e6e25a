// The lingering overrides the audit lists: volume-guard.io/ labels on nodes and namespaces (read by nothing there),
// one sorted list with the Helm release labels, and skip-until judged at the report's time.
import { describe, expect, it } from 'vitest';
import { buildAuditReport, type AuditInput } from '../../../src/audit/report.ts';
import type { AuditReport } from '../../../src/audit/types.ts';
import { namespace, node } from '../../support/fixtures.ts';
import { addVolume, longhornCluster, storedSkip } from './cordon-agreement.ts';
import { UPGRADE_OBJECTS } from './golden-cluster.ts';

function audit(input: Partial<AuditInput> & Pick<AuditInput, 'model'>): AuditReport {
  return buildAuditReport({ scope: { kind: 'cluster' }, cluster: { server: 's', context: 'c' }, generatedAt: '2026-01-15T08:00:00.000Z', ...input });
}

describe('lingering overrides', () => {
  it('lists volume-guard.io/ labels on nodes and namespaces as not honored, as a PVC label', () => {
    const model = longhornCluster();
    model.upsert('node', node({ name: 'n1', labels: { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-reason': 'label by mistake', 'kubernetes.io/hostname': 'n1' } }));
    model.upsert('namespace', namespace({ name: 'shop', labels: { 'volume-guard.io/skip': 'orphan-pvc,typo' } }));
    const { overrides } = audit({ model });
    expect(overrides.map((o) => `${o.object.kind}/${o.object.name} ${o.field} ${o.key}=${o.value}`)).toEqual([
      'Node/n1 label volume-guard.io/skip=*',
      'Namespace/shop label volume-guard.io/skip=orphan-pvc,typo',
    ]);
    for (const override of overrides) {
      expect(override.checks).toEqual([]);
      expect(override.effect).toBe('not honored: only the annotation counts');
    }
    expect(overrides[0]?.reason).toBe('label by mistake');
    expect(overrides[1]?.unknown).toEqual(['typo']);
    expect(overrides[1]?.appliesTo).toBe('nothing: volume-guard reads the overrides of a Namespace as annotations only');
  });

  it('lists no volume-guard.io/ label that is no override key (the harness probe node, a test selector)', () => {
    const model = longhornCluster();
    model.upsert('node', node({ name: 'volume-guard-probe', labels: { 'volume-guard.io/test': 'probe' } }));
    model.upsert('namespace', namespace({ name: 'shop', labels: { 'volume-guard.io/test': 'allow-all', 'volume-guard.io/skip-evictions': '*' } }));
    const { overrides } = audit({ model });
    expect(overrides.map((o) => `${o.object.kind}/${o.object.name} ${o.field} ${o.key}=${o.value}`)).toEqual(['Namespace/shop label volume-guard.io/skip-evictions=*']);
  });

  it('sorts the release labels among the rest (their records are Secrets or ConfigMaps)', () => {
    const releaseLabels = [{ namespace: 'shop', name: 'shop', revisions: [{ version: 2, status: 'deployed', labels: { 'volume-guard.io/skip': 'orphan-pvc' }, store: 'Secret' as const }] }];
    const { overrides } = audit({ model: longhornCluster(), upgradeObjects: UPGRADE_OBJECTS, releaseLabels });
    const kinds = overrides.map((o) => o.object.kind);
    expect(kinds).toEqual(['Plan', 'Secret', 'Upgrade', 'Upgrade']);
    expect(overrides[1]?.object).toEqual({ kind: 'Secret', namespace: 'shop', name: 'sh.helm.release.v1.shop.v2' });
  });

  it("judges skip-until at the report's time, for the listing and for the findings it accepts", () => {
    const model = longhornCluster();
    addVolume(model, 'v', ['n1'], { numberOfReplicas: 3 });
    model.upsert('node', node({ name: 'n1', annotations: storedSkip('last-replica-on-node', { 'volume-guard.io/skip-until': '2021-01-01T00:00:00Z' }) }));
    // Before its skip-until: honored.
    const then = audit({ model, generatedAt: '2020-06-01T00:00:00.000Z' });
    expect(then.overrides.find((o) => o.object.name === 'n1')?.checks).toEqual(['last-replica-on-node']);
    expect(then.findings.find((f) => f.check === 'last-replica-on-node')?.overriddenBy).toBe('annotation volume-guard.io/skip on Node n1');
    // After it: expired.
    const later = audit({ model, generatedAt: '2026-01-15T08:00:00.000Z' });
    expect(later.overrides.find((o) => o.object.name === 'n1')?.checks).toEqual([]);
    expect(later.findings.find((f) => f.check === 'last-replica-on-node')?.overriddenBy).toBeUndefined();
  });
});
