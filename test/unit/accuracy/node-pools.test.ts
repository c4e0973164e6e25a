// Node pools are groups of nodes, whatever a provider calls them: GKE's node pools (cloud.google.com/gke-nodepool),
// EKS managed node groups (eks.amazonaws.com/nodegroup, eksctl's alpha.eksctl.io/nodegroup-name), Karpenter's
// NodePools and capacity types, AKS agent pools, IBM worker pools. A surge upgrade of a pool (GKE's default, EKS's
// managed node group update) first adds a node to that pool and then drains the old one: a pod whose nodeSelector
// names the pool is recreated on the new node. Its pool having one node today does not pin it: the scheduler
// (component-helpers nodeaffinity) matches the label on any node that carries it, including the next one.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { collectNodeLocalVolume } from '../../../src/checks/node-local-volume.ts';
import { isGroupKey, podNodeSelector } from '../../../src/cluster/node-affinity.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { node, pod } from '../../support/fixtures.ts';

const POOL_KEYS = [
  'cloud.google.com/gke-nodepool',
  'eks.amazonaws.com/nodegroup',
  'alpha.eksctl.io/nodegroup-name',
  'karpenter.sh/nodepool',
  'karpenter.sh/capacity-type',
  'eks.amazonaws.com/capacityType',
  'karpenter.k8s.aws/instance-family',
  'cloud.google.com/gke-spot',
  'cloud.google.com/machine-family',
  'kubernetes.azure.com/agentpool',
  'kubernetes.azure.com/scalesetpriority',
  'ibm-cloud.kubernetes.io/worker-pool-name',
  'doks.digitalocean.com/node-pool',
  'lke.linode.com/pool-id',
  'alibabacloud.com/nodepool-id',
  'kops.k8s.io/instancegroup',
  // Zones and regions under other names than zone and region.
  'topology.csi.vmware.com/k8s-zone',
  'topology.csi.vmware.com/k8s-region',
  'topology.k8s.aws/zone-id',
];

describe('node pool and zone keys name groups of nodes', () => {
  it.each(POOL_KEYS)('%s is a group key', (key) => {
    expect(isGroupKey(key)).toBe(true);
  });

  it('node identities stay identities', () => {
    for (const key of ['kubernetes.io/hostname', 'openebs.io/nodeid', 'topology.topolvm.io/node', 'topology.hostpath.csi/node', 'example.com/zones-id']) {
      expect(isGroupKey(key), key).toBe(false);
    }
  });

  it("a Deployment pod selecting a one-node GKE pool and writing to a hostPath: that node's cordon is refused", () => {
    const model = new ClusterModel();
    model.upsert('node', node({ name: 'gke-pool-a-1', labels: { 'kubernetes.io/hostname': 'gke-pool-a-1', 'cloud.google.com/gke-nodepool': 'pool-a' } }));
    model.upsert('node', node({ name: 'gke-pool-b-1', labels: { 'kubernetes.io/hostname': 'gke-pool-b-1', 'cloud.google.com/gke-nodepool': 'pool-b' } }));
    const nodeSelector = podNodeSelector({ nodeSelector: { 'cloud.google.com/gke-nodepool': 'pool-a' } });
    model.upsert(
      'pod',
      pod({ namespace: 'shop', name: 'cache-7f9c-x2', nodeName: 'gke-pool-a-1', controllerKind: 'ReplicaSet', hostPaths: [{ path: '/srv/cache', writable: true }], nodeSelector }),
    );
    const findings = collectNodeLocalVolume(model, { node: 'gke-pool-a-1' }).findings;
    expect(findings.map((finding) => [finding.object.name, finding.tags])).toEqual([['cache-7f9c-x2', ['in-use', 'inline-hostPath']]]);
    const cordon = nodeCordonValidator(defaultConfig()).handle(cordonRequest('gke-pool-a-1'), context(model));
    expect(cordon.allowed).toBe(false);
    expect(cordon.status!.message).toContain('/srv/cache');
  });
});
