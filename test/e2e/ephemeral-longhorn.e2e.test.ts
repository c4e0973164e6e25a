// Longhorn-backed generic ephemeral volumes, through the real API server, kube-controller-manager's ephemeral-volume
// controller (it creates the claim `<pod>-<volume>` owned by the pod) and kubectl. The garbage collector deletes such
// a claim, and Longhorn its volume, with the pod: an operation that takes the pod along loses only scratch data by
// design. So a single-replica scratch volume whose only replica is on the pod's node refuses neither the cordon of
// that node, nor an eviction there, nor an upgrade Plan reaching that node. A scratch volume whose pod runs on
// another node is judged like any volume: the cordon of the node holding its only replica is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import {
  apply,
  createLonghornNode,
  createLonghornVolume,
  createNode,
  deleteObjects,
  ensureNamespace,
  eventually,
  isUnschedulable,
  LONGHORN_NS,
  patchStatus,
} from '../harness/scenario.ts';

const NS = 'e2e-eph-lh';
const POD_NODE = 'ephlh-n1'; // cache-0 and its scratch volume's only replica
const RUN_NODE = 'ephlh-n2'; // cache-1 runs here
const REPLICA_NODE = 'ephlh-n3'; // cache-1's scratch volume's only replica

const denied = (stderr: string, webhook: string) => stderr.includes(`admission webhook "${webhook}.volume-guard.io" denied the request`);

async function scratchPod(name: string, node: string): Promise<string> {
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: {
      nodeName: node,
      automountServiceAccountToken: false,
      containers: [{ name: 'app', image: 'registry.invalid/cache:1', volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }],
      volumes: [
        {
          name: 'scratch',
          ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'longhorn', resources: { requests: { storage: '1Gi' } } } } },
        },
      ],
    },
  });
  await patchStatus('pod', name, { phase: 'Running' }, NS);
  const claim = `${name}-scratch`;
  // The ephemeral-volume controller (kube-controller-manager) creates the claim, owned by the pod.
  const owner = await eventually(
    () => kubectl(['get', 'pvc', claim, '-n', NS, '-o', 'jsonpath={.metadata.ownerReferences[0].kind}']),
    (r) => r.stdout === 'Pod',
    60_000,
  );
  expect(owner.stdout).toBe('Pod');
  return claim;
}

async function planDryRun(name: string, node: string) {
  const plan = {
    apiVersion: 'upgrade.cattle.io/v1',
    kind: 'Plan',
    metadata: { name, namespace: NS },
    spec: {
      version: 'v1.31.4+k3s1',
      concurrency: 1,
      serviceAccountName: 'system-upgrade',
      nodeSelector: { matchLabels: { 'kubernetes.io/hostname': node } },
      upgrade: { image: 'rancher/k3s-upgrade' },
    },
  };
  const file = await tempFile(`ephlh-plan-${name}-${process.pid}.json`, JSON.stringify(plan));
  return kubectl(['create', '-f', file, '--dry-run=server']);
}

describe('Longhorn scratch volumes go with their pod', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await ensureNamespace(LONGHORN_NS);
    for (const node of [POD_NODE, RUN_NODE, REPLICA_NODE]) {
      await createNode(node);
      await createLonghornNode(node);
    }
    const cache0 = await scratchPod('cache-0', POD_NODE);
    await createLonghornVolume({ name: 'ephlh-vol-0', numberOfReplicas: 1, replicas: [{ node: POD_NODE }], claim: { namespace: NS, name: cache0 } });
    const cache1 = await scratchPod('cache-1', RUN_NODE);
    await createLonghornVolume({
      name: 'ephlh-vol-1',
      numberOfReplicas: 1,
      attachedNode: RUN_NODE,
      replicas: [{ node: REPLICA_NODE }],
      claim: { namespace: NS, name: cache1 },
    });
    // The model has seen the scenario once the cordon of the replica node is refused.
    await eventually(() => kubectl(['cordon', REPLICA_NODE, '--dry-run=server']), (r) => denied(r.stderr, 'node-cordon'), 60_000);
  }, 180_000);

  afterAll(async () => {
    await kubectl(['uncordon', POD_NODE]);
    await deleteObjects(
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume=ephlh-vol-0', '-n', LONGHORN_NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume=ephlh-vol-1', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'ephlh-vol-0', 'ephlh-vol-1', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', POD_NODE, RUN_NODE, REPLICA_NODE, '-n', LONGHORN_NS],
      ['node', POD_NODE, RUN_NODE, REPLICA_NODE],
    );
  });

  it("the cordon of the pod's node passes, and so does the eviction of the pod there", async () => {
    const cordon = await kubectl(['cordon', POD_NODE]);
    expect(cordon.stderr).not.toContain('denied');
    expect(await isUnschedulable(POD_NODE)).toBe(true);
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'cache-0', namespace: NS }, deleteOptions: { dryRun: ['All'] } };
    const evicted = await kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/cache-0/eviction`, '-f', '-'], { input: JSON.stringify(eviction) });
    expect(evicted.stderr).toBe('');
    expect(evicted.code).toBe(0);
  });

  it("an upgrade Plan reaching only the pod's node passes", async () => {
    const plan = await planDryRun('ephlh-pod-node', POD_NODE);
    expect(plan.stderr).not.toContain('denied');
    expect(plan.code).toBe(0);
  });

  it('a scratch volume whose pod runs elsewhere refuses the cordon and the upgrade of the node holding its only copy', async () => {
    const cordon = await kubectl(['cordon', REPLICA_NODE]);
    expect(denied(cordon.stderr, 'node-cordon')).toBe(true);
    expect(cordon.stderr).toContain('ephlh-vol-1');
    expect(cordon.stderr).not.toContain('ephlh-vol-0');
    expect(await isUnschedulable(REPLICA_NODE)).toBe(false);
    const plan = await planDryRun('ephlh-replica-node', REPLICA_NODE);
    expect(denied(plan.stderr, 'upgrade')).toBe(true);
    expect(plan.stderr).toContain('ephlh-vol-1');
  });
});
