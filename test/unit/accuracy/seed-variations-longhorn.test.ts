// Seeds 001 and 002 varied, with the names Longhorn and Harvester really give (volumes `pvc-<uuid>`, replicas
// `<volume>-r-<hex>`, disks by UUID): the decision, and a refusal naming every PVC, volume, node and disk at risk.
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, ALICE, context, cordonRequest, harvesterUpgradeRequest } from '../../support/admission.ts';
import { detachedVolume, longhornNode, node, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();
const NODES = ['harvester-a', 'harvester-b', 'harvester-c'];
const disk = (n: string) => `5f0e8a1c-2d3b-4e5f-9a6b-${(n.charCodeAt(n.length - 1) * 1111).toString().padStart(12, '0')}`;
const V1 = 'pvc-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const V2 = 'pvc-9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';

function model(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  m.setLonghornInstalled(true);
  for (const name of NODES) {
    m.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name } }));
    m.upsert('longhornNode', longhornNode({ name, diskUUIDs: [disk(name)] }));
  }
  return m;
}
const rep = (vol: string, nodeID: string, hex: string, extra = {}) => replica({ name: `${vol}-r-${hex}`, volumeName: vol, nodeID, diskID: disk(nodeID), ...extra });

describe('seed 001 varied', () => {
  it('two single-replica volumes, one attached one detached: both named with their PVCs', () => {
    const m = model();
    m.upsert('longhornVolume', volume({ name: V1, pvName: V1, numberOfReplicas: 1, currentNodeID: 'harvester-a', pvcNamespace: 'default', pvcName: 'vm-disk-root' }));
    m.upsert('longhornReplica', rep(V1, 'harvester-a', '1a2b3c4d'));
    m.upsert('longhornVolume', detachedVolume({ name: V2, pvName: V2, numberOfReplicas: 1, pvcNamespace: 'default', pvcName: 'vm-disk-data' }));
    m.upsert('longhornReplica', rep(V2, 'harvester-b', '5e6f7a8b', { currentState: 'stopped' }));
    const d = upgradeValidator(config).handle(harvesterUpgradeRequest(), context(m));
    expect(d.allowed).toBe(false);
    const msg = d.status?.message ?? '';
    for (const s of [V1, V2, 'default/vm-disk-root', 'default/vm-disk-data']) expect(msg).toContain(s);
    const d2 = upgradeValidator(config).handle(harvesterUpgradeRequest({ 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' }), context(m));
    expect(d2.allowed).toBe(false);
    expect(d2.status?.message).toContain('default/vm-disk-root');
    expect(d2.status?.message).not.toContain('default/vm-disk-data');
  });
  it('only detached single-replica + skip annotation by an allowed user: allowed', () => {
    const m = model();
    m.upsert('longhornVolume', detachedVolume({ name: V2, pvName: V2, numberOfReplicas: 1, pvcNamespace: 'default', pvcName: 'vm-disk-data' }));
    m.upsert('longhornReplica', rep(V2, 'harvester-b', '5e6f7a8b', { currentState: 'stopped' }));
    const d = upgradeValidator(config).handle(harvesterUpgradeRequest({ 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' }), context(m));
    expect(d.allowed).toBe(true);
    const d3 = upgradeValidator(config).handle(harvesterUpgradeRequest({ 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' }, ALICE), context(m));
    expect(d3.allowed).toBe(false);
  });
  it('numberOfReplicas 2 on three nodes, both healthy: allowed', () => {
    const m = model();
    m.upsert('longhornVolume', volume({ name: V1, pvName: V1, numberOfReplicas: 2, currentNodeID: 'harvester-a' }));
    m.upsert('longhornReplica', rep(V1, 'harvester-a', '1a2b3c4d'));
    m.upsert('longhornReplica', rep(V1, 'harvester-c', '2a2b3c4d'));
    const d = upgradeValidator(config).handle(harvesterUpgradeRequest(), context(m));
    expect(d.allowed).toBe(true);
  });
  it('numberOfReplicas 2, other replica on a NotReady node: effective single replica, denied, node named', () => {
    const m = model();
    m.upsert('node', node({ name: 'harvester-c', ready: 'False', readySince: Date.now() - 3600_000, labels: {} }));
    m.upsert('longhornVolume', volume({ name: V1, pvName: V1, numberOfReplicas: 2, currentNodeID: 'harvester-a', pvcNamespace: 'prod', pvcName: 'pg-data' }));
    m.upsert('longhornReplica', rep(V1, 'harvester-a', '1a2b3c4d'));
    m.upsert('longhornReplica', rep(V1, 'harvester-c', '2a2b3c4d'));
    const d = upgradeValidator(config).handle(harvesterUpgradeRequest(), context(m));
    expect(d.allowed).toBe(false);
    expect(d.status?.message).toContain('prod/pg-data');
  });
  it('override: skip=single-replica by alice (not allowed), by admin naming another check, expired', () => {
    const m = model();
    m.upsert('longhornVolume', volume({ name: V1, pvName: V1, numberOfReplicas: 1, currentNodeID: 'harvester-a' }));
    m.upsert('longhornReplica', rep(V1, 'harvester-a', '1a2b3c4d'));
    const v = upgradeValidator(config);
    const a = v.handle(harvesterUpgradeRequest({ 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-by': 'alice', 'volume-guard.io/skip-reason': 'x' }, ALICE), context(m));
    expect(a.allowed).toBe(false);
    const b = v.handle(harvesterUpgradeRequest({ 'volume-guard.io/skip': 'volume-health', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'x' }, ADMIN), context(m));
    expect(b.allowed).toBe(false);
    const c = v.handle(harvesterUpgradeRequest({ 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'x', 'volume-guard.io/skip-until': '2020-01-01T00:00:00Z' }, ADMIN), context(m));
    expect(c.allowed).toBe(false);
    const ok = v.handle(harvesterUpgradeRequest({ 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'x' }, ADMIN), context(m));
    expect(ok.allowed).toBe(true);
  });
});

describe('seed 002 varied', () => {
  it('attaching volume, robustness unknown, replica stopped on reformatted disk: denied naming PVC, volume, node, disk', () => {
    const m = model();
    m.upsert('longhornVolume', volume({ name: V1, pvName: V1, state: 'attaching', robustness: 'unknown', currentNodeID: 'harvester-a', pvcNamespace: 'shop', pvcName: 'data-postgres-0' }));
    m.upsert('longhornReplica', rep(V1, 'harvester-a', '1a2b3c4d', { currentState: 'stopped' }));
    m.upsert('longhornReplica', rep(V1, 'harvester-b', '5e6f7a8b', { currentState: 'stopped' }));
    m.upsert('longhornReplica', rep(V1, 'harvester-c', '9c0d1e2f', { currentState: 'stopped', diskID: '7e5d4c3b-1111-4222-8333-944455566677' }));
    const d = upgradeValidator(config).handle(harvesterUpgradeRequest(), context(m));
    const msg = d.status?.message ?? '';
    expect(d.allowed).toBe(false);
    for (const s of [V1, 'shop/data-postgres-0', 'harvester-c', '7e5d4c3b-1111-4222-8333-944455566677']) expect(msg).toContain(s);
  });
  it('detached volume whose only healthy replicas sit on a reformatted disk', () => {
    const m = model();
    m.upsert('longhornVolume', detachedVolume({ name: V1, pvName: V1, pvcNamespace: 'shop', pvcName: 'data-postgres-0' }));
    m.upsert('longhornReplica', rep(V1, 'harvester-a', '1a2b3c4d', { currentState: 'stopped' }));
    m.upsert('longhornReplica', rep(V1, 'harvester-b', '5e6f7a8b', { currentState: 'stopped' }));
    m.upsert('longhornReplica', rep(V1, 'harvester-c', '9c0d1e2f', { currentState: 'stopped', diskID: '7e5d4c3b-1111-4222-8333-944455566677' }));
    const d = upgradeValidator(config).handle(harvesterUpgradeRequest(), context(m));
    const msg = d.status?.message ?? '';
    expect(d.allowed).toBe(false);
    for (const s of [V1, 'shop/data-postgres-0', 'harvester-c', '7e5d4c3b-1111-4222-8333-944455566677']) expect(msg).toContain(s);
    const c = nodeCordonValidator(config).handle(cordonRequest('harvester-a'), context(m));
    expect(c.allowed).toBe(false);
  });
});
