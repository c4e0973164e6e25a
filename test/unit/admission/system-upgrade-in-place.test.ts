// A system-upgrade-controller Plan with spec.cordon or spec.drain upgrades each node in place: its Job's init container
// runs `kubectl cordon <node>` or `kubectl drain <node> ...` as the Plan's service account, then the k3s/RKE2 binary is
// replaced and the node restarted with its disks. The node-local PVs pinned to the node (local-path's hostPath PVs) are
// there when it is back, and their pods wait for it Pending: that Job's cordon, evictions and drain pod deletes pass
// for them with a warning. Anyone else's, a taint, a Node DELETE, and data that does not come back (a hostPath a
// controller recreates elsewhere, a PV no affinity pins) are judged as before.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { systemUpgradeInPlace, upgradesDistributionOnly } from '../../../src/admission/longhorn-drain.ts';
import type { UserInfo } from '../../../src/admission/types.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { isUpgradeJobName, transformPersistentVolume, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, cordonRequest, evictionRequest, NODE_KIND, request, statefulSetPodDeleteRequest } from '../../support/admission.ts';
import { csiPV, harvesterUpgrade, hostPathPV, node, pod, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();
const cordon = nodeCordonValidator(config);
const evict = podEvictionValidator(config);
const remove = podDeleteValidator(config);

const SUC: UserInfo = {
  username: 'system:serviceaccount:system-upgrade:system-upgrade',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:system-upgrade', 'system:authenticated'],
};

/** A Plan's latest hash as system-upgrade-controller computes it: a sha224, in hex (56 digits). */
const PLAN_HASH = createHash('sha224').update('v1.31.4-k3s1system-upgrade').digest('hex');

/**
 * wrangler's SafeConcatName as system-upgrade-controller names its Jobs with it: the words joined by `-`; from 64
 * characters on, the first 57 (56 when the 57th is no lowercase letter or digit), `-` and the start of the sha256 of
 * the whole, in hex, 63 characters in all.
 */
function safeConcatName(...words: string[]): string {
  const whole = words.join('-');
  if (whole.length < 64) return whole;
  const digest = createHash('sha256').update(whole).digest('hex');
  return /[a-z0-9]/.test(whole[56]!) ? `${whole.slice(0, 57)}-${digest.slice(0, 5)}` : `${whole.slice(0, 56)}-${digest.slice(0, 6)}`;
}

/** The name system-upgrade-controller gives the Job applying `plan` on `target` (the node's name up to its first dot). */
const jobName = (plan: string, target: string): string => safeConcatName('apply', plan, 'on', target.split('.')[0]!, 'with', PLAN_HASH);

interface JobPodOptions {
  namespace?: string;
  plan?: string;
  serviceAccount?: string;
  phase?: string;
  deleting?: boolean;
  /** spec.nodeName; default the node upgraded. */
  nodeName?: string;
  /** The `upgrade` container's image; default `rancher/k3s-upgrade:v1.31.4-k3s1`. */
  image?: string;
  /** Labels to drop. */
  without?: string[];
  /** The controlling owner's reference; default the Job system-upgrade-controller names. */
  owner?: Record<string, unknown>;
}

/** The pod of the Job system-upgrade-controller creates for Plan `plan` on `target`, as the API server stores it. */
function jobPod(target: string, options: JobPodOptions = {}): unknown {
  const plan = options.plan ?? 'k3s-agent';
  const job = jobName(plan, target);
  const labels: Record<string, string> = {
    'upgrade.cattle.io/controller': 'system-upgrade-controller',
    'upgrade.cattle.io/exclusive': 'false',
    'upgrade.cattle.io/node': target,
    'upgrade.cattle.io/plan': plan,
    'upgrade.cattle.io/version': 'v1.31.4-k3s1',
    [`plan.upgrade.cattle.io/${plan}`]: PLAN_HASH,
  };
  for (const label of options.without ?? []) delete labels[label];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${job}-x7k2p`,
      namespace: options.namespace ?? 'system-upgrade',
      labels,
      ownerReferences: [options.owner ?? { apiVersion: 'batch/v1', kind: 'Job', name: job, uid: 'u-job', controller: true }],
      ...(options.deleting ? { deletionTimestamp: '2030-01-01T00:00:00Z' } : {}),
    },
    spec: {
      nodeName: options.nodeName ?? target,
      serviceAccountName: options.serviceAccount ?? 'system-upgrade',
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [target] }] }] },
        },
      },
      tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
      volumes: [{ name: 'host-root', hostPath: { path: '/', type: 'Directory' } }],
      initContainers: [{ name: 'drain', image: 'rancher/kubectl', args: ['drain', target, '--pod-selector', '!upgrade.cattle.io/controller', '--ignore-daemonsets', '--delete-local-data'] }],
      containers: [{ name: 'upgrade', image: options.image ?? 'rancher/k3s-upgrade:v1.31.4-k3s1', volumeMounts: [{ name: 'host-root', mountPath: '/host' }] }],
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

/** A drain's DELETE of db-0 (`kubectl drain --disable-eviction`), the pod as stored. */
function deleteDb0(user: UserInfo) {
  return statefulSetPodDeleteRequest({ namespace: 'db', name: 'db-0', statefulSet: 'db', node: 'w1', claims: ['data-db-0'], user });
}

describe("a system-upgrade-controller Plan's in-place upgrade and node-local PVs", () => {
  it("keeps a Job pod's node, Plan and service account on its record, and nothing for other pods", () => {
    expect(transformPod(jobPod('w1'))?.upgradeJob).toEqual({ node: 'w1', plan: 'k3s-agent', serviceAccount: 'system-upgrade', image: 'rancher/k3s-upgrade:v1.31.4-k3s1' });
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

  it('lets through a hostPath pod its Carina PV holds to w1 (the node key is the node name): it waits for w1 with both', () => {
    const m = cordoned(cluster());
    for (const name of ['w1', 'w2']) {
      m.upsert('node', node({ name, unschedulable: name === 'w1', labels: { 'kubernetes.io/hostname': name, 'topology.carina.storage.io/node': name } }));
    }
    const affinity = [{ matchExpressions: [{ key: 'topology.carina.storage.io/node', operator: 'In', values: ['w1'] }], matchFields: [] }];
    m.upsert('persistentVolume', csiPV('carina.storage.io', { name: 'pv-cache', pinnedNode: 'w1', claimNamespace: 'web', claimName: 'cache', nodeAffinity: affinity }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'web', name: 'cache', volumeName: 'pv-cache' }));
    m.upsert('pod', pod({ namespace: 'web', name: 'cache-1', nodeName: 'w1', controllerKind: 'ReplicaSet', claimNames: ['cache'], hostPaths: [{ path: '/data', writable: true }] }));
    const decision = evict.handle(evictionRequest('cache-1', { namespace: 'web', user: SUC }), context(m));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
    expect(decision.warnings!.join('\n')).toContain('stays on its disks (pv-cache)');
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

/** A tenant's service account: it may create Jobs and evict its own pods in team-a, nothing more. */
const TENANT: UserInfo = {
  username: 'system:serviceaccount:team-a:ci',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated'],
};

/** team-a's StatefulSet pod ci-0 on w1, its data on a local-path PV pinned to w1. */
function withTenantData(m: ClusterModel): ClusterModel {
  m.upsert('persistentVolume', hostPathPV({ name: 'pv-ci-0', pinnedNode: 'w1', claimNamespace: 'team-a', claimName: 'data-ci-0' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'team-a', name: 'data-ci-0', volumeName: 'pv-ci-0', storageClassName: 'local-path' }));
  m.upsert('pod', pod({ namespace: 'team-a', name: 'ci-0', nodeName: 'w1', claimNames: ['data-ci-0'], controllerKind: 'StatefulSet' }));
  return m;
}

describe('what counts as a system-upgrade-controller Job pod', () => {
  it('knows the Job names system-upgrade-controller gives, whole or cut, for short and long Plan and node names', () => {
    let cutAtADash = 0;
    for (let length = 1; length <= 60; length++) {
      const target = `n${'0'.repeat(length - 1)}`;
      for (const plan of ['k3s-agent', 'os']) {
        const name = jobName(plan, target);
        if (name[56] === '-') cutAtADash++;
        expect(isUpgradeJobName(name, plan, target), name).toBe(true);
        // Another node: told apart wherever its name differs before the cut.
        expect(isUpgradeJobName(name, plan, `m${target.slice(1)}`), name).toBe(false);
      }
    }
    // wrangler's other cut (56 characters and 6 hex digits) is among them.
    expect(cutAtADash).toBeGreaterThan(0);
    // Current releases name the node up to its first dot, older ones whole.
    expect(isUpgradeJobName(jobName('k3s-agent', 'w1.example.com'), 'k3s-agent', 'w1.example.com')).toBe(true);
    expect(isUpgradeJobName(safeConcatName('apply', 'k3s-agent', 'on', 'w1.example.com', 'with', PLAN_HASH), 'k3s-agent', 'w1.example.com')).toBe(true);
    for (const name of ['ci-runner', jobName('k3s-server', 'w1'), jobName('k3s-agent', 'w2'), `apply-k3s-agent-on-w1-with-${PLAN_HASH}`, 'apply-k3s-agent-on-w1-with-']) {
      expect(isUpgradeJobName(name, 'k3s-agent', 'w1'), name).toBe(false);
    }
  });

  it("refuses a tenant's eviction as the service account of a pod it labelled upgrade.cattle.io/node: w1", () => {
    for (const nodeName of ['w2', '']) {
      const m = withTenantData(cordoned(cluster(null)));
      const forged = {
        metadata: {
          name: 'fake-x7k2p',
          namespace: 'team-a',
          labels: { 'upgrade.cattle.io/node': 'w1' },
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'fake', uid: 'u-fake', controller: true }],
        },
        spec: { nodeName, serviceAccountName: 'ci', containers: [{ name: 'upgrade', image: 'rancher/k3s-upgrade' }] },
        status: { phase: 'Pending' },
      };
      m.upsert('pod', transformPod(forged)!);
      expect(systemUpgradeInPlace(m, 'w1', TENANT.username)).toBeUndefined();
      const decision = evict.handle(evictionRequest('ci-0', { namespace: 'team-a', user: TENANT }), context(m));
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toContain('pv-ci-0');
    }
  });

  const tenantJob = (options: JobPodOptions): unknown => jobPod('w1', { namespace: 'team-a', serviceAccount: 'ci', ...options });
  it.each([
    ['no upgrade.cattle.io/controller label', tenantJob({ without: ['upgrade.cattle.io/controller'] })],
    ['no upgrade.cattle.io/plan label', tenantJob({ without: ['upgrade.cattle.io/plan'] })],
    ['a Job not named for the Plan and node', tenantJob({ owner: { apiVersion: 'batch/v1', kind: 'Job', name: 'ci-runner', uid: 'u-ci', controller: true } })],
    ['a Job named for another Plan', tenantJob({ owner: { apiVersion: 'batch/v1', kind: 'Job', name: jobName('k3s-server', 'w1'), uid: 'u-ci', controller: true } })],
    ['a Job named for another node', tenantJob({ owner: { apiVersion: 'batch/v1', kind: 'Job', name: jobName('k3s-agent', 'w2'), uid: 'u-ci', controller: true } })],
    ['its pod scheduled on another node', tenantJob({ nodeName: 'w2' })],
  ])('refuses the account of a pod labelled for w1 with %s', (_label, job) => {
    expect(transformPod(job)?.upgradeJob).toBeUndefined();
    const m = withTenantData(cordoned(cluster(job)));
    expect(systemUpgradeInPlace(m, 'w1', TENANT.username)).toBeUndefined();
    expect(evict.handle(evictionRequest('ci-0', { namespace: 'team-a', user: TENANT }), context(m)).allowed).toBe(false);
  });

  it('counts the Job pod before it is scheduled, and on a node named with dots', () => {
    expect(systemUpgradeInPlace(cluster(jobPod('w1', { nodeName: '' })), 'w1', SUC.username)).toEqual({
      by: 'system-upgrade-controller',
      namespace: 'system-upgrade',
      plan: 'k3s-agent',
      image: 'rancher/k3s-upgrade:v1.31.4-k3s1',
    });
    expect(systemUpgradeInPlace(cluster(jobPod('w1.example.com')), 'w1.example.com', SUC.username)).toBeDefined();
  });
});

describe("a Plan upgrading the node's OS reboots it: only what the reboot keeps is kept", () => {
  const KAIROS = 'quay.io/kairos/ubuntu:24.04-standard-amd64-generic-v3.2.1-k3sv1.31.1-k3s1';
  const osJob = (image = KAIROS) => jobPod('w1', { plan: 'os-upgrade', image });

  /** db-0's PV as local-path provisions it: a hostPath PV under `path`, pinned to w1. */
  const localPathPV = (path: string) =>
    transformPersistentVolume({
      metadata: { name: 'pv-db-0', annotations: { 'pv.kubernetes.io/provisioned-by': 'rancher.io/local-path' } },
      spec: {
        hostPath: { path, type: 'DirectoryOrCreate' },
        storageClassName: 'local-path',
        claimRef: { namespace: 'db', name: 'data-db-0' },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['w1'] }] }] } },
      },
      status: { phase: 'Bound' },
    })!;

  /** cache-0 of namespace db on w1, its data on PV `volume`. */
  function withPod(m: ClusterModel, volume: ReturnType<typeof csiPV>): ClusterModel {
    m.upsert('persistentVolume', volume);
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'db', name: 'data-cache-0', volumeName: volume.name }));
    m.upsert('pod', pod({ namespace: 'db', name: 'cache-0', nodeName: 'w1', claimNames: ['data-cache-0'], controllerKind: 'StatefulSet' }));
    return m;
  }

  it('keeps the directory of a hostPath or local PV, normalised, on its record', () => {
    expect(localPathPV('/opt/local-path-provisioner//pvc-1_db_data-db-0/').hostDirectory).toBe('/opt/local-path-provisioner/pvc-1_db_data-db-0');
    expect(transformPersistentVolume({ metadata: { name: 'l' }, spec: { local: { path: '/mnt/disks/ssd1' } } })?.hostDirectory).toBe('/mnt/disks/ssd1');
    expect(transformPersistentVolume({ metadata: { name: 'c' }, spec: { csi: { driver: 'topolvm.io', volumeHandle: 'h' } } })).not.toHaveProperty('hostDirectory');
  });

  it('refuses its cordon and evictions for a directory PV outside /var/lib/rancher', () => {
    for (const volume of [localPathPV('/opt/local-path-provisioner/pvc-1_db_data-db-0'), hostPathPV({ name: 'pv-db-0', source: 'local', pinnedNode: 'w1', claimNamespace: 'db', claimName: 'data-db-0', hostDirectory: '/mnt/disks/ssd1' })]) {
      const m = cluster(osJob());
      m.upsert('persistentVolume', volume);
      const decision = cordon.handle(cordonRequest('w1', {}, SUC), context(m));
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toContain('pv-db-0');
      expect(evict.handle(evictionRequest('db-0', { namespace: 'db', user: SUC }), context(cordoned(m))).allowed).toBe(false);
    }
  });

  it("keeps a local-path PV under /var/lib/rancher (k3s' default) and a device-backed PV, with a warning", () => {
    const m = withPod(cluster(osJob()), csiPV('topolvm.io', { name: 'pv-cache-0', pinnedNode: 'w1', claimNamespace: 'db', claimName: 'data-cache-0' }));
    m.upsert('persistentVolume', localPathPV('/var/lib/rancher/k3s/storage/pvc-1_db_data-db-0'));
    const decision = cordon.handle(cordonRequest('w1', {}, SUC), context(m));
    expect(decision.allowed).toBe(true);
    const warnings = decision.warnings!.join('\n');
    expect(warnings).toContain('Plan system-upgrade/os-upgrade upgrades node w1 in place:');
    expect(warnings).toContain('2 node-local PVs stay on its disks (pv-db-0, pv-cache-0)');
    expect(evict.handle(evictionRequest('db-0', { namespace: 'db', user: SUC }), context(cordoned(m))).allowed).toBe(true);
  });

  it('keeps any directory PV pinned to the node for the k3s and RKE2 upgrade images, from any registry', () => {
    for (const image of ['rancher/k3s-upgrade', 'docker.io/rancher/k3s-upgrade:v1.31.4-k3s1', 'registry.example.com:5000/mirror/rancher/rke2-upgrade:v1.31.4-rke2r1']) {
      const m = cluster(osJob(image));
      m.upsert('persistentVolume', localPathPV('/opt/local-path-provisioner/pvc-1_db_data-db-0'));
      expect(cordon.handle(cordonRequest('w1', {}, SUC), context(m)).allowed, image).toBe(true);
    }
  });

  it.each([
    ['rancher/k3s-upgrade', true],
    ['rancher/rke2-upgrade:v1.31.4-rke2r1', true],
    ['docker.io/rancher/k3s-upgrade:v1.31.4-k3s1', true],
    ['localhost:5000/rancher/rke2-upgrade', true],
    [`registry.example.com/rancher/k3s-upgrade@sha256:${'a'.repeat(64)}`, true],
    ['registry.example.com/rancher/k3s-upgrade:v1.31.4-k3s1@sha256:' + 'b'.repeat(64), true],
    ['rancher/k3os:v0.21.5-k3s2r1', false],
    ['registry.suse.com/rancher/elemental-teal/5.4:latest', false],
    [KAIROS, false],
    ['rancher/k3s-upgrade-extra', false],
    ['example.com/myrancher/k3s-upgrade', false],
    ['', false],
  ])('upgradesDistributionOnly(%j) is %s', (image, expected) => {
    expect(upgradesDistributionOnly(image)).toBe(expected);
  });
});
