// Harvester through the real API server with the real kubectl:
// - a 2-node cluster keeps a volume of 3 replicas degraded for good (no node left for the third, replica anti-affinity
//   hard): its copies on both nodes keep one through a cordon or an upgrade, so volume-health refuses neither; a
//   third node that could take the replica, or soft anti-affinity, makes it a real degraded volume again;
// - an admin's volume-guard.io/skip on a Harvester Upgrade, accepted at its creation, carries to the cordon and the
//   drain Harvester performs on the node it upgrades (and to Rancher's cordon of a node just before its pre-drain
//   hook), and to nothing else: not to another node's drain, not once removed.
// The volumes carry a node tag only these nodes have, so Longhorn nodes other files leave behind offer them no place.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import {
  apply,
  createLonghornVolume,
  createNode,
  createPod,
  deleteObjects,
  diskUUID,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  must,
  patchStatus,
  setNodeReady,
} from '../harness/scenario.ts';

const HARVESTER_NS = 'harvester-system';
const APPS = 'hn-apps';
const NODES = ['hn-1', 'hn-2'];
const TAG = 'hn-pair';
const VOLUMES = ['hn-three', 'hn-soft', 'hn-single-1', 'hn-single-2'];

/** A Longhorn node tagged for these volumes, Ready and Schedulable, one disk taking replicas. */
async function createTaggedLonghornNode(node: string): Promise<void> {
  await apply({
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'Node',
    metadata: { name: node, namespace: LONGHORN_NS },
    spec: { allowScheduling: true, tags: [TAG], disks: { 'disk-0': { path: '/var/lib/longhorn', allowScheduling: true, tags: [] } } },
  });
  const conditions = [
    { type: 'Ready', status: 'True' },
    { type: 'Schedulable', status: 'True' },
  ];
  await patchStatus('nodes.longhorn.io', node, { conditions, diskStatus: { 'disk-0': { diskUUID: diskUUID(node), conditions } } }, LONGHORN_NS);
}

/** A volume of 3 replicas Longhorn reports degraded, with a healthy copy on each node and the volume's node tag. */
async function createDegraded(name: string, spec: Record<string, unknown> = {}): Promise<void> {
  await createLonghornVolume({ name, numberOfReplicas: 3, robustness: 'degraded', replicas: NODES.map((node) => ({ node })) });
  await must(kubectl(['patch', 'volumes.longhorn.io', name, '-n', LONGHORN_NS, '--type=merge', '-p', JSON.stringify({ spec: { nodeSelector: [TAG], ...spec } })]), `tag ${name}`);
}

async function createUpgrade(name: string, annotations: Record<string, string>, dryRun: boolean) {
  const upgrade = { apiVersion: 'harvesterhci.io/v1beta1', kind: 'Upgrade', metadata: { name, namespace: HARVESTER_NS, annotations }, spec: { version: 'v1.5.0', logEnabled: false } };
  const file = await tempFile(`hn-upgrade-${name}.json`, JSON.stringify(upgrade));
  return kubectl(['create', '-f', file, ...(dryRun ? ['--dry-run=server'] : [])]);
}

const cordonDryRun = (node: string) => kubectl(['cordon', node, '--dry-run=server']);
const drainDryRun = (node: string) => kubectl(['drain', node, '--dry-run=server', '--ignore-daemonsets', '--force', '--timeout=20s']);

describe('Harvester on two nodes', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(HARVESTER_NS);
    await ensureNamespace(APPS);
    for (const node of NODES) {
      await createNode(node);
      await setNodeReady(node, 'True');
      await createTaggedLonghornNode(node);
    }
    await createDegraded('hn-three');
  }, 120_000);

  afterAll(async () => {
    await kubectl(['uncordon', ...NODES]);
    await deleteObjects(
      ['upgrades.harvesterhci.io', 'hn-upgrade', '-n', HARVESTER_NS],
      ['rolebinding', 'hn-operator-upgrades', '-n', HARVESTER_NS],
      ['role', 'hn-upgrade-editor', '-n', HARVESTER_NS],
      ['pod', '--all', '-n', APPS, '--grace-period=0', '--force'],
      ...VOLUMES.map((volume) => ['replicas.longhorn.io', '-l', `longhornvolume=${volume}`, '-n', LONGHORN_NS]),
      ['volumes.longhorn.io', ...VOLUMES, '-n', LONGHORN_NS],
      ['nodes.longhorn.io', ...NODES, 'hn-3', '-n', LONGHORN_NS],
      ['node', ...NODES, 'hn-3'],
    );
  });

  it('lets the cordon and the upgrade through for a 3-replica volume with a copy on each of the two nodes', async () => {
    const cordon = await eventually(() => cordonDryRun('hn-1'), (r) => r.code === 0 && !r.stderr.includes('denied'));
    expect(cordon.stderr).toBe('');
    const upgrade = await eventually(() => createUpgrade('hn-check', {}, true), (r) => r.code === 0);
    expect(upgrade.stderr).not.toContain('hn-three');
  });

  it('refuses it again once a third node could take its missing replica, and a soft anti-affinity neighbour', async () => {
    await createNode('hn-3');
    await setNodeReady('hn-3', 'True');
    await createTaggedLonghornNode('hn-3');
    const upgrade = await eventually(() => createUpgrade('hn-check', {}, true), (r) => r.code !== 0);
    expect(upgrade.stderr).toContain('admission webhook "upgrade.volume-guard.io" denied the request');
    expect(upgrade.stderr).toContain('[volume-health]');
    expect(upgrade.stderr).toContain('longhorn-system/hn-three');
    // Gone again (a 2-node cluster): allowed again.
    await must(kubectl(['delete', 'nodes.longhorn.io', 'hn-3', '-n', LONGHORN_NS]), 'delete Longhorn node hn-3');
    await eventually(() => cordonDryRun('hn-1'), (r) => !r.stderr.includes('denied'));

    // Soft anti-affinity: Longhorn would have put the third replica beside another; degraded for another reason.
    await createDegraded('hn-soft', { replicaSoftAntiAffinity: 'enabled' });
    const refused = await eventually(() => cordonDryRun('hn-1'), (r) => r.stderr.includes('denied'));
    expect(refused.stderr).toContain('[volume-health]');
    expect(refused.stderr).toContain('longhorn-system/hn-soft');
    expect(refused.stderr).not.toContain('longhorn-system/hn-three');
    await deleteObjects(['replicas.longhorn.io', '-l', 'longhornvolume=hn-soft', '-n', LONGHORN_NS], ['volumes.longhorn.io', 'hn-soft', '-n', LONGHORN_NS]);
    await eventually(() => cordonDryRun('hn-1'), (r) => !r.stderr.includes('denied'));
  });

  it("carries the admin's skip on the Upgrade to Harvester's cordon and drain of the node it upgrades, and no further", async () => {
    await createLonghornVolume({ name: 'hn-single-1', numberOfReplicas: 1, replicas: [{ node: 'hn-1' }] });
    await createLonghornVolume({ name: 'hn-single-2', numberOfReplicas: 1, replicas: [{ node: 'hn-2' }] });
    await createPod({ name: 'hn-web', namespace: APPS, node: 'hn-1' });
    const skip = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-reason': 'VM disks backed up', 'volume-guard.io/skip-by': 'admin' };
    await eventually(() => createUpgrade('hn-upgrade', skip, true), (r) => r.stderr.includes('hn-single-2'));
    const created = await createUpgrade('hn-upgrade', skip, false);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain('overridden by');

    // Not draining hn-1 yet: a cordon of it is someone else's, refused as before.
    const early = await cordonDryRun('hn-1');
    expect(early.stderr).toContain('longhorn-system/hn-single-1');

    // Harvester's upgrade controller marks the upgrade and the node it drains, as on a real cluster.
    await must(kubectl(['label', '--overwrite', 'upgrades.harvesterhci.io', 'hn-upgrade', '-n', HARVESTER_NS, 'harvesterhci.io/upgradeState=UpgradingNodes']), 'label upgrade');
    await patchStatus('upgrades.harvesterhci.io', 'hn-upgrade', { nodeStatuses: { 'hn-1': { state: 'Pre-drained' }, 'hn-2': { state: 'Images preloaded' } } }, HARVESTER_NS);
    await eventually(() => cordonDryRun('hn-1'), (r) => !r.stderr.includes('denied'));
    const cordon = await kubectl(['cordon', 'hn-1']);
    // Wrapped by kubectl's warning lines: the carried override names the Upgrade it came from.
    expect(cordon.stderr).toContain('last-replica-on-node,single-replica overridden by Harvester Upgrade harvester-system/hn-upgrade');
    expect(cordon.stderr).toContain('(volume-guard.io/skip, draining node hn-1): 2 risks accepted, reason: VM disks backed up');
    expect(cordon.stdout).toContain('node/hn-1 cordoned');
    // Rancher's drain of the cordoned node: its evictions get the node-wide checks, waived the same way.
    const drain = await drainDryRun('hn-1');
    expect(drain.stderr).not.toContain('denied');
    expect(drain.code, drain.stderr).toBe(0);

    // The node beside it is not being drained yet (Images preloaded): its cordon alone passes, as Rancher's cordon
    // before Harvester's pre-drain hook must, but the evictions of its drain are refused: the skip carries to hn-1 only.
    await createPod({ name: 'hn-web-2', namespace: APPS, node: 'hn-2' });
    const otherCordon = await cordonDryRun('hn-2');
    expect(otherCordon.code, otherCordon.stderr).toBe(0);
    expect(otherCordon.stderr).toContain('overridden by Harvester Upgrade harvester-system/hn-upgrade');
    const other = await drainDryRun('hn-2');
    expect(other.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(other.stderr).toContain('longhorn-system/hn-single-2');

    // Without the override on the Upgrade (removing one is always allowed), the same drain is refused.
    await must(kubectl(['annotate', 'upgrades.harvesterhci.io', 'hn-upgrade', '-n', HARVESTER_NS, 'volume-guard.io/skip-']), 'remove the skip');
    const refused = await eventually(() => drainDryRun('hn-1'), (r) => r.stderr.includes('denied'));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('longhorn-system/hn-single-1');

    // Setting it again later is a write the override guard polices like its creation: not for an operator whom RBAC
    // lets update the Upgrade but who is no allowed override writer.
    await must(kubectl(['create', 'role', 'hn-upgrade-editor', '-n', HARVESTER_NS, '--verb=get,list,patch,update', '--resource=upgrades.harvesterhci.io']), 'role');
    await must(kubectl(['create', 'rolebinding', 'hn-operator-upgrades', '-n', HARVESTER_NS, '--role=hn-upgrade-editor', '--user=hn-operator']), 'rolebinding');
    const sneaked = await kubectl(
      ['annotate', 'upgrades.harvesterhci.io', 'hn-upgrade', '-n', HARVESTER_NS, 'volume-guard.io/skip=*', 'volume-guard.io/skip-by=hn-operator', '--overwrite', '--as=hn-operator'],
    );
    expect(sneaked.code).not.toBe(0);
    expect(sneaked.stderr).toContain('admission webhook "overrides.volume-guard.io" denied the request');
    const stillRefused = await drainDryRun('hn-1');
    expect(stillRefused.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
  });
});
