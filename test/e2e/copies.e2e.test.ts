// Issue 12.1/12.2/12.9 through the real API server with the real kubectl: copies are the distinct nodes holding a
// healthy replica whose node is up; failed replicas of a healthy volume are no risk; Harvester's own drains of an
// upgrade (Upgrade or UpgradePlan) admitted with skipSingleReplicaDetachedVol pass; Longhorn's block-for-eviction drain policy is said, not
// refused on a cordon (Longhorn acts on nothing else), and so is an eviction requested on the Longhorn node under the
// default policy, while a volume with no copy left is refused whatever the policy; a node whose Ready turned Unknown
// is down at once, as longhorn-manager judges it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import {
  apply,
  applyBoundPair,
  createLonghornVolume,
  createPod,
  deleteObjects,
  diskUUID,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  must,
  patchStatus,
  readyLonghornNodes,
  setNodeReady,
} from '../harness/scenario.ts';

const NODES = ['cp-n1', 'cp-n2', 'cp-n3'];
const HARVESTER_NS = 'harvester-system';

async function createUpgrade(name: string, annotations: Record<string, string> = {}, dryRun = false) {
  const upgrade = {
    apiVersion: 'harvesterhci.io/v1beta1',
    kind: 'Upgrade',
    metadata: { name, namespace: HARVESTER_NS, annotations },
    spec: { version: 'v1.5.0', logEnabled: false },
  };
  const file = await tempFile(`copies-upgrade-${name}.json`, JSON.stringify(upgrade));
  return kubectl(['create', '-f', file, ...(dryRun ? ['--dry-run=server'] : [])]);
}

async function createUpgradePlan(name: string, annotations: Record<string, string> = {}, dryRun = false) {
  const plan = {
    apiVersion: 'management.harvesterhci.io/v1beta1',
    kind: 'UpgradePlan',
    metadata: { name, annotations },
    spec: { version: 'v1.7.0' },
  };
  const file = await tempFile(`copies-upgradeplan-${name}.json`, JSON.stringify(plan));
  return kubectl(['create', '-f', file, ...(dryRun ? ['--dry-run=server'] : [])]);
}

/** A dry-run cordon until the model reaches the wanted verdict, then the real one. `kubectl cordon` exits 0 when refused. */
async function cordonOnce(node: string, denied: boolean) {
  await eventually(() => kubectl(['cordon', node, '--dry-run=server']), (r) => r.stderr.includes('denied') === denied);
  return kubectl(['cordon', node]);
}

async function unschedulable(node: string): Promise<boolean> {
  const got = await must(kubectl(['get', 'node', node, '-o', 'jsonpath={.spec.unschedulable}']), `get node ${node}`);
  return got.stdout.trim() === 'true';
}

async function upgradeOnce(name: string, denied: boolean, annotations: Record<string, string> = {}) {
  await eventually(() => createUpgrade(name, annotations, true), (r) => (r.code !== 0) === denied);
  return createUpgrade(name, annotations);
}

describe('copies are counted per node that is up', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(HARVESTER_NS);
    await readyLonghornNodes(NODES);
  });
  afterEach(async () => {
    for (const node of NODES) {
      await kubectl(['uncordon', node]);
      await setNodeReady(node, 'True');
    }
    await deleteObjects(
      ['upgrades.harvesterhci.io', '--all', '-n', HARVESTER_NS],
      ['upgradeplans.management.harvesterhci.io', 'cp-plan'],
      ['replicas.longhorn.io', '-l', 'longhornvolume', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', '--all', '-n', LONGHORN_NS],
      ['settings.longhorn.io', 'node-drain-policy', '-n', LONGHORN_NS],
    );
  });
  afterAll(async () => {
    await deleteObjects(['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS], ['node', ...NODES]);
  });

  it('two healthy replicas on one node are one copy: the upgrade and the cordon of that node are denied', async () => {
    await createLonghornVolume({
      name: 'cp-same-node',
      numberOfReplicas: 2,
      replicas: [{ node: 'cp-n1' }, { node: 'cp-n1' }],
      claim: { namespace: 'shop', name: 'orders' },
    });
    const upgrade = await upgradeOnce('cp-upgrade-1', true);
    expect(upgrade.code).not.toBe(0);
    expect(upgrade.stderr).toContain('[single-replica]');
    expect(upgrade.stderr).toContain('longhorn-system/cp-same-node');
    expect(upgrade.stderr).toContain('shop/orders');
    expect(upgrade.stderr).toContain('only 1 copy, on node cp-n1: all 2 healthy replicas are there');

    const cordon = await cordonOnce('cp-n1', true);
    expect(cordon.stderr).toContain('[last-replica-on-node]');
    expect(cordon.stderr).toContain('only copy is on node cp-n1 (its other healthy replicas are on the same node)');
    expect(await unschedulable('cp-n1')).toBe(false);
  });

  it('a replica on a NotReady node does not count: the cordon of the node with the other copy is denied', async () => {
    await createLonghornVolume({ name: 'cp-spread', numberOfReplicas: 2, replicas: [{ node: 'cp-n2' }, { node: 'cp-n3' }] });
    // Both nodes up: two copies, the cordon passes.
    const allowed = await cordonOnce('cp-n2', false);
    expect(allowed.stderr).not.toContain('denied');
    expect(await unschedulable('cp-n2')).toBe(true);
    await must(kubectl(['uncordon', 'cp-n2']), 'uncordon');

    await setNodeReady('cp-n3', 'False');
    const denied = await cordonOnce('cp-n2', true);
    expect(denied.stderr).toContain('longhorn-system/cp-spread');
    expect(denied.stderr).toContain('on node cp-n3, down');
    expect(await unschedulable('cp-n2')).toBe(false);
    // And the upgrade sees a single copy too.
    const upgrade = await upgradeOnce('cp-upgrade-2', true);
    expect(upgrade.stderr).toContain('longhorn-system/cp-spread');

    // Ready again: two copies.
    await setNodeReady('cp-n3', 'True', new Date().toISOString());
    const again = await cordonOnce('cp-n2', false);
    expect(again.stderr).not.toContain('denied');
  });

  it('a replica on a disk Longhorn reports not ready (reformatted in place) is no copy', async () => {
    await createLonghornVolume({ name: 'cp-disk', numberOfReplicas: 2, state: 'detached', replicas: [{ node: 'cp-n2' }, { node: 'cp-n3' }] });
    const allowed = await cordonOnce('cp-n2', false);
    expect(allowed.stderr).not.toContain('denied');
    await must(kubectl(['uncordon', 'cp-n2']), 'uncordon');
    // What longhorn-manager writes when the disk's filesystem changed: same UUID recorded, Ready False.
    const diskStatus = (ready: 'True' | 'False') => ({
      diskStatus: { 'disk-0': { diskUUID: diskUUID('cp-n3'), conditions: [{ type: 'Ready', status: ready, reason: ready === 'True' ? '' : 'DiskFilesystemChanged' }] } },
    });
    await patchStatus('nodes.longhorn.io', 'cp-n3', diskStatus('False'), LONGHORN_NS);
    try {
      const denied = await cordonOnce('cp-n2', true);
      expect(denied.stderr).toContain('longhorn-system/cp-disk');
      expect(denied.stderr).toContain(`on disk ${diskUUID('cp-n3')} that Longhorn reports not ready`);
      expect(await unschedulable('cp-n2')).toBe(false);
    } finally {
      await patchStatus('nodes.longhorn.io', 'cp-n3', diskStatus('True'), LONGHORN_NS);
    }
    const again = await cordonOnce('cp-n2', false);
    expect(again.stderr).not.toContain('denied');
  });

  it("a replica on a node whose NoExecute taint no instance manager there tolerates is no copy (the taint manager deletes it)", async () => {
    await createLonghornVolume({ name: 'cp-taint', numberOfReplicas: 2, state: 'detached', replicas: [{ node: 'cp-n2' }, { node: 'cp-n3' }] });
    // The taint on cp-n3 passes: cp-n2 still holds a copy.
    const tainted = await must(kubectl(['taint', 'node', 'cp-n3', 'cp-maint=x:NoExecute']), 'taint cp-n3');
    expect(tainted.stderr).not.toContain('denied');
    try {
      const denied = await cordonOnce('cp-n2', true);
      expect(denied.stderr).toContain('longhorn-system/cp-taint');
      expect(denied.stderr).toContain("on node cp-n3, whose taint cp-maint=x:NoExecute deletes Longhorn's instance-manager pod there");
      expect(await unschedulable('cp-n2')).toBe(false);
      // Longhorn's instance manager there tolerating the taint for good: its replicas keep running, a copy again.
      await apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'instance-manager-cp-n3', namespace: LONGHORN_NS, labels: { 'longhorn.io/component': 'instance-manager' } },
        spec: {
          nodeName: 'cp-n3',
          automountServiceAccountToken: false,
          tolerations: [{ key: 'cp-maint', operator: 'Exists', effect: 'NoExecute' }],
          containers: [{ name: 'im', image: 'registry.invalid/im:1' }],
        },
      });
      const again = await cordonOnce('cp-n2', false);
      expect(again.stderr).not.toContain('denied');
    } finally {
      await kubectl(['taint', 'node', 'cp-n3', 'cp-maint-']);
      await kubectl(['delete', 'pod', 'instance-manager-cp-n3', '-n', LONGHORN_NS, '--ignore-not-found', '--grace-period=0', '--force']);
    }
  });

  it('a node whose Ready just turned Unknown holds no copy (longhorn-manager takes it as down at once)', async () => {
    await createLonghornVolume({ name: 'cp-lost', numberOfReplicas: 2, replicas: [{ node: 'cp-n2' }, { node: 'cp-n3' }] });
    await setNodeReady('cp-n3', 'Unknown', new Date().toISOString());
    const denied = await cordonOnce('cp-n2', true);
    expect(denied.stderr).toContain('longhorn-system/cp-lost');
    expect(denied.stderr).toContain('on node cp-n3, down');
    expect(await unschedulable('cp-n2')).toBe(false);
  });

  it('a node NotReady only for a moment (within the grace) still holds a copy', async () => {
    await createLonghornVolume({ name: 'cp-blip', numberOfReplicas: 2, replicas: [{ node: 'cp-n2' }, { node: 'cp-n3' }] });
    await setNodeReady('cp-n3', 'False', new Date().toISOString());
    const allowed = await cordonOnce('cp-n2', false);
    expect(allowed.stderr).not.toContain('denied');
  });

  it('a DR volume on standby (restoring from its backup) ties no node; once activated, its single copy is refused', async () => {
    await createLonghornVolume({ name: 'cp-dr', numberOfReplicas: 1, replicas: [{ node: 'cp-n1' }] });
    await patchStatus('volumes.longhorn.io', 'cp-dr', { restoreRequired: true, isStandby: true }, LONGHORN_NS);
    const upgrade = await upgradeOnce('cp-upgrade-dr', false);
    expect(upgrade.code).toBe(0);
    await must(kubectl(['delete', 'upgrades.harvesterhci.io', 'cp-upgrade-dr', '-n', HARVESTER_NS]), 'delete upgrade');
    const allowed = await cordonOnce('cp-n1', false);
    expect(allowed.stderr).not.toContain('denied');
    expect(await unschedulable('cp-n1')).toBe(true);
    await must(kubectl(['uncordon', 'cp-n1']), 'uncordon');
    // Activated: Longhorn clears both flags, and the volume now holds the data a workload writes.
    await patchStatus('volumes.longhorn.io', 'cp-dr', { restoreRequired: false, isStandby: false }, LONGHORN_NS);
    const denied = await cordonOnce('cp-n1', true);
    expect(denied.stderr).toContain('[single-replica]');
    expect(denied.stderr).toContain('longhorn-system/cp-dr');
    expect(await unschedulable('cp-n1')).toBe(false);
  });

  it('failed replicas of a healthy volume block nothing, even when their disk or Longhorn node is gone', async () => {
    await createLonghornVolume({ name: 'cp-rebuilt', replicas: [{ node: 'cp-n1' }, { node: 'cp-n2' }, { node: 'cp-n3' }] });
    await apply(
      ...[
        { name: 'cp-rebuilt-failed-disk', node: 'cp-n1', disk: 'disk-replaced-long-ago' },
        { name: 'cp-rebuilt-failed-gone', node: 'cp-node-removed', disk: 'disk-cp-node-removed' },
      ].map((r) => ({
        apiVersion: 'longhorn.io/v1beta2',
        kind: 'Replica',
        metadata: { name: r.name, namespace: LONGHORN_NS, labels: { longhornvolume: 'cp-rebuilt', longhornnode: r.node } },
        spec: { volumeName: 'cp-rebuilt', nodeID: r.node, diskID: r.disk, healthyAt: '2026-01-01T00:00:00Z', failedAt: '2026-01-03T00:00:00Z', desireState: 'stopped' },
      })),
    );
    const upgrade = await upgradeOnce('cp-upgrade-3', false);
    expect(upgrade.stderr).toBe('');
    expect(upgrade.code).toBe(0);
    const cordon = await cordonOnce('cp-n1', false);
    expect(cordon.stderr).not.toContain('denied');
  });

  it("lets Harvester's own cordon through for an upgrade admitted with skipSingleReplicaDetachedVol", async () => {
    await createLonghornVolume({ name: 'cp-parked', numberOfReplicas: 1, state: 'detached', replicas: [{ node: 'cp-n1' }] });
    const skip = { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' };
    const upgrade = await upgradeOnce('cp-hvst', false, skip);
    expect(upgrade.code).toBe(0);
    // Not yet draining cp-n1: a cordon of it is someone else's, refused as before.
    const early = await cordonOnce('cp-n1', true);
    expect(early.stderr).toContain('longhorn-system/cp-parked');

    // Harvester's upgrade controller marks the upgrade and the node it drains, as it does on a real cluster.
    await must(kubectl(['label', '--overwrite', 'upgrades.harvesterhci.io', 'cp-hvst', '-n', HARVESTER_NS, 'harvesterhci.io/upgradeState=UpgradingNodes']), 'label upgrade');
    await patchStatus('upgrades.harvesterhci.io', 'cp-hvst', { nodeStatuses: { 'cp-n1': { state: 'Pre-drained' }, 'cp-n2': { state: 'Images preloaded' } } }, HARVESTER_NS);
    const cordon = await cordonOnce('cp-n1', false);
    expect(cordon.stderr).toContain('overridden by Harvester Upgrade harvester-system/cp-hvst');
    expect(await unschedulable('cp-n1')).toBe(true);

    // An attached single-replica volume is still refused (Harvester's annotation never waived it).
    await must(kubectl(['uncordon', 'cp-n1']), 'uncordon');
    await createLonghornVolume({ name: 'cp-live', numberOfReplicas: 1, replicas: [{ node: 'cp-n1' }] });
    const denied = await cordonOnce('cp-n1', true);
    expect(denied.stderr).toContain('longhorn-system/cp-live');
    expect(denied.stderr).not.toContain('longhorn-system/cp-parked ');
  });

  it("lets Harvester's own cordon through for an UpgradePlan (upgrade toolkit) admitted with skipSingleReplicaDetachedVol", async () => {
    await createLonghornVolume({ name: 'cp-idle', numberOfReplicas: 1, state: 'detached', replicas: [{ node: 'cp-n2' }] });
    const skip = { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' };
    // Without the annotation the plan is refused for the detached volume; with it, created.
    const refused = await eventually(() => createUpgradePlan('cp-plan', {}, true), (r) => r.code !== 0);
    expect(refused.stderr).toContain('longhorn-system/cp-idle');
    await eventually(() => createUpgradePlan('cp-plan', skip, true), (r) => r.code === 0);
    await must(createUpgradePlan('cp-plan', skip), 'create UpgradePlan');
    // Not yet draining cp-n2: refused as before.
    const early = await cordonOnce('cp-n2', true);
    expect(early.stderr).toContain('longhorn-system/cp-idle');

    // The toolkit's controllers: phase NodeUpgrading, cp-n2 pre-drained (Rancher cordons and drains it now).
    await patchStatus('upgradeplans.management.harvesterhci.io', 'cp-plan', {
      currentPhase: 'NodeUpgrading',
      nodeUpgradeStatuses: { 'cp-n2': { state: 'PreDrained' }, 'cp-n3': { state: 'ImagePreloaded' } },
    });
    const cordon = await cordonOnce('cp-n2', false);
    expect(cordon.stderr).toContain('overridden by Harvester UpgradePlan cp-plan');
    expect(await unschedulable('cp-n2')).toBe(true);

    // Once the node is done (PostDrained), another cordon of it is someone else's again.
    await must(kubectl(['uncordon', 'cp-n2']), 'uncordon');
    await patchStatus('upgradeplans.management.harvesterhci.io', 'cp-plan', { nodeUpgradeStatuses: { 'cp-n2': { state: 'PostDrained' } } });
    const after = await cordonOnce('cp-n2', true);
    expect(after.stderr).toContain('longhorn-system/cp-idle');
  });

  it("with Longhorn's block-for-eviction drain policy, says the last copies will be moved instead of refusing", async () => {
    await createLonghornVolume({ name: 'cp-evictable', numberOfReplicas: 1, replicas: [{ node: 'cp-n2' }], claim: { namespace: 'shop', name: 'cart' } });
    const denied = await cordonOnce('cp-n2', true);
    expect(denied.stderr).toContain('longhorn-system/cp-evictable');
    await apply({ apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: { name: 'node-drain-policy', namespace: LONGHORN_NS }, value: 'block-for-eviction' });
    const allowed = await cordonOnce('cp-n2', false);
    expect(allowed.stderr).toContain('node cp-n2 holds the only copy of 1 Longhorn volume(s): PVC shop/cart');
    expect(allowed.stderr).toContain('node-drain-policy block-for-eviction moves them');
    expect(await unschedulable('cp-n2')).toBe(true);

    // Longhorn moves replicas off cordoned nodes only: an autoscaler's drain taint on a node left schedulable moves
    // nothing, so it is refused whatever the policy.
    await must(kubectl(['uncordon', 'cp-n2']), 'uncordon');
    const tainted = await kubectl(['taint', 'node', 'cp-n2', 'ToBeDeletedByClusterAutoscaler=1733130000:NoSchedule', '--dry-run=server']);
    expect(tainted.code).not.toBe(0);
    expect(tainted.stderr).toContain('longhorn-system/cp-evictable');
    expect(tainted.stderr).not.toContain('moves them');
  });

  // longhorn-manager's replica scheduler places the moved copy only on a Longhorn node carrying the volume's
  // spec.nodeSelector tags: with none, the instance-manager PodDisruptionBudget holds the drain for good.
  it('says the drain waits when no other Longhorn node carries the tags the volume asks for', async () => {
    await createLonghornVolume({ name: 'cp-pinned', numberOfReplicas: 1, replicas: [{ node: 'cp-n2' }], claim: { namespace: 'shop', name: 'vault' } });
    await apply({ apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: { name: 'node-drain-policy', namespace: LONGHORN_NS }, value: 'block-for-eviction' });
    const movable = await cordonOnce('cp-n2', false);
    expect(movable.stderr).toContain('node-drain-policy block-for-eviction moves them');
    expect(movable.stderr).not.toContain('no other Longhorn node');
    await must(kubectl(['uncordon', 'cp-n2']), 'uncordon');
    await must(kubectl(['patch', 'volumes.longhorn.io', 'cp-pinned', '-n', LONGHORN_NS, '--type=merge', '-p', '{"spec":{"nodeSelector":["nvme"]}}']), 'tag volume');
    await eventually(
      () => kubectl(['cordon', 'cp-n2', '--dry-run=server']),
      (r) => r.stderr.includes('no other Longhorn node'),
    );
    const waits = await kubectl(['cordon', 'cp-n2']);
    expect(waits.stderr).toContain('no other Longhorn node can take a replica of PVC shop/vault now');
    expect(waits.stderr).toContain('the drain waits until one can');
    expect(await unschedulable('cp-n2')).toBe(true);
  });

  it('an eviction requested on the Longhorn node is said, not refused, under the default drain policy', async () => {
    await createLonghornVolume({ name: 'cp-leaving', numberOfReplicas: 1, replicas: [{ node: 'cp-n3' }], claim: { namespace: 'shop', name: 'ledger' } });
    await apply({ apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: { name: 'node-drain-policy', namespace: LONGHORN_NS }, value: 'block-if-contains-last-replica' });
    const denied = await cordonOnce('cp-n3', true);
    expect(denied.stderr).toContain('longhorn-system/cp-leaving');
    // Longhorn's step before removing a node: request the eviction of its replicas.
    await must(kubectl(['patch', 'nodes.longhorn.io', 'cp-n3', '-n', LONGHORN_NS, '--type=merge', '-p', '{"spec":{"evictionRequested":true}}']), 'request eviction');
    try {
      const allowed = await cordonOnce('cp-n3', false);
      expect(allowed.stderr).toContain('node cp-n3 holds the only copy of 1 Longhorn volume(s): PVC shop/ledger');
      expect(allowed.stderr).toContain('Longhorn evicts them (evictionRequested on Longhorn node cp-n3)');
      expect(await unschedulable('cp-n3')).toBe(true);
    } finally {
      await must(kubectl(['patch', 'nodes.longhorn.io', 'cp-n3', '-n', LONGHORN_NS, '--type=merge', '-p', '{"spec":{"evictionRequested":false}}']), 'cancel eviction');
    }
  });

  it("a drain's eviction passes with the warning while Longhorn eviction is requested on the node, refused once cancelled", async () => {
    await ensureNamespace('shop');
    await createLonghornVolume({ name: 'cp-evicted', numberOfReplicas: 1, replicas: [{ node: 'cp-n1' }], claim: { namespace: 'shop', name: 'cp-data' } });
    await applyBoundPair(
      {
        metadata: { name: 'cp-evicted' },
        spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: 'longhorn', csi: { driver: 'driver.longhorn.io', volumeHandle: 'cp-evicted' } },
      },
      { name: 'cp-data', namespace: 'shop', storageClassName: 'longhorn' },
    );
    await createPod({ name: 'cp-db-0', namespace: 'shop', node: 'cp-n1', claims: ['cp-data'] });
    await apply({ apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: { name: 'node-drain-policy', namespace: LONGHORN_NS }, value: 'block-if-contains-last-replica' });
    const request = (requested: boolean) =>
      must(kubectl(['patch', 'nodes.longhorn.io', 'cp-n1', '-n', LONGHORN_NS, '--type=merge', '-p', JSON.stringify({ spec: { evictionRequested: requested } })]), 'eviction request');
    // kubectl drain's eviction of the pod, dry run (the API server still calls the webhook).
    const evict = () =>
      kubectl(['create', '--raw', '/api/v1/namespaces/shop/pods/cp-db-0/eviction', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'cp-db-0', namespace: 'shop' }, deleteOptions: { dryRun: ['All'] } }),
      });
    try {
      await request(true);
      const cordon = await cordonOnce('cp-n1', false);
      expect(cordon.stderr).toContain('Longhorn evicts them');
      const allowed = await eventually(evict, (r) => r.code === 0);
      expect(allowed.stderr).toContain('node cp-n1 holds the only copy of 1 Longhorn volume(s): PVC shop/cp-data');
      await request(false);
      const refused = await eventually(evict, (r) => r.code !== 0);
      expect(refused.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
      expect(refused.stderr).toContain('shop/cp-data');
    } finally {
      await request(false);
      await deleteObjects(['pod', 'cp-db-0', '-n', 'shop', '--grace-period=0', '--force'], ['pvc', 'cp-data', '-n', 'shop'], ['pv', 'cp-evicted']);
    }
  });

  it('block-for-eviction moves nothing of a volume whose only data is a failed replica: its cordon stays refused', async () => {
    await apply({ apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: { name: 'node-drain-policy', namespace: LONGHORN_NS }, value: 'block-for-eviction' });
    await createLonghornVolume({ name: 'cp-faulted', numberOfReplicas: 1, state: 'detached', robustness: 'faulted', replicas: [] });
    await apply({
      apiVersion: 'longhorn.io/v1beta2',
      kind: 'Replica',
      metadata: { name: 'cp-faulted-r-0', namespace: LONGHORN_NS, labels: { longhornvolume: 'cp-faulted', longhornnode: 'cp-n1' } },
      spec: { volumeName: 'cp-faulted', nodeID: 'cp-n1', diskID: diskUUID('cp-n1'), healthyAt: '2026-01-01T00:00:00Z', failedAt: '2026-01-03T00:00:00Z', desireState: 'stopped' },
    });
    const denied = await cordonOnce('cp-n1', true);
    expect(denied.stderr).toContain('longhorn-system/cp-faulted');
    expect(denied.stderr).not.toContain('moves them');
    expect(await unschedulable('cp-n1')).toBe(false);
  });
});
