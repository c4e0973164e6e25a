// Which nodes a system-upgrade-controller Plan really upgrades, as its sources decide (pkg/upgrade/plan/plan.go,
// pkg/upgrade/handle_upgrade.go):
// - NodeSelector() is metav1.LabelSelectorAsSelector(spec.nodeSelector) plus `kubernetes.io/hostname Exists`; a nil
//   selector is labels.Nothing(), whose Add returns itself: a Plan without spec.nodeSelector selects no node, and a
//   node without the hostname label is never selected.
// - SelectConcurrentNodes keeps the nodes of status.applying (matched by their hostname label), then adds others only
//   while fewer than spec.concurrency are selected: at concurrency 0 only the applying nodes get a job.
// - The status handler sets status.latestVersion to MungeVersion(spec.version) and DigestStatus hashes it into
//   status.latestHash on every pass: a status written before the last version change is stale, and the nodes
//   labelled with its hash are upgraded again to the new one.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, node, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();
const PLAN_LABEL = 'plan.upgrade.cattle.io/k3s';
type Fields = Record<string, unknown>;
interface ExtraNode {
  readonly name: string;
  readonly labels: Record<string, string>;
}

/** DigestStatus's hash of a Plan with no secret, no digest annotation and no service account. */
const hashOf = (version: string) => createHash('sha224').update(version.replaceAll('+', '-')).update('').digest('hex');

/**
 * cp-1 (control plane), w-1, w-2 (pool=workers), each with its hostname label (`hostnames` may give another value),
 * plus `extra` nodes; one single-replica volume on each node (vol-<node>).
 */
function cluster(options: { extra?: readonly ExtraNode[]; workerLabels?: Record<string, string>; hostnames?: Record<string, string> } = {}) {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  const nodes: ExtraNode[] = [
    { name: 'cp-1', labels: { 'node-role.kubernetes.io/control-plane': 'true' } },
    ...['w-1', 'w-2'].map((name) => ({ name, labels: { pool: 'workers', ...options.workerLabels } })),
  ].map((entry) => ({ name: entry.name, labels: { 'kubernetes.io/hostname': options.hostnames?.[entry.name] ?? entry.name, ...entry.labels } }));
  const all = [...nodes, ...(options.extra ?? [])];
  for (const entry of all) model.upsert('node', node(entry));
  model.replaceAll('longhornNode', all.map((entry) => longhornNode({ name: entry.name })));
  const volumes = all.map((entry) => volumeWithReplicas(`vol-${entry.name}`, [entry.name], { numberOfReplicas: 1 }));
  model.replaceAll('longhornVolume', volumes.map((v) => v.volume));
  model.replaceAll('longhornReplica', volumes.flatMap((v) => v.replicas));
  return model;
}

function plan(spec: Fields, status: Fields = {}) {
  return {
    apiVersion: 'upgrade.cattle.io/v1',
    kind: 'Plan',
    metadata: { name: 'k3s', namespace: 'system-upgrade' },
    spec: { upgrade: { image: 'rancher/k3s-upgrade' }, ...spec },
    status,
  };
}

function planRequest(object: unknown, oldObject?: unknown) {
  return request({
    kind: { group: 'upgrade.cattle.io', version: 'v1', kind: 'Plan' },
    resource: { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans' },
    operation: oldObject === undefined ? 'CREATE' : 'UPDATE',
    namespace: 'system-upgrade',
    name: 'k3s',
    object,
    oldObject: oldObject ?? null,
  });
}

const judge = (review: ReturnType<typeof request>, model = cluster()) => upgradeValidator(config).handle(review, context(model));
const WORKERS = { matchLabels: { pool: 'workers' } };

describe('a Plan without spec.nodeSelector selects no node', () => {
  it('its creation passes, whether the selector is absent or null', () => {
    for (const selector of [{}, { nodeSelector: null }]) {
      const decision = judge(planRequest(plan({ version: 'v1.31.4+k3s1', concurrency: 1, ...selector })));
      expect(decision.status?.message).toBeUndefined();
      expect(decision.allowed).toBe(true);
    }
  });

  it('adding the selector later is judged on the nodes it selects; an empty selector selects every node', () => {
    const added = judge(planRequest(plan({ version: 'v1.31.4+k3s1', concurrency: 1, nodeSelector: WORKERS }), plan({ version: 'v1.31.4+k3s1', concurrency: 1 })));
    expect(added.allowed).toBe(false);
    expect(added.status?.message).toContain('upgrading node w-1, w-2');
    expect(added.status?.message).not.toContain('vol-cp-1');
    const everything = judge(planRequest(plan({ version: 'v1.31.4+k3s1', concurrency: 1, nodeSelector: {} })));
    expect(everything.allowed).toBe(false);
    expect(everything.status?.message).toContain('upgrading node cp-1, w-1, w-2');
  });
});

describe('a node without the kubernetes.io/hostname label is never selected', () => {
  it('a Plan matching only such a node passes; an empty selector names the others only', () => {
    const model = cluster({ extra: [{ name: 'g-1', labels: { pool: 'gpu' } }] });
    const gpu = judge(planRequest(plan({ version: 'v1.31.4+k3s1', concurrency: 1, nodeSelector: { matchLabels: { pool: 'gpu' } } })), model);
    expect(gpu.status?.message).toBeUndefined();
    expect(gpu.allowed).toBe(true);
    const everything = judge(planRequest(plan({ version: 'v1.31.4+k3s1', concurrency: 1, nodeSelector: {} })), model);
    expect(everything.allowed).toBe(false);
    expect(everything.status?.message).toContain('vol-w-1');
    expect(everything.status?.message).not.toContain('vol-g-1');
  });
});

describe('at concurrency 0 a change reaches only the nodes already applying', () => {
  it('a new version is judged on the applying nodes only', () => {
    const decision = judge(
      planRequest(plan({ version: 'v1.32.0+k3s1', concurrency: 0, nodeSelector: {} }), plan({ version: 'v1.31.4+k3s1', concurrency: 0, nodeSelector: {} }, { applying: ['cp-1'] })),
    );
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('upgrading node cp-1');
    expect(decision.status?.message).toContain('vol-cp-1');
    expect(decision.status?.message).not.toContain('vol-w-');
  });

  it('status.applying names nodes by their hostname label, not their Node name', () => {
    const model = cluster({ hostnames: { 'w-1': 'w-1.example', 'w-2': 'w-2.example' } });
    const decision = judge(
      planRequest(plan({ version: 'v1.32.0+k3s1', nodeSelector: WORKERS }), plan({ version: 'v1.31.4+k3s1', nodeSelector: WORKERS }, { applying: ['w-2.example'] })),
      model,
    );
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('upgrading node w-2');
    expect(decision.status?.message).not.toContain('vol-w-1');
  });

  it('an applying node the new selector no longer selects gets no job: the change passes', () => {
    const decision = judge(
      planRequest(plan({ version: 'v1.32.0+k3s1', nodeSelector: WORKERS }), plan({ version: 'v1.31.4+k3s1', nodeSelector: {} }, { applying: ['cp-1'] })),
    );
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
  });
});

describe('a status older than the spec is not trusted for the hash the nodes are at', () => {
  const oldHash = hashOf('v1.31.4+k3s1');
  const stale = { latestVersion: 'v1.31.4-k3s1', latestHash: oldHash };
  const atOldHash = () => cluster({ workerLabels: { [PLAN_LABEL]: oldHash } });

  it('raising the concurrency after a version change made at concurrency 0 upgrades the nodes at the old hash', () => {
    const spec = { version: 'v1.32.0+k3s1', nodeSelector: WORKERS };
    const decision = judge(planRequest(plan({ ...spec, concurrency: 1 }, stale), plan({ ...spec, concurrency: 0 }, stale)), atOldHash());
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('upgrading node w-1, w-2');
  });

  it('with a hash volume-guard cannot reproduce (secrets), status.latestHash counts only while status.latestVersion is the spec version', () => {
    const spec = (version: string, concurrency: number) => ({ version, concurrency, nodeSelector: WORKERS, secrets: [{ name: 'env', path: '/host/env' }] });
    const staleDecision = judge(planRequest(plan(spec('v1.32.0+k3s1', 1), stale), plan(spec('v1.32.0+k3s1', 0), stale)), atOldHash());
    expect(staleDecision.allowed).toBe(false);
    expect(staleDecision.status?.message).toContain('upgrading node w-1, w-2');
    // The status caught up: the nodes at its hash are done, raising the concurrency starts nothing.
    const current = judge(planRequest(plan(spec('v1.31.4+k3s1', 1), stale), plan(spec('v1.31.4+k3s1', 0), stale)), atOldHash());
    expect(current.status?.message).toBeUndefined();
    expect(current.allowed).toBe(true);
  });

  it('the predicted hash wins over a status hash the controller would not write for this spec', () => {
    const version = 'v1.31.4+k3s1';
    const model = cluster({ workerLabels: { [PLAN_LABEL]: 'hash-from-elsewhere' } });
    const status = { latestVersion: 'v1.31.4-k3s1', latestHash: 'hash-from-elsewhere' };
    const decision = judge(planRequest(plan({ version, concurrency: 1, nodeSelector: WORKERS }, status), plan({ version, concurrency: 0, nodeSelector: WORKERS }, status)), model);
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('upgrading node w-1, w-2');
  });
});
