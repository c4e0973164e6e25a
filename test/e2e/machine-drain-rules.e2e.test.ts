// Longhorn's block-for-eviction keeps a node's last copies by a PodDisruptionBudget on its instance-manager pods, which
// holds Cluster API's drain only while the drain evicts them. Through the real API server and kubectl: a Machine whose
// node holds a volume's only copy is deleted with a warning while Cluster API drains that pod; a MachineDrainRule of the
// Machine's namespace saying Skip for it, or the pod's label cluster.x-k8s.io/drain=skip, makes the drain finish
// without Longhorn, and the DELETE is refused; a WaitCompleted rule (the drain waits for good) is not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import {
  apply,
  createLonghornNode,
  createLonghornVolume,
  createNode,
  createPod,
  deleteObjects,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  must,
  patchStatus,
  setNodeReady,
} from '../harness/scenario.ts';

const NS = 'e2e-machine-drain-rules';
const NODE = 'mdr-node';
const MACHINE = 'mdr-m';
const POD = 'instance-manager-mdr0001';
const RULE = 'skip-longhorn';

const rule = (behavior: string) => ({
  apiVersion: 'cluster.x-k8s.io/v1beta2',
  kind: 'MachineDrainRule',
  metadata: { name: RULE, namespace: NS },
  spec: {
    drain: { behavior },
    machines: [{ selector: { matchLabels: { pool: 'storage' } }, clusterSelector: { matchLabels: { stage: 'production' } } }],
    pods: [{ selector: { matchLabels: { 'longhorn.io/component': 'instance-manager' } }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': LONGHORN_NS } } }],
  },
});

const remove = () => kubectl(['delete', 'machines.cluster.x-k8s.io', MACHINE, '-n', NS, '--dry-run=server']);

describe('MachineDrainRules skipping Longhorn instance-manager pods, under block-for-eviction', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(NS);
    await createNode(NODE);
    await setNodeReady(NODE, 'True');
    await createLonghornNode(NODE);
    await createLonghornVolume({ name: 'mdr-last', numberOfReplicas: 1, replicas: [{ node: NODE }], claim: { namespace: NS, name: 'ledger' } });
    await apply({ apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: { name: 'node-drain-policy', namespace: LONGHORN_NS }, value: 'block-for-eviction' });
    await createPod({ name: POD, namespace: LONGHORN_NS, node: NODE });
    await must(
      kubectl(['label', 'pod', POD, '-n', LONGHORN_NS, '--overwrite', 'longhorn.io/component=instance-manager', 'longhorn.io/node=' + NODE, 'longhorn.io/instance-manager-type=aio']),
      'label the instance-manager pod',
    );
    await apply(
      { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster', metadata: { name: 'c1', namespace: NS, labels: { stage: 'production' } }, spec: {} },
      {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Machine',
        metadata: { name: MACHINE, namespace: NS, labels: { 'cluster.x-k8s.io/cluster-name': 'c1', pool: 'storage' } },
        spec: { clusterName: 'c1' },
      },
    );
    await patchStatus('machines.cluster.x-k8s.io', MACHINE, { nodeRef: { name: NODE } }, NS);
  }, 120_000);

  afterAll(async () => {
    await kubectl(['annotate', 'node', NODE, '--overwrite', 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=e2e cleanup', 'volume-guard.io/skip-by=admin']);
    await deleteObjects(
      ['machinedrainrules.cluster.x-k8s.io', RULE, '-n', NS],
      ['machines.cluster.x-k8s.io', MACHINE, '-n', NS],
      ['clusters.cluster.x-k8s.io', 'c1', '-n', NS],
      ['pod', POD, '-n', LONGHORN_NS, '--force', '--grace-period=0'],
      ['settings.longhorn.io', 'node-drain-policy', '-n', LONGHORN_NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume=mdr-last', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'mdr-last', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', NODE, '-n', LONGHORN_NS],
      ['node', NODE],
    );
  });

  it('allows the DELETE while the drain evicts the instance manager, refuses it once a Skip rule or the drain label skips it', async () => {
    const held = await eventually(remove, (r) => r.code === 0 && r.stderr.includes('block-for-eviction moves them'));
    expect(held.stderr).toContain(`node ${NODE} holds the only copy of 1 Longhorn volume(s): PVC ${NS}/ledger`);

    await apply(rule('Skip'));
    const refused = await eventually(remove, (r) => r.code !== 0);
    expect(refused.stderr).toContain('admission webhook "machine.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('longhorn-system/mdr-last');
    expect(refused.stderr.replace(/\s+/g, ' ')).toContain(`MachineDrainRule ${RULE} skips Longhorn's instance-manager pods (pod ${LONGHORN_NS}/${POD})`);

    // WaitCompleted: the drain waits on a pod that never completes, the node is not deleted.
    await apply(rule('WaitCompleted'));
    await eventually(remove, (r) => r.code === 0 && r.stderr.includes('block-for-eviction moves them'));

    // The pod's own label skips it whatever the rules say.
    await must(kubectl(['label', 'pod', POD, '-n', LONGHORN_NS, 'cluster.x-k8s.io/drain=skip']), 'label the pod drain=skip');
    const labelled = await eventually(remove, (r) => r.code !== 0);
    expect(labelled.stderr.replace(/\s+/g, ' ')).toContain(`pod ${LONGHORN_NS}/${POD} is labelled cluster.x-k8s.io/drain=skip`);
  });

  it('leaves the hold to a rule whose clusterSelector does not match the Cluster', async () => {
    await must(kubectl(['label', 'pod', POD, '-n', LONGHORN_NS, 'cluster.x-k8s.io/drain-']), 'unlabel the pod');
    await apply(rule('Skip'));
    await eventually(remove, (r) => r.code !== 0);
    await must(kubectl(['label', 'clusters.cluster.x-k8s.io', 'c1', '-n', NS, '--overwrite', 'stage=dev']), 'relabel the Cluster');
    await eventually(remove, (r) => r.code === 0 && r.stderr.includes('block-for-eviction moves them'));
  });
});
