// A re-created system-upgrade-controller Plan (deleted, then applied again with the same version and service
// account) upgrades no node that already carries its hash label: SelectConcurrentNodes skips nodes labelled
// `plan.upgrade.cattle.io/<plan>=<status.latestHash>`, and DigestStatus computes that hash from
// MungeVersion(spec.version) + spec.serviceAccountName (+ digest annotation fields + non-ignored secret contents).
// Node labels are not removed when a Plan is deleted.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, node, volumeWithReplicas } from '../../support/fixtures.ts';

const VERSION = 'v1.31.4+k3s1';
const SA = 'system-upgrade';
const hash = createHash('sha224').update(VERSION.replaceAll('+', '-')).update(SA).digest('hex');

function cluster() {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['w-1', 'w-2']) {
    model.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name, pool: 'workers', 'plan.upgrade.cattle.io/k3s-agent': hash } }));
  }
  model.replaceAll('longhornNode', ['w-1', 'w-2'].map((name) => longhornNode({ name })));
  const v = volumeWithReplicas('vol-w1', ['w-1'], { numberOfReplicas: 1 });
  model.replaceAll('longhornVolume', [v.volume]);
  model.replaceAll('longhornReplica', v.replicas);
  return model;
}

function planCreate() {
  return request({
    kind: { group: 'upgrade.cattle.io', version: 'v1', kind: 'Plan' },
    resource: { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans' },
    operation: 'CREATE',
    namespace: 'system-upgrade',
    name: 'k3s-agent',
    object: {
      apiVersion: 'upgrade.cattle.io/v1',
      kind: 'Plan',
      metadata: { name: 'k3s-agent', namespace: 'system-upgrade' },
      spec: { version: VERSION, serviceAccountName: SA, concurrency: 1, nodeSelector: { matchLabels: { pool: 'workers' } }, upgrade: { image: 'rancher/k3s-upgrade' } },
    },
  });
}

describe('a re-created Plan whose nodes already carry its hash', () => {
  it('upgrades no node, so its CREATE should pass', () => {
    const decision = upgradeValidator(defaultConfig()).handle(planCreate(), context(cluster()));
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
  });
});

describe('the hash is not predicted when volume-guard cannot reproduce it', () => {
  const withSpec = (edit: (plan: { metadata: Record<string, unknown>; spec: Record<string, unknown> }) => void) => {
    const review = planCreate();
    edit(review.object as { metadata: Record<string, unknown>; spec: Record<string, unknown> });
    return review;
  };
  it.each([
    ['a secret whose contents count', (plan: { spec: Record<string, unknown> }) => (plan.spec.secrets = [{ name: 'env', path: '/host/env' }])],
    ['a digest annotation', (plan: { metadata: Record<string, unknown> }) => (plan.metadata.annotations = { 'upgrade.cattle.io/digest': 'spec.upgrade.envs' })],
    ['another version', (plan: { spec: Record<string, unknown> }) => (plan.spec.version = 'v1.32.0+k3s1')],
    ['another service account', (plan: { spec: Record<string, unknown> }) => (plan.spec.serviceAccountName = 'other')],
    ['a channel only', (plan: { spec: Record<string, unknown> }) => { delete plan.spec.version; plan.spec.channel = 'https://update.k3s.io/v1-release/channels/stable'; }],
  ])('%s: the nodes at the old hash are upgraded', (_name, edit) => {
    const decision = upgradeValidator(defaultConfig()).handle(withSpec(edit as never), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('vol-w1');
  });
});
