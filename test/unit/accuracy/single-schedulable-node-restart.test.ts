// A restart eviction (the node stays schedulable, no drain in sight) recreates the pod at once, and the scheduler
// places it back on the one live node its placement matches. On a cluster with a single schedulable node that node is
// the only place it can go, whatever its nodeSelector says: a ReplicaSet pod writing hostPath /data with no
// nodeSelector comes back to its data as surely as one selecting disktype=ssd that only that node carries. The same
// holds for a node-local PV no affinity pins (a minikube hostPath PV): its data follows the restarted pod back, as a
// pinned PV's does, so a restart identity may evict it.
import { describe, expect, it } from 'vitest';
import type { Decision, UserInfo } from '../../../src/admission/types.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNode, transformPersistentVolume, transformPersistentVolumeClaim, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, evictionRequest } from '../../support/admission.ts';

type Json = Record<string, unknown>;

const config = defaultConfig();
const DESCHEDULER: UserInfo = { username: 'system:serviceaccount:kube-system:descheduler', groups: ['system:serviceaccounts'] };
const withRestarters: Config = { ...config, evictions: { restartUsers: [DESCHEDULER.username], restartGroups: [] } };
const REPLICA_SET = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'app-5d', uid: 'uid-rs', controller: true };

function nodeObject(name: string, options: { labels?: Record<string, string>; unschedulable?: boolean } = {}): Json {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...options.labels } },
    spec: options.unschedulable === true ? { unschedulable: true } : {},
  };
}

/** ReplicaSet pod app-1 on w1 writing hostPath /data, or the claim `claim` when given. */
function appPod(options: { nodeSelector?: Record<string, string>; claim?: string } = {}): Json {
  const volume = options.claim === undefined ? { name: 'data', hostPath: { path: '/data' } } : { name: 'data', persistentVolumeClaim: { claimName: options.claim } };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app-1', namespace: 'default', ownerReferences: [REPLICA_SET] },
    spec: {
      nodeName: 'w1',
      ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
      volumes: [volume],
      containers: [{ name: 'c', image: 'i', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
    },
    status: { phase: 'Running' },
  };
}

function cluster(nodes: Json[], pod: Json, minikubePV = false): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  for (const node of nodes) model.upsert('node', transformNode(node)!);
  if (minikubePV) {
    model.upsert(
      'persistentVolume',
      transformPersistentVolume({
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: 'pvc-mk', annotations: { 'pv.kubernetes.io/provisioned-by': 'k8s.io/minikube-hostpath' } },
        spec: { hostPath: { path: '/tmp/hostpath-provisioner/default/mk' }, claimRef: { namespace: 'default', name: 'mk' } },
        status: { phase: 'Bound' },
      })!,
    );
    model.upsert(
      'persistentVolumeClaim',
      transformPersistentVolumeClaim({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'mk', namespace: 'default', uid: 'uid-mk' }, spec: { volumeName: 'pvc-mk' }, status: { phase: 'Bound' } })!,
    );
  }
  model.upsert('pod', transformPod(pod)!);
  return model;
}

const evict = (model: ClusterModel, user?: UserInfo): Decision =>
  user === undefined
    ? podEvictionValidator(config).handle(evictionRequest('app-1'), context(model))
    : podEvictionValidator(withRestarters).handle(evictionRequest('app-1', { user }), context(model, { config: withRestarters }));

const SSD = { disktype: 'ssd' };

describe('inline hostPath: a restart eviction from the only schedulable node', () => {
  it('passes with no nodeSelector on a one-node cluster, as it does with one only that node carries', () => {
    expect(evict(cluster([nodeObject('w1', { labels: SSD })], appPod({ nodeSelector: SSD })))).toMatchObject({ allowed: true });
    expect(evict(cluster([nodeObject('w1')], appPod()))).toMatchObject({ allowed: true });
  });

  it('passes when every other node is cordoned: the recreated pod can only start on w1', () => {
    expect(evict(cluster([nodeObject('w1'), nodeObject('w2', { unschedulable: true })], appPod()))).toMatchObject({ allowed: true });
  });

  it('is refused when a second node is schedulable: the recreated pod may start there, without the data', () => {
    const decision = evict(cluster([nodeObject('w1'), nodeObject('w2')], appPod()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('hostPath /data');
  });

  it('is refused when the pod no longer fits its node: it comes back nowhere, until a node that fits joins', () => {
    expect(evict(cluster([nodeObject('w1')], appPod({ nodeSelector: SSD }))).allowed).toBe(false);
  });

  it('is refused on a cordoned node (a drain): nothing comes back to it', () => {
    expect(evict(cluster([nodeObject('w1', { unschedulable: true })], appPod())).allowed).toBe(false);
  });
});

describe('a node-local PV no affinity pins: a restart eviction from the only schedulable node', () => {
  it('follows the restarted pod back: a restart identity evicts it, with the warning', () => {
    const decision = evict(cluster([nodeObject('w1')], appPod({ claim: 'mk' }), true), DESCHEDULER);
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain('allowed as a restart');
  });

  it('is still refused to others, as a pinned PV is (an eviction of a pod keeping data on its node)', () => {
    expect(evict(cluster([nodeObject('w1')], appPod({ claim: 'mk' }), true)).allowed).toBe(false);
  });

  it('with a second schedulable node the pod may land there: refused to a restart identity too', () => {
    const decision = evict(cluster([nodeObject('w1'), nodeObject('w2')], appPod({ claim: 'mk' }), true), DESCHEDULER);
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('no affinity keeps its pod on w1, elsewhere the path is empty');
  });
});
