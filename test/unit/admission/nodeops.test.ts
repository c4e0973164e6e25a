// Drains and everything else that empties a node: evictions on an unschedulable node, taints, Node DELETE, pod
// DELETE during a drain, Cluster API machine removal, the rollout tables of the upgrade kinds, override writes
// through subresources, the per-answer stale policy and the chart's workload-only namespace exclusions.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import { expandRules } from '../../../src/admission/rules.ts';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { machineValidator, scaleDownCandidates } from '../../../src/admission/validators/machine.ts';
import { addedEmptyingTaints, isEmptyingTaint, nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { overrideGuardValidator } from '../../../src/admission/validators/override-guard.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import { fieldChangedCel, upgradeMatchCondition, upgradeTablesMarkdown, UPGRADE_KIND_TABLES } from '../../../src/admission/validators/upgrade-kinds.ts';
import { rolloutCause, upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { webhookConfiguration } from '../../../src/admission/webhooks.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { REFUSED_CORDON_TTL_MS } from '../../../src/cluster/pending-removals.ts';
import { clusterApiLabelValue } from '../../../src/cluster/records.ts';
import { transformMachine, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { ADMIN, ALICE, context, evictionRequest, request } from '../../support/admission.ts';
import { hostPathPV, localPV, longhornNode, machine, namespace, node, pod, pvc, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();
const DESCHEDULER: UserInfo = { username: 'system:serviceaccount:kube-system:descheduler', groups: ['system:serviceaccounts'] };
const withRestarters: Config = { ...config, evictions: { restartUsers: [DESCHEDULER.username], restartGroups: [] } };

/** node-1 holds a local PV used by db-0 and the only replica of a single-replica Longhorn volume; web-0 has no volumes. */
function cluster(options: { unschedulable?: boolean; nodeAnnotations?: Record<string, string> } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  // Every kubelet labels its Node kubernetes.io/hostname (system-upgrade-controller selects no Node without it).
  model.upsert('node', node({ name: 'node-1', unschedulable: options.unschedulable ?? false, annotations: options.nodeAnnotations ?? {}, labels: { 'kubernetes.io/hostname': 'node-1' } }));
  model.upsert('node', node({ name: 'node-2', labels: { 'kubernetes.io/hostname': 'node-2' } }));
  model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'node-1', claimNames: ['db-data'] }));
  model.upsert('pod', pod({ name: 'web-0', nodeName: 'node-1', claimNames: [] }));
  model.upsert('pod', pod({ name: 'web-1', nodeName: 'node-2', claimNames: [] }));
  const lh = volumeWithReplicas('vol-single', ['node-1'], { numberOfReplicas: 1 });
  model.upsert('longhornVolume', lh.volume);
  for (const r of lh.replicas) model.upsert('longhornReplica', r);
  model.upsert('longhornNode', longhornNode({ name: 'node-1' }));
  return model;
}

const evict = (name: string, user: UserInfo = ADMIN): AdmissionRequest => evictionRequest(name, { user });

const nodeUpdate = (spec: Record<string, unknown>, oldSpec: Record<string, unknown>, annotations: Record<string, string> = {}): AdmissionRequest =>
  request({
    kind: { group: '', version: 'v1', kind: 'Node' },
    resource: { group: '', version: 'v1', resource: 'nodes' },
    operation: 'UPDATE',
    name: 'node-1',
    object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', annotations }, spec },
    oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', annotations }, spec: oldSpec },
  });

describe('evictions: the gate of a drain', () => {
  const validator = podEvictionValidator(config);

  it('on a schedulable node, refuses only pods whose own data stays behind', () => {
    const model = cluster();
    const db = validator.handle(evict('db-0'), context(model));
    expect(db.allowed).toBe(false);
    expect(db.status!.message).toContain('pv-local');
    expect(validator.handle(evict('web-0'), context(model)).allowed).toBe(true);
  });

  it('on an unschedulable node, refuses any pod with the node-wide checks a cordon gets', () => {
    const model = cluster({ unschedulable: true });
    const web = validator.handle(evict('web-0'), context(model));
    expect(web.allowed).toBe(false);
    expect(web.status!.message).toContain('eviction of pod default/web-0');
    expect(web.status!.message).toContain('[single-replica]');
    expect(web.status!.message).toContain('vol-single');
    expect(web.status!.message).toContain('pv-local');
    // A pod on another, schedulable node is not concerned.
    expect(validator.handle(evict('web-1'), context(model)).allowed).toBe(true);
  });

  it("honors the unschedulable node's overrides", () => {
    const model = cluster({ unschedulable: true, nodeAnnotations: { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-reason': 'data copied', 'volume-guard.io/skip-by': 'admin' } });
    const decision = validator.handle(evict('web-0'), context(model));
    expect(decision.allowed).toBe(true);
    // Without its recorded writer the same skip waives nothing.
    const unsigned = cluster({ unschedulable: true, nodeAnnotations: { 'volume-guard.io/skip': '*' } });
    expect(validator.handle(evict('db-0'), context(unsigned)).allowed).toBe(false);
    expect(decision.auditAnnotations?.['override-reason']).toBe('data copied');
  });

  it("names every volume at risk of a pod with several, and none of its volumes that are not", () => {
    const model = cluster();
    const lh = volumeWithReplicas('vol-app', ['node-1'], { pvName: 'pv-app', pvcName: 'app-lh', pvcNamespace: 'default' });
    model.upsert('longhornVolume', lh.volume);
    for (const r of lh.replicas) model.upsert('longhornReplica', r);
    model.upsert('persistentVolume', localPV({ name: 'pv-logs', pinnedNode: 'node-1', claimName: 'app-logs' }));
    model.upsert('persistentVolume', localPV({ name: 'pv-elsewhere', pinnedNode: 'node-2', claimName: 'app-other' }));
    for (const [claim, volume] of [['app-logs', 'pv-logs'], ['app-lh', 'pv-app'], ['app-other', 'pv-elsewhere'], ['app-pending', '']] as const) {
      model.upsert('persistentVolumeClaim', pvc({ name: claim, volumeName: volume }));
    }
    model.upsert('pod', pod({ name: 'app-0', nodeName: 'node-1', claimNames: ['db-data', 'app-logs', 'app-lh', 'app-other', 'app-pending'] }));
    const decision = validator.handle(evict('app-0'), context(model));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    for (const named of ['pv-local', 'pv-logs', 'vol-app']) expect(message).toContain(named);
    for (const spared of ['pv-elsewhere', 'app-pending', 'vol-single']) expect(message).not.toContain(spared);
  });

  it('lets configured restarters evict a pod whose data follows it back, from a schedulable node that stays only', () => {
    const schedulable = cluster();
    expect(validator.handle(evict('db-0', DESCHEDULER), context(schedulable)).allowed).toBe(false);
    const allowed = validator.handle(evict('db-0', DESCHEDULER), context(schedulable, { config: withRestarters }));
    expect(allowed.allowed).toBe(true);
    expect(allowed.warnings?.join(' ')).toContain('allowed as a restart');
    expect(allowed.auditAnnotations?.['restart-eviction']).toBe('pv-local');
    expect(validator.handle(evict('db-0', ALICE), context(schedulable, { config: withRestarters })).allowed).toBe(false);
    const draining = cluster({ unschedulable: true });
    expect(validator.handle(evict('db-0', DESCHEDULER), context(draining, { config: withRestarters })).allowed).toBe(false);
    // A pod its node no longer fits (relabelled: what the descheduler's RemovePodsViolatingNodeAffinity evicts) comes
    // back nowhere: its PV allows that node only, its nodeSelector refuses it.
    const relabelled = cluster();
    relabelled.upsert('pod', transformPod({
      metadata: { name: 'db-0', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u', controller: true }] },
      spec: { nodeName: 'node-1', nodeSelector: { disktype: 'ssd' }, volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'db-data' } }], containers: [{ name: 'c' }] },
      status: { phase: 'Running' },
    })!);
    const stranded = validator.handle(evict('db-0', DESCHEDULER), context(relabelled, { config: withRestarters }));
    expect(stranded.allowed).toBe(false);
    expect(stranded.status!.message).toContain('pv-local');
    relabelled.upsert('node', node({ name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1', disktype: 'ssd' } }));
    expect(validator.handle(evict('db-0', DESCHEDULER), context(relabelled, { config: withRestarters })).allowed).toBe(true);
    // A node whose Machine is being deleted, not cordoned yet: it goes with its disks, nothing comes back to it.
    const leaving = cluster();
    leaving.upsert('machine', machine({ nodeName: 'node-1', deleting: true }));
    expect(leaving.nodeLeaving('node-1')).toBe('machine');
    const lost = validator.handle(evict('db-0', DESCHEDULER), context(leaving, { config: withRestarters }));
    expect(lost.allowed).toBe(false);
    expect(lost.status!.message).toContain('pv-local');
    // A hostPath PV no affinity pins keeps its data on this node, and the restarted pod may land elsewhere.
    const unpinned = cluster();
    unpinned.upsert('persistentVolume', hostPathPV({ name: 'pv-minikube', driver: 'k8s.io/minikube-hostpath', pinnedNode: '', claimName: 'mk-data' }));
    unpinned.upsert('persistentVolumeClaim', pvc({ name: 'mk-data', volumeName: 'pv-minikube' }));
    unpinned.upsert('pod', pod({ name: 'mk-0', nodeName: 'node-1', claimNames: ['mk-data'] }));
    const refused = validator.handle(evict('mk-0', DESCHEDULER), context(unpinned, { config: withRestarters }));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).toContain('pv-minikube');
  });

  it('applies the stale policy only when the answer reads stale resources', () => {
    const longhornStale = { synced: () => true, staleResources: () => ['volumes.longhorn.io', 'replicas.longhorn.io'] };
    const model = cluster();
    // No claims, node last seen schedulable: Longhorn's state does not matter.
    expect(validator.handle(evict('web-0'), context(model, { health: longhornStale })).allowed).toBe(true);
    const db = validator.handle(evict('db-0'), context(model, { health: longhornStale }));
    expect(db.allowed).toBe(false);
    expect(db.status!.message).toContain('stale (volumes.longhorn.io');
    // On an unschedulable node the node-wide checks read Longhorn.
    expect(validator.handle(evict('web-0'), context(cluster({ unschedulable: true }), { health: longhornStale })).allowed).toBe(false);
    // Stale nodes: schedulability is unknown.
    const nodesStale = { synced: () => true, staleResources: () => ['nodes'] };
    expect(validator.handle(evict('web-0'), context(model, { health: nodesStale })).allowed).toBe(false);
    // An unknown pod with stale pods: its volumes are unknown.
    const podsStale = { synced: () => true, staleResources: () => ['pods'] };
    expect(validator.handle(evict('nope'), context(model, { health: podsStale })).allowed).toBe(false);
    expect(validator.handle(evict('web-0'), context(model, { health: podsStale })).allowed).toBe(true);
  });
});

describe('taints and Node DELETE', () => {
  const validator = nodeCordonValidator(config);

  it('judges added NoSchedule and NoExecute taints and new NoExecute values, not condition taints, PreferNoSchedule or NoSchedule values', () => {
    expect(isEmptyingTaint({ key: 'maintenance', effect: 'NoExecute' })).toBe(true);
    // A NoSchedule taint is what a cordon is underneath: a dedicating one cannot be told from a drain's first step.
    expect(isEmptyingTaint({ key: 'maintenance', effect: 'NoSchedule' })).toBe(true);
    expect(isEmptyingTaint({ key: 'dedicated', effect: 'NoSchedule' })).toBe(true);
    expect(isEmptyingTaint({ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' })).toBe(true);
    expect(isEmptyingTaint({ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' })).toBe(true);
    expect(isEmptyingTaint({ key: 'karpenter.sh/disruption', effect: 'NoSchedule' })).toBe(true);
    expect(isEmptyingTaint({ key: 'DeletionCandidateOfClusterAutoscaler', effect: 'PreferNoSchedule' })).toBe(false);
    expect(isEmptyingTaint({ key: 'maintenance', effect: 'PreferNoSchedule' })).toBe(false);
    expect(isEmptyingTaint({ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' })).toBe(false);
    expect(isEmptyingTaint({ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })).toBe(false);
    const old = { taints: [{ key: 'maintenance', value: 'a', effect: 'NoExecute' }] };
    expect(addedEmptyingTaints({ spec: { taints: [{ key: 'maintenance', value: 'a', effect: 'NoExecute' }] } }, { spec: old })).toEqual([]);
    // The taint manager evicts the pods that tolerated only `maintenance=a`: a new NoExecute value is judged.
    expect(addedEmptyingTaints({ spec: { taints: [{ key: 'maintenance', value: 'b', effect: 'NoExecute' }] } }, { spec: old })).toEqual([
      { key: 'maintenance', value: 'b', effect: 'NoExecute' },
    ]);
    const dedicated = { taints: [{ key: 'dedicated', value: 'a', effect: 'NoSchedule' }] };
    expect(addedEmptyingTaints({ spec: { taints: [{ key: 'dedicated', value: 'b', effect: 'NoSchedule' }] } }, { spec: dedicated })).toEqual([]);
    expect(addedEmptyingTaints({ spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } }, {})).toEqual([
      { key: 'dedicated', value: 'db', effect: 'NoSchedule' },
    ]);
    expect(addedEmptyingTaints({ spec: { taints: [{ key: 'drain', effect: 'NoExecute' }] } }, { spec: old })).toEqual([
      { key: 'drain', value: '', effect: 'NoExecute' },
    ]);
  });

  it('denies a NoExecute taint on a node holding data, names it, and honors the node override', () => {
    const model = cluster();
    const taint = nodeUpdate({ taints: [{ key: 'drain', value: 'now', effect: 'NoExecute' }] }, {});
    const decision = validator.handle(taint, context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('taint drain=now:NoExecute of node node-1');
    const skip = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' };
    expect(validator.handle(nodeUpdate({ taints: [{ key: 'drain', effect: 'NoExecute' }] }, {}, skip), context(model)).allowed).toBe(true);
    // Condition taints and relabels pass.
    expect(validator.handle(nodeUpdate({ taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }, {}), context(model)).allowed).toBe(true);
    expect(validator.handle(nodeUpdate({}, {}), context(model)).allowed).toBe(true);
  });

  it('exempts a condition taint only with the effect Kubernetes sets it with: NoExecute under another key empties a Ready node', () => {
    // Kubernetes sets every condition key with NoSchedule; only the lifecycle controller's not-ready and unreachable
    // with NoExecute (tolerated 300 s by every pod, and taken off a Ready node). Written by hand with NoExecute, any
    // other one makes the taint manager delete every pod at once; out-of-service on a node still Ready too.
    for (const key of ['node.kubernetes.io/memory-pressure', 'node.kubernetes.io/disk-pressure', 'node.kubernetes.io/unschedulable', 'node.kubernetes.io/network-unavailable', 'node.cloudprovider.kubernetes.io/shutdown', 'node.cloudprovider.kubernetes.io/uninitialized']) {
      expect(isEmptyingTaint({ key, effect: 'NoExecute' })).toBe(true);
    }
    expect(isEmptyingTaint({ key: 'node.kubernetes.io/out-of-service', effect: 'NoExecute' }, true)).toBe(true);
    expect(isEmptyingTaint({ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }, true)).toBe(false);
    const model = cluster();
    const pressure = validator.handle(nodeUpdate({ taints: [{ key: 'node.kubernetes.io/disk-pressure', effect: 'NoExecute' }] }, {}), context(model));
    expect(pressure.allowed).toBe(false);
    expect(pressure.status!.message).toContain('taint node.kubernetes.io/disk-pressure:NoExecute of node node-1');
    const outOfService = { key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' };
    const ready = { conditions: [{ type: 'Ready', status: 'True' }] };
    const onReady = nodeUpdate({ taints: [outOfService] }, {});
    const readyObject = { ...(onReady.object as Record<string, unknown>), status: ready };
    const refused = validator.handle({ ...onReady, object: readyObject }, context(model));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).toContain('taint node.kubernetes.io/out-of-service=nodeshutdown:NoExecute of node node-1');
    // The node shut down (Ready Unknown): what the taint is for, its pods already gone.
    const down = { ...(onReady.object as Record<string, unknown>), status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } };
    expect(validator.handle({ ...onReady, object: down }, context(model)).allowed).toBe(true);
    expect(validator.handle(nodeUpdate({ taints: [{ key: 'node.kubernetes.io/disk-pressure', effect: 'NoSchedule' }] }, {}), context(model)).allowed).toBe(true);
  });

  it('exempts only the well-known condition taint keys: any other key under node.kubernetes.io/ empties a node', () => {
    // The taint manager deletes pods for every NoExecute taint whatever its key (tainteviction getNoExecuteTaints);
    // only the keys Kubernetes and cloud providers set to report a condition are exempt.
    for (const key of ['node.kubernetes.io/maintenance', 'node.kubernetes.io/drain', 'node.cloudprovider.kubernetes.io/retire']) {
      expect(isEmptyingTaint({ key, effect: 'NoExecute' })).toBe(true);
      expect(isEmptyingTaint({ key, effect: 'NoSchedule' })).toBe(true);
    }
    for (const key of ['node.kubernetes.io/out-of-service', 'node.kubernetes.io/memory-pressure', 'node.cloudprovider.kubernetes.io/uninitialized', 'node.cloudprovider.kubernetes.io/shutdown']) {
      expect(isEmptyingTaint({ key, effect: 'NoSchedule' })).toBe(false);
    }
    for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable', 'node.kubernetes.io/out-of-service']) {
      expect(isEmptyingTaint({ key, effect: 'NoExecute' })).toBe(false);
    }
    const model = cluster();
    const decision = validator.handle(nodeUpdate({ taints: [{ key: 'node.kubernetes.io/maintenance', effect: 'NoExecute' }] }, {}), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('taint node.kubernetes.io/maintenance:NoExecute of node node-1');
    // The API server calls the webhook for it: the condition names the exempt keys, no prefix.
    const condition = nodeCordonValidator(config).declaration.matchConditions![0]!.expression;
    expect(condition).toContain("'node.kubernetes.io/not-ready'");
    expect(condition).not.toContain('startsWith');
    // A pod tolerating such a taint for good keeps that toleration in its record, so it is seen to stay.
    const tolerating = transformPod({
      metadata: { name: 'db-0', namespace: 'default' },
      spec: { nodeName: 'node-1', tolerations: [{ key: 'node.kubernetes.io/maintenance', operator: 'Exists', effect: 'NoExecute' }] },
    });
    expect(tolerating?.noExecuteTolerations).toEqual([{ key: 'node.kubernetes.io/maintenance', operator: 'Exists', value: '' }]);
  });

  it('denies a dedicating NoSchedule taint and an autoscaler drain taint on a node holding data, as a cordon', () => {
    const model = cluster();
    const dedicated = validator.handle(nodeUpdate({ taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }, {}), context(model));
    expect(dedicated.allowed).toBe(false);
    expect(dedicated.status!.message).toContain('taint dedicated=db:NoSchedule of node node-1');
    const autoscaler = validator.handle(nodeUpdate({ taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1733130000', effect: 'NoSchedule' }] }, {}), context(model));
    expect(autoscaler.allowed).toBe(false);
    expect(autoscaler.status!.message).toContain('taint ToBeDeletedByClusterAutoscaler=1733130000:NoSchedule of node node-1');
    expect(autoscaler.status!.message).toContain('pv-local');
  });

  it('denies deleting the Node of a node holding data; its stored override counts', () => {
    const model = cluster();
    const remove = (annotations: Record<string, string>) =>
      request({
        kind: { group: '', version: 'v1', kind: 'Node' },
        resource: { group: '', version: 'v1', resource: 'nodes' },
        operation: 'DELETE',
        name: 'node-1',
        oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', annotations } },
      });
    const decision = validator.handle(remove({}), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('deletion of node node-1');
    expect(validator.handle(remove({ 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' }), context(model)).allowed).toBe(true);
    expect(validator.handle(remove({ 'volume-guard.io/skip': '*' }), context(model)).allowed).toBe(false);
    expect(validator.handle({ ...remove({}), name: 'node-2' }, context(model)).allowed).toBe(true);
    // skip-until is read at the request's time (context.now), as for evictions.
    const until = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-until': '2030-01-01T00:00:00Z' };
    const at = (iso: string) => ({ ...context(model), now: Date.parse(iso) });
    expect(validator.handle(remove(until), at('2029-12-31T23:00:00Z')).allowed).toBe(true);
    expect(validator.handle(remove(until), at('2030-01-01T01:00:00Z')).allowed).toBe(false);
  });
});

describe('pod DELETE during a drain (kubectl drain --disable-eviction)', () => {
  const validator = podDeleteValidator(config);
  const podObject = (name: string, claims: string[], extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...extra },
    spec: { nodeName: 'node-1', volumes: claims.map((claim, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: claim } })) },
  });
  const del = (name: string, claims: string[], extra: Record<string, unknown> = {}) =>
    request({
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'DELETE',
      namespace: 'default',
      name,
      oldObject: podObject(name, claims, extra),
    });

  it('passes on a schedulable node (a restart); on a draining node refuses pods whose data stays', () => {
    expect(validator.handle(del('db-0', ['db-data']), context(cluster())).allowed).toBe(true);
    const draining = cluster({ unschedulable: true });
    const decision = validator.handle(del('db-0', ['db-data']), context(draining));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('deletion of pod default/db-0 on node node-1 (being drained)');
    expect(decision.status!.message).toContain('pv-local');
    // Pods without data on the node, and the kubelet's final DELETE of a terminating pod, pass.
    expect(validator.handle(del('web-0', []), context(draining)).allowed).toBe(true);
    expect(validator.handle(del('db-0', ['db-data'], { deletionTimestamp: '2026-01-01T00:00:00Z' }), context(draining)).allowed).toBe(true);
    const skipped = cluster({ unschedulable: true, nodeAnnotations: { 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-by': 'admin' } });
    expect(validator.handle(del('db-0', ['db-data']), context(skipped)).allowed).toBe(true);
  });

  it('on a schedulable node whose cordon volume-guard just refused (kubectl drain goes on), refuses its pods whose data stays, for a while', () => {
    // kubectl 1.36: `drain --disable-eviction` prints the refused cordon, DELETEs the pods of the schedulable node with
    // the same credentials and reports it drained.
    let now = 1_000_000;
    const refused = new ClusterModel(VOLUME_SETS, { now: () => now });
    refused.upsert('node', node({ name: 'node-1' }));
    refused.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimName: 'db-data' }));
    refused.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
    refused.upsert('pod', pod({ name: 'db-0', nodeName: 'node-1', claimNames: ['db-data'] }));
    expect(validator.handle(del('db-0', ['db-data']), context(refused)).allowed).toBe(true);
    refused.refuseCordon('node-1', ADMIN.username);
    const decision = validator.handle(del('db-0', ['db-data']), context(refused));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('deletion of pod default/db-0 on node node-1 (being drained: your cordon of it was refused)');
    expect(decision.status!.message).toContain('pv-local');
    // A pod keeping nothing on the node still goes.
    expect(validator.handle(del('web-0', []), context(refused)).allowed).toBe(true);
    // Another user's DELETE there is no part of that drain: the StatefulSet controller restarting the pod passes.
    const controller = { username: 'system:serviceaccount:kube-system:statefulset-controller', groups: ['system:serviceaccounts'] };
    expect(validator.handle({ ...del('db-0', ['db-data']), userInfo: controller }, context(refused)).allowed).toBe(true);
    // Still judged minutes later (kubectl drains the nodes it cordoned one by one, waiting for each node's pods)...
    now += 10 * 60_000;
    expect(validator.handle(del('db-0', ['db-data']), context(refused)).allowed).toBe(false);
    // ...not once the refusal is older than its window: a DELETE there is a restart again.
    now += REFUSED_CORDON_TTL_MS;
    expect(validator.handle(del('db-0', ['db-data']), context(refused)).allowed).toBe(true);
    // Another node's refused cordon does not count here.
    refused.refuseCordon('node-2', ADMIN.username);
    expect(validator.handle(del('db-0', ['db-data']), context(refused)).allowed).toBe(true);
    // A cordon of the node allowed since (an override, then an uncordon) ends it.
    refused.refuseCordon('node-1', ADMIN.username);
    expect(validator.handle(del('db-0', ['db-data']), context(refused)).allowed).toBe(false);
    refused.allowCordon('node-1');
    // (Until the informers show that cordon, the node counts as cordoned: shown, then uncordoned.)
    refused.upsert('node', node({ name: 'node-1', unschedulable: true }));
    refused.upsert('node', node({ name: 'node-1' }));
    expect(validator.handle(del('db-0', ['db-data']), context(refused)).allowed).toBe(true);
    // The pod garbage collector's DELETE of a pod whose Node is gone passes: nothing stays behind to protect.
    refused.refuseCordon('node-1', ADMIN.username);
    expect(validator.handle(del('db-0', ['db-data']), context(refused)).allowed).toBe(false);
    refused.remove('node', 'node-1');
    expect(validator.handle(del('db-0', ['db-data']), context(refused)).allowed).toBe(true);
  });

  it('a refused dry-run cordon makes the dry-run DELETEs of the same preview judged, not the real ones', () => {
    // `kubectl drain --dry-run=server --disable-eviction` previews the drain: its DELETEs answer as the real drain's.
    const preview = new ClusterModel(VOLUME_SETS);
    preview.upsert('node', node({ name: 'node-1' }));
    preview.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimName: 'db-data' }));
    preview.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
    preview.refuseCordon('node-1', ADMIN.username, true);
    expect(validator.handle({ ...del('db-0', ['db-data']), dryRun: true }, context(preview)).allowed).toBe(false);
    expect(validator.handle(del('db-0', ['db-data']), context(preview)).allowed).toBe(true);
  });

  it("passes the namespace controller's DELETEs in a namespace being deleted: its claims go with it, nothing is recreated", () => {
    // The namespace controller's DeleteCollection admits each pod as a DELETE; a refusal only leaves it Terminating.
    const model = cluster({ unschedulable: true });
    model.upsert('namespace', namespace({ name: 'default', deleting: true }));
    const controller: UserInfo = { username: 'system:serviceaccount:kube-system:namespace-controller', groups: ['system:serviceaccounts'] };
    expect(validator.handle({ ...del('db-0', ['db-data']), userInfo: controller }, context(model)).allowed).toBe(true);
    // A person's DELETE (kubectl drain --disable-eviction) passes there too, and is judged once the namespace stays.
    const person: UserInfo = { username: 'alice', groups: ['system:authenticated'] };
    expect(validator.handle({ ...del('db-0', ['db-data']), userInfo: person }, context(model)).allowed).toBe(true);
    model.upsert('namespace', namespace({ name: 'default' }));
    expect(validator.handle({ ...del('db-0', ['db-data']), userInfo: person }, context(model)).allowed).toBe(false);
  });

  it("a namespace's skip-evictions waives pod deletes on a draining node; its Helm skip does not", () => {
    const withNamespace = (annotations: Record<string, string>) => {
      const model = cluster({ unschedulable: true });
      model.upsert('namespace', namespace({ name: 'default', annotations }));
      return model;
    };
    const helmSkip = withNamespace({ 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-by': 'admin' });
    expect(validator.handle(del('db-0', ['db-data']), context(helmSkip)).allowed).toBe(false);
    const evictionsSkip = withNamespace({ 'volume-guard.io/skip-evictions': 'node-local-volume', 'volume-guard.io/skip-by': 'admin' });
    expect(validator.handle(del('db-0', ['db-data']), context(evictionsSkip)).allowed).toBe(true);
    const expired = withNamespace({
      'volume-guard.io/skip-evictions': 'node-local-volume',
      'volume-guard.io/skip-by': 'admin',
      'volume-guard.io/skip-until': '2020-01-01T00:00:00Z',
    });
    expect(validator.handle(del('db-0', ['db-data']), context(expired)).allowed).toBe(false);
    // A misspelt check id is said at the pod delete it was meant for, not silently ignored.
    const misspelt = withNamespace({ 'volume-guard.io/skip-evictions': 'node-local', 'volume-guard.io/skip-by': 'admin' });
    const refused = validator.handle(del('db-0', ['db-data']), context(misspelt));
    expect(refused.allowed).toBe(false);
    expect(refused.warnings?.join(' ')).toContain('unknown check "node-local" in volume-guard.io/skip-evictions');
    expect(refused.warnings?.join(' ')).toContain('did you mean node-local-volume?');
  });
});

describe('upgrade kinds: which changes roll machines', () => {
  const md = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({
    apiVersion: 'cluster.x-k8s.io/v1beta1',
    kind: 'MachineDeployment',
    metadata: { name: 'md-0', namespace: 'capi', ...metadata },
    spec,
  });
  const template = (version: string, infra: Record<string, unknown> = { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: 'md-0-a' }) => ({
    template: { metadata: { labels: { pool: 'a' } }, spec: { version, clusterName: 'c1', infrastructureRef: infra, bootstrap: { configRef: { apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1', kind: 'KubeadmConfigTemplate', name: 'md-0' } } } },
    replicas: 3,
  });
  const update = (group: string, kind: string, object: unknown, oldObject: unknown): AdmissionRequest =>
    request({ kind: { group, version: 'v1beta1', kind }, resource: { group, version: 'v1beta1', resource: `${kind.toLowerCase()}s` }, operation: 'UPDATE', namespace: 'capi', name: 'x', object, oldObject });
  const mdUpdate = (object: unknown, oldObject: unknown) => update('cluster.x-k8s.io', 'MachineDeployment', object, oldObject);

  it('MachineDeployment: version, infrastructure template, bootstrap, failure domain, rolloutAfter (v1beta1), rollout.after (v1beta2)', () => {
    const base = md(template('v1.30.1'));
    expect(rolloutCause(mdUpdate(md(template('v1.31.0')), base))).toBe('spec.template.spec.version changed');
    expect(rolloutCause(mdUpdate(md(template('v1.30.1', { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: 'md-0-b' })), base))).toContain('infrastructureRef');
    expect(rolloutCause(mdUpdate(md({ ...template('v1.30.1'), rolloutAfter: '2026-12-01T00:00:00Z' }), base))).toBe('spec.rolloutAfter changed');
    expect(rolloutCause(mdUpdate(md({ ...template('v1.30.1'), rollout: { after: '2026-12-01T00:00:00Z' } }), base))).toBe('spec.rollout.after changed');
    // Removing the time rolls nothing (Cluster API rolls once the time is set and past); changing it does.
    const after = (time: string) => md({ ...template('v1.30.1'), rolloutAfter: time });
    expect(rolloutCause(mdUpdate(base, after('2026-12-01T00:00:00Z')))).toBeUndefined();
    expect(rolloutCause(mdUpdate(after('2026-12-02T00:00:00Z'), after('2026-12-01T00:00:00Z')))).toBe('spec.rolloutAfter changed');
    const failureDomain = md(template('v1.30.1'));
    (failureDomain.spec['template'] as { spec: Record<string, unknown> }).spec['failureDomain'] = 'zone-b';
    expect(rolloutCause(mdUpdate(failureDomain, base))).toBe('spec.template.spec.failureDomain changed');
  });

  it('MachineDeployment: labels, annotations, replicas, template metadata, timeouts and a new apiVersion of the same template roll nothing', () => {
    const base = md(template('v1.30.1'));
    expect(rolloutCause(mdUpdate(md(template('v1.30.1'), { labels: { a: 'b' }, annotations: { c: 'd' } }), base))).toBeUndefined();
    expect(rolloutCause(mdUpdate(md({ ...template('v1.30.1'), replicas: 5 }), base))).toBeUndefined();
    const inPlace = md(template('v1.30.1'));
    const t = inPlace.spec['template'] as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    t.metadata['labels'] = { pool: 'b' };
    t.spec['nodeDrainTimeout'] = '10m';
    t.spec['readinessGates'] = [{ conditionType: 'X' }];
    expect(rolloutCause(mdUpdate(inPlace, base))).toBeUndefined();
    // v1beta2 spells the reference with apiGroup; the same template under a new apiVersion is the same template.
    const v1beta2Ref = md(template('v1.30.1', { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'DockerMachineTemplate', name: 'md-0-a' }));
    expect(rolloutCause(mdUpdate(v1beta2Ref, base))).toBeUndefined();
    const newVersion = md(template('v1.30.1', { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2', kind: 'DockerMachineTemplate', name: 'md-0-a', namespace: 'capi' }));
    expect(rolloutCause(mdUpdate(newVersion, base))).toBeUndefined();
  });

  it('KubeadmControlPlane: version, kubeadmConfigSpec, machine template (v1beta1 and v1beta2), rolloutAfter / rollout.after', () => {
    const kcp = (spec: Record<string, unknown>) => ({ apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2', kind: 'KubeadmControlPlane', metadata: { name: 'cp' }, spec });
    const kcpUpdate = (object: unknown, oldObject: unknown) => update('controlplane.cluster.x-k8s.io', 'KubeadmControlPlane', object, oldObject);
    const base = kcp({ version: 'v1.30.1', replicas: 3, kubeadmConfigSpec: { files: [] }, machineTemplate: { spec: { infrastructureRef: { apiGroup: 'i', kind: 'T', name: 'a' } } } });
    expect(rolloutCause(kcpUpdate(kcp({ ...(base.spec as object), version: 'v1.31.0' }), base))).toBe('spec.version changed');
    expect(rolloutCause(kcpUpdate(kcp({ ...(base.spec as object), kubeadmConfigSpec: { files: [{ path: '/x' }] } }), base))).toBe('spec.kubeadmConfigSpec changed');
    expect(rolloutCause(kcpUpdate(kcp({ ...(base.spec as object), machineTemplate: { spec: { infrastructureRef: { apiGroup: 'i', kind: 'T', name: 'b' } } } }), base))).toBe(
      'spec.machineTemplate.spec.infrastructureRef changed',
    );
    const v1beta1 = kcp({ ...(base.spec as object), machineTemplate: { infrastructureRef: { apiVersion: 'i/v1', kind: 'T', name: 'a' } } });
    expect(rolloutCause(kcpUpdate(kcp({ ...(base.spec as object), machineTemplate: { infrastructureRef: { apiVersion: 'i/v1', kind: 'T', name: 'b' } } }), v1beta1))).toBe(
      'spec.machineTemplate.infrastructureRef changed',
    );
    expect(rolloutCause(kcpUpdate(kcp({ ...(base.spec as object), machineTemplate: { infrastructureRef: { apiVersion: 'i/v2', kind: 'T', name: 'a' } } }), v1beta1))).toBeUndefined();
    expect(rolloutCause(kcpUpdate(kcp({ ...(base.spec as object), rollout: { after: '2026-12-01T00:00:00Z' } }), base))).toBe('spec.rollout.after changed');
    expect(rolloutCause(kcpUpdate(kcp({ ...(base.spec as object), replicas: 5 }), base))).toBeUndefined();
    const metadataOnly = kcp({ ...(base.spec as object), machineTemplate: { metadata: { labels: { a: 'b' } }, spec: { infrastructureRef: { apiGroup: 'i', kind: 'T', name: 'a' }, deletion: { nodeDrainTimeoutSeconds: 60 } } } });
    expect(rolloutCause(kcpUpdate(metadataOnly, base))).toBeUndefined();
  });

  it('KubeadmControlPlane: what its up-to-date check blanks (join discovery, DNS; endpoint from v1beta2) rolls nothing', () => {
    const kcp = (apiVersion: string, kubeadmConfigSpec: Record<string, unknown>) => ({
      apiVersion: `controlplane.cluster.x-k8s.io/${apiVersion}`,
      kind: 'KubeadmControlPlane',
      metadata: { name: 'cp' },
      spec: { version: 'v1.30.1', replicas: 3, kubeadmConfigSpec },
    });
    const kcpUpdate = (object: unknown, oldObject: unknown) => update('controlplane.cluster.x-k8s.io', 'KubeadmControlPlane', object, oldObject);
    const spec = (discovery: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      clusterConfiguration: { apiServer: { certSANs: ['cp.example'] }, dns: { imageTag: 'v1.11.1' }, controlPlaneEndpoint: 'cp.example:6443' },
      joinConfiguration: { nodeRegistration: { name: 'n' }, discovery },
      files: [{ path: '/etc/a', content: 'a' }],
      ...extra,
    });
    const token = { bootstrapToken: { apiServerEndpoint: 'cp.example:6443', token: 'abcdef.0123456789abcdef', caCertHashes: ['sha256:1'] } };
    const rotated = { bootstrapToken: { apiServerEndpoint: 'cp.example:6443', token: 'ghijkl.0123456789abcdef', caCertHashes: ['sha256:2'] } };
    for (const version of ['v1beta1', 'v1beta2']) {
      // Discovery only serves the next join: changing, adding or removing it rolls no Machine.
      expect(rolloutCause(kcpUpdate(kcp(version, spec(rotated)), kcp(version, spec(token)))), version).toBeUndefined();
      expect(rolloutCause(kcpUpdate(kcp(version, spec({ file: { kubeConfigPath: '/k' } })), kcp(version, spec(token)))), version).toBeUndefined();
      // A real change of the configuration alongside it still rolls.
      const files = spec(rotated, { files: [{ path: '/etc/a', content: 'b' }] });
      expect(rolloutCause(kcpUpdate(kcp(version, files), kcp(version, spec(token)))), version).toBe('spec.kubeadmConfigSpec changed');
      const cluster = spec(rotated, { clusterConfiguration: { apiServer: { certSANs: ['cp.example', 'x'] }, dns: { imageTag: 'v1.11.1' }, controlPlaneEndpoint: 'cp.example:6443' } });
      expect(rolloutCause(kcpUpdate(kcp(version, cluster), kcp(version, spec(token)))), version).toBe('spec.kubeadmConfigSpec changed');
      const joinRegistration = { ...spec(rotated), joinConfiguration: { nodeRegistration: { name: 'm' }, discovery: rotated } };
      expect(rolloutCause(kcpUpdate(kcp(version, joinRegistration), kcp(version, spec(token)))), version).toBe('spec.kubeadmConfigSpec changed');
    }
    // The DNS add-on: skipped by every release since Cluster API 1.7 (v1beta1 ones too: matchClusterConfiguration
    // blanks it). The endpoint: skipped by the releases serving v1beta2, compared by older ones (v1beta1).
    const dns = spec(token, { clusterConfiguration: { apiServer: { certSANs: ['cp.example'] }, dns: { imageTag: 'v1.12.0' }, controlPlaneEndpoint: 'cp.example:6443' } });
    const endpoint = spec(token, { clusterConfiguration: { apiServer: { certSANs: ['cp.example'] }, dns: { imageTag: 'v1.11.1' }, controlPlaneEndpoint: 'lb.example:6443' } });
    expect(rolloutCause(kcpUpdate(kcp('v1beta2', dns), kcp('v1beta2', spec(token))))).toBeUndefined();
    expect(rolloutCause(kcpUpdate(kcp('v1beta2', endpoint), kcp('v1beta2', spec(token))))).toBeUndefined();
    expect(rolloutCause(kcpUpdate(kcp('v1beta1', dns), kcp('v1beta1', spec(token))))).toBeUndefined();
    expect(rolloutCause(kcpUpdate(kcp('v1beta1', endpoint), kcp('v1beta1', spec(token))))).toBe('spec.kubeadmConfigSpec changed');
    // A DNS image tag bumped on a v1beta1 object, with or without the client's version: no rollout.
    const tag = (imageTag: string) => kcp('v1beta1', { ...spec(token), clusterConfiguration: { dns: { imageTag } } });
    expect(rolloutCause(kcpUpdate(tag('v1.11.3'), tag('v1.11.1')))).toBeUndefined();
    expect(rolloutCause({ ...kcpUpdate(tag('v1.11.3'), tag('v1.11.1')), requestVersion: 'v1beta1' })).toBeUndefined();
    // Registered at v1beta1 (the chart's default) on a Cluster API serving v1beta2: a v1beta2 client's update arrives
    // converted to v1beta1 with requestKind v1beta2, and that release skips the DNS add-on and the endpoint too.
    const converted = (object: unknown, oldObject: unknown): AdmissionRequest => ({ ...kcpUpdate(object, oldObject), requestVersion: 'v1beta2' });
    expect(rolloutCause(converted(kcp('v1beta1', dns), kcp('v1beta1', spec(token))))).toBeUndefined();
    expect(rolloutCause(converted(kcp('v1beta1', endpoint), kcp('v1beta1', spec(token))))).toBeUndefined();
    expect(rolloutCause(converted(kcp('v1beta1', spec(rotated, { files: [{ path: '/etc/a', content: 'b' }] })), kcp('v1beta1', spec(token))))).toBe(
      'spec.kubeadmConfigSpec changed',
    );
    // A DNS-only clusterConfiguration added where there was none: the emptied parent reads as absent.
    const dnsOnly = { ...spec(token), clusterConfiguration: { dns: { imageTag: 'v1.12.0' } } };
    const noCluster = { joinConfiguration: spec(token).joinConfiguration, files: spec(token).files };
    expect(rolloutCause(kcpUpdate(kcp('v1beta2', dnsOnly), kcp('v1beta2', noCluster)))).toBeUndefined();
    expect(rolloutCause(kcpUpdate(kcp('v1beta1', dnsOnly), kcp('v1beta1', noCluster)))).toBeUndefined();
    // Objects without an apiVersion: only what every release ignores (discovery, DNS; not the endpoint).
    const bare = (kubeadmConfigSpec: Record<string, unknown>) => ({ spec: { kubeadmConfigSpec } });
    expect(rolloutCause(kcpUpdate(bare(spec(rotated)), bare(spec(token))))).toBeUndefined();
    expect(rolloutCause(kcpUpdate(bare(dns), bare(spec(token))))).toBeUndefined();
    expect(rolloutCause(kcpUpdate(bare(endpoint), bare(spec(token))))).toBe('spec.kubeadmConfigSpec changed');
  });

  it('KubeadmControlPlane: an empty list or argument map reads as absent (Cluster API drops them); empty taints do not', () => {
    const kcp = (apiVersion: string, kubeadmConfigSpec: Record<string, unknown>) => ({
      apiVersion: `controlplane.cluster.x-k8s.io/${apiVersion}`,
      kind: 'KubeadmControlPlane',
      metadata: { name: 'cp' },
      spec: { version: 'v1.30.1', replicas: 3, kubeadmConfigSpec },
    });
    const kcpUpdate = (object: unknown, oldObject: unknown) => update('controlplane.cluster.x-k8s.io', 'KubeadmControlPlane', object, oldObject);
    const before = { clusterConfiguration: { apiServer: { certSANs: ['cp'] } }, joinConfiguration: { nodeRegistration: { name: 'n' } }, users: [{ name: 'u' }] };
    for (const version of ['v1beta1', 'v1beta2']) {
      const cause = (after: Record<string, unknown>) => rolloutCause(kcpUpdate(kcp(version, after), kcp(version, before)));
      expect(cause({ ...before, files: [] }), version).toBeUndefined();
      expect(cause({ ...before, mounts: [], preKubeadmCommands: [], postKubeadmCommands: [] }), version).toBeUndefined();
      expect(cause({ ...before, users: [{ name: 'u', sshAuthorizedKeys: [] }] }), version).toBeUndefined();
      expect(cause({ ...before, joinConfiguration: { nodeRegistration: { name: 'n', kubeletExtraArgs: {} } } }), version).toBeUndefined();
      expect(cause({ ...before, clusterConfiguration: { apiServer: { certSANs: ['cp'], extraArgs: [] }, featureGates: {} } }), version).toBeUndefined();
      expect(cause({ ...before, users: [] }), version).toBe('spec.kubeadmConfigSpec changed');
      expect(cause({ ...before, files: [{ path: '/x' }] }), version).toBe('spec.kubeadmConfigSpec changed');
      // An empty taint list is no taint at all (kubeadm's default is the control-plane taint): it counts.
      expect(cause({ ...before, joinConfiguration: { nodeRegistration: { name: 'n', taints: [] } } }), version).toBe('spec.kubeadmConfigSpec changed');
    }
  });

  it('Plans: only a higher concurrency starts nodes; lowering or removing it, or spelling out the default, passes', () => {
    const plan = (spec: Record<string, unknown>) => ({
      apiVersion: 'upgrade.cattle.io/v1',
      kind: 'Plan',
      metadata: { name: 'p' },
      spec: { version: 'v1.30.1+k3s1', nodeSelector: {}, upgrade: { image: 'rancher/k3s-upgrade' }, ...spec },
    });
    const planUpdate = (object: unknown, oldObject: unknown) => update('upgrade.cattle.io', 'Plan', object, oldObject);
    const cause = (next: Record<string, unknown>, previous: Record<string, unknown>) => rolloutCause(planUpdate(plan(next), plan(previous)));
    expect(cause({ concurrency: 1 }, { concurrency: 3 })).toBeUndefined();
    expect(cause({ concurrency: 3 }, { concurrency: 1 })).toBe('spec.concurrency changed');
    // Absent (the controller reads 0) starts no node: removing it, or writing 0 or a negative value, rolls nothing.
    expect(cause({}, { concurrency: 2 })).toBeUndefined();
    expect(cause({ concurrency: 0 }, {})).toBeUndefined();
    expect(cause({}, { concurrency: 0 })).toBeUndefined();
    expect(cause({ concurrency: -1 }, { concurrency: 0 })).toBeUndefined();
    expect(cause({ concurrency: null }, {})).toBeUndefined();
    expect(cause({ concurrency: 1 }, {})).toBe('spec.concurrency changed');
    expect(cause({ concurrency: 1 }, { concurrency: -2 })).toBe('spec.concurrency changed');
    // A value that is not a number: any change counts.
    expect(cause({ concurrency: '1' }, { concurrency: 3 })).toBe('spec.concurrency changed');
    // Lowering it alongside a new version still re-runs the plan.
    expect(cause({ concurrency: 1, version: 'v1.31.0+k3s1' }, { concurrency: 3 })).toBe('spec.version changed');
    // Listed in upgrade.cattle.io/digest, concurrency is in the plan hash: lowering it re-runs the plan.
    const digested = (concurrency: number) => ({ ...plan({ concurrency }), metadata: { name: 'p', annotations: { 'upgrade.cattle.io/digest': 'spec.concurrency' } } });
    expect(rolloutCause(planUpdate(digested(1), digested(3)))).toBe('metadata.annotations.upgrade.cattle.io/digest changed');
    // The validator: a lowering passes where a raise is refused; the API server still sends both (a superset).
    const validator = upgradeValidator(config);
    expect(validator.handle(planUpdate(plan({ concurrency: 1 }), plan({ concurrency: 2 })), context(cluster())).allowed).toBe(true);
    const raised = validator.handle(planUpdate(plan({ concurrency: 2 }), plan({ concurrency: 1 })), context(cluster()));
    expect(raised.allowed).toBe(false);
    expect(raised.status!.message).toContain('spec.concurrency changed');
    expect(upgradeMatchCondition()).toContain(fieldChangedCel(['spec', 'concurrency']));
  });

  it('Plans: the digest annotation adds what system-upgrade-controller hashes: a list only by its first item, a string trimmed', () => {
    const plan = (upgrade: Record<string, unknown>, digest = 'spec.upgrade.envs') => ({
      apiVersion: 'upgrade.cattle.io/v1',
      kind: 'Plan',
      metadata: { name: 'p', annotations: { 'upgrade.cattle.io/digest': digest } },
      spec: { version: 'v1.30.1+k3s1', concurrency: 1, nodeSelector: {}, upgrade: { image: 'rancher/k3s-upgrade', ...upgrade } },
    });
    const planUpdate = (object: unknown, oldObject: unknown) => update('upgrade.cattle.io', 'Plan', object, oldObject);
    const env = (...values: [string, string][]) => ({ envs: values.map(([name, value]) => ({ name, value })) });
    const digestChanged = 'metadata.annotations.upgrade.cattle.io/digest changed';
    // wrangler's ToString reads a list as its first item: a later one is not in the hash.
    expect(rolloutCause(planUpdate(plan(env(['A', '1'], ['B', '2'])), plan(env(['A', '1'], ['B', '1']))))).toBeUndefined();
    expect(rolloutCause(planUpdate(plan(env(['A', '1'], ['B', '1'], ['C', '1'])), plan(env(['A', '1']))))).toBeUndefined();
    expect(rolloutCause(planUpdate(plan(env(['A', '2'])), plan(env(['A', '1']))))).toBe(digestChanged);
    expect(rolloutCause(planUpdate(plan(env(['B', '1'], ['A', '1'])), plan(env(['A', '1'], ['B', '1']))))).toBe(digestChanged);
    expect(rolloutCause(planUpdate(plan({ envs: [] }), plan(env(['A', '1']))))).toBe(digestChanged);
    // The first item's keys in another order hash alike; a string is trimmed.
    const reordered = plan({ envs: [{ value: '1', name: 'A' }] });
    expect(rolloutCause(planUpdate(reordered, plan(env(['A', '1']))))).toBeUndefined();
    const image = (value: string) => plan({ image: value }, 'spec.upgrade.image');
    expect(rolloutCause(planUpdate(image('rancher/k3s-upgrade '), image('rancher/k3s-upgrade')))).toBeUndefined();
    expect(rolloutCause(planUpdate(image('rancher/rke2-upgrade'), image('rancher/k3s-upgrade')))).toBe(digestChanged);
    // A path may index a list, as wrangler's GetValue does.
    const second = (value: string) => plan(env(['A', '1'], ['B', value]), 'spec.upgrade.envs.1.value');
    expect(rolloutCause(planUpdate(second('2'), second('1')))).toBe(digestChanged);
  });

  it('Plans: CREATE and version, channel, nodeSelector, concurrency, secrets; Harvester: CREATE only; unknown kinds: any spec change', () => {
    const plan = (spec: Record<string, unknown>) => ({ apiVersion: 'upgrade.cattle.io/v1', kind: 'Plan', metadata: { name: 'p' }, spec });
    const base = plan({ version: 'v1.30.1+k3s1', concurrency: 1, nodeSelector: { matchLabels: { a: 'b' } }, upgrade: { image: 'rancher/k3s-upgrade' } });
    const planUpdate = (object: unknown) => update('upgrade.cattle.io', 'Plan', object, base);
    for (const [field, value] of [['version', 'v1.31.0+k3s1'], ['concurrency', 2], ['nodeSelector', {}], ['secrets', [{ name: 's', path: '/s' }]]] as const) {
      expect(rolloutCause(planUpdate(plan({ ...(base.spec as object), [field]: value }))), field).toBe(`spec.${field} changed`);
    }
    // The channel is resolved only for a plan without spec.version (system-upgrade-controller's status handler).
    const channel = 'https://update.k3s.io/v1-release/channels/stable';
    expect(rolloutCause(planUpdate(plan({ ...(base.spec as object), channel })))).toBeUndefined();
    const unpinned = { concurrency: 1, nodeSelector: { matchLabels: { a: 'b' } }, upgrade: { image: 'rancher/k3s-upgrade' } };
    expect(rolloutCause(update('upgrade.cattle.io', 'Plan', plan({ ...unpinned, channel }), plan(unpinned)))).toBe('spec.channel changed');
    expect(rolloutCause(planUpdate(plan({ ...(base.spec as object), upgrade: { image: 'other' } })))).toBeUndefined();
    const harvester = update('harvesterhci.io', 'Upgrade', { spec: { version: 'v2' } }, { spec: { version: 'v1' } });
    expect(rolloutCause(harvester)).toBeUndefined();
    expect(rolloutCause({ ...harvester, operation: 'CREATE', oldObject: null })).toBe('creation');
    expect(rolloutCause({ ...mdUpdate(md(template('v1')), null), operation: 'CREATE' })).toBeUndefined();
    expect(rolloutCause(update('example.io', 'Rollout', { spec: { a: 1 } }, { spec: { a: 2 } }))).toBe('spec changed');
    expect(rolloutCause(update('example.io', 'Rollout', { metadata: { labels: { a: 'b' } }, spec: { a: 1 } }, { spec: { a: 1 } }))).toBeUndefined();
  });

  it('the validator denies a rolling MachineDeployment update with a single-replica volume and names the change', () => {
    const validator = upgradeValidator(config);
    const decision = validator.handle(mdUpdate(md(template('v1.31.0')), md(template('v1.30.1'))), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('MachineDeployment capi/x (spec.template.spec.version changed)');
    expect(validator.handle(mdUpdate(md({ ...template('v1.30.1'), replicas: 9 }), md(template('v1.30.1'))), context(cluster())).allowed).toBe(true);
  });

  it('the matchCondition covers every table field, sends unknown kinds, and the README states the table', () => {
    const cel = upgradeMatchCondition();
    expect(cel.startsWith("request.operation == 'CREATE' || !(")).toBe(true);
    for (const table of UPGRADE_KIND_TABLES) {
      for (const rollout of table.fields) expect(cel).toContain(fieldChangedCel(rollout.path));
    }
    expect(fieldChangedCel(['spec', 'version'])).toBe(
      '((has(object.spec) && has(object.spec.version)) != (has(oldObject.spec) && has(oldObject.spec.version)) || ((has(object.spec) && has(object.spec.version)) && object.spec.version != oldObject.spec.version))',
    );
    const validator = createValidators(config).find((v) => v.declaration.target === 'upgrade')!;
    expect(validator.declaration.matchConditions?.[0]?.expression).toBe(cel);
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(upgradeTablesMarkdown());
  });
});

describe('Cluster API machine removal', () => {
  const validator = machineValidator(config);
  const machineObject = (name: string, nodeName: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Machine',
    metadata: { name, namespace: 'capi', labels: { 'cluster.x-k8s.io/set-name': 'md-0-a', 'cluster.x-k8s.io/deployment-name': 'md-0' }, ...extra },
    status: nodeName ? { nodeRef: { name: nodeName } } : {},
  });
  const removeMachine = (name: string, nodeName: string, extra: Record<string, unknown> = {}) =>
    request({
      kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
      resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
      operation: 'DELETE',
      namespace: 'capi',
      name,
      oldObject: machineObject(name, nodeName, extra),
    });

  it('the record reads the node, the sets and the delete mark of v1beta1 and v1beta2 Machines', () => {
    const marked = machineObject('m1', 'node-1', { annotations: { 'cluster.x-k8s.io/delete-machine': '' } });
    expect(transformMachine(marked)).toEqual({
      namespace: 'capi',
      name: 'm1',
      nodeName: 'node-1',
      machineSet: 'md-0-a',
      machineDeployment: 'md-0',
      controlPlane: '',
      deleteMarked: true,
      unhealthy: false,
      updatingInPlace: false,
      deleting: false,
      // No spec.clusterName: none (the label cluster.x-k8s.io/cluster-name would say it too).
      clusterName: '',
      labels: { 'cluster.x-k8s.io/set-name': 'md-0-a', 'cluster.x-k8s.io/deployment-name': 'md-0' },
    });
    const annotated = (annotations: Record<string, string>) => transformMachine(machineObject('m4', 'node-4', { annotations }))?.updatingInPlace;
    expect(annotated({ 'in-place-updates.internal.cluster.x-k8s.io/update-in-progress': '' })).toBe(true);
    expect(annotated({ 'runtime.cluster.x-k8s.io/pending-hooks': 'AfterClusterUpgrade,UpdateMachine' })).toBe(true);
    expect(annotated({ 'runtime.cluster.x-k8s.io/pending-hooks': 'AfterClusterUpgrade' })).toBe(false);
    const conditions = (type: string, status: string) => ({ ...machineObject('m3', 'node-3'), status: { nodeRef: { name: 'node-3' }, conditions: [{ type, status }] } });
    expect(transformMachine(conditions('NodeHealthy', 'False'))?.unhealthy).toBe(true);
    expect(transformMachine(conditions('HealthCheckSucceeded', 'False'))?.unhealthy).toBe(true);
    // Unknown says nothing, as in Cluster API's isMachineHealthy.
    expect(transformMachine(conditions('NodeHealthy', 'Unknown'))?.unhealthy).toBe(false);
    expect(transformMachine({ ...machineObject('m2', ''), status: { nodeRef: { kind: 'Node', apiVersion: 'v1', name: 'node-2' } } })?.nodeName).toBe('node-2');
  });

  it("denies deleting a Machine whose node holds data, with the node's override honored", () => {
    const decision = validator.handle(removeMachine('m1', 'node-1'), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('deletion of Machine capi/m1 (node node-1)');
    expect(validator.handle(removeMachine('m2', 'node-2'), context(cluster())).allowed).toBe(true);
    expect(validator.handle(removeMachine('m3', ''), context(cluster())).allowed).toBe(true);
    expect(validator.handle(removeMachine('m1', 'node-1', { deletionTimestamp: '2026-01-01T00:00:00Z' }), context(cluster())).allowed).toBe(true);
    const skipped = cluster({ nodeAnnotations: { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' } });
    expect(validator.handle(removeMachine('m1', 'node-1'), context(skipped)).allowed).toBe(true);
  });

  it("scale-down candidates follow Cluster API's delete priority", () => {
    const m1 = machine({ name: 'm1', nodeName: 'node-1' });
    const m2 = machine({ name: 'm2', nodeName: 'node-2' });
    const m3 = machine({ name: 'm3', nodeName: 'node-3' });
    expect(scaleDownCandidates([m1, m2, m3], 2, false)).toEqual({ candidates: [m1, m2, m3], narrowed: false, removed: 1 });
    const marked = { ...m2, deleteMarked: true };
    expect(scaleDownCandidates([m1, marked, m3], 2, false)).toEqual({ candidates: [marked], narrowed: true, removed: 1 });
    // One mark, two to remove: any Machine may go.
    expect(scaleDownCandidates([m1, marked, m3], 1, false).narrowed).toBe(false);
    // A Machine without a node goes first.
    const nodeless = { ...m3, nodeName: '' };
    expect(scaleDownCandidates([m1, m2, nodeless], 2, false)).toEqual({ candidates: [], narrowed: true, removed: 1 });
    // Spread over several MachineSets (a rollout): any Machine may go.
    expect(scaleDownCandidates([m1, marked, m3], 2, true).narrowed).toBe(false);
    expect(scaleDownCandidates([m1, m2], 2, false).removed).toBe(0);
  });

  it('scale-down candidates: unhealthy Machines with a node rank with those without one, by name', () => {
    const sick = machine({ name: 'm1', nodeName: 'node-1', unhealthy: true });
    const m2 = machine({ name: 'm2', nodeName: 'node-2' });
    const nodeless = machine({ name: 'm3', nodeName: '' });
    const m4 = machine({ name: 'm4', nodeName: 'node-4' });
    // m1 (unhealthy, with its node) sorts before m3 (no node): Cluster API removes m1.
    expect(scaleDownCandidates([sick, m2, nodeless, m4], 3, false)).toEqual({ candidates: [sick], narrowed: true, removed: 1 });
    // Two to remove: both unhealthy ones go, the healthy ones stay.
    expect(scaleDownCandidates([sick, m2, nodeless, m4], 2, false)).toEqual({ candidates: [sick], narrowed: true, removed: 2 });
    // The nodeless one sorts first: the unhealthy one with a node stays.
    const late = machine({ name: 'm9', nodeName: 'node-9', unhealthy: true });
    expect(scaleDownCandidates([m2, nodeless, late], 2, false)).toEqual({ candidates: [], narrowed: true, removed: 1 });
    // A mark outranks every unhealthy Machine.
    const marked = { ...m2, deleteMarked: true };
    expect(scaleDownCandidates([sick, marked, nodeless], 2, false)).toEqual({ candidates: [marked], narrowed: true, removed: 1 });
    expect(scaleDownCandidates([sick, marked, nodeless, m4], 2, false)).toEqual({ candidates: [marked, sick], narrowed: true, removed: 2 });
    // A Machine updating in place goes before unhealthy ones.
    const updating = { ...m4, updatingInPlace: true };
    expect(scaleDownCandidates([sick, m2, nodeless, updating], 3, false)).toEqual({ candidates: [updating], narrowed: true, removed: 1 });
    // Two marked, one to remove: the first by name goes.
    const marked4 = { ...m4, deleteMarked: true };
    expect(scaleDownCandidates([sick, marked, marked4], 2, false)).toEqual({ candidates: [marked], narrowed: true, removed: 1 });
    // More to remove than ranked Machines: any may go.
    expect(scaleDownCandidates([sick, m2, m4], 1, false).narrowed).toBe(false);
    // Under the Random order the healthy rest follow the ranked ones, by name.
    expect(scaleDownCandidates([m4, sick, m2], 1, false, true)).toEqual({ candidates: [sick, m2], narrowed: true, removed: 2 });
    expect(scaleDownCandidates([m4, m2], 1, false, true)).toEqual({ candidates: [m2], narrowed: true, removed: 1 });
    // Spread over several MachineSets the order says nothing.
    expect(scaleDownCandidates([m4, m2], 1, true, true).narrowed).toBe(false);
  });

  it('judges MachineDeployment and MachineSet scale-downs, also through the scale subresource', () => {
    const model = cluster();
    model.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'node-1', machineSet: 'md-0-a', machineDeployment: 'md-0' }));
    model.upsert('machine', machine({ namespace: 'capi', name: 'm2', nodeName: 'node-2', machineSet: 'md-0-a', machineDeployment: 'md-0' }));
    const scale = (resource: string, replicas: number, subResource?: string) =>
      request({
        kind: subResource ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment' },
        resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource },
        ...(subResource ? { subResource } : {}),
        operation: 'UPDATE',
        namespace: 'capi',
        name: resource === 'machinesets' ? 'md-0-a' : 'md-0',
        object: { metadata: { name: 'md-0' }, spec: { replicas } },
        oldObject: { metadata: { name: 'md-0' }, spec: { replicas: 2 } },
      });
    const md = validator.handle(scale('machinedeployments', 1), context(model));
    expect(md.allowed).toBe(false);
    expect(md.status!.message).toContain('scale-down of MachineDeployment capi/md-0 from 2 to 1');
    expect(md.status!.message).toContain('m1 on node node-1');
    expect(validator.handle(scale('machinesets', 1, 'scale'), context(model)).allowed).toBe(false);
    expect(validator.handle(scale('machinedeployments', 3), context(model)).allowed).toBe(true);
    // The autoscaler marks the Machine it removes: only that node counts.
    model.upsert('machine', machine({ namespace: 'capi', name: 'm2', nodeName: 'node-2', machineSet: 'md-0-a', machineDeployment: 'md-0', deleteMarked: true }));
    expect(validator.handle(scale('machinedeployments', 1, 'scale'), context(model)).allowed).toBe(true);
  });

  // Cluster API's Random order (the default) ranks every healthy Machine equal and breaks ties by name
  // (randomDeletionOrder, sortableMachines.Less): a scale-down removes the first Machines by name, not any of them.
  it('under the Random order (default), only the Machines first by name can go; Newest, Oldest and the scale subresource keep every one', () => {
    const model = cluster();
    model.upsert('machine', machine({ namespace: 'capi', name: 'md-0-a-aaaaa', nodeName: 'node-2', machineSet: 'md-0-a', machineDeployment: 'md-0' }));
    model.upsert('machine', machine({ namespace: 'capi', name: 'md-0-a-zzzzz', nodeName: 'node-1', machineSet: 'md-0-a', machineDeployment: 'md-0' }));
    const scale = (resource: string, spec: Record<string, unknown>, subResource?: string) =>
      request({
        kind: subResource ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: resource === 'machinesets' ? 'MachineSet' : 'MachineDeployment' },
        resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource },
        ...(subResource ? { subResource } : {}),
        operation: 'UPDATE',
        namespace: 'capi',
        name: resource === 'machinesets' ? 'md-0-a' : 'md-0',
        object: { metadata: { name: 'x' }, spec: { ...spec, replicas: 1 } },
        oldObject: { metadata: { name: 'x' }, spec: { ...spec, replicas: 2 } },
      });
    // md-0-a-aaaaa (node-2, no data) goes first by name.
    for (const review of [
      scale('machinedeployments', {}),
      scale('machinedeployments', { strategy: { type: 'RollingUpdate', rollingUpdate: { deletePolicy: 'Random' } } }),
      scale('machinedeployments', { deletion: { order: 'Random' } }),
      scale('machinesets', {}),
      scale('machinesets', { deletePolicy: 'Random' }),
    ]) {
      expect(validator.handle(review, context(model)).status?.message).toBeUndefined();
    }
    // Newest/Oldest follow creation times; the Scale object carries no order: node-1 may go.
    for (const review of [
      scale('machinedeployments', { strategy: { rollingUpdate: { deletePolicy: 'Newest' } } }),
      scale('machinedeployments', { deletion: { order: 'Oldest' } }),
      scale('machinesets', { deletePolicy: 'Oldest' }),
      scale('machinesets', { deletion: { order: 'Newest' } }),
      scale('machinesets', {}, 'scale'),
    ]) {
      const decision = validator.handle(review, context(model));
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toContain('md-0-a-zzzzz on node node-1');
    }
    // Named first, the Machine on node-1 is the one Random removes.
    const swapped = cluster();
    swapped.upsert('machine', machine({ namespace: 'capi', name: 'md-0-a-aaaaa', nodeName: 'node-1', machineSet: 'md-0-a', machineDeployment: 'md-0' }));
    swapped.upsert('machine', machine({ namespace: 'capi', name: 'md-0-a-zzzzz', nodeName: 'node-2', machineSet: 'md-0-a', machineDeployment: 'md-0' }));
    const decision = validator.handle(scale('machinesets', {}), context(swapped));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('which removes Machine md-0-a-aaaaa on node node-1: ');
    expect(decision.status!.message).toContain('\nCluster API removes the Machines marked cluster.x-k8s.io/delete-machine, updating in place or unhealthy first, then the others by name (deletion order Random).\n');
  });
});

describe('Cluster API owner labels of long names', () => {
  it('are the name, or hash_<FNV-1a 32, base64url>_z past a label value (values from Go: hash/fnv, encoding/base64)', () => {
    expect(clusterApiLabelValue('md-0-a')).toBe('md-0-a');
    expect(clusterApiLabelValue('my-very-long-machine-deployment-name-for-the-gpu-workers-pool-x-abcde')).toBe('hash_LssLWA_z');
    expect(clusterApiLabelValue('é-long-name-é')).toBe('hash_Su3wZQ_z');
    expect(clusterApiLabelValue('a'.repeat(63))).toBe('a'.repeat(63));
  });

  it("judge the scale-down of a MachineSet named past 63 characters by its Machines' hashed set-name", () => {
    const validator = machineValidator(config);
    const name = 'my-very-long-machine-deployment-name-for-the-gpu-workers-pool-x-abcde';
    const model = cluster();
    for (const [machineName, nodeName] of [['m1', 'node-1'], ['m2', 'node-2']] as const) {
      model.upsert('machine', transformMachine({
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Machine',
        metadata: { name: machineName, namespace: 'capi', labels: { 'cluster.x-k8s.io/set-name': 'hash_LssLWA_z' } },
        status: { nodeRef: { name: nodeName } },
      })!);
    }
    const decision = validator.handle(
      request({
        kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
        resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinesets' },
        subResource: 'scale',
        operation: 'UPDATE',
        namespace: 'capi',
        name,
        object: { metadata: { name }, spec: { replicas: 1 } },
        oldObject: { metadata: { name }, spec: { replicas: 2 } },
      }),
      context(model),
    );
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('m1 on node node-1');
  });
});

describe('override writes through subresources', () => {
  const validator = overrideGuardValidator(config);
  it('polices nodes/status, namespaces/status, PVC status and the upgrade kinds’ status', () => {
    const resources = expandRules(validator.declaration.rules, config.upgrades.kinds).flatMap((rule) => rule.resources);
    for (const resource of ['nodes/status', 'namespaces/status', 'persistentvolumeclaims/status', 'upgrades/status', 'plans/status', 'machinedeployments/status']) {
      expect(resources).toContain(resource);
    }
    const write = request({
      kind: { group: '', version: 'v1', kind: 'Node' },
      resource: { group: '', version: 'v1', resource: 'nodes' },
      subResource: 'status',
      operation: 'UPDATE',
      name: 'node-1',
      userInfo: ALICE,
      object: { metadata: { name: 'node-1', annotations: { 'volume-guard.io/skip': '*' } } },
      oldObject: { metadata: { name: 'node-1' } },
    });
    expect(validator.handle(write, context(cluster())).allowed).toBe(false);
  });
});

describe('override writes through status subresources', () => {
  const validator = overrideGuardValidator(config);
  // The resources whose status update stores the metadata the client sends (their status strategy resets the spec,
  // not the metadata): core nodes, namespaces, PVs and PVCs, and CRDs (apiextensions' statusStrategy resets the new
  // object's metadata to itself). A custom resource's status keeps the stored metadata.
  const STATUS_WRITES_METADATA = new Set(['/nodes', '/namespaces', '/persistentvolumes', '/persistentvolumeclaims', 'apiextensions.k8s.io/customresourcedefinitions']);
  const rules = expandRules(validator.declaration.rules, config.upgrades.kinds);
  const policed = new Set(rules.flatMap((rule) => rule.apiGroups.flatMap((group) => rule.resources.map((resource) => `${group}/${resource}`))));

  it('every guarded resource whose status write stores metadata has its status subresource policed', () => {
    const guarded = [...policed].filter((resource) => !resource.slice(resource.indexOf('/') + 1).includes('/'));
    // The resources whose overrides are read (plans' `node`, `namespace`, `pv-delete`, `pvc-delete`, crd-delete's `object`).
    for (const resource of STATUS_WRITES_METADATA) expect(guarded).toContain(resource);
    for (const resource of guarded.filter((entry) => STATUS_WRITES_METADATA.has(entry))) {
      expect(policed, resource).toContain(`${resource}/status`);
    }
  });

  it('refuses a skip written on a CRD through its status', () => {
    const write = request({
      kind: { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' },
      resource: { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions' },
      subResource: 'status',
      operation: 'UPDATE',
      name: 'clusters.postgresql.cnpg.io',
      userInfo: ALICE,
      object: { metadata: { name: 'clusters.postgresql.cnpg.io', annotations: { 'volume-guard.io/skip': '*' } } },
      oldObject: { metadata: { name: 'clusters.postgresql.cnpg.io' } },
    });
    expect(policed).toContain('apiextensions.k8s.io/customresourcedefinitions/status');
    expect(validator.handle(write, context(cluster())).allowed).toBe(false);
  });
});

describe('webhook namespace exclusions: workloads only', () => {
  const declarations = createValidators(config).map((validator) => validator.declaration);
  const self = { namespace: 'volume-guard', deployment: 'volume-guard', release: 'volume-guard' };
  it('workload webhooks skip the system namespaces and volume-guard itself; the others see every namespace', () => {
    const configuration = webhookConfiguration(declarations, { configurationName: 'x', client: { url: 'https://127.0.0.1:1' }, upgradeKinds: config.upgrades.kinds, self }) as {
      webhooks: { name: string; namespaceSelector?: { matchExpressions: { values: string[] }[] }; matchConditions?: { name: string; expression: string }[] }[];
    };
    const byName = new Map(configuration.webhooks.map((webhook) => [webhook.name, webhook]));
    const eviction = byName.get('pod-eviction.volume-guard.io')!;
    // Its own namespace as a whole (issue 6); its own pods also by name (what is left of them in `default`).
    expect(eviction.namespaceSelector?.matchExpressions.at(-1)?.values).toEqual(['kube-system', 'kube-node-lease', 'volume-guard']);
    expect(eviction.matchConditions).toContainEqual({
      name: 'not-volume-guard-itself',
      // A collection DELETE's items carry no request.name: has() keeps the condition from erroring on them.
      expression: "!(request.namespace == 'volume-guard' && has(request.name) && request.name.matches('^volume-guard-[a-z0-9]{1,10}-[a-z0-9]{5}$'))",
    });
    expect(byName.get('pod-delete.volume-guard.io')!.matchConditions?.at(-1)?.expression).toContain('has(request.name) && request.name.matches(');
    expect(byName.get('helm-release.volume-guard.io')!.matchConditions?.at(-1)?.expression).toContain("request.name.matches('^sh\\\\.helm\\\\.release\\\\.v1\\\\.volume-guard\\\\.v[0-9]+$')");
    for (const name of ['upgrade.volume-guard.io', 'overrides.volume-guard.io', 'machine.volume-guard.io', 'node-cordon.volume-guard.io']) {
      expect(byName.get(name)!.namespaceSelector, name).toBeUndefined();
    }
    // Installed into a namespace others share (`default`, Harvester's, Longhorn's, ...), or with excludeOwnNamespace
    // false, that namespace stays judged: only volume-guard's own pods and records are skipped.
    for (const [namespace, excludeOwnNamespace] of [['default', true], ['harvester-system', true], ['longhorn-system', true], ['volume-guard', false]] as const) {
      const shared = webhookConfiguration(declarations, {
        configurationName: 'x',
        client: { url: 'https://127.0.0.1:1' },
        upgradeKinds: config.upgrades.kinds,
        excludeOwnNamespace,
        self: { ...self, namespace },
      }) as typeof configuration;
      const sharedEviction = shared.webhooks.find((webhook) => webhook.name === 'pod-eviction.volume-guard.io')!;
      expect(sharedEviction.namespaceSelector?.matchExpressions.at(-1)?.values, namespace).toEqual(['kube-system', 'kube-node-lease']);
      expect(sharedEviction.matchConditions?.at(-1)?.expression).toContain(`!(request.namespace == '${namespace}' && has(request.name) && `);
    }
    // Without matchConditions (before 1.28) volume-guard's whole namespace is skipped by workload webhooks.
    const old = webhookConfiguration(declarations, { configurationName: 'x', client: { url: 'https://127.0.0.1:1' }, upgradeKinds: config.upgrades.kinds, self, matchConditions: false }) as typeof configuration;
    const oldEviction = old.webhooks.find((webhook) => webhook.name === 'pod-eviction.volume-guard.io')!;
    expect(oldEviction.namespaceSelector?.matchExpressions.at(-1)?.values).toEqual(['kube-system', 'kube-node-lease', 'volume-guard']);
    expect(oldEviction.matchConditions).toBeUndefined();
  });
});
