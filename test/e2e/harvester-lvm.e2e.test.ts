// Harvester's LVM local storage (harvester/csi-driver-lvm, driver lvm.driver.harvesterhci.io) keeps a VM disk in a
// logical volume on one node's disks; its CSI topology pins the PV by topology.lvm.csi/node. Through the real API
// server and kubectl: the cordon of that node is refused naming the PV, the cordon of another node passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { applyBoundPair, createNode, deleteObjects, ensureNamespace, eventually } from '../harness/scenario.ts';

const NS = 'e2e-harvester-lvm';
const NODE = 'hlvm-node';
const OTHER = 'hlvm-other';
const PV = 'hlvm-pv';
const CLAIM = 'vm-disk';
const KEY = 'topology.lvm.csi/node';

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
    await deleteObjects(['pvc', CLAIM, '-n', NS, '--wait=false'], ['pv', PV, '--wait=false'], ['node', NODE], ['node', OTHER]);
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
});
