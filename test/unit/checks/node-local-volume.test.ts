import { describe, expect, it } from 'vitest';
import type { PersistentVolumeRecord, PodRecord } from '../../../src/cluster/records.ts';
import {
  NODE_LOCAL_DRIVERS,
  collectNodeLocalVolume,
  createNodeLocalVolumeCheck,
  isNodeLocalPersistentVolume,
  nodeLocalVolumeCheck,
} from '../../../src/checks/node-local-volume.ts';
import { csiPV, hostPathPV, localPV, pod, pv, pvc } from '../../support/fixtures.ts';
import { clusterOf, withoutFullScans } from './helpers.ts';

const claimPod = (fields: Partial<PodRecord> = {}) =>
  pod({ name: 'app-0', nodeName: 'w1', claimNames: ['data-claim'], ...fields });

describe('node-local-volume (cordon of w1)', () => {
  it.each<[string, PersistentVolumeRecord, PodRecord[], string[] | undefined, string?]>([
    [
      'local PV in use',
      localPV({ name: 'data', pinnedNode: 'w1' }),
      [claimPod()],
      ['in-use', 'local'],
      'local PV keeps the data of claim default/data-claim on node w1 only, mounted by 1 pod',
    ],
    [
      'hostPath PV from local-path, in use by 2 pods',
      hostPathPV({ name: 'data', pinnedNode: 'w1' }),
      [claimPod(), claimPod({ name: 'app-1' })],
      ['in-use', 'hostPath'],
      'hostPath PV keeps the data of claim default/data-claim on node w1 only, mounted by 2 pods',
    ],
    [
      'CSI PV of a node-local driver (TopoLVM)',
      csiPV('topolvm.io', { name: 'data', pinnedNode: 'w1' }),
      [claimPod()],
      ['in-use', 'csi'],
      'topolvm.io PV keeps the data of claim default/data-claim on node w1 only, mounted by 1 pod',
    ],
    ['CSI PV of OpenEBS ZFS LocalPV', csiPV('zfs.csi.openebs.io', { name: 'data', pinnedNode: 'w1' }), [], ['unused', 'csi']],
    [
      'bound local PV no pod mounts (seed 004: still lost when the node is wiped)',
      localPV({ name: 'data', pinnedNode: 'w1' }),
      [],
      ['unused', 'local'],
      'local PV keeps the data of claim default/data-claim on node w1 only, not mounted by any pod',
    ],
    ['local PV whose pod has finished', localPV({ name: 'data', pinnedNode: 'w1' }), [claimPod({ phase: 'Succeeded' })], ['unused', 'local']],
    ['network CSI PV pinned to the node (not node-local)', csiPV('ebs.csi.aws.com', { name: 'data', pinnedNode: 'w1' }), [claimPod()], undefined],
    ['Longhorn PV', pv({ name: 'data' }), [claimPod()], undefined],
    ['local PV pinned to another node', localPV({ name: 'data', pinnedNode: 'w2' }), [], undefined],
    ['unbound local PV', localPV({ name: 'data', pinnedNode: 'w1', phase: 'Available', claimName: '', claimNamespace: '' }), [], undefined],
    ['released local PV (claim deleted)', localPV({ name: 'data', pinnedNode: 'w1', phase: 'Released' }), [], undefined],
    ['hostPath PV pinned to no node', hostPathPV({ name: 'data', pinnedNode: '' }), [], undefined],
  ])('%s', (_label, volume, pods, expectedTags, expectedReason) => {
    const model = clusterOf({ pvs: [volume], pods });
    const findings = nodeLocalVolumeCheck(withoutFullScans(model), { node: 'w1' });
    if (expectedTags === undefined) {
      expect(findings).toEqual([]);
      return;
    }
    expect(findings).toHaveLength(1);
    const [finding] = findings;
    expect(finding?.check).toBe('node-local-volume');
    expect(finding?.object).toEqual({ kind: 'PersistentVolume', name: 'data', node: 'w1' });
    expect(finding?.tags).toEqual(expectedTags);
    if (expectedReason !== undefined) expect(finding?.reason).toBe(expectedReason);
    const runningPods = pods.filter((p) => p.phase === 'Running');
    expect(finding?.related).toEqual([
      { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'data-claim' },
      ...runningPods.map((p) => ({ kind: 'Pod', namespace: 'default', name: p.name, node: 'w1' })),
    ]);
  });

  it('caps what it builds and counts the rest', () => {
    const pvs = Array.from({ length: 5 }, (_, i) => localPV({ name: `l${i}`, pinnedNode: 'w1' }));
    const capped = collectNodeLocalVolume(clusterOf({ pvs }), { node: 'w1' }, { limit: 2, skipTags: ['unused-not-a-tag'] });
    expect(capped.findings).toHaveLength(2);
    expect(capped.total).toBe(5);
    expect(collectNodeLocalVolume(clusterOf({ pvs }), { node: 'w1' }, { skipTags: ['unused'] }).total).toBe(0);
  });
});

describe('node-local-volume for given claims (eviction)', () => {
  const model = clusterOf({
    pvs: [
      localPV({ name: 'local-a', pinnedNode: 'w1', claimName: 'a' }),
      localPV({ name: 'local-b', pinnedNode: 'w1', claimName: 'b' }),
      pv({ name: 'net-c', claimName: 'c' }),
      // A PV bound to another claim than the one naming it.
      localPV({ name: 'local-x', pinnedNode: 'w1', claimName: 'someone-else' }),
    ],
    pvcs: [
      pvc({ name: 'a', volumeName: 'local-a' }),
      pvc({ name: 'b', volumeName: 'local-b' }),
      pvc({ name: 'c', volumeName: 'net-c' }),
      pvc({ name: 'x', volumeName: 'local-x' }),
      pvc({ name: 'pending', volumeName: '', phase: 'Pending' }),
    ],
    pods: [pod({ name: 'evicted', nodeName: 'w1', claimNames: ['a', 'c', 'x', 'pending', 'missing'] })],
  });

  it("reports only the node-local PVs bound to the pod's claims", () => {
    const claims = ['a', 'c', 'x', 'pending', 'missing', 'a'].map((name) => ({ namespace: 'default', name }));
    const findings = nodeLocalVolumeCheck(model, { node: 'w1', claims });
    expect(findings.map((f) => f.object.name)).toEqual(['local-a']);
    expect(findings[0]?.tags).toEqual(['in-use', 'local']);
  });
});

describe('node-local drivers', () => {
  it('include the node-local provisioners and CSI drivers, and no network one', () => {
    for (const driver of ['rancher.io/local-path', 'openebs.io/local', 'local.csi.openebs.io', 'topolvm.io']) {
      expect(NODE_LOCAL_DRIVERS).toContain(driver);
    }
    expect(NODE_LOCAL_DRIVERS).not.toContain('driver.longhorn.io');
    expect(NODE_LOCAL_DRIVERS).not.toContain('ebs.csi.aws.com');
  });

  it('can be configured', () => {
    const custom = csiPV('vendor.example.com/local', { name: 'data', pinnedNode: 'w1' });
    expect(isNodeLocalPersistentVolume(custom)).toBe(false);
    const model = clusterOf({ pvs: [custom] });
    expect(nodeLocalVolumeCheck(model, { node: 'w1' })).toEqual([]);
    const check = createNodeLocalVolumeCheck([...NODE_LOCAL_DRIVERS, 'vendor.example.com/local']);
    expect(check(model, { node: 'w1' }).map((f) => f.object.name)).toEqual(['data']);
  });
});

describe('generic ephemeral volumes (claims owned by their pod)', () => {
  // The ephemeral-volume controller names the claim <pod>-<volume> and makes the pod its owner: the garbage
  // collector deletes it, and its PV, with the pod, wherever the pod goes. No drain can save that scratch data.
  const scratch = pvc({ name: 'cache-0-scratch', volumeName: 'pv-scratch', storageClassName: 'topolvm', ownerReferences: [{ kind: 'Pod', name: 'cache-0', uid: 'u1' }] });
  const kept = pvc({ name: 'data-claim', volumeName: 'pv-kept', storageClassName: 'topolvm' });
  const model = clusterOf({
    pvs: [
      csiPV('topolvm.io', { name: 'pv-scratch', pinnedNode: 'w1', claimName: scratch.name }),
      csiPV('topolvm.io', { name: 'pv-kept', pinnedNode: 'w1', claimName: kept.name }),
      hostPathPV({ name: 'pv-unpinned', pinnedNode: '', claimName: 'cache-0-tmp' }),
    ],
    pvcs: [scratch, kept, pvc({ name: 'cache-0-tmp', volumeName: 'pv-unpinned', ownerReferences: [{ kind: 'Pod', name: 'cache-0', uid: 'u1' }] })],
    pods: [pod({ name: 'cache-0', nodeName: 'w1', claimNames: ['cache-0-scratch', 'data-claim', 'cache-0-tmp'] })],
  });

  it("an eviction reports only the pod's lasting claim", () => {
    const claims = ['cache-0-scratch', 'data-claim', 'cache-0-tmp'].map((name) => ({ namespace: 'default', name }));
    const findings = nodeLocalVolumeCheck(model, { node: 'w1', claims, pod: model.pod('default', 'cache-0') });
    expect(findings.map((f) => f.object.name)).toEqual(['pv-kept']);
  });

  it('a cordon reports none of the scratch PVs', () => {
    expect(nodeLocalVolumeCheck(model, { node: 'w1' }).map((f) => f.object.name)).toEqual(['pv-kept']);
  });

  it('a claim with another owner besides a pod (or none) is not scratch', () => {
    const shared = pvc({ name: 'cache-0-scratch', volumeName: 'pv-scratch', ownerReferences: [{ kind: 'Pod', name: 'cache-0', uid: 'u1' }, { kind: 'ConfigMap', name: 'keep', uid: 'u2' }] });
    const other = clusterOf({
      pvs: [csiPV('topolvm.io', { name: 'pv-scratch', pinnedNode: 'w1', claimName: shared.name })],
      pvcs: [shared],
    });
    expect(nodeLocalVolumeCheck(other, { node: 'w1' }).map((f) => f.object.name)).toEqual(['pv-scratch']);
  });
});
