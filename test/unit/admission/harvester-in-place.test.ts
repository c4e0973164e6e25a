// A Harvester upgrade reboots each node in place: the device-backed node-local PVs pinned to it (Harvester's LVM
// volumes, TopoLVM...) are on its disks when it is back, and their pods can only wait for it. Its cordon, taint and
// drain are not refused for them; data that may not come back (a directory on the immutable OS's filesystem: hostPath,
// local, local-path PVs; a hostPath a controller recreates elsewhere; a StatefulSet emptyDir; a PV no affinity pins)
// and a removal of the node still are.
import { describe, expect, it } from 'vitest';
import { harvesterUpgradeInPlace, keptOnNodeThroughReboot } from '../../../src/admission/longhorn-drain.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, NODE_KIND, request } from '../../support/admission.ts';
import { csiPV, harvesterUpgrade, harvesterUpgradePlan, hostPathPV, localPV, machine, node, pod, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();
const cordon = nodeCordonValidator(config);
const evict = podEvictionValidator(config);
const LVM = 'lvm.driver.harvesterhci.io';

/** On w1: a VM's disk on Harvester's LVM local storage (its virt-launcher pod running there) and a parked one. */
function cluster(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('node', node({ name: 'w1' }));
  m.upsert('node', node({ name: 'w2' }));
  for (const [name, used] of [['vm-disk', true], ['parked-disk', false]] as const) {
    m.upsert('persistentVolume', csiPV(LVM, { name: `pv-${name}`, pinnedNode: 'w1', claimNamespace: 'vms', claimName: name }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'vms', name, volumeName: `pv-${name}`, storageClassName: 'lvm' }));
    if (used) m.upsert('pod', pod({ namespace: 'vms', name: 'virt-launcher-vm-1', nodeName: 'w1', claimNames: [name], controllerKind: 'VirtualMachineInstance' }));
  }
  return m;
}

function draining(m: ClusterModel, state = 'Pre-drained'): ClusterModel {
  m.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: false, nodeStates: { w1: state, w2: 'Images preloaded' } }));
  return m;
}

const taintRequest = (name: string) =>
  request({
    ...NODE_KIND,
    operation: 'UPDATE',
    name,
    object: { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: { taints: [{ key: 'kubevirt.io/drain', value: 'draining', effect: 'NoSchedule' }] } },
    oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {} },
  });

describe("a Harvester upgrade's in-place reboot and node-local PVs", () => {
  it('refuses the cordon of a node holding pinned LVM volumes when no upgrade drains it or is about to', () => {
    for (const m of [cluster(), draining(cluster(), 'Images preloading'), draining(cluster(), 'Succeeded')]) {
      const decision = cordon.handle(cordonRequest('w1'), context(m));
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toContain('pv-vm-disk');
      expect(decision.status!.message).toContain('pv-parked-disk');
    }
  });

  it("lets Rancher's cordon through at Images preloaded, before Harvester's pre-drain hook, and nothing more", () => {
    // Rancher cordons first and writes its pre-drain annotation once the cordon succeeded; Harvester pre-drains the
    // node only once it sees that annotation.
    const m = draining(cluster(), 'Images preloaded');
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings!.join('\n')).toContain('Harvester Upgrade harvester-system/hvst-upgrade-1 upgrades node w1 in place and reboots it');
    // The pre-drain job's taint and the evictions come once the node is Pre-draining: judged as before until then.
    expect(cordon.handle(taintRequest('w1'), context(m)).allowed).toBe(false);
    m.upsert('node', node({ name: 'w1', unschedulable: true }));
    expect(evict.handle(evictionRequest('virt-launcher-vm-1', { namespace: 'vms' }), context(m)).allowed).toBe(false);
  });

  it.each(['Pre-draining', 'Pre-drained', 'Post-draining', 'Waiting Reboot'])('lets the cordon through while the Upgrade is %s on the node', (state) => {
    const decision = cordon.handle(cordonRequest('w1'), context(draining(cluster(), state)));
    expect(decision.allowed).toBe(true);
    const warnings = decision.warnings!.join('\n');
    expect(warnings).toContain('Harvester Upgrade harvester-system/hvst-upgrade-1 upgrades node w1 in place and reboots it');
    expect(warnings).toContain('2 node-local PVs stay on its disks (pv-vm-disk, pv-parked-disk); pods using them wait until the node is back');
    // No risk was accepted: nothing is recorded as overridden.
    expect(decision.auditAnnotations?.['override-source']).toBeUndefined();
  });

  it("lets the pre-drain job's kubevirt.io/drain taint and an UpgradePlan's drain through the same way", () => {
    expect(cordon.handle(taintRequest('w1'), context(cluster())).allowed).toBe(false);
    expect(cordon.handle(taintRequest('w1'), context(draining(cluster(), 'Pre-draining'))).allowed).toBe(true);
    const m = cluster();
    m.upsert('harvesterUpgradePlan', harvesterUpgradePlan({ skipDetached: false, nodeStates: { w1: 'PreDrained' } }));
    expect(cordon.handle(cordonRequest('w1'), context(m)).allowed).toBe(true);
  });

  it('lets the evictions of the drain through, the pod mounting the pinned PV included', () => {
    const m = draining(cluster());
    m.upsert('node', node({ name: 'w1', unschedulable: true }));
    const decision = evict.handle(evictionRequest('virt-launcher-vm-1', { namespace: 'vms' }), context(m));
    expect(decision.allowed).toBe(true);
    // The pod's own PV is said; the parked one, said at the cordon, is not repeated for every evicted pod.
    expect(decision.warnings!.join('\n')).toContain('1 node-local PV stays on its disks (pv-vm-disk); pods using it wait until the node is back');
    // The same eviction without the upgrade: the pod's own data stays behind.
    m.remove('harvesterUpgrade', 'harvester-system/hvst-upgrade-1');
    const refused = evict.handle(evictionRequest('virt-launcher-vm-1', { namespace: 'vms' }), context(m));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).toContain('pv-vm-disk');
  });

  it("lets another pod's eviction through without repeating the node's PVs, naming none of another namespace", () => {
    const m = draining(cluster());
    m.upsert('node', node({ name: 'w1', unschedulable: true }));
    m.upsert('pod', pod({ namespace: 'web', name: 'nginx-1', nodeName: 'w1', controllerKind: 'ReplicaSet' }));
    const decision = evict.handle(evictionRequest('nginx-1', { namespace: 'web' }), context(m));
    expect(decision.allowed).toBe(true);
    expect((decision.warnings ?? []).join('\n')).not.toMatch(/pv-|in place/);
    // Without the upgrade, the same eviction from the cordoned node is refused for the node's data, names withheld.
    m.remove('harvesterUpgrade', 'harvester-system/hvst-upgrade-1');
    const refused = evict.handle(evictionRequest('nginx-1', { namespace: 'web' }), context(m));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).not.toContain('pv-vm-disk');
  });

  it.each([
    ['a hostPath PV of local-path', () => hostPathPV({ name: 'pv-dir', pinnedNode: 'w1', claimNamespace: 'vms', claimName: 'dir' })],
    ['a local PV', () => localPV({ name: 'pv-dir', pinnedNode: 'w1', claimNamespace: 'vms', claimName: 'dir' })],
    ['a PV of the CSI hostpath driver', () => csiPV('hostpath.csi.k8s.io', { name: 'pv-dir', pinnedNode: 'w1', claimNamespace: 'vms', claimName: 'dir' })],
  ])("still refuses %s: a directory on the immutable OS's filesystem may be gone after the reboot", (_label, make) => {
    const m = draining(cluster());
    m.upsert('persistentVolume', make());
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'vms', name: 'dir', volumeName: 'pv-dir' }));
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pv-dir');
    expect(decision.status!.message).not.toContain('pv-vm-disk');
  });

  it('still refuses the cordon and a NoExecute taint of a node whose Machine is being deleted', () => {
    const m = draining(cluster());
    m.upsert('machine', machine({ name: 'm-w1', nodeName: 'w1', deleting: true }));
    expect(m.nodeLeaving('w1')).toBe('machine');
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pv-vm-disk');
    const noExecute = request({
      ...NODE_KIND,
      operation: 'UPDATE',
      name: 'w1',
      object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'w1' }, spec: { taints: [{ key: 'maintenance', value: 'now', effect: 'NoExecute' }] } },
      oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'w1' }, spec: {} },
    });
    expect(cordon.handle(noExecute, context(m)).allowed).toBe(false);
  });

  it('still refuses data the reboot does not bring back: a hostPath its Deployment recreates elsewhere', () => {
    const m = draining(cluster());
    m.upsert('pod', pod({ namespace: 'web', name: 'cache-1', nodeName: 'w1', controllerKind: 'ReplicaSet', hostPaths: [{ path: '/data/cache', writable: true }] }));
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('web/cache-1');
    expect(decision.status!.message).not.toContain('pv-vm-disk');
    expect(decision.warnings!.join('\n')).toContain('stay on its disks');
  });

  it('still refuses a PV no affinity pins: its pod may come back on another node', () => {
    const m = draining(cluster());
    m.upsert('persistentVolume', hostPathPV({ name: 'pv-loose', pinnedNode: '', driver: 'k8s.io/minikube-hostpath', claimNamespace: 'web', claimName: 'loose' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'web', name: 'loose', volumeName: 'pv-loose' }));
    m.upsert('pod', pod({ namespace: 'web', name: 'loose-0', nodeName: 'w1', claimNames: ['loose'], controllerKind: 'StatefulSet' }));
    m.upsert('node', node({ name: 'w1', unschedulable: true }));
    const decision = evict.handle(evictionRequest('loose-0', { namespace: 'web' }), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pv-loose');
  });

  it('still refuses the deletion of the node: nothing comes back', () => {
    const m = draining(cluster());
    const remove = request({ ...NODE_KIND, operation: 'DELETE', name: 'w1', oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'w1' } } });
    const decision = cordon.handle(remove, context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pv-vm-disk');
  });

  it('keeps every pinned PV past the listing cap: the count left is exact', () => {
    const m = draining(cluster());
    for (let i = 0; i < 40; i++) {
      m.upsert('persistentVolume', csiPV(LVM, { name: `pv-many-${i}`, pinnedNode: 'w1', claimNamespace: 'vms', claimName: `many-${i}` }));
      m.upsert('persistentVolumeClaim', pvc({ namespace: 'vms', name: `many-${i}`, volumeName: `pv-many-${i}` }));
    }
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings!.join('\n')).toContain('42 node-local PVs stay on its disks');
    // One more finding of another kind: refused for it alone, not for the 42.
    m.upsert('pod', pod({ namespace: 'web', name: 'cache-1', nodeName: 'w1', controllerKind: 'ReplicaSet', hostPaths: [{ path: '/data/cache', writable: true }] }));
    const refused = cordon.handle(cordonRequest('w1'), context(m));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).not.toMatch(/pv-many|more PersistentVolume/);
  });

  it('reads only upgrades of a kind volume-guard polices', () => {
    const m = draining(cluster());
    expect(harvesterUpgradeInPlace(m, 'w1')).toBeDefined();
    const unpoliced = { ...config, upgrades: { ...config.upgrades, kinds: config.upgrades.kinds.filter((kind) => kind.kind !== 'Upgrade') } };
    expect(harvesterUpgradeInPlace(m, 'w1', unpoliced.upgrades.kinds)).toBeUndefined();
    expect(nodeCordonValidator(unpoliced).handle(cordonRequest('w1'), context(m, { config: unpoliced })).allowed).toBe(false);
  });

  it('tells kept PVs from the rest by driver, kind and tags', () => {
    const m = cluster();
    m.upsert('persistentVolume', csiPV('topolvm.io', { name: 'pv-topo', pinnedNode: 'w1' }));
    m.upsert('persistentVolume', csiPV('rawfile.csi.openebs.io', { name: 'pv-raw', pinnedNode: 'w1' }));
    const base = { check: 'node-local-volume' as const, severity: 'critical' as const, reason: '' };
    const pvFinding = (name: string, tags: string[] = ['in-use', 'csi']) => ({ ...base, object: { kind: 'PersistentVolume' as const, name }, tags });
    expect(keptOnNodeThroughReboot(m, pvFinding('pv-vm-disk'))).toBe(true);
    expect(keptOnNodeThroughReboot(m, pvFinding('pv-topo'))).toBe(true);
    // HwameiStor's LVM and raw disk volumes live on the node's block devices too.
    for (const driver of ['lvm.hwameistor.io', 'disk.hwameistor.io']) {
      m.upsert('persistentVolume', csiPV(driver, { name: `pv-${driver}`, pinnedNode: 'w1' }));
      expect(keptOnNodeThroughReboot(m, pvFinding(`pv-${driver}`))).toBe(true);
    }
    expect(keptOnNodeThroughReboot(m, pvFinding('pv-raw'))).toBe(false);
    expect(keptOnNodeThroughReboot(m, pvFinding('pv-unknown'))).toBe(false);
    expect(keptOnNodeThroughReboot(m, pvFinding('pv-vm-disk', ['in-use', 'csi', 'unpinned']))).toBe(false);
    expect(keptOnNodeThroughReboot(m, { ...base, object: { kind: 'Pod', name: 'a' }, tags: ['in-use', 'emptyDir'] })).toBe(false);
    expect(keptOnNodeThroughReboot(m, { ...pvFinding('pv-vm-disk'), check: 'single-replica' })).toBe(false);
  });
});
