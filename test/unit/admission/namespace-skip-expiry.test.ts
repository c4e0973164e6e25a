// A namespace's skip counts for every operation judged there: the refusal's advice that writes one (a Helm rollback's,
// Longhorn's namespace's) gives it an expiry an hour ahead, so the override meant for this operation does not stand
// for a later Namespace DELETE or Longhorn uninstall. Followed literally, it lets the refused operation pass now.
import { describe, expect, it } from 'vitest';
import { NAMESPACE_SKIP_HOURS } from '../../../src/admission/decide.ts';
import { createValidators } from '../../../src/admission/index.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, namespace, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();
const settings = createValidators(config).find((v) => v.declaration.target === 'longhorn-settings')!;
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

function longhornCluster(annotations: Record<string, string> = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('namespace', namespace({ name: 'longhorn-system', annotations }));
  model.upsert('namespace', namespace({ name: 'shop' }));
  for (const name of ['w1', 'w2']) model.upsert('longhornNode', longhornNode({ name }));
  model.upsert('longhornVolume', volume({ name: 'solo', numberOfReplicas: 1, currentNodeID: 'w1', pvcNamespace: 'shop', pvcName: 'ledger' }));
  model.upsert('longhornReplica', replica({ volumeName: 'solo', nodeID: 'w1' }));
  return model;
}

describe("advice writing a namespace's skip", () => {
  it('gives it skip-until an hour ahead, and followed literally the setting change passes', () => {
    const refused = settings.handle(setting('node-drain-policy', 'always-allow', 'block-if-contains-last-replica'), { ...context(longhornCluster()), now: NOW });
    expect(refused.allowed).toBe(false);
    const message = refused.status?.message ?? '';
    const until = new Date(NOW + NAMESPACE_SKIP_HOURS * 3_600_000 + 60_000).toISOString().slice(0, 16);
    const command = message.split('\n').find((line) => line.includes('kubectl annotate namespace longhorn-system'));
    expect(command).toBeDefined();
    expect(command).toContain(`volume-guard.io/skip-until=${until}:00Z`);
    // The admin runs it.
    const annotations: Record<string, string> = {};
    for (const [, key, value] of command!.matchAll(/(volume-guard\.io\/[a-z-]+)=("[^"]*"|<[^>]*>|[^\s;]+)/g)) {
      annotations[key!] = value!.startsWith('<') ? 'admin' : value!.replace(/^"|"$/g, '');
    }
    const passed = settings.handle(setting('node-drain-policy', 'always-allow', 'block-if-contains-last-replica'), { ...context(longhornCluster(annotations)), now: NOW + 60_000 });
    expect(passed.allowed).toBe(true);
    // Two hours later it no longer counts for anything else judged in that namespace.
    const later = settings.handle(setting('deleting-confirmation-flag', 'true', 'false'), { ...context(longhornCluster(annotations)), now: NOW + 2 * 3_600_000 });
    expect(later.allowed).toBe(false);
  });
});
