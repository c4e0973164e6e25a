// An evicted hostPath pod comes straight back when its node is the only one the scheduler could place its
// replacement on: its nodeSelector matches no other node, or every other match is cordoned. Through the real API
// server with the real kubectl: the eviction is allowed; once a second node of its zone joins, it is refused (the
// replacement may start there without its data); once that node is cordoned, allowed again.
// No scheduler or kubelet here: Nodes and Pods (with nodeName) are written as those would write them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { createNode, createReplicaSetHostPathPod, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'e2e-hostpath-feasible';
const HOME = 'hf-home';
const PEER = 'hf-peer';
const ZONE = { 'e2e-hostpath-feasible/zone': 'z1' };
const POD = 'cache-7c-x1';

/** A server-side dry-run eviction of the pod. */
function evict(pod = POD) {
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: NS }, deleteOptions: { dryRun: ['All'] } };
  return kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}/eviction`, '-f', '-'], { input: JSON.stringify(eviction) });
}

describe('an evicted hostPath pod whose node is the only one its selector matches', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(HOME, ZONE);
    // A ReplicaSet pod writing to an inline hostPath, placed by its zone.
    await createReplicaSetHostPathPod({ name: POD, namespace: NS, node: HOME, nodeSelector: ZONE, replicaSet: 'cache-7c', uid: '0b3c6a4e-0000-4000-8000-0000000f0e01', image: 'registry.invalid/cache:1', mountPath: '/cache', path: '/srv/hf-cache' });
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(['pod', '--all', '-n', NS, '--grace-period=0', '--force'], ['node', HOME, PEER]);
  });

  it('is allowed: its replacement can only start back on the same node, with its data', async () => {
    const allowed = await eventually(evict, (r) => r.code === 0, 30_000);
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it('is refused once another node of its zone could take the replacement, naming the pod and its path', async () => {
    await createNode(PEER, ZONE);
    const refused = await eventually(evict, (r) => r.code !== 0, 30_000);
    expect(refused.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(POD);
    expect(refused.stderr).toContain('/srv/hf-cache');
  });

  it('is allowed again once that node is cordoned', async () => {
    await must(kubectl(['cordon', PEER]), 'cordon the peer');
    const allowed = await eventually(evict, (r) => r.code === 0, 30_000);
    expect(allowed.code, allowed.stderr).toBe(0);
  });
});

// Replicas spread one per node by required pod anti-affinity on kubernetes.io/hostname (InterPodAffinity): with a
// replica on every other node of its zone, the evicted one's replacement can only take its own node back.
describe('an evicted hostPath replica spread one per node by required anti-affinity', () => {
  const SPREAD_ZONE = { 'e2e-hostpath-feasible/zone': 'z2' };
  const NODES = ['hf-spread-1', 'hf-spread-2', 'hf-spread-3'];
  const REPLICA = 'spread-9d-x1';
  const affinity = {
    podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'spread' } }, topologyKey: 'kubernetes.io/hostname' }] },
  };
  const replica = (name: string, node: string) =>
    createReplicaSetHostPathPod({
      name,
      namespace: NS,
      node,
      nodeSelector: SPREAD_ZONE,
      replicaSet: 'spread-9d',
      uid: '0b3c6a4e-0000-4000-8000-0000000f0e03',
      image: 'registry.invalid/spread:1',
      mountPath: '/spread',
      path: '/srv/hf-spread',
      labels: { app: 'spread' },
      affinity,
    });

  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODES[0]!, SPREAD_ZONE);
    await createNode(NODES[1]!, SPREAD_ZONE);
    await replica(REPLICA, NODES[0]!);
    await replica('spread-9d-x2', NODES[1]!);
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(['pod', '--all', '-n', NS, '--grace-period=0', '--force'], ['node', ...NODES]);
  });

  it('is allowed while the only other node of its zone runs a replica', async () => {
    const allowed = await eventually(() => evict(REPLICA), (r) => r.code === 0, 30_000);
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it('is refused once a node of its zone without a replica joins', async () => {
    await createNode(NODES[2]!, SPREAD_ZONE);
    const refused = await eventually(() => evict(REPLICA), (r) => r.code !== 0, 30_000);
    expect(refused.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('/srv/hf-spread');
  });
});

// Replicas binding host port 8443 (NodePorts): with a replica on every other node of its zone, the evicted one's
// replacement can only take its own node back.
describe('an evicted hostPath replica binding a host port another node’s replica holds', () => {
  const PORT_ZONE = { 'e2e-hostpath-feasible/zone': 'z3' };
  const NODES = ['hf-port-1', 'hf-port-2', 'hf-port-3'];
  const REPLICA = 'proxy-4e-x1';
  const replica = (name: string, node: string) =>
    createReplicaSetHostPathPod({
      name,
      namespace: NS,
      node,
      nodeSelector: PORT_ZONE,
      replicaSet: 'proxy-4e',
      uid: '0b3c6a4e-0000-4000-8000-0000000f0e04',
      image: 'registry.invalid/proxy:1',
      mountPath: '/proxy',
      path: '/srv/hf-proxy',
      ports: [{ containerPort: 8443, hostPort: 8443 }],
    });

  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODES[0]!, PORT_ZONE);
    await createNode(NODES[1]!, PORT_ZONE);
    await replica(REPLICA, NODES[0]!);
    await replica('proxy-4e-x2', NODES[1]!);
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(['pod', '--all', '-n', NS, '--grace-period=0', '--force'], ['node', ...NODES]);
  });

  it('is allowed while the only other node of its zone runs a replica on that port', async () => {
    const allowed = await eventually(() => evict(REPLICA), (r) => r.code === 0, 30_000);
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it('is refused once a node of its zone with the port free joins', async () => {
    await createNode(NODES[2]!, PORT_ZONE);
    const refused = await eventually(() => evict(REPLICA), (r) => r.code !== 0, 30_000);
    expect(refused.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('/srv/hf-proxy');
  });
});
