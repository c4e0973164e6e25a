// Harvester's LVM local storage (harvester/csi-driver-lvm, driver lvm.driver.harvesterhci.io) keeps a VM disk in a
// logical volume on one node's disks; its CSI topology pins the PV by topology.lvm.csi/node. Through the real API
// server and kubectl: the cordon of that node is refused naming the PV, the cordon of another node passes. A Harvester
// upgrade reboots the node in place, its disks kept: its cordon and drain of the node pass, saying the PV stays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { applyBoundPair, createNode, createPod, deleteObjects, ensureNamespace, eventually, isUnschedulable, must, patchStatus } from '../harness/scenario.ts';

const NS = 'e2e-harvester-lvm';
const NODE = 'hlvm-node';
const OTHER = 'hlvm-other';
const PV = 'hlvm-pv';
const CLAIM = 'vm-disk';
const KEY = 'topology.lvm.csi/node';
const HARVESTER_NS = 'harvester-system';
const UPGRADE = 'hlvm-upgrade';

describe("a Harvester LVM volume is data on one node's disks", () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(OTHER, { [KEY]: OTHER });
    await createNode(NODE, { [KEY]: NODE });
    await applyBoundPair(
      {
        metadata: { name: PV },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Delete',
          storageClassName: 'lvm-striped',
          csi: { driver: 'lvm.driver.harvesterhci.io', volumeHandle: PV },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: KEY, operator: 'In', values: [NODE] }] }] } },
        },
      },
      { name: CLAIM, namespace: NS, storageClassName: 'lvm-striped' },
    );
  }, 120_000);

  afterAll(async () => {
    await kubectl(['uncordon', NODE]);
    await deleteObjects(
      ['upgrades.harvesterhci.io', UPGRADE, '-n', HARVESTER_NS],
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', CLAIM, '-n', NS, '--wait=false'],
      ['pv', PV, '--wait=false'],
      ['node', NODE],
      ['node', OTHER],
    );
  });

  it('the cordon of its node is refused, naming the PV; the cordon of another node passes', async () => {
    // kubectl cordon reports a refused patch on stderr (its exit code stays 0 under --dry-run=server).
    const refused = await eventually(() => kubectl(['cordon', NODE, '--dry-run=server']), (r) => r.stderr.includes('denied the request'));
    expect(refused.stderr).toContain('[node-local-volume]');
    expect(refused.stderr).toContain(`lvm.driver.harvesterhci.io PV keeps the data of claim ${NS}/${CLAIM} on node ${NODE} only`);
    const other = await kubectl(['cordon', OTHER, '--dry-run=server']);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stderr).not.toContain('denied');
  });

  it("lets a Harvester upgrade's cordon and drain of that node through: the node is rebooted in place", async () => {
    await ensureNamespace(HARVESTER_NS);
    // The VM's virt-launcher pod (a bare pod here: kubectl drain --force evicts it).
    await createPod({ name: 'virt-launcher-vm-1', namespace: NS, node: NODE, claims: [CLAIM] });
    // The admin's skip names Longhorn checks only, in case another file left Longhorn volumes: node-local-volume is
    // not among them, so nothing carried from it waives the PV.
    const skip = { 'volume-guard.io/skip': 'single-replica,volume-health', 'volume-guard.io/skip-reason': 'e2e', 'volume-guard.io/skip-by': 'admin' };
    const upgrade = { apiVersion: 'harvesterhci.io/v1beta1', kind: 'Upgrade', metadata: { name: UPGRADE, namespace: HARVESTER_NS, annotations: skip }, spec: { version: 'v1.6.0', logEnabled: false } };
    const file = await tempFile('hlvm-upgrade.json', JSON.stringify(upgrade));
    await eventually(() => kubectl(['create', '-f', file]), (r) => r.code === 0 || r.stderr.includes('AlreadyExists'));

    // Created, not yet draining this node: its cordon is still refused.
    const early = await kubectl(['cordon', NODE, '--dry-run=server']);
    expect(early.stderr).toContain('denied the request');

    // Harvester's upgrade controller marks the upgrade and the node it drains, as on a real cluster.
    await must(kubectl(['label', '--overwrite', 'upgrades.harvesterhci.io', UPGRADE, '-n', HARVESTER_NS, 'harvesterhci.io/upgradeState=UpgradingNodes']), 'label upgrade');
    await patchStatus('upgrades.harvesterhci.io', UPGRADE, { nodeStatuses: { [NODE]: { state: 'Pre-drained' } } }, HARVESTER_NS);
    await eventually(() => kubectl(['cordon', NODE, '--dry-run=server']), (r) => !r.stderr.includes('denied'));
    const cordon = await kubectl(['cordon', NODE]);
    expect(cordon.stderr).toContain(`upgrades node ${NODE} in place and reboots it`);
    expect(cordon.stderr).toContain(`1 node-local PV stays on its disks (${PV}); pods using it wait until the node is back`);
    expect(await isUnschedulable(NODE)).toBe(true);
    // Rancher's drain of the cordoned node: the VM's pod is evicted, its disk stays.
    const drain = await kubectl(['drain', NODE, '--dry-run=server', '--ignore-daemonsets', '--force', '--timeout=20s']);
    expect(drain.code, drain.stderr).toBe(0);
    expect(drain.stderr).not.toContain('denied');
    // The evicted pod's own disk is said again at its eviction.
    expect(drain.stderr).toContain(`(${PV}); pods using it wait until the node is back`);

    // Done with the node (Succeeded): a drain of it is no longer the upgrade's, and is refused again.
    await patchStatus('upgrades.harvesterhci.io', UPGRADE, { nodeStatuses: { [NODE]: { state: 'Succeeded' } } }, HARVESTER_NS);
    const refused = await eventually(
      () => kubectl(['drain', NODE, '--dry-run=server', '--ignore-daemonsets', '--force', '--timeout=10s']),
      (r) => r.stderr.includes('denied'),
    );
    expect(refused.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(PV);
  });
});
