// A pod writing to an inline hostPath comes back to its data only when its nodeSelector or required node affinity
// names the node itself: metadata.name, kubernetes.io/hostname or another node identity key. A label that one node
// carries today (`disktype: ssd`, the Kubernetes docs' own nodeSelector example, or `example.com/disk: ssd`) names a
// group of nodes: the drained pod goes Pending, cluster-autoscaler or Karpenter adds a node carrying the label (that
// is what a pending pod makes them do), and the pod starts there with an empty hostPath. Such a pod is not pinned
// while its node is being emptied: its node's cordon, its eviction from a node being drained (cordoned, its cordon
// refused) or removed, and a drain's delete of it are refused, and the audit says so as the webhook does. An eviction
// from a node that stays schedulable (a restart: descheduler, VPA, an admin) is not a drain: the recreated pod is
// scheduled at once, back on the one live node carrying the label, where its data is; it passes.
// The same goes for a pod placed through its claim's PV pinned by such a label.
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
import { ADMIN, context, cordonRequest, evictionRequest, request } from '../../support/admission.ts';
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
function cluster(placement: Placement, options: { cordoned?: boolean; leaving?: boolean } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  const labels = { 'kubernetes.io/hostname': 'node-1', 'example.com/disk': 'ssd', disktype: 'ssd', 'openebs.io/nodeid': 'id-1' };
  const spec = {
    ...(options.cordoned === true ? { unschedulable: true } : {}),
    // cluster-autoscaler's drain taint, without a cordon: the node is being removed.
    ...(options.leaving === true ? { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1733130000', effect: 'NoSchedule' }] } : {}),
  };
  model.upsert('node', transformNode({ metadata: { name: 'node-1', labels }, spec })!);
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

describe('a pod placed by a label one node carries today is not pinned to that node while the node is emptied', () => {
  it.each(shared)('%s: its hostPath data is found at the cordon, and the cordon is refused', (_name, placement) => {
    const model = cluster(placement);
    const findings = collectNodeLocalVolume(model, { node: 'node-1' }).findings;
    expect(findings).toMatchObject([{ object: { kind: 'Pod', name: 'cache-5d8-x1', node: 'node-1' }, tags: ['in-use', 'inline-hostPath'] }]);
    const cordon = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model));
    expect(cordon.allowed).toBe(false);
    expect(cordon.status?.message).toContain('cache-5d8-x1');
    expect(cordon.status?.message).toContain('hostPath /data');
  });

  it.each(shared)('%s: its eviction from the cordoned node is refused, for a restart identity too', (_name, placement) => {
    const model = cluster(placement, { cordoned: true });
    const eviction = podEvictionValidator(config).handle(evictionRequest('cache-5d8-x1'), context(model));
    expect(eviction.allowed).toBe(false);
    expect(eviction.status?.message).toContain('cache-5d8-x1');
    const restart = podEvictionValidator(withRestarters).handle(evictionRequest('cache-5d8-x1', { user: DESCHEDULER }), context(model, { config: withRestarters }));
    expect(restart.allowed).toBe(false);
  });

  it.each(shared)('%s: its eviction after the same user’s cordon of the schedulable node was refused is refused (kubectl drain goes on)', (_name, placement) => {
    const model = cluster(placement);
    model.refuseCordon('node-1', ADMIN.username);
    const eviction = podEvictionValidator(config).handle(evictionRequest('cache-5d8-x1'), context(model));
    expect(eviction.allowed).toBe(false);
    expect(eviction.status?.message).toContain('cache-5d8-x1');
  });

  it.each(shared)('%s: its eviction from a node an autoscaler is removing (no cordon) is refused', (_name, placement) => {
    const eviction = podEvictionValidator(config).handle(evictionRequest('cache-5d8-x1'), context(cluster(placement, { leaving: true })));
    expect(eviction.allowed).toBe(false);
    expect(eviction.status?.message).toContain('cache-5d8-x1');
  });

  it.each(shared)('%s: a drain’s DELETE of it after its cordon of the schedulable node was refused is refused', (_name, placement) => {
    const model = cluster(placement);
    model.refuseCordon('node-1', ADMIN.username);
    const decision = podDeleteValidator(config).handle(podDelete(placement), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('cache-5d8-x1');
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

// No drain in sight: the ReplicaSet recreates the pod at once, the scheduler places it on the one live node carrying
// the label (node-1, schedulable), and it finds its hostPath data there. Nothing is asked of an autoscaler.
describe('a pod placed by a label only its node carries, evicted from a node that stays schedulable, comes back to it', () => {
  it.each(shared)('%s: the eviction passes, and a restart identity’s too', (_name, placement) => {
    const model = cluster(placement);
    expect(podEvictionValidator(config).handle(evictionRequest('cache-5d8-x1'), context(model)).allowed).toBe(true);
    const restart = podEvictionValidator(withRestarters).handle(evictionRequest('cache-5d8-x1', { user: DESCHEDULER }), context(model, { config: withRestarters }));
    expect(restart.allowed).toBe(true);
  });

  it.each(shared)('%s: the check finds nothing of the pod’s own when told the node stays schedulable', (_name, placement) => {
    const model = cluster(placement);
    const pod = model.pod('default', 'cache-5d8-x1')!;
    expect(collectNodeLocalVolume(model, { node: 'node-1', claims: [], pod, staysSchedulable: true }).findings).toEqual([]);
    expect(collectNodeLocalVolume(model, { node: 'node-1', claims: [], pod }).findings).toHaveLength(1);
  });

  it('a second live node carrying the label: the recreated pod may land there, the eviction is refused', () => {
    const model = cluster(nodeSelector({ disktype: 'ssd' }));
    model.upsert('node', transformNode({ metadata: { name: 'node-3', labels: { 'kubernetes.io/hostname': 'node-3', disktype: 'ssd' } }, spec: {} })!);
    expect(podEvictionValidator(config).handle(evictionRequest('cache-5d8-x1'), context(model)).allowed).toBe(false);
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

describe('a pod placed through its claim’s PV, pinned by a label one node carries', () => {
  /** The hostPath pod with no placement of its own, also mounting claim `data` bound to local PV pv-ssd (disk In [ssd]). */
  function throughClaim(options: { cordoned?: boolean } = {}): ClusterModel {
    const model = cluster({}, options);
    const spec = { ...hostPathPod({}), claimNames: ['data'] };
    model.upsert('pod', spec);
    model.upsert(
      'persistentVolume',
      transformPersistentVolume({
        metadata: { name: 'pv-ssd' },
        spec: {
          local: { path: '/mnt/ssd' },
          claimRef: { namespace: 'default', name: 'data' },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'example.com/disk', operator: 'In', values: ['ssd'] }] }] } },
        },
        status: { phase: 'Bound' },
      })!,
    );
    model.upsert('persistentVolumeClaim', pvc({ name: 'data', volumeName: 'pv-ssd' }));
    return model;
  }

  it('the cordon finds its hostPath data beside the PV: the drained pod may start on a new node carrying the label', () => {
    const findings = collectNodeLocalVolume(throughClaim(), { node: 'node-1' }).findings;
    expect(findings.map((finding) => [finding.object.kind, finding.object.name]).sort()).toEqual([
      ['PersistentVolume', 'pv-ssd'],
      ['Pod', 'cache-5d8-x1'],
    ]);
  });

  it('an eviction from the node staying schedulable finds the PV only: the pod comes back to node-1', () => {
    const model = throughClaim();
    const pod = model.pod('default', 'cache-5d8-x1')!;
    const target = { node: 'node-1', claims: [{ namespace: 'default', name: 'data' }], pod };
    expect(collectNodeLocalVolume(model, { ...target, staysSchedulable: true }).findings.map((finding) => finding.object.name)).toEqual(['pv-ssd']);
    expect(collectNodeLocalVolume(model, target).findings.map((finding) => finding.object.name).sort()).toEqual(['cache-5d8-x1', 'pv-ssd']);
  });

  it('pinned by the hostname: the pod comes back to node-1 whatever the node’s state', () => {
    const model = throughClaim();
    model.upsert(
      'persistentVolume',
      transformPersistentVolume({
        metadata: { name: 'pv-ssd' },
        spec: {
          local: { path: '/mnt/ssd' },
          claimRef: { namespace: 'default', name: 'data' },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-1'] }] }] } },
        },
        status: { phase: 'Bound' },
      })!,
    );
    expect(collectNodeLocalVolume(model, { node: 'node-1' }).findings.map((finding) => finding.object.name)).toEqual(['pv-ssd']);
  });
});

// kubernetes.io/hostname In [node-1, node-3] with node-3 not in the cluster: node-1 is the one live node today, but
// node-3 may join (again, under its old name) and the drained pod start there without its data.
describe('a pod whose identity affinity also names a node not in the cluster', () => {
  const twoHosts: Placement = {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-1', 'node-3'] }] }],
        },
      },
    },
  };

  it('is not pinned to node-1: its hostPath data refuses the cordon', () => {
    const model = cluster(twoHosts);
    expect(collectNodeLocalVolume(model, { node: 'node-1' }).findings).toMatchObject([{ object: { kind: 'Pod', name: 'cache-5d8-x1' }, tags: ['in-use', 'inline-hostPath'] }]);
    expect(nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model)).allowed).toBe(false);
  });

  it('evicted from node-1 staying schedulable, it is scheduled at once on node-1, the one live node it names: passes', () => {
    expect(podEvictionValidator(config).handle(evictionRequest('cache-5d8-x1'), context(cluster(twoHosts))).allowed).toBe(true);
  });

  it('both nodes named live: pinned to neither', () => {
    const model = cluster(twoHosts);
    model.upsert('node', transformNode({ metadata: { name: 'node-3', labels: { 'kubernetes.io/hostname': 'node-3' } }, spec: {} })!);
    expect(collectNodeLocalVolume(model, { node: 'node-1' }).findings).toHaveLength(1);
  });
});
