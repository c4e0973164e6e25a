// Restart identities (evictions.restartUsers: the descheduler) may evict from a schedulable node a pod whose data
// follows it back: a PV pinned to that node. A hostPath PV no affinity pins (minikube's, MicroK8s' provisioners)
// does not follow where the restarted pod may land on another node (or, a bare pod, is not restarted at all), so that
// eviction stays refused; where no other node would take it now (the other node a `local` PV lists cordoned), it does. A volume-guard of its
// own with the descheduler configured, registered beside the shared one (failurePolicy Ignore), judges evictions
// sent by the real kubectl as the descheduler's service account; its metrics tell its answers from the shared one's
// (which refuses both: it has no restart identities). Once the node's Cluster API Machine is being deleted (before
// any cordon), nothing comes back to the node: the same restart is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCluster, kubectl } from '../harness/cluster.ts';
import { metricValue, registerWebhooks, startGuard, unregisterWebhooks, type GuardInstance } from '../harness/guard.ts';
import { apply, applyBoundPair, createBoundLocalVolume, createNode, createPod, deleteObjects, ensureNamespace, eventually, must, patchStatus } from '../harness/scenario.ts';

const NS = 'e2e-restart-eviction';
const NODE = 're-n1';
const NODE_2 = 're-n2';
const NAME = `volume-guard-test-restart-${process.pid}`;
const DESCHEDULER = 'system:serviceaccount:kube-system:descheduler';
let guard: GuardInstance;

const count = (decision: string) => metricValue(guard, `volume_guard_admission_requests_total{target="pod-eviction",operation="CREATE",decision="${decision}"}`);

/** A server-side dry-run eviction sent as the descheduler. */
async function evictAsDescheduler(pod: string) {
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: NS }, deleteOptions: { dryRun: ['All'] } };
  return kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}/eviction`, '-f', '-', `--as=${DESCHEDULER}`], { input: JSON.stringify(eviction) });
}

describe('restart evictions: only data the pod can only come back to follows it', () => {
  beforeAll(async () => {
    const cluster = await ensureCluster();
    guard = await startGuard(cluster, { name: 'restart-eviction', config: { evictions: { restartUsers: [DESCHEDULER] } } });
    await registerWebhooks(guard, { name: NAME, failurePolicy: 'Ignore' });
    await ensureNamespace(NS);
    await must(kubectl(['create', 'clusterrole', 're-evictor', '--verb=create', '--resource=pods/eviction']), 'role');
    await must(kubectl(['create', 'clusterrolebinding', 're-evictor', '--clusterrole=re-evictor', `--user=${DESCHEDULER}`]), 'binding');
    await createNode(NODE);
    await createBoundLocalVolume({ pv: 're-pinned-pv', node: NODE, namespace: NS, claim: 'pinned' });
    await createPod({ name: 'pinned-0', namespace: NS, node: NODE, claims: ['pinned'] });
    // A hostPath PV with no node affinity, as minikube's storage provisioner makes them.
    await applyBoundPair(
      {
        metadata: { name: 're-unpinned-pv' },
        spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: 'standard', hostPath: { path: '/tmp/hostpath-provisioner/re' } },
      },
      { name: 'unpinned', namespace: NS, storageClassName: 'standard' },
    );
    await createPod({ name: 'unpinned-0', namespace: NS, node: NODE, claims: ['unpinned'] });
    // A ReplicaSet pod writing to an inline hostPath, kept on the node by its local PV: it comes back to both. (Its
    // owner under an API version the cluster does not serve: the garbage collector leaves the pod alone.)
    await createBoundLocalVolume({ pv: 're-index-pv', node: NODE, namespace: NS, claim: 'index' });
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'cache-5d-x1',
        namespace: NS,
        ownerReferences: [{ apiVersion: 'apps/v1beta2', kind: 'ReplicaSet', name: 'cache-5d', uid: '0b3c6a4e-0000-4000-8000-000000000e01', controller: true }],
      },
      spec: {
        nodeName: NODE,
        automountServiceAccountToken: false,
        containers: [{ name: 'app', image: 'registry.invalid/cache:1', volumeMounts: [{ name: 'h', mountPath: '/cache' }, { name: 'index', mountPath: '/index' }] }],
        volumes: [
          { name: 'h', hostPath: { path: '/srv/re-cache', type: 'DirectoryOrCreate' } },
          { name: 'index', persistentVolumeClaim: { claimName: 'index' } },
        ],
      },
    });
    await patchStatus('pod', 'cache-5d-x1', { phase: 'Running' }, NS);
    // A `local` PV listing two nodes (pinned to neither), written by a ReplicaSet pod on the first; the second cordoned.
    await createNode(NODE_2);
    await must(kubectl(['cordon', NODE_2]), 'cordon the second node');
    await applyBoundPair(
      {
        metadata: { name: 're-two-pv' },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: 'local-storage',
          local: { path: '/mnt/disks/re-two' },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [NODE, NODE_2] }] }] } },
        },
      },
      { name: 'two', namespace: NS, storageClassName: 'local-storage' },
    );
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'two-5d-x1',
        namespace: NS,
        ownerReferences: [{ apiVersion: 'apps/v1beta2', kind: 'ReplicaSet', name: 'two-5d', uid: '0b3c6a4e-0000-4000-8000-000000000e02', controller: true }],
      },
      spec: {
        nodeName: NODE,
        automountServiceAccountToken: false,
        containers: [{ name: 'app', image: 'registry.invalid/db:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'two' } }],
      },
    });
    await patchStatus('pod', 'two-5d-x1', { phase: 'Running' }, NS);
  }, 180_000);

  afterAll(async () => {
    await kubectl(['patch', 'machines.cluster.x-k8s.io', 're-machine', '-n', NS, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await unregisterWebhooks(NAME);
    await guard?.stop();
    await deleteObjects(
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', 're-pinned-pv', 're-unpinned-pv', 're-index-pv', 're-two-pv'],
      ['clusterrolebinding', 're-evictor'],
      ['clusterrole', 're-evictor'],
      ['node', NODE, NODE_2],
    );
  });

  it('allows the pinned PV as a restart; refuses the unpinned one', async () => {
    // Until this volume-guard's model has seen the pod, the eviction reads as one of an unknown pod: wait for the
    // restart answer (a warning) on the pinned one.
    await eventually(
      async () => {
        const before = await count('warned');
        await evictAsDescheduler('pinned-0');
        return (await count('warned')) - before;
      },
      (warned) => warned === 1,
    );
    const denied = await count('denied');
    const warned = await count('warned');
    const refused = await evictAsDescheduler('unpinned-0');
    // The shared volume-guard refuses it too; this one's metrics say it refused it as well, not as a restart.
    expect(refused.stderr).toContain('re-unpinned-pv');
    expect((await count('denied')) - denied).toBe(1);
    expect((await count('warned')) - warned).toBe(0);
  });

  it('allows as a restart a pod whose host path follows it back with its pinned PV', async () => {
    const warned = await eventually(
      async () => {
        const before = await count('warned');
        await evictAsDescheduler('cache-5d-x1');
        return (await count('warned')) - before;
      },
      (n) => n === 1,
    );
    expect(warned).toBe(1);
  });

  it('allows as a restart a pod whose unpinned local PV it comes straight back to; refuses it once another node could take it', async () => {
    // re-n2, the other node its PV allows, is cordoned: the recreated pod can only land back on re-n1.
    const warned = await eventually(
      async () => {
        const before = await count('warned');
        await evictAsDescheduler('two-5d-x1');
        return (await count('warned')) - before;
      },
      (n) => n === 1,
    );
    expect(warned).toBe(1);
    await must(kubectl(['uncordon', NODE_2]), 'uncordon the second node');
    const denied = await eventually(
      async () => {
        const before = await count('denied');
        const refused = await evictAsDescheduler('two-5d-x1');
        return (await count('denied')) - before === 1 && refused.stderr.includes('re-two-pv');
      },
      (refusedHere) => refusedHere,
    );
    expect(denied).toBe(true);
  });

  it("refuses the same restart once the node's Machine is being deleted: the node goes with its disks", async () => {
    // Deleted before it names the node (so its own DELETE judges nothing), held by its finalizer, then given the node:
    // the Machine controller drains a node it deletes, and the descheduler may get there before its cordon.
    await apply({ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine', metadata: { name: 're-machine', namespace: NS, finalizers: ['machine.cluster.x-k8s.io'] }, spec: { clusterName: 'c1' } });
    await must(kubectl(['delete', 'machines.cluster.x-k8s.io', 're-machine', '-n', NS, '--wait=false']), 'delete the Machine');
    await patchStatus('machines.cluster.x-k8s.io', 're-machine', { nodeRef: { name: NODE } }, NS);
    const denied = await eventually(
      async () => {
        const before = await count('denied');
        await evictAsDescheduler('pinned-0');
        return (await count('denied')) - before;
      },
      (n) => n === 1,
    );
    expect(denied).toBe(1);
  });
});
