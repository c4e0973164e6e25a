// Rancher cordons a node a Harvester upgrade is about to drain before Harvester's pre-drain hook runs: its machine
// drain handler cordons first and writes the rke.cattle.io/pre-drain annotation only once the cordon succeeded, and
// Harvester moves the node from `Images preloaded` (an UpgradePlan: ImagePreloaded) to `Pre-draining` only once it
// sees that annotation. The cordon at the pre-drain state gets the upgrade's waivers, or the upgrade never gets past
// it; a cordon moves no data, and the taints, evictions and pod deletes that follow are judged as before.
import { describe, expect, it } from 'vitest';
import { harvesterUpgradeDraining } from '../../../src/admission/longhorn-drain.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import type { UserInfo } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import type { HarvesterUpgradeRecord } from '../../../src/cluster/records.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, NODE_KIND, request } from '../../support/admission.ts';
import { csiPV, detachedVolume, harvesterUpgrade, harvesterUpgradePlan, longhornNode, longhornSetting, node, pod, pvc, replica } from '../../support/fixtures.ts';

const config = defaultConfig();
const cordon = nodeCordonValidator(config);
const evict = podEvictionValidator(config);
/** Rancher's machine drain handler, with the downstream cluster's credentials. */
const RANCHER: UserInfo = { username: 'system:serviceaccount:cattle-system:rancher', groups: ['system:serviceaccounts', 'system:authenticated'] };
const ADMIN_SKIP = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-reason': 'INC-7', 'volume-guard.io/skip-by': 'admin' };

/** h1–h3, Longhorn nodes all; on h1 the stopped only replica of detached volume v. */
function cluster(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.setLonghornInstalled(true);
  for (const name of ['h1', 'h2', 'h3']) {
    m.upsert('node', node({ name }));
    m.upsert('longhornNode', longhornNode({ name }));
  }
  m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'allow-if-replica-is-stopped'));
  m.upsert('longhornVolume', detachedVolume({ name: 'v', numberOfReplicas: 1, pvcNamespace: 'vms', pvcName: 'v' }));
  m.upsert('longhornReplica', replica({ volumeName: 'v', nodeID: 'h1', currentState: 'stopped' }));
  return m;
}

function upgrading(upgrade: HarvesterUpgradeRecord, m = cluster()): ClusterModel {
  m.upsert(upgrade.kind === 'Upgrade' ? 'harvesterUpgrade' : 'harvesterUpgradePlan', upgrade);
  return m;
}

const upgrade = (h1: string, fields: Partial<HarvesterUpgradeRecord> = {}) =>
  harvesterUpgrade({ skipDetached: true, nodeStates: { h1, h2: 'Images preloaded', h3: 'Images preloaded' }, ...fields });
const plan = (h1: string, fields: Partial<HarvesterUpgradeRecord> = {}) =>
  harvesterUpgradePlan({ skipDetached: true, nodeStates: { h1, h2: 'ImagePreloaded', h3: 'ImagePreloaded' }, ...fields });

/** An update of node `name` adding `taint` (and cordoning it too when `cordoned`). */
const taintRequest = (name: string, taint: { key: string; value: string; effect: string }, cordoned = false) =>
  request({
    ...NODE_KIND,
    operation: 'UPDATE',
    name,
    object: { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: { ...(cordoned ? { unschedulable: true } : {}), taints: [taint] } },
    oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {} },
  });
const KUBEVIRT_DRAIN = { key: 'kubevirt.io/drain', value: 'draining', effect: 'NoSchedule' };

describe("Rancher's cordon of a node a Harvester upgrade is about to drain", () => {
  it.each([
    ['an Upgrade at Images preloaded', upgrade('Images preloaded')],
    ['an UpgradePlan at ImagePreloaded', plan('ImagePreloaded')],
  ])('is not refused for the detached single copy the upgrade was admitted with (%s)', (_label, started) => {
    // Without the upgrade, the cordon is refused for the volume.
    expect(cordon.handle(cordonRequest('h1', {}, RANCHER), context(cluster())).allowed).toBe(false);
    const decision = cordon.handle(cordonRequest('h1', {}, RANCHER), context(upgrading(started)));
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations?.['override-source']).toContain(`Harvester ${started.kind}`);
    expect(decision.warnings?.join('\n')).toContain(`overridden by Harvester ${started.kind}`);
  });

  it("carries an admin's volume-guard.io/skip on the upgrade to that cordon", () => {
    const m = upgrading(upgrade('Images preloaded', { skipDetached: false, annotations: ADMIN_SKIP }));
    const decision = cordon.handle(cordonRequest('h1', {}, RANCHER), context(m));
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations?.['override-source']).toBe('Harvester Upgrade harvester-system/hvst-upgrade-1 (volume-guard.io/skip, draining node h1)');
  });

  it.each([
    ['an Upgrade at Images preloaded', upgrade('Images preloaded', { skipDetached: false })],
    ['an UpgradePlan at ImagePreloaded', plan('ImagePreloaded', { skipDetached: false })],
  ])('is not refused for an LVM volume the in-place reboot keeps (%s)', (_label, started) => {
    const lvm = (m: ClusterModel): ClusterModel => {
      m.remove('longhornVolume', 'longhorn-system/v');
      m.remove('longhornReplica', 'longhorn-system/v-r-h1');
      m.upsert('persistentVolume', csiPV('lvm.driver.harvesterhci.io', { name: 'pv-lvm', pinnedNode: 'h1', claimNamespace: 'vms', claimName: 'disk' }));
      m.upsert('persistentVolumeClaim', pvc({ namespace: 'vms', name: 'disk', volumeName: 'pv-lvm' }));
      return m;
    };
    expect(cordon.handle(cordonRequest('h1', {}, RANCHER), context(lvm(cluster()))).allowed).toBe(false);
    const decision = cordon.handle(cordonRequest('h1', {}, RANCHER), context(lvm(upgrading(started))));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain('upgrades node h1 in place and reboots it');
  });

  it('waives nothing at that state but the cordon: a drain taint, a cordon with a taint, evictions are refused as before', () => {
    const m = upgrading(upgrade('Images preloaded'));
    expect(cordon.handle(taintRequest('h1', KUBEVIRT_DRAIN), context(m)).allowed).toBe(false);
    expect(cordon.handle(taintRequest('h1', KUBEVIRT_DRAIN, true), context(m)).allowed).toBe(false);
    m.upsert('node', node({ name: 'h1', unschedulable: true }));
    m.upsert('pod', pod({ namespace: 'web', name: 'nginx-1', nodeName: 'h1', controllerKind: 'ReplicaSet' }));
    expect(evict.handle(evictionRequest('nginx-1', { namespace: 'web' }), context(m)).allowed).toBe(false);
    // Once Harvester pre-drains the node, its drain is waived as before.
    m.upsert('harvesterUpgrade', upgrade('Pre-draining'));
    expect(evict.handle(evictionRequest('nginx-1', { namespace: 'web' }), context(m)).allowed).toBe(true);
    // The state itself is not a draining one.
    expect(harvesterUpgradeDraining(upgrading(upgrade('Images preloaded')), 'h1')).toBeUndefined();
  });

  it('is refused as before outside that state or outside the node upgrades', () => {
    for (const started of [
      // Paused by the admin: Harvester sets it only after Rancher's pre-drain annotation, so after the cordon.
      upgrade('UpgradePaused'),
      plan('UpgradePaused'),
      upgrade('Images preloading'),
      upgrade('Succeeded'),
      upgrade('Images preloaded', { state: 'PreparingNodes' }),
      upgrade('Images preloaded', { state: 'Succeeded' }),
      plan('ImagePreloaded', { state: 'ClusterUpgrading' }),
      // Another kind's spelling.
      plan('Images preloaded'),
      // Without the annotation.
      upgrade('Images preloaded', { skipDetached: false }),
    ]) {
      expect(cordon.handle(cordonRequest('h1', {}, RANCHER), context(upgrading(started))).allowed, JSON.stringify(started)).toBe(false);
    }
    // Nor when upgrades.kinds leaves Harvester out: its writes never met the override guard.
    const base = defaultConfig();
    const withoutHarvester = { ...base, upgrades: { ...base.upgrades, kinds: base.upgrades.kinds.filter((kind) => !kind.group.includes('harvesterhci.io')) } };
    expect(cordon.handle(cordonRequest('h1', {}, RANCHER), context(upgrading(upgrade('Images preloaded')), { config: withoutHarvester })).allowed).toBe(false);
  });

  it('still refuses the Node DELETE of a node at that state', () => {
    const m = upgrading(upgrade('Images preloaded'));
    const deletion = request({ ...NODE_KIND, operation: 'DELETE', name: 'h1', oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'h1' }, spec: {} } });
    expect(cordon.handle(deletion, context(m)).allowed).toBe(false);
  });
});
