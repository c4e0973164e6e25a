// The skip-until a namespace's skip advice writes counts when the command is fitted to the stored annotations: a
// namespace already holding a skip-until gets `--overwrite` (kubectl refuses it otherwise: "'volume-guard.io/skip-until'
// already has a value"), and an expired one is replaced by a concrete time an hour ahead, as the first time.
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, namespace, replica, volume } from '../../support/fixtures.ts';

const settings = createValidators(defaultConfig()).find((v) => v.declaration.target === 'longhorn-settings')!;
const NOW = Date.parse('2026-12-06T02:30:20Z');

function setting(name: string, value: string, old: string) {
  const object = (v: string) => ({ apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: { name, namespace: 'longhorn-system' }, value: v });
  return request({
    kind: { group: 'longhorn.io', version: 'v1beta2', kind: 'Setting' },
    resource: { group: 'longhorn.io', version: 'v1beta2', resource: 'settings' },
    operation: 'UPDATE',
    namespace: 'longhorn-system',
    name,
    object: object(value),
    oldObject: object(old),
  });
}

function longhornCluster(annotations: Record<string, string>): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('namespace', namespace({ name: 'longhorn-system', annotations }));
  model.upsert('namespace', namespace({ name: 'shop' }));
  for (const name of ['w1', 'w2']) model.upsert('longhornNode', longhornNode({ name }));
  model.upsert('longhornVolume', volume({ name: 'solo', numberOfReplicas: 1, currentNodeID: 'w1', pvcNamespace: 'shop', pvcName: 'ledger' }));
  model.upsert('longhornReplica', replica({ volumeName: 'solo', nodeID: 'w1' }));
  return model;
}

describe("a namespace's skip advice over a stored skip-until", () => {
  it('says --overwrite when it writes a skip-until the namespace already has', () => {
    // Left over from an earlier skip whose other keys were removed; sooner than an hour ahead.
    const model = longhornCluster({ 'volume-guard.io/skip-until': new Date(NOW + 20 * 60_000).toISOString() });
    const refused = settings.handle(setting('node-drain-policy', 'always-allow', 'block-if-contains-last-replica'), { ...context(model), now: NOW });
    expect(refused.allowed).toBe(false);
    const command = (refused.status?.message ?? '').split('\n').find((line) => line.includes('kubectl annotate') && line.includes('namespace longhorn-system'));
    expect(command).toContain('volume-guard.io/skip-until=');
    expect(command).toContain('kubectl annotate --overwrite namespace longhorn-system');
  });
});

describe("a namespace's skip advice over a later stored skip-until", () => {
  it("keeps the namespace's longer expiry: the command writes none", () => {
    const model = longhornCluster({ 'volume-guard.io/skip-until': new Date(NOW + 7 * 24 * 3_600_000).toISOString() });
    const refused = settings.handle(setting('node-drain-policy', 'always-allow', 'block-if-contains-last-replica'), { ...context(model), now: NOW });
    expect(refused.allowed).toBe(false);
    const command = (refused.status?.message ?? '').split('\n').find((line) => line.includes('kubectl annotate') && line.includes('namespace longhorn-system'));
    expect(command).toContain('volume-guard.io/skip=storage-teardown');
    expect(command).not.toContain('volume-guard.io/skip-until=');
  });
});

describe("a namespace's skip advice after the previous advice's skip expired", () => {
  it('writes a concrete expiry an hour ahead, as the first time', () => {
    const model = longhornCluster({
      'volume-guard.io/skip': 'storage-teardown',
      'volume-guard.io/skip-reason': 'drain policy change last week',
      'volume-guard.io/skip-by': 'admin',
      'volume-guard.io/skip-until': '2026-11-29T03:31:00Z',
    });
    const refused = settings.handle(setting('node-drain-policy', 'always-allow', 'block-if-contains-last-replica'), { ...context(model), now: NOW });
    expect(refused.allowed).toBe(false);
    const command = (refused.status?.message ?? '').split('\n').find((line) => line.includes('kubectl annotate') && line.includes('namespace longhorn-system'));
    expect(command).toMatch(/volume-guard\.io\/skip-until=2026-12-06T03:31:00Z/);
  });
});
