// Seeds 001 and 002 across KWOK's fake nodes on the whole cluster: the workloads are real pods placed by the real
// scheduler, their claims bound by the real PV controller, moved by real drains (the Deployment controller and the
// scheduler put evicted pods elsewhere), and a node whose kubelet stops heartbeating is turned Unknown by
// kube-controller-manager's node lifecycle. Longhorn cannot run here: its CRs (nodes, volumes, replicas) are
// written by the test where longhorn-manager would write them, following the pods the scheduler placed.
// Skipped unless the whole cluster runs (VG_WHOLE_CLUSTER=1 or `npm run cluster:up -- --whole`).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubectl, tempFile, type CommandResult } from '../harness/cluster.ts';
import { ensureFakeNodes } from '../harness/node.ts';
import {
  apply,
  createLonghornNode,
  createLonghornVolume,
  deleteObjects,
  diskUUID,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  must,
  patchStatus,
  type LonghornReplicaSpec,
} from '../harness/scenario.ts';
import { deleteNamespaceAndWait, fakeNodeToleration, freshNamespace, nodeReadyStatus, partitionNode, spreadOverFakeNodes, waitJsonpath } from '../support/whole.ts';

const whole = inject('cluster').whole;
const HARVESTER_NS = 'harvester-system';
const PLAN_NS = 'system-upgrade';
const LONGHORN_CLASS = 'longhorn';

// kubectl cordon reports a refused patch on stderr ("unable to cordon node") but may still exit 0.
const denied = (r: CommandResult, webhook: string) => r.stderr.includes(`admission webhook "${webhook}.volume-guard.io" denied the request`);
const cordonRefused = (r: CommandResult) => r.stderr.includes('denied the request');

/**
 * A Longhorn-backed claim as the CSI driver leaves it (a PV named after the volume, reserved for the claim; the PV
 * controller binds the two) and a Deployment of one pod mounting it, placed on a fake node by the scheduler.
 * Resolves the node the pod runs on.
 */
async function runWorkload(namespace: string, app: string, volume: string, replicas = 1): Promise<string> {
  await apply(
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: LONGHORN_CLASS },
      provisioner: 'driver.longhorn.io',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: volume },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: LONGHORN_CLASS,
        csi: { driver: 'driver.longhorn.io', volumeHandle: volume, fsType: 'ext4' },
        claimRef: { namespace, name: `${app}-disk` },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: `${app}-disk`, namespace },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: LONGHORN_CLASS, volumeName: volume, resources: { requests: { storage: '1Gi' } } },
    },
  );
  // Bound by kube-controller-manager's PV controller, not by the test.
  await waitJsonpath(['pvc', `${app}-disk`, '-n', namespace], '{.status.phase}', (v) => v === 'Bound');
  await apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app, namespace },
    spec: {
      replicas,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { app } },
      template: {
        metadata: { labels: { app } },
        spec: {
          nodeSelector: { type: 'kwok' },
          tolerations: [fakeNodeToleration],
          containers: [{ name: 'app', image: 'registry.invalid/app:1', volumeMounts: [{ name: 'disk', mountPath: '/disk' }] }],
          volumes: [{ name: 'disk', persistentVolumeClaim: { claimName: `${app}-disk` } }],
        },
      },
    },
  });
  await waitJsonpath(['deployment', app, '-n', namespace], '{.status.readyReplicas}', (v) => v === String(replicas));
  return podNode(namespace, app);
}

/** The node the scheduler placed the (single) running pod of `app` on. */
async function podNode(namespace: string, app: string): Promise<string> {
  const nodes = await waitJsonpath(
    ['pods', '-n', namespace, '-l', `app=${app}`, '--field-selector=status.phase=Running'],
    '{.items[*].spec.nodeName}',
    (v) => v.trim() !== '' && v.trim().split(' ').length === 1,
  );
  return nodes.trim();
}

async function createUpgrade(name: string, annotations: Record<string, string>, dryRun: boolean) {
  const upgrade = { apiVersion: 'harvesterhci.io/v1beta1', kind: 'Upgrade', metadata: { name, namespace: HARVESTER_NS, annotations }, spec: { version: 'v1.5.0', logEnabled: false } };
  const file = await tempFile(`fake-nodes-upgrade-${name}.json`, JSON.stringify(upgrade));
  return kubectl(['create', '-f', file, ...(dryRun ? ['--dry-run=server'] : [])]);
}

async function createPlan(name: string, dryRun: boolean) {
  const plan = {
    apiVersion: 'upgrade.cattle.io/v1',
    kind: 'Plan',
    metadata: { name, namespace: PLAN_NS },
    spec: { concurrency: 1, version: 'v1.31.4+k3s1', serviceAccountName: 'system-upgrade', nodeSelector: {}, upgrade: { image: 'rancher/k3s-upgrade' } },
  };
  const file = await tempFile(`fake-nodes-plan-${name}.json`, JSON.stringify(plan));
  return kubectl(['create', '-f', file, ...(dryRun ? ['--dry-run=server'] : [])]);
}

/** Retries a server-side dry run (it reaches the webhooks) until `accept` holds: volume-guard's model follows by watch. */
const until = (attempt: () => Promise<CommandResult>, accept: (r: CommandResult) => boolean, timeoutMs = 30_000) => eventually(attempt, accept, timeoutMs);

describe.skipIf(!whole)('seed 001 across fake nodes: single-replica data where the scheduler put it blocks a Harvester upgrade', () => {
  const NS = 's001-fake-vms';
  let fakes: string[] = [];
  let heal: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    fakes = await ensureFakeNodes(3);
    await freshNamespace(NS);
    await ensureNamespace(HARVESTER_NS);
    await ensureNamespace(LONGHORN_NS);
    for (const node of fakes) await createLonghornNode(node);
  }, 240_000);

  afterAll(async () => {
    if (!whole) return;
    await heal?.();
    for (const node of fakes) await kubectl(['uncordon', node]);
    await deleteObjects(
      ['upgrades.harvesterhci.io', '--all', '-n', HARVESTER_NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume in (s001f-vm-a,s001f-vm-b)', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 's001f-vm-a', 's001f-vm-b', '-n', LONGHORN_NS],
    );
    await deleteNamespaceAndWait(NS).catch(() => undefined);
    await kubectl(['delete', 'pv', 's001f-vm-a', 's001f-vm-b', '--ignore-not-found', '--wait=false']);
  }, 240_000);

  it('the VM disk has its only replica on the node the scheduler chose: that cordon and the Upgrade are refused', async () => {
    const node = await runWorkload(NS, 'vm-a', 's001f-vm-a');
    expect(fakes).toContain(node);
    // longhorn-manager attaches the volume where the pod runs; its only replica is there.
    await createLonghornVolume({ name: 's001f-vm-a', numberOfReplicas: 1, state: 'attached', attachedNode: node, replicas: [{ node }], claim: { namespace: NS, name: 'vm-a-disk' } });

    const cordon = await until(() => kubectl(['cordon', node, '--dry-run=server']), cordonRefused);
    expect(denied(cordon, 'node-cordon'), cordon.stderr).toBe(true);
    expect(cordon.stderr).toContain('longhorn-system/s001f-vm-a');
    // Another fake node holds nothing: its cordon goes through.
    const other = fakes.find((n) => n !== node)!;
    const otherCordon = await kubectl(['cordon', other, '--dry-run=server']);
    expect(otherCordon.stderr).not.toContain('denied');
    expect(otherCordon.code).toBe(0);

    const upgrade = await until(() => createUpgrade('s001f-1', {}, true), (r) => r.code !== 0);
    expect(denied(upgrade, 'upgrade'), upgrade.stderr).toBe(true);
    expect(upgrade.stderr).toContain('[single-replica]');
    expect(upgrade.stderr).toContain('longhorn-system/s001f-vm-a');
    expect(upgrade.stderr).toContain(`${NS}/vm-a-disk`);
    expect(upgrade.stderr).toContain(node);
    // Harvester's annotation waives detached volumes only: this one is attached.
    const skipped = await createUpgrade('s001f-2', { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' }, true);
    expect(denied(skipped, 'upgrade'), skipped.stderr).toBe(true);
  }, 240_000);

  it('the VM stopped (Deployment scaled to 0, the volume detached): the Upgrade passes only with skipSingleReplicaDetachedVol', async () => {
    await must(kubectl(['scale', 'deployment', 'vm-a', '-n', NS, '--replicas=0']), 'scale vm-a to 0');
    await waitJsonpath(['pods', '-n', NS, '-l', 'app=vm-a'], '{.items[*].metadata.name}', (v) => v.trim() === '');
    // longhorn-manager detaches a volume no pod uses; the replica stays, stopped.
    await patchStatus('volumes.longhorn.io', 's001f-vm-a', { state: 'detached', robustness: 'unknown', currentNodeID: '' }, LONGHORN_NS);
    await patchStatus('replicas.longhorn.io', 's001f-vm-a-r-0', { currentState: 'stopped' }, LONGHORN_NS);

    const plain = await until(() => createUpgrade('s001f-3', {}, true), (r) => r.stderr.includes('detached'));
    expect(denied(plain, 'upgrade'), plain.stderr).toBe(true);
    expect(plain.stderr).toContain('longhorn-system/s001f-vm-a');
    const allowed = await createUpgrade('s001f-4', { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' }, false);
    expect(allowed.stderr).toContain('single-replica overridden by annotation harvesterhci.io/skipSingleReplicaDetachedVol');
    expect(allowed.code).toBe(0);
    await must(kubectl(['delete', 'upgrades.harvesterhci.io', 's001f-4', '-n', HARVESTER_NS]), 'delete upgrade');
    // The VM's disk is deleted with it: nothing single-replica is left.
    await deleteObjects(['replicas.longhorn.io', '-l', 'longhornvolume=s001f-vm-a', '-n', LONGHORN_NS], ['volumes.longhorn.io', 's001f-vm-a', '-n', LONGHORN_NS]);
  }, 240_000);

  it('a 2-replica volume whose other node stops heartbeating (node lifecycle: Ready Unknown) has one copy left: refused until the node is back', async () => {
    const node = await runWorkload(NS, 'vm-b', 's001f-vm-b');
    const peer = fakes.find((n) => n !== node)!;
    await createLonghornVolume({
      name: 's001f-vm-b',
      numberOfReplicas: 2,
      state: 'attached',
      attachedNode: node,
      replicas: [{ node }, { node: peer }],
      claim: { namespace: NS, name: 'vm-b-disk' },
    });
    // Two copies on two Ready nodes: an upgrade rolls them one at a time, nothing is at risk.
    const fine = await until(() => createUpgrade('s001f-5', {}, true), (r) => r.code === 0 && !r.stderr.includes('s001f-vm-a'));
    expect(fine.stderr).not.toContain('denied');
    expect(fine.code).toBe(0);

    heal = await partitionNode(peer);
    // kube-controller-manager, not the test, turns the node Unknown and taints it unreachable.
    await waitJsonpath(['node', peer], '{.status.conditions[?(@.type=="Ready")].status}', (v) => v === 'Unknown', 150_000);
    expect((await kubectl(['get', 'node', peer, '-o', 'jsonpath={.spec.taints[*].key}'])).stdout).toContain('node.kubernetes.io/unreachable');
    // After volume-guard's grace (nodeDownGraceSeconds, 30 s), the peer's replica no longer counts as a copy.
    const upgrade = await until(() => createUpgrade('s001f-6', {}, true), (r) => r.code !== 0, 90_000);
    expect(denied(upgrade, 'upgrade'), upgrade.stderr).toBe(true);
    expect(upgrade.stderr).toContain('longhorn-system/s001f-vm-b');
    expect(upgrade.stderr).toContain(`only 1 copy, on node ${node}: the others are on node ${peer}, down`);
    const cordon = await until(() => kubectl(['cordon', node, '--dry-run=server']), cordonRefused);
    expect(denied(cordon, 'node-cordon'), cordon.stderr).toBe(true);
    expect(cordon.stderr).toContain('s001f-vm-b');

    await heal();
    heal = undefined;
    await waitJsonpath(['node', peer], '{.status.conditions[?(@.type=="Ready")].status}', (v) => v === 'True', 180_000);
    expect(await nodeReadyStatus(peer)).toBe('True');
    const again = await until(() => createUpgrade('s001f-7', {}, true), (r) => r.code === 0);
    expect(again.stderr).not.toContain('denied');
    expect(again.code).toBe(0);
    await kubectl(['annotate', 'node', peer, 'vg-test/reconnected-']);
  }, 420_000);
});

describe.skipIf(!whole)('seed 002 across fake nodes: a rolling node replacement with kubectl drain, then a reformatted disk', () => {
  const NS = 's002-fake-app';
  const VOLUME = 's002f-db';
  let fakes: string[] = [];
  let dbNode = '';
  let replaced = '';

  beforeAll(async () => {
    fakes = await ensureFakeNodes(3);
    await freshNamespace(NS);
    await ensureNamespace(PLAN_NS);
    await ensureNamespace(LONGHORN_NS);
    for (const node of fakes) await createLonghornNode(node);
  }, 240_000);

  afterAll(async () => {
    if (!whole) return;
    for (const node of fakes) await kubectl(['uncordon', node]);
    for (const node of fakes) await createLonghornNode(node);
    await deleteObjects(
      ['plans.upgrade.cattle.io', '--all', '-n', PLAN_NS],
      ['replicas.longhorn.io', '-l', `longhornvolume=${VOLUME}`, '-n', LONGHORN_NS],
      ['volumes.longhorn.io', VOLUME, '-n', LONGHORN_NS],
    );
    await deleteNamespaceAndWait(NS).catch(() => undefined);
    await kubectl(['delete', 'pv', VOLUME, '--ignore-not-found', '--wait=false']);
  }, 240_000);

  it('healthy 3 replicas: the Plan passes and the drain of a replica node completes, its pods rescheduled elsewhere', async () => {
    dbNode = await runWorkload(NS, 'db', VOLUME);
    await createLonghornVolume({ name: VOLUME, attachedNode: dbNode, replicas: fakes.map((node) => ({ node })), claim: { namespace: NS, name: 'db-disk' } });
    await spreadOverFakeNodes(NS, 'web', 3);
    const plan = await until(() => createPlan('s002f-ok', true), (r) => r.code === 0);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);

    // The rolling replacement starts with a node the database does not run on.
    replaced = fakes.find((n) => n !== dbNode)!;
    const drained = await kubectl(['drain', replaced, '--ignore-daemonsets', '--timeout=90s'], { timeoutMs: 120_000 });
    expect(drained.stderr).not.toContain('denied');
    expect(drained.code, drained.stderr).toBe(0);
    // The Deployment controller recreated the evicted pods; the scheduler put them on the nodes left.
    await waitJsonpath(
      ['pods', '-n', NS, '-l', 'app=web', '--field-selector=status.phase=Running'],
      '{.items[*].spec.nodeName}',
      (v) => v.trim().split(' ').length === 3 && !v.split(' ').includes(replaced),
    );
    expect(await podNode(NS, 'db')).toBe(dbNode);
  }, 300_000);

  it('the replaced node comes back with a reformatted disk: the stale replica blocks the Plan and the next drain', async () => {
    // longhorn-manager on the new node reports a new disk; the replica still points at the old UUID and is stopped.
    const oldDisk = diskUUID(replaced);
    await createLonghornNode(replaced, [`${oldDisk}-new`]);
    const replicas: LonghornReplicaSpec[] = fakes.map((node) => (node === replaced ? { node, state: 'stopped', diskID: oldDisk } : { node }));
    await createLonghornVolume({ name: VOLUME, robustness: 'degraded', attachedNode: dbNode, replicas, claim: { namespace: NS, name: 'db-disk' } });
    await must(kubectl(['uncordon', replaced]), 'uncordon');

    const plan = await until(() => createPlan('s002f-disk', true), (r) => r.code !== 0);
    expect(denied(plan, 'upgrade'), plan.stderr).toBe(true);
    expect(plan.stderr).toContain('[volume-health]');
    expect(plan.stderr).toContain(`longhorn-system/${VOLUME}`);
    expect(plan.stderr).toContain(replaced);
    expect(plan.stderr).toContain(oldDisk);
    // Cordoning the database's node, the next step of the roll, is refused too: the volume is short of a copy.
    const cordon = await until(() => kubectl(['cordon', dbNode, '--dry-run=server']), cordonRefused);
    expect(denied(cordon, 'node-cordon'), cordon.stderr).toBe(true);
    expect(cordon.stderr).toContain(VOLUME);
    expect((await kubectl(['get', 'node', dbNode, '-o', 'jsonpath={.spec.unschedulable}'])).stdout).toBe('');
  }, 240_000);

  it('once Longhorn rebuilt the replica on the new disk, the drain of the database node completes and the pod moves', async () => {
    const newDisk = `${diskUUID(replaced)}-new`;
    const replicas: LonghornReplicaSpec[] = fakes.map((node) => (node === replaced ? { node, diskID: newDisk } : { node }));
    await createLonghornVolume({ name: VOLUME, attachedNode: dbNode, replicas, claim: { namespace: NS, name: 'db-disk' } });
    await until(() => createPlan('s002f-rebuilt', true), (r) => r.code === 0);
    await until(() => kubectl(['cordon', dbNode, '--dry-run=server']), (r) => !cordonRefused(r));

    const drained = await kubectl(['drain', dbNode, '--ignore-daemonsets', '--timeout=90s'], { timeoutMs: 120_000 });
    expect(drained.stderr).not.toContain('denied');
    expect(drained.code, drained.stderr).toBe(0);
    const moved = await podNode(NS, 'db');
    expect(moved).not.toBe(dbNode);
    expect(fakes).toContain(moved);
    await must(kubectl(['uncordon', dbNode]), 'uncordon');
  }, 300_000);
});

// The partition helper is only as good as its CEL: a status write that is not a heartbeat still passes.
describe.skipIf(!whole)('the partition of a fake node used above', () => {
  it('refuses its Lease renewals and Ready=True status, lets other nodes and other writes through', async () => {
    const [a, b] = await ensureFakeNodes(2);
    const heal = await partitionNode(a!);
    try {
      const lease = await until(
        () => kubectl(['annotate', 'lease', a!, '-n', 'kube-node-lease', 'vg-test=1', '--overwrite']),
        (r) => r.code !== 0,
      );
      expect(lease.stderr).toContain(`test partition: the kubelet of ${a} cannot reach the API server`);
      expect((await kubectl(['annotate', 'lease', b!, '-n', 'kube-node-lease', 'vg-test=1', '--overwrite'])).code).toBe(0);
      expect((await kubectl(['label', 'node', a!, 'vg-test=1', '--overwrite'])).code).toBe(0);
    } finally {
      await heal();
      await kubectl(['label', 'node', a!, 'vg-test-']);
      await kubectl(['annotate', 'node', a!, 'vg-test/reconnected-']);
      await kubectl(['annotate', 'lease', b!, '-n', 'kube-node-lease', 'vg-test-']);
    }
  }, 120_000);
});
