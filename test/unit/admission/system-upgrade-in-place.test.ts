// A system-upgrade-controller Plan with spec.cordon or spec.drain upgrades each node in place: its Job's init container
// runs `kubectl cordon <node>` or `kubectl drain <node> ...` as the Plan's service account, then the k3s/RKE2 binary is
// replaced and the node restarted with its disks. The node-local PVs pinned to the node (local-path's hostPath PVs) are
// there when it is back, and their pods wait for it Pending: that Job's cordon, evictions and drain pod deletes pass
// for them with a warning. Anyone else's, a taint, a Node DELETE, and data that does not come back (a hostPath a
// controller recreates elsewhere, a PV no affinity pins) are judged as before.
import { describe, expect, it } from 'vitest';
import { systemUpgradeInPlace } from '../../../src/admission/longhorn-drain.ts';
import type { UserInfo } from '../../../src/admission/types.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, cordonRequest, evictionRequest, NODE_KIND, request } from '../../support/admission.ts';
import { harvesterUpgrade, hostPathPV, node, pod, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();
const cordon = nodeCordonValidator(config);
const evict = podEvictionValidator(config);
const remove = podDeleteValidator(config);

const SUC: UserInfo = {
  username: 'system:serviceaccount:system-upgrade:system-upgrade',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:system-upgrade', 'system:authenticated'],
};

/** The pod of the Job system-upgrade-controller creates for Plan `plan` on `target`, as the API server stores it. */
function jobPod(target: string, options: { namespace?: string; plan?: string; serviceAccount?: string; phase?: string; deleting?: boolean } = {}): unknown {
  const plan = options.plan ?? 'k3s-agent';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `apply-${plan}-on-${target}-with-3f2a-x7k2p`,
      namespace: options.namespace ?? 'system-upgrade',
      labels: {
        'upgrade.cattle.io/controller': 'system-upgrade-controller',
        'upgrade.cattle.io/node': target,
        'upgrade.cattle.io/plan': plan,
        'upgrade.cattle.io/version': 'v1.31.4-k3s1',
        [`plan.upgrade.cattle.io/${plan}`]: '3f2a',
      },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: `apply-${plan}-on-${target}-with-3f2a`, uid: 'u-job', controller: true }],
      ...(options.deleting ? { deletionTimestamp: '2030-01-01T00:00:00Z' } : {}),
    },
    spec: {
      nodeName: target,
      serviceAccountName: options.serviceAccount ?? 'system-upgrade',
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [target] }] }] },
        },
      },
      tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
      volumes: [{ name: 'host-root', hostPath: { path: '/', type: 'Directory' } }],
      initContainers: [{ name: 'drain', image: 'rancher/kubectl', args: ['drain', target, '--pod-selector', '!upgrade.cattle.io/controller', '--ignore-daemonsets', '--delete-local-data'] }],
      containers: [{ name: 'upgrade', image: 'rancher/k3s-upgrade', volumeMounts: [{ name: 'host-root', mountPath: '/host' }] }],
    },
    // Pending while the drain init container runs.
    status: { phase: options.phase ?? 'Pending' },
  };
}

/** A node as the kubelet registers it: its hostname label is what the Job pod's node affinity names. */
const k3sNode = (name: string, unschedulable = false) => node({ name, unschedulable, labels: { 'kubernetes.io/hostname': name } });

/** On w1: db-0's local-path PV (a hostPath under k3s' storage, pinned to w1), and, unless `job` is false, the Plan's Job pod. */
function cluster(job: unknown = jobPod('w1')): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('node', k3sNode('w1'));
  m.upsert('node', k3sNode('w2'));
  m.upsert('persistentVolume', hostPathPV({ name: 'pv-db-0', pinnedNode: 'w1', claimNamespace: 'db', claimName: 'data-db-0' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'db', name: 'data-db-0', volumeName: 'pv-db-0', storageClassName: 'local-path' }));
  m.upsert('pod', pod({ namespace: 'db', name: 'db-0', nodeName: 'w1', claimNames: ['data-db-0'], controllerKind: 'StatefulSet' }));
  if (job !== null) {
    const record = transformPod(job);
    if (record === undefined) throw new Error('job pod fixture');
    m.upsert('pod', record);
  }
  return m;
}

function cordoned(m: ClusterModel): ClusterModel {
  m.upsert('node', k3sNode('w1', true));
  return m;
}

/** `kubectl drain --disable-eviction`: a DELETE of db-0 as the stored pod. */
function deleteDb0(user: UserInfo) {
  return request({
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'DELETE',
    namespace: 'db',
    name: 'db-0',
    userInfo: user,
    oldObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'db-0', namespace: 'db', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u-db', controller: true }] },
      spec: { nodeName: 'w1', volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } }] },
      status: { phase: 'Running' },
    },
  });
}

describe("a system-upgrade-controller Plan's in-place upgrade and node-local PVs", () => {
  it("keeps a Job pod's node, Plan and service account on its record, and nothing for other pods", () => {
    expect(transformPod(jobPod('w1'))?.upgradeJob).toEqual({ node: 'w1', plan: 'k3s-agent', serviceAccount: 'system-upgrade' });
    const unnamed = jobPod('w1') as { spec: Record<string, unknown> };
    delete unnamed.spec['serviceAccountName'];
    expect(transformPod(unnamed)?.upgradeJob?.serviceAccount).toBe('default');
    const plain = transformPod({ metadata: { name: 'web-1', namespace: 'web', labels: { app: 'web' } }, spec: { nodeName: 'w1', serviceAccountName: 'web' } });
    expect(plain).toBeDefined();
    expect(Object.hasOwn(plain!, 'upgradeJob')).toBe(false);
  });

  it("lets the Job's cordon through with a warning naming the Plan and the PVs kept", () => {
    const decision = cordon.handle(cordonRequest('w1', {}, SUC), context(cluster()));
    expect(decision.allowed).toBe(true);
    const warnings = decision.warnings!.join('\n');
    expect(warnings).toContain('Plan system-upgrade/k3s-agent upgrades node w1 in place:');
    expect(warnings).toContain('1 node-local PV stays on its disks (pv-db-0); pods using it wait until the node is back');
    expect(warnings).not.toContain('reboots');
    // No risk was accepted: nothing is recorded as overridden.
    expect(decision.auditAnnotations?.['override-source']).toBeUndefined();
  });

  it('refuses the same cordon by anyone else', () => {
    const decision = cordon.handle(cordonRequest('w1', {}, ADMIN), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pv-db-0');
    // Another service account of the Plan's namespace is not the Job's.
    const other: UserInfo = { username: 'system:serviceaccount:system-upgrade:default', groups: ['system:serviceaccounts'] };
    expect(cordon.handle(cordonRequest('w1', {}, other), context(cluster())).allowed).toBe(false);
  });

  it("lets the Job's eviction and drain pod DELETE of the pod using the PV through, with w1 cordoned", () => {
    const m = cordoned(cluster());
    const decision = evict.handle(evictionRequest('db-0', { namespace: 'db', user: SUC }), context(m));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings!.join('\n')).toContain('1 node-local PV stays on its disks (pv-db-0); pods using it wait until the node is back');
    expect(remove.handle(deleteDb0(SUC), context(m)).allowed).toBe(true);
    // An admin's drain of the same node: the pod's data stays behind.
    const refused = evict.handle(evictionRequest('db-0', { namespace: 'db', user: ADMIN }), context(m));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).toContain('pv-db-0');
    expect(remove.handle(deleteDb0(ADMIN), context(m)).allowed).toBe(false);
  });

  it('still refuses a hostPath its ReplicaSet would recreate on another node', () => {
    const m = cluster();
    m.upsert('pod', pod({ namespace: 'web', name: 'cache-1', nodeName: 'w1', controllerKind: 'ReplicaSet', hostPaths: [{ path: '/data', writable: true }] }));
    const decision = cordon.handle(cordonRequest('w1', {}, SUC), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('web/cache-1');
    expect(decision.status!.message).not.toContain('pv-db-0');
    expect(decision.warnings!.join('\n')).toContain('stays on its disks (pv-db-0)');
    cordoned(m);
    expect(evict.handle(evictionRequest('cache-1', { namespace: 'web', user: SUC }), context(m)).allowed).toBe(false);
  });

  it('still refuses a PV no affinity pins: its pod may come back on another node', () => {
    const m = cordoned(cluster());
    m.upsert('persistentVolume', hostPathPV({ name: 'pv-loose', pinnedNode: '', driver: 'k8s.io/minikube-hostpath', claimNamespace: 'web', claimName: 'loose' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'web', name: 'loose', volumeName: 'pv-loose' }));
    m.upsert('pod', pod({ namespace: 'web', name: 'loose-0', nodeName: 'w1', claimNames: ['loose'], controllerKind: 'StatefulSet' }));
    const decision = evict.handle(evictionRequest('loose-0', { namespace: 'web', user: SUC }), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pv-loose');
  });

  it.each([
    ['no Job pod', null],
    ['its Job pod finished', jobPod('w1', { phase: 'Succeeded' })],
    ['its Job pod failed', jobPod('w1', { phase: 'Failed' })],
    ['its Job pod being deleted', jobPod('w1', { deleting: true })],
    ['a Job pod upgrading w2 only', jobPod('w2')],
    ['a Job pod of another namespace', jobPod('w1', { namespace: 'other' })],
    ['a Job pod running as another account', jobPod('w1', { serviceAccount: 'upgrader' })],
  ])('refuses the service account\'s cordon and evictions with %s', (_label, job) => {
    const m = cluster(job);
    expect(systemUpgradeInPlace(m, 'w1', SUC.username)).toBeUndefined();
    const decision = cordon.handle(cordonRequest('w1', {}, SUC), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pv-db-0');
    expect(evict.handle(evictionRequest('db-0', { namespace: 'db', user: SUC }), context(cordoned(m))).allowed).toBe(false);
  });

  it("refuses the service account's Node DELETE and taints: the Job only cordons", () => {
    const m = cluster();
    const deletion = request({ ...NODE_KIND, operation: 'DELETE', name: 'w1', userInfo: SUC, oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'w1' } } });
    const refused = cordon.handle(deletion, context(m));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).toContain('pv-db-0');
    const taint = request({
      ...NODE_KIND,
      operation: 'UPDATE',
      name: 'w1',
      userInfo: SUC,
      object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'w1' }, spec: { taints: [{ key: 'maintenance', value: 'now', effect: 'NoSchedule' }] } },
      oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'w1' }, spec: {} },
    });
    expect(cordon.handle(taint, context(m)).allowed).toBe(false);
  });

  it("leaves a Harvester upgrade draining the node to Harvester's rule: a directory PV is refused on its immutable OS", () => {
    const m = cluster();
    m.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: false, nodeStates: { w1: 'Pre-drained' } }));
    const decision = cordon.handle(cordonRequest('w1', {}, SUC), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pv-db-0');
  });
});
