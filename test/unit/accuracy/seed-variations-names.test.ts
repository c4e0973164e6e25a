// Seed 004 with real local PV names, and seed 002 met by a Cluster API rollout: every object at risk is named.
import { expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, harvesterUpgradeRequest, request } from '../../support/admission.ts';
import { hostPathPV, localPV, longhornNode, machine, node, pod, pvc, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();

it('seed 004: single-node, two local-storage PVs in use + one local-path PV: cordon names every PV, PVC, pod', () => {
  const m = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  m.upsert('node', node({ name: 'iz2ze0abcdefghijklmnopz', labels: { 'kubernetes.io/hostname': 'iz2ze0abcdefghijklmnopz' } }));
  const N = 'iz2ze0abcdefghijklmnopz';
  m.upsert('persistentVolume', localPV({ name: 'local-pv-5f3c2a1b', pinnedNode: N, claimNamespace: 'mineru', claimName: 'data-mysql-primary-0' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'mineru', name: 'data-mysql-primary-0', volumeName: 'local-pv-5f3c2a1b', storageClassName: 'local-storage' }));
  m.upsert('pod', pod({ namespace: 'mineru', name: 'mysql-primary-0', nodeName: N, claimNames: ['data-mysql-primary-0'], controllerKind: 'StatefulSet' }));
  m.upsert('persistentVolume', localPV({ name: 'local-pv-9e8d7c6b', pinnedNode: N, claimNamespace: 'ingress-nginx', claimName: 'redis-data-redis-master-0' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'ingress-nginx', name: 'redis-data-redis-master-0', volumeName: 'local-pv-9e8d7c6b', storageClassName: 'local-storage' }));
  m.upsert('pod', pod({ namespace: 'ingress-nginx', name: 'redis-master-0', nodeName: N, claimNames: ['redis-data-redis-master-0'], controllerKind: 'StatefulSet' }));
  const LP = 'pvc-6c1e4b2a-93d7-4f0e-8a5b-2d7c9e1f3a4b';
  m.upsert('persistentVolume', hostPathPV({ name: LP, pinnedNode: N, claimNamespace: 'gitlab', claimName: 'repo-data-gitlab-gitaly-0' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'gitlab', name: 'repo-data-gitlab-gitaly-0', volumeName: LP, storageClassName: 'local-path' }));
  m.upsert('pod', pod({ namespace: 'gitlab', name: 'gitlab-gitaly-0', nodeName: N, claimNames: ['repo-data-gitlab-gitaly-0'], controllerKind: 'StatefulSet' }));
  const d = nodeCordonValidator(config).handle(cordonRequest(N), context(m));
  const msg = d.status?.message ?? '';
  expect(d.allowed).toBe(false);
  for (const s of ['local-pv-5f3c2a1b', 'mineru/data-mysql-primary-0', 'local-pv-9e8d7c6b', 'ingress-nginx/redis-data-redis-master-0', LP, 'gitlab/repo-data-gitlab-gitaly-0', N]) expect(msg).toContain(s);
});

it('seed 002 via a MachineDeployment rollout: volume with a replica on a reformatted disk on a machine node', () => {
  const m = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  m.setLonghornInstalled(true);
  const nodes = ['capi-md-0-7d9f8-abcde', 'capi-md-0-7d9f8-fghij', 'capi-md-0-7d9f8-klmno'];
  const disk = (i: number) => `0b6e5f4a-3c2d-4e1f-8a9b-00000000000${i}`;
  nodes.forEach((n, i) => {
    m.upsert('node', node({ name: n, labels: { 'kubernetes.io/hostname': n } }));
    m.upsert('longhornNode', longhornNode({ name: n, diskUUIDs: [disk(i)] }));
    m.upsert('machine', machine({ namespace: 'capi', name: `md-0-7d9f8-${i}`, nodeName: n, machineDeployment: 'md-0', machineSet: 'md-0-7d9f8' }));
  });
  const V = 'pvc-3f1c2a9e-8b7d-4c6e-9a1f-2b3c4d5e6f70';
  m.upsert('longhornVolume', volume({ name: V, pvName: V, currentNodeID: nodes[0]!, pvcNamespace: 'shop', pvcName: 'data-postgres-0' }));
  nodes.forEach((n, i) => m.upsert('longhornReplica', replica({ name: `${V}-r-${i}a2b3c4d`, volumeName: V, nodeID: n, diskID: i === 2 ? 'ffffffff-1111-4222-8333-944455566677' : disk(i) })));
  const md = (version: string) => ({
    apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'MachineDeployment', metadata: { name: 'md-0', namespace: 'capi' },
    spec: { replicas: 3, template: { spec: { version, clusterName: 'c1', bootstrap: { configRef: { apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1', kind: 'KubeadmConfigTemplate', name: 'md-0' } }, infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: 'md-0' } } } },
    status: { replicas: 3, updatedReplicas: 3 },
  });
  const req = request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinedeployments' },
    operation: 'UPDATE', name: 'md-0', namespace: 'capi', object: md('v1.31.4'), oldObject: md('v1.30.8'),
  });
  const d = upgradeValidator(config).handle(req, context(m));
  const msg = d.status?.message ?? '';
  expect(d.allowed).toBe(false);
  for (const s of [V, 'shop/data-postgres-0', nodes[2]!, 'ffffffff-1111-4222-8333-944455566677']) expect(msg).toContain(s);
});

it('effective single replica, other copy on a NotReady FQDN node: the refusal names the PVC', () => {
  const m = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  m.setLonghornInstalled(true);
  const nodes = ['hv-rack01-node01.dc1.example.com', 'hv-rack01-node02.dc1.example.com', 'hv-rack01-node03.dc1.example.com'];
  for (const n of nodes) {
    m.upsert('node', node({ name: n, ...(n.includes('node03') ? { ready: 'False', readySince: Date.now() - 3600_000 } : {}) }));
    m.upsert('longhornNode', longhornNode({ name: n, diskUUIDs: [`disk-${n}`] }));
  }
  const V = 'pvc-3f1c2a9e-8b7d-4c6e-9a1f-2b3c4d5e6f70';
  m.upsert('longhornVolume', volume({ name: V, pvName: V, numberOfReplicas: 2, currentNodeID: nodes[0]!, pvcNamespace: 'finance-prod', pvcName: 'ledger-db-disk-0-x7k2p' }));
  m.upsert('longhornReplica', replica({ name: `${V}-r-1a2b3c4d`, volumeName: V, nodeID: nodes[0]!, diskID: `disk-${nodes[0]}` }));
  m.upsert('longhornReplica', replica({ name: `${V}-r-5e6f7a8b`, volumeName: V, nodeID: nodes[2]!, diskID: `disk-${nodes[2]}` }));
  const d = upgradeValidator(config).handle(harvesterUpgradeRequest(), context(m));
  const msg = d.status?.message ?? '';
  expect(d.allowed).toBe(false);
  expect(msg).toContain('finance-prod/ledger-db-disk-0-x7k2p');
});
