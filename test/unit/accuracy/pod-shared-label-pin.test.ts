// A pod writing to an inline hostPath comes back to its data only when its nodeSelector or required node affinity
// names the node itself: metadata.name, kubernetes.io/hostname or another node identity key. A label that one node
// carries today (`disktype: ssd`, the Kubernetes docs' own nodeSelector example, or `example.com/disk: ssd`) names a
// group of nodes: the drained pod goes Pending, cluster-autoscaler or Karpenter adds a node carrying the label (that
// is what a pending pod makes them do), and the pod starts there with an empty hostPath. Such a pod is not pinned:
// its eviction, its node's cordon and a drain's delete of it are refused, and the audit says so as the webhook does.
// A local PV keeps the wider rule (any key that is not a group key pins): reported on its node either way.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import { collectNodeLocalVolume } from '../../../src/checks/node-local-volume.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNode, transformPersistentVolume, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, request } from '../../support/admission.ts';
import { pvc } from '../../support/fixtures.ts';
import { cordonAndAudit } from '../audit/cordon-agreement.ts';

const config = defaultConfig();
const DESCHEDULER: UserInfo = { username: 'system:serviceaccount:kube-system:descheduler', groups: ['system:serviceaccounts'] };
const withRestarters: Config = { ...config, evictions: { restartUsers: [DESCHEDULER.username], restartGroups: [] } };

/** The spec fields that place the pod: a nodeSelector, or a required node affinity. */
type Placement = Record<string, unknown>;

const nodeSelector = (labels: Record<string, string>): Placement => ({ nodeSelector: labels });
const requiredIn = (key: string, value: string): Placement => ({
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key, operator: 'In', values: [value] }] }] },
    },
  },
});
const requiredName = (value: string): Placement => ({
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [value] }] }] },
    },
  },
});

/** The ReplicaSet pod `cache-5d8-x1` on node-1, writing to hostPath /data, placed by `placement`. */
function hostPathPod(placement: Placement) {
  const record = transformPod({
    metadata: {
      name: 'cache-5d8-x1',
      namespace: 'default',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'cache-5d8', uid: 'u-rs', controller: true }],
    },
    spec: {
      nodeName: 'node-1',
      ...placement,
      containers: [{ name: 'c', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', hostPath: { path: '/data' } }],
    },
    status: { phase: 'Running' },
  });
  if (record === undefined) throw new Error('pod not read');
  return record;
}

/** node-1 alone carries the shared labels today; node-2 does not. */
function cluster(placement: Placement, options: { cordoned?: boolean } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  const labels = { 'kubernetes.io/hostname': 'node-1', 'example.com/disk': 'ssd', disktype: 'ssd', 'openebs.io/nodeid': 'id-1' };
  model.upsert('node', transformNode({ metadata: { name: 'node-1', labels }, spec: options.cordoned === true ? { unschedulable: true } : {} })!);
  model.upsert('node', transformNode({ metadata: { name: 'node-2', labels: { 'kubernetes.io/hostname': 'node-2', 'openebs.io/nodeid': 'id-2' } }, spec: {} })!);
  model.upsert('pod', hostPathPod(placement));
  return model;
}

const podDelete = (placement: Placement): AdmissionRequest =>
  request({
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'DELETE',
    name: 'cache-5d8-x1',
    namespace: 'default',
    oldObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'cache-5d8-x1', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'cache-5d8', uid: 'u-rs', controller: true }] },
      spec: { nodeName: 'node-1', ...placement, volumes: [{ name: 'data', hostPath: { path: '/data' } }], containers: [{ name: 'c', volumeMounts: [{ name: 'data', mountPath: '/data' }] }] },
    },
  });

const shared: [string, Placement][] = [
  ['nodeSelector example.com/disk: ssd', nodeSelector({ 'example.com/disk': 'ssd' })],
  ['nodeSelector disktype: ssd (the Kubernetes docs’ example)', nodeSelector({ disktype: 'ssd' })],
  ['required affinity example.com/disk In [ssd]', requiredIn('example.com/disk', 'ssd')],
];

const identity: [string, Placement][] = [
  ['nodeSelector kubernetes.io/hostname: node-1', nodeSelector({ 'kubernetes.io/hostname': 'node-1' })],
  ['nodeSelector hostname plus a shared label', nodeSelector({ 'kubernetes.io/hostname': 'node-1', disktype: 'ssd' })],
  ['required affinity matchFields metadata.name In [node-1]', requiredName('node-1')],
  ['required affinity openebs.io/nodeid In [id-1]', requiredIn('openebs.io/nodeid', 'id-1')],
];

describe('a pod placed by a label one node carries today is not pinned to that node', () => {
  it.each(shared)('%s: its hostPath data is found at the cordon, and the cordon and eviction are refused', (_name, placement) => {
    const model = cluster(placement);
    const findings = collectNodeLocalVolume(model, { node: 'node-1' }).findings;
    expect(findings).toMatchObject([{ object: { kind: 'Pod', name: 'cache-5d8-x1', node: 'node-1' }, tags: ['in-use', 'inline-hostPath'] }]);
    const cordon = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model));
    expect(cordon.allowed).toBe(false);
    expect(cordon.status?.message).toContain('cache-5d8-x1');
    expect(cordon.status?.message).toContain('hostPath /data');
    const eviction = podEvictionValidator(config).handle(evictionRequest('cache-5d8-x1'), context(model));
    expect(eviction.allowed).toBe(false);
    expect(eviction.status?.message).toContain('cache-5d8-x1');
  });

  it.each(shared)('%s: a restart identity may not evict it either (it may come back on a new node)', (_name, placement) => {
    const model = cluster(placement);
    const decision = podEvictionValidator(withRestarters).handle(evictionRequest('cache-5d8-x1', { user: DESCHEDULER }), context(model, { config: withRestarters }));
    expect(decision.allowed).toBe(false);
  });

  it.each(shared)('%s: a drain’s DELETE of it on the cordoned node is refused', (_name, placement) => {
    const decision = podDeleteValidator(config).handle(podDelete(placement), context(cluster(placement, { cordoned: true })));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('cache-5d8-x1');
  });

  it.each(shared)('%s: the audit of node-1 lists it as refusing the cordon, as the webhook does', (_name, placement) => {
    const { decision, blocking } = cordonAndAudit(cluster(placement), 'node-1');
    expect(decision.allowed).toBe(false);
    expect(blocking).toEqual(['node-local-volume:cache-5d8-x1']);
  });
});

describe('a pod placed by the node’s identity comes back to its data', () => {
  it.each(identity)('%s: nothing found at the cordon; the cordon, the eviction and the audit pass', (_name, placement) => {
    const model = cluster(placement);
    expect(collectNodeLocalVolume(model, { node: 'node-1' }).findings).toEqual([]);
    expect(nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model)).allowed).toBe(true);
    expect(podEvictionValidator(config).handle(evictionRequest('cache-5d8-x1'), context(model)).allowed).toBe(true);
    expect(cordonAndAudit(model, 'node-1').blocking).toEqual([]);
  });

  it.each(identity)('%s: found when the node is removed for good (nothing comes back)', (_name, placement) => {
    const findings = collectNodeLocalVolume(cluster(placement), { node: 'node-1', removed: true }).findings;
    expect(findings).toMatchObject([{ object: { kind: 'Pod', name: 'cache-5d8-x1' }, tags: ['in-use', 'inline-hostPath', 'node-removed'] }]);
  });
});

describe('a local PV keeps the wider rule', () => {
  it('an affinity on a shared label one node carries is pinned to it: reported on node-1 at the cordon', () => {
    const model = cluster(nodeSelector({ 'kubernetes.io/hostname': 'node-1' }));
    const pv = transformPersistentVolume({
      metadata: { name: 'pv-ssd' },
      spec: {
        local: { path: '/mnt/ssd' },
        claimRef: { namespace: 'default', name: 'data' },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'example.com/disk', operator: 'In', values: ['ssd'] }] }] } },
      },
      status: { phase: 'Bound' },
    })!;
    model.upsert('persistentVolume', pv);
    model.upsert('persistentVolumeClaim', pvc({ name: 'data', volumeName: 'pv-ssd' }));
    expect(model.persistentVolume('pv-ssd')?.pinnedNode).toBe('node-1');
    expect(collectNodeLocalVolume(model, { node: 'node-1' }).findings.map((finding) => finding.object.name)).toEqual(['pv-ssd']);
  });
});
