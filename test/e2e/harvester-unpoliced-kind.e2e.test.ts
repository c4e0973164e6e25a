// An override counts only where volume-guard polices its writes. The override guard's rules for upgrade objects are
// one per entry of `upgrades.kinds`: a volume-guard configured without Harvester's kinds is never called for a write
// of an Upgrade, so there anyone who may write one sets `volume-guard.io/skip` (and a `skip-by` naming anyone). A
// volume-guard of its own with Harvester's kinds left out, registered beside the shared one (its rules as the chart
// renders them from its values), refuses the cordon of a node a Harvester Upgrade carrying an admin's skip drains,
// which the shared one (Harvester's kinds configured, the skip policed when written) lets through.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCluster, kubectl, tempFile } from '../harness/cluster.ts';
import { metricValue, registerWebhooks, startGuard, unregisterWebhooks, type GuardInstance } from '../harness/guard.ts';
import { createLonghornNode, createLonghornVolume, createNode, deleteObjects, ensureNamespace, eventually, LONGHORN_NS, must, patchStatus, setNodeReady } from '../harness/scenario.ts';
import { defaultConfig } from '../../src/config.ts';

const HARVESTER_NS = 'harvester-system';
const NODE = 'hu-1';
const UPGRADE = 'hu-upgrade';
const VOLUME = 'hu-single';
const NAME = `volume-guard-test-unpoliced-${process.pid}`;
const KINDS = defaultConfig().upgrades.kinds.filter((kind) => !kind.group.endsWith('harvesterhci.io'));
let guard: GuardInstance;

const denials = () => metricValue(guard, 'volume_guard_admission_requests_total{target="node-cordon",operation="UPDATE",decision="denied"}');

describe("a Harvester Upgrade's skip, with Harvester's kinds outside upgrades.kinds", () => {
  beforeAll(async () => {
    const cluster = await ensureCluster();
    // Registered only once the shared one has let the cordon through (below): its model has long seen the Upgrade.
    guard = await startGuard(cluster, { name: 'harvester-unpoliced', config: { upgrades: { kinds: KINDS } } });
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(HARVESTER_NS);
    await createNode(NODE);
    await setNodeReady(NODE, 'True');
    await createLonghornNode(NODE);
    await createLonghornVolume({ name: VOLUME, numberOfReplicas: 1, replicas: [{ node: NODE }] });
  }, 180_000);

  afterAll(async () => {
    await unregisterWebhooks(NAME);
    await guard?.stop();
    await deleteObjects(
      ['upgrades.harvesterhci.io', UPGRADE, '-n', HARVESTER_NS],
      ['replicas.longhorn.io', '-l', `longhornvolume=${VOLUME}`, '-n', LONGHORN_NS],
      ['volumes.longhorn.io', VOLUME, '-n', LONGHORN_NS],
      ['nodes.longhorn.io', NODE, '-n', LONGHORN_NS],
      ['node', NODE],
    );
  });

  it('is not honored by the volume-guard that never polices its writes; the one that does honors it', async () => {
    const skip = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-reason': 'VM disks backed up', 'volume-guard.io/skip-by': 'admin' };
    const upgrade = { apiVersion: 'harvesterhci.io/v1beta1', kind: 'Upgrade', metadata: { name: UPGRADE, namespace: HARVESTER_NS, annotations: skip }, spec: { version: 'v1.5.0', logEnabled: false } };
    const file = await tempFile('hu-upgrade.json', JSON.stringify(upgrade));
    // The shared volume-guard judges the creation (its skip covers the single copy), once its model holds the volume.
    await eventually(() => kubectl(['create', '-f', file, '--dry-run=server']), (r) => r.stderr.includes('overridden by'));
    await must(kubectl(['create', '-f', file]), 'create the Upgrade');
    await must(
      kubectl(['label', '--overwrite', 'upgrades.harvesterhci.io', UPGRADE, '-n', HARVESTER_NS, 'harvesterhci.io/upgradeState=UpgradingNodes']),
      'label the Upgrade',
    );
    await patchStatus('upgrades.harvesterhci.io', UPGRADE, { nodeStatuses: { [NODE]: { state: 'Pre-drained' } } }, HARVESTER_NS);

    // The shared volume-guard, which policed the skip when it was written, carries it to the node's cordon.
    const passed = await eventually(() => kubectl(['cordon', NODE, '--dry-run=server']), (r) => r.code === 0);
    expect(passed.stderr).toContain(`overridden by Harvester Upgrade ${HARVESTER_NS}/${UPGRADE}`);
    expect(passed.stderr).toContain(`(volume-guard.io/skip, draining node ${NODE})`);

    // The one whose rules leave Harvester's kinds out (as the chart renders them from its upgrades.kinds) refuses it.
    await registerWebhooks(guard, { name: NAME, failurePolicy: 'Ignore', upgradeKinds: KINDS });
    for (let attempt = 0; attempt < 2; attempt++) {
      const before = await denials();
      const refused = await kubectl(['cordon', NODE, '--dry-run=server']);
      // (kubectl cordon exits 0 on a refused node; the shared one's warnings come first.)
      expect(refused.stderr).toContain(`unable to cordon node "${NODE}": admission webhook "node-cordon.volume-guard.io" denied the request`);
      const denial = refused.stderr.slice(refused.stderr.indexOf('denied the request'));
      expect(denial).toContain(`longhorn-system/${VOLUME}`);
      expect(denial).toContain('[single-replica]');
      expect(denial).not.toContain('Harvester Upgrade');
      expect(await denials()).toBeGreaterThan(before);
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  });
});
