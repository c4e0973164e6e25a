// Issue 20.1-20.3: storage teardown, weakened Longhorn settings, storage software upgrades.
import { describe, expect, it } from 'vitest';
import {
  isLonghornUninstallJob,
  longhornSettingsValidator,
  storageTeardownValidator,
  storageUpgradeValidator,
} from '../../../src/admission/validators/storage-teardown.ts';
import { storageUpgradeCheck } from '../../../src/admission/validators/storage-upgrade-hook.ts';
import { expandRules } from '../../../src/admission/rules.ts';
import type { AdmissionRequest, Operation, UserInfo } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { drainPolicyStrength, NODE_DRAIN_POLICIES } from '../../../src/checks/storage-teardown.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { decodeAdmissionReview } from '../../../src/server/codec.ts';
import { admissionReview, context, request } from '../../support/admission.ts';
import { detachedVolume, failedReplica, longhornNode, longhornSetting, machine as machineRecord, namespace, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();
const LONGHORN_SA: UserInfo = {
  username: 'system:serviceaccount:longhorn-system:longhorn-service-account',
  groups: ['system:serviceaccounts'],
};

function model(setup: (m: ClusterModel) => void = () => {}): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.setLonghornInstalled(true);
  m.replaceAll('longhornNode', ['w1', 'w2', 'w3'].map((name) => longhornNode({ name })));
  setup(m);
  return m;
}

/** Two volumes with three healthy replicas each: a normal Longhorn with data. */
function withData(): ClusterModel {
  return model((m) => {
    for (const name of ['data-a', 'data-b']) {
      m.upsert('longhornVolume', volume({ name, pvcNamespace: 'shop', pvcName: `${name}-pvc` }));
      for (const node of ['w1', 'w2', 'w3']) m.upsert('longhornReplica', replica({ volumeName: name, nodeID: node }));
    }
  });
}

function req(resource: { group: string; resource: string }, operation: Operation, fields: Partial<AdmissionRequest>): AdmissionRequest {
  return request({
    kind: { group: resource.group, version: 'v1', kind: resource.resource },
    resource: { group: resource.group, version: 'v1', resource: resource.resource },
    operation,
    ...fields,
  });
}

const uninstallJob = (name = 'longhorn-uninstall', command = ['longhorn-manager', 'uninstall', '--force']) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, namespace: 'longhorn-system' },
  spec: { template: { spec: { containers: [{ name: 'u', image: 'longhornio/longhorn-manager:v1.7.2', command }] } } },
});

describe('storage-teardown validator', () => {
  const validator = storageTeardownValidator(config);
  const jobs = { group: 'batch', resource: 'jobs' };

  it('refuses the uninstaller Job while volumes exist, naming them and their PVCs', () => {
    const decision = validator.handle(req(jobs, 'CREATE', { namespace: 'longhorn-system', name: 'longhorn-uninstall', object: uninstallJob() }), context(withData()));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain('[storage-teardown] 2 Longhorn volumes would lose their data');
    expect(message).toContain('longhorn-system/data-a (PVC shop/data-a-pvc)');
    expect(message).toContain('longhorn-system/data-b');
    expect(message).toContain('kubectl annotate namespace longhorn-system volume-guard.io/skip=storage-teardown');
  });

  it('allows it once no volume is left, or only volumes being deleted', () => {
    const request = req(jobs, 'CREATE', { namespace: 'longhorn-system', name: 'longhorn-uninstall', object: uninstallJob() });
    expect(validator.handle(request, context(model())).allowed).toBe(true);
    const deleting = model((m) => m.upsert('longhornVolume', volume({ name: 'going', deleting: true })));
    expect(validator.handle(request, context(deleting)).allowed).toBe(true);
    const notInstalled = new ClusterModel(VOLUME_SETS);
    expect(validator.handle(request, context(notInstalled)).allowed).toBe(true);
  });

  it('recognises the uninstaller by name or by its longhorn-manager uninstall command, and nothing else', () => {
    expect(isLonghornUninstallJob(uninstallJob())).toBe(true);
    expect(isLonghornUninstallJob(uninstallJob('wipe-storage'))).toBe(true);
    expect(isLonghornUninstallJob(uninstallJob('backup', ['longhorn-manager', 'daemon']))).toBe(false);
    expect(isLonghornUninstallJob({ metadata: { name: 'db-migrate' }, spec: { template: { spec: { containers: [{ image: 'postgres' }] } } } })).toBe(false);
    expect(isLonghornUninstallJob(null)).toBe(false);
    const other = req(jobs, 'CREATE', { namespace: 'shop', name: 'db-migrate', object: { metadata: { name: 'db-migrate' }, spec: {} } });
    expect(validator.handle(other, context(withData())).allowed).toBe(true);
  });

  it("refuses a DELETE of Longhorn's namespace or of a Longhorn CRD, not of others", () => {
    const ns = req({ group: '', resource: 'namespaces' }, 'DELETE', { name: 'longhorn-system', oldObject: { metadata: { name: 'longhorn-system' } } });
    const decision = validator.handle(ns, context(withData()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('deletion of namespace longhorn-system');
    expect(decision.status!.message).toContain('deleted with namespace longhorn-system');
    expect(validator.handle({ ...ns, name: 'shop' }, context(withData())).allowed).toBe(true);
    const crd = req({ group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' }, 'DELETE', { name: 'volumes.longhorn.io' });
    expect(validator.handle(crd, context(withData())).allowed).toBe(false);
    expect(validator.handle({ ...crd, name: 'widgets.example.com' }, context(withData())).allowed).toBe(true);
  });

  it('passes a second DELETE of a namespace or CRD already being deleted: it changes nothing, the first was judged', () => {
    const terminating = { metadata: { name: 'longhorn-system', deletionTimestamp: '2024-05-03T10:00:00Z' } };
    const ns = req({ group: '', resource: 'namespaces' }, 'DELETE', { name: 'longhorn-system', oldObject: terminating });
    expect(validator.handle(ns, context(withData())).allowed).toBe(true);
    const crd = req({ group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' }, 'DELETE', {
      name: 'volumes.longhorn.io',
      oldObject: { metadata: { name: 'volumes.longhorn.io', deletionTimestamp: '2024-05-03T10:00:00Z' } },
    });
    expect(validator.handle(crd, context(withData())).allowed).toBe(true);
    // The API server is not even asked.
    const expression = validator.declaration.matchConditions?.[0]?.expression ?? '';
    expect(expression).toContain("request.name == 'longhorn-system' && !has(oldObject.metadata.deletionTimestamp)");
    // Every CRD's DELETE is sent (plan crd-delete judges the PVCs its kind owns), not one already being deleted.
    expect(expression).toContain("(request.resource.resource == 'customresourcedefinitions' && !has(oldObject.metadata.deletionTimestamp))");
  });

  it('refuses a Longhorn CRD deleted through a collection DELETE, whose items come with no request.name', () => {
    // DELETE .../customresourcedefinitions?labelSelector=app.kubernetes.io/name=longhorn: one review per CRD.
    const item = (name: string) =>
      decodeAdmissionReview(
        admissionReview({
          uid: 'u1',
          kind: { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' },
          resource: { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions' },
          name: '',
          operation: 'DELETE',
          userInfo: { username: 'admin' },
          object: null,
          oldObject: { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } },
        }),
      );
    const decoded = item('volumes.longhorn.io');
    if (!decoded.ok) throw new Error(decoded.reason);
    const decision = validator.handle(decoded.request, context(withData()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('deletion of CRD volumes.longhorn.io');
    const other = item('widgets.example.com');
    if (!other.ok) throw new Error(other.reason);
    expect(validator.handle(other.request, context(withData())).allowed).toBe(true);
    // The webhook is called for such items at all: its matchCondition reads no request.name for a CRD.
    expect(validator.declaration.matchConditions![0]!.expression).toContain("(request.resource.resource == 'customresourcedefinitions' && !has(oldObject.metadata.deletionTimestamp))");
  });

  it("refuses Longhorn's finalizer stripped from a volume or replica by anyone but Longhorn, naming that volume only", () => {
    const withFinalizer = (finalizers: string[], extra: object = {}) => ({ metadata: { name: 'x', finalizers }, ...extra });
    const volumes = { group: 'longhorn.io', resource: 'volumes' };
    const strip = req(volumes, 'UPDATE', {
      namespace: 'longhorn-system',
      name: 'data-a',
      oldObject: withFinalizer(['longhorn.io']),
      object: withFinalizer([]),
    });
    const decision = validator.handle(strip, context(withData()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('longhorn-system/data-a');
    expect(decision.status!.message).not.toContain('data-b');
    expect(validator.handle({ ...strip, userInfo: LONGHORN_SA }, context(withData())).allowed).toBe(true);
    // A write that keeps the finalizer is nothing to judge.
    expect(validator.handle({ ...strip, object: withFinalizer(['longhorn.io']) }, context(withData())).allowed).toBe(true);
    const replicaStrip = req({ group: 'longhorn.io', resource: 'replicas' }, 'UPDATE', {
      namespace: 'longhorn-system',
      name: 'data-b-r-w1',
      oldObject: withFinalizer(['longhorn.io'], { spec: { volumeName: 'data-b' } }),
      object: withFinalizer([], { spec: { volumeName: 'data-b' } }),
    });
    const replicaDecision = validator.handle(replicaStrip, context(withData()));
    expect(replicaDecision.allowed).toBe(false);
    expect(replicaDecision.status!.message).toContain('longhorn-system/data-b');
  });

  it('honors the override on the Longhorn namespace and follows the mode', () => {
    const overridden = withData();
    overridden.upsert('namespace', namespace({ name: 'longhorn-system', annotations: { 'volume-guard.io/skip': 'storage-teardown', 'volume-guard.io/skip-by': 'admin' } }));
    const request = req(jobs, 'CREATE', { namespace: 'longhorn-system', name: 'longhorn-uninstall', object: uninstallJob() });
    const decision = validator.handle(request, context(overridden));
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations?.['overridden-checks']).toBe('storage-teardown');
    const warn: Config = { ...config, checks: { ...config.checks, 'storage-teardown': { mode: 'warn' } } };
    const warned = validator.handle(request, context(withData(), { config: warn }));
    expect(warned.allowed).toBe(true);
    expect(warned.warnings?.join('\n')).toContain('storage-teardown');
  });

  it('declares narrow rules whose conditions name the configured namespace and service account', () => {
    const other = storageTeardownValidator({ ...config, longhorn: { ...config.longhorn, namespace: 'storage', serviceAccount: 'lh' } });
    const expression = other.declaration.matchConditions![0]!.expression;
    expect(expression).toContain("request.name == 'storage'");
    expect(expression).toContain("'system:serviceaccount:storage:lh'");
    expect(expandRules(other.declaration.rules, config.upgrades.kinds).map((r) => `${r.apiGroups[0]}/${r.resources.join('+')}:${r.operations.join('+')}`)).toEqual([
      'batch/jobs:CREATE',
      '/namespaces:DELETE',
      'apiextensions.k8s.io/customresourcedefinitions:DELETE',
      'longhorn.io/volumes+replicas:UPDATE',
      'longhorn.io/replicas:DELETE',
    ]);
  });
});

describe('storage-teardown validator: Longhorn Replica DELETE', () => {
  const validator = storageTeardownValidator(config);
  const replicas = { group: 'longhorn.io', resource: 'replicas' };
  /** The replica as the API server sends it in oldObject. */
  const raw = (r: ReturnType<typeof replica>) => ({
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'Replica',
    metadata: { name: r.name, namespace: r.namespace, ...(r.deleting ? { deletionTimestamp: '2024-05-03T10:00:00Z' } : {}) },
    spec: {
      volumeName: r.volumeName,
      nodeID: r.nodeID,
      diskID: r.diskID,
      healthyAt: r.healthyAt,
      failedAt: r.failedAt,
      desireState: r.desireState,
      active: r.inactive !== true,
    },
    status: { currentState: r.currentState },
  });
  const del = (r: ReturnType<typeof replica>, user?: UserInfo): AdmissionRequest =>
    req(replicas, 'DELETE', { namespace: 'longhorn-system', name: r.name, oldObject: raw(r), object: null, ...(user ? { userInfo: user } : {}) });
  const lone = replica({ volumeName: 'solo', nodeID: 'w1' });
  /** `solo`: one healthy replica on w1, a failed one on w2 (with data), a rebuilding one on w3 (never healthy). */
  const soloModel = (extra: (m: ClusterModel) => void = () => {}) =>
    model((m) => {
      m.upsert('longhornVolume', volume({ name: 'solo', pvcNamespace: 'shop', pvcName: 'solo-pvc' }));
      m.upsert('longhornReplica', lone);
      m.upsert('longhornReplica', failedReplica({ volumeName: 'solo', nodeID: 'w2' }));
      m.upsert('longhornReplica', replica({ volumeName: 'solo', nodeID: 'w3', healthyAt: '', currentState: 'running' }));
      extra(m);
    });

  it("refuses deleting a volume's last healthy copy, naming the volume and its PVC", () => {
    const decision = validator.handle(del(lone), context(soloModel()));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain('deletion of Longhorn replica longhorn-system/solo-r-w1');
    expect(message).toContain('longhorn-system/solo');
    expect(message).toContain('PVC shop/solo-pvc');
    expect(message).toContain('last healthy copy');
    expect(message).toContain('kubectl annotate namespace longhorn-system volume-guard.io/skip=storage-teardown');
  });

  it('allows it while another healthy replica is on a node that is up, on another node or not', () => {
    expect(validator.handle(del(replica({ volumeName: 'data-a', nodeID: 'w1' })), context(withData())).allowed).toBe(true);
    // Two healthy replicas on one node (soft anti-affinity): deleting one leaves the other.
    const twin = replica({ volumeName: 'solo', nodeID: 'w1', name: 'solo-r-twin', diskID: lone.diskID });
    expect(validator.handle(del(lone), context(soloModel((m) => m.upsert('longhornReplica', twin)))).allowed).toBe(true);
  });

  it("counts no copy in an inactive twin (spec.active false): it shares the active replica's data directory", () => {
    // A live migration's matching replica: same node, same disk, same data directory, not active. longhorn-manager
    // deletes the directory with the active replica, and never with an inactive one.
    const twin = replica({ volumeName: 'solo', nodeID: 'w1', name: 'solo-r-twin', diskID: lone.diskID, inactive: true });
    const migrating = soloModel((m) => m.upsert('longhornReplica', twin));
    const decision = validator.handle(del(lone), context(migrating));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('last healthy copy');
    expect(validator.handle(del(twin), context(migrating)).allowed).toBe(true);
  });

  it("counts only copies on nodes that are up: the other healthy replica on a node Longhorn reports down is no copy", () => {
    const other = replica({ volumeName: 'solo', nodeID: 'w3', name: 'solo-r-w3b' });
    const up = soloModel((m) => m.upsert('longhornReplica', other));
    expect(validator.handle(del(lone), context(up)).allowed).toBe(true);
    const down = soloModel((m) => {
      m.upsert('longhornReplica', other);
      m.upsert('longhornNode', longhornNode({ name: 'w3', down: true }));
    });
    expect(validator.handle(del(lone), context(down)).allowed).toBe(false);
  });

  it('counts no copy on a node being removed with its disks (its Cluster API Machine being deleted)', () => {
    const other = replica({ volumeName: 'solo', nodeID: 'w3', name: 'solo-r-w3b' });
    const removing = soloModel((m) => {
      m.upsert('longhornReplica', other);
      m.upsert('machine', machineRecord({ namespace: 'capi', name: 'm-w3', nodeName: 'w3', deleting: true }));
    });
    const decision = validator.handle(del(lone), context(removing));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('is its last healthy copy on a node that is up and stays (the others are on nodes being removed)');
    // The replica on the node going may be deleted: the one on w1 stays.
    expect(validator.handle(del(other), context(removing)).allowed).toBe(true);
  });

  it('refuses deleting the only replica with data of a volume without a healthy copy (its salvage source)', () => {
    const faulted = model((m) => {
      m.upsert('longhornVolume', volume({ name: 'lost', robustness: 'faulted' }));
      m.upsert('longhornReplica', failedReplica({ volumeName: 'lost', nodeID: 'w1' }));
      m.upsert('longhornReplica', replica({ volumeName: 'lost', nodeID: 'w2', healthyAt: '' }));
    });
    const decision = validator.handle(del(failedReplica({ volumeName: 'lost', nodeID: 'w1' })), context(faulted));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('holds the only data left');
    // A second failed replica with data: Longhorn can salvage from it.
    faulted.upsert('longhornReplica', failedReplica({ volumeName: 'lost', nodeID: 'w3' }));
    expect(validator.handle(del(failedReplica({ volumeName: 'lost', nodeID: 'w1' })), context(faulted)).allowed).toBe(true);
  });

  it("refuses deleting the failed replica auto-salvage would bring back when the replicas left failed outside its window", () => {
    // longhorn-manager's auto-salvage brings back the usable failed replicas within a minute of the latest one. Deleting
    // the newest makes the hour-older one the latest: the volume would come back an hour old.
    const newest = failedReplica({ volumeName: 'lost', nodeID: 'w1', failedAt: '2024-05-03T10:00:00Z' });
    const stale = failedReplica({ volumeName: 'lost', nodeID: 'w2', failedAt: '2024-05-03T09:00:00Z' });
    const faulted = model((m) => {
      m.upsert('longhornVolume', volume({ name: 'lost', robustness: 'faulted', pvcNamespace: 'shop', pvcName: 'db' }));
      m.upsert('longhornReplica', newest);
      m.upsert('longhornReplica', stale);
    });
    const decision = validator.handle(del(newest), context(faulted));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('replica lost-r-w1 on node w1 holds the newest data; the replicas left are older');
    expect(decision.status!.message).toContain('PVC shop/db');
    // No healthy copy to rebuild from: the fix is salvage, not a rebuild or a backup.
    expect(decision.status!.message.replace(/\s+/g, ' ')).toContain('let Longhorn salvage the volume from it');
    expect(decision.status!.message).not.toContain('rebuild another healthy copy');
    // The stale one salvage leaves failed: deleting it loses nothing.
    expect(validator.handle(del(stale), context(faulted)).allowed).toBe(true);
    // Another replica failed within the window stays: salvage brings it back with the same data.
    const twin = failedReplica({ volumeName: 'lost', nodeID: 'w3', failedAt: '2024-05-03T09:59:30Z' });
    faulted.upsert('longhornReplica', twin);
    expect(validator.handle(del(newest), context(faulted)).allowed).toBe(true);
    // ... unless its node is down: salvage skips it and takes the stale one.
    faulted.upsert('longhornNode', longhornNode({ name: 'w3', down: true }));
    expect(validator.handle(del(newest), context(faulted)).allowed).toBe(false);
  });

  it('judges the salvage window among usable replicas: the newest on a node that is down leaves the older one on a node up salvaged', () => {
    const away = failedReplica({ volumeName: 'lost', nodeID: 'w1', failedAt: '2024-05-03T10:00:00Z' });
    const older = failedReplica({ volumeName: 'lost', nodeID: 'w2', failedAt: '2024-05-03T09:00:00Z' });
    const faulted = model((m) => {
      m.upsert('longhornVolume', volume({ name: 'lost', robustness: 'faulted' }));
      m.upsert('longhornReplica', away);
      m.upsert('longhornReplica', older);
      m.upsert('longhornNode', longhornNode({ name: 'w1', down: true }));
    });
    // Salvage takes w2's (the latest usable): deleting it leaves only the one on a down node.
    const decision = validator.handle(del(older), context(faulted));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('is the newest one auto-salvage can bring back; the others as recent are on nodes down or being removed');
  });

  it('allows what loses nothing: a failed or never-healthy replica beside a copy, a replica already deleting, a volume being deleted', () => {
    const m = soloModel();
    expect(validator.handle(del(failedReplica({ volumeName: 'solo', nodeID: 'w2' })), context(m)).allowed).toBe(true);
    expect(validator.handle(del(replica({ volumeName: 'solo', nodeID: 'w3', healthyAt: '' })), context(m)).allowed).toBe(true);
    expect(validator.handle(del({ ...lone, deleting: true }), context(m)).allowed).toBe(true);
    const going = soloModel((g) => g.upsert('longhornVolume', volume({ name: 'solo', deleting: true })));
    expect(validator.handle(del(lone), context(going)).allowed).toBe(true);
    // A replica of a volume volume-guard does not know (not yet seen, or already gone).
    expect(validator.handle(del(replica({ volumeName: 'unknown', nodeID: 'w1' })), context(m)).allowed).toBe(true);
  });

  it("allows Longhorn's own service account, a DELETE in Longhorn's namespace being deleted, and the override", () => {
    expect(validator.handle(del(lone, LONGHORN_SA), context(soloModel())).allowed).toBe(true);
    const tearingDown = soloModel((m) => m.upsert('namespace', namespace({ name: 'longhorn-system', deleting: true })));
    expect(validator.handle(del(lone), context(tearingDown)).allowed).toBe(true);
    const overridden = soloModel((m) =>
      m.upsert('namespace', namespace({ name: 'longhorn-system', annotations: { 'volume-guard.io/skip': 'storage-teardown', 'volume-guard.io/skip-by': 'admin' } })),
    );
    const decision = validator.handle(del(lone), context(overridden));
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations?.['overridden-checks']).toBe('storage-teardown');
  });

  it('is called for Replica DELETEs by anyone but Longhorn, not yet terminating', () => {
    const expression = validator.declaration.matchConditions![0]!.expression;
    expect(expression).toContain("request.operation == 'DELETE' ? (request.resource.resource == 'replicas' && !has(oldObject.metadata.deletionTimestamp))");
  });
});

describe('longhorn-settings validator', () => {
  const validator = longhornSettingsValidator(config);
  const settings = { group: 'longhorn.io', resource: 'settings' };
  const setting = (name: string, value: string, previous?: string): AdmissionRequest =>
    req(settings, previous === undefined ? 'CREATE' : 'UPDATE', {
      namespace: 'longhorn-system',
      name,
      object: { metadata: { name }, value },
      oldObject: previous === undefined ? null : { metadata: { name }, value: previous },
    });

  /** v1 on w1 only (numberOfReplicas 1, attached), v2 detached with its copy on w2, v3 with three copies. */
  function singles(): ClusterModel {
    return model((m) => {
      m.upsert('longhornVolume', volume({ name: 'v1', numberOfReplicas: 1, currentNodeID: 'w1' }));
      m.upsert('longhornReplica', replica({ volumeName: 'v1', nodeID: 'w1' }));
      m.upsert('longhornVolume', detachedVolume({ name: 'v2', numberOfReplicas: 2 }));
      m.upsert('longhornReplica', replica({ volumeName: 'v2', nodeID: 'w2', currentState: 'stopped' }));
      m.upsert('longhornReplica', failedReplica({ volumeName: 'v2', nodeID: 'w3' }));
      m.upsert('longhornVolume', volume({ name: 'v3' }));
      for (const node of ['w1', 'w2', 'w3']) m.upsert('longhornReplica', replica({ volumeName: 'v3', nodeID: node }));
    });
  }

  it('orders the drain policies from no protection to eviction', () => {
    expect([...NODE_DRAIN_POLICIES].sort((a, b) => drainPolicyStrength(a) - drainPolicyStrength(b))).toEqual([
      'always-allow',
      'allow-if-replica-is-stopped',
      'block-if-contains-last-replica',
      'block-for-eviction-if-contains-last-replica',
      'block-for-eviction',
    ]);
  });

  it('refuses deleting-confirmation-flag true while volumes exist, allows it with none, and allows false', () => {
    const decision = validator.handle(setting('deleting-confirmation-flag', 'true', 'false'), context(singles()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('[storage-teardown] 3 Longhorn volumes would lose their data');
    expect(validator.handle(setting('deleting-confirmation-flag', 'true', 'false'), context(model())).allowed).toBe(true);
    expect(validator.handle(setting('deleting-confirmation-flag', 'false', 'true'), context(singles())).allowed).toBe(true);
  });

  it("reads a boolean setting as Longhorn does (Go's strconv.ParseBool): True, TRUE, t or 1 turn it on too", () => {
    for (const value of ['True', 'TRUE', 't', 'T', '1']) {
      expect(validator.handle(setting('deleting-confirmation-flag', value, 'false'), context(singles())).allowed).toBe(false);
      expect(validator.handle(setting('allow-node-drain-with-last-healthy-replica', value), context(singles())).allowed).toBe(false);
    }
    // Already on (in any spelling): re-writing it changes nothing. Off, or a value Longhorn cannot parse, passes.
    expect(validator.handle(setting('deleting-confirmation-flag', 'true', '1'), context(singles())).allowed).toBe(true);
    expect(validator.handle(setting('deleting-confirmation-flag', '0', 'false'), context(singles())).allowed).toBe(true);
    expect(validator.handle(setting('deleting-confirmation-flag', 'yes', 'false'), context(singles())).allowed).toBe(true);
  });

  it('refuses always-allow naming every single-copy volume, allow-if-replica-is-stopped the detached ones and those attached where their copy is', () => {
    const always = validator.handle(setting('node-drain-policy', 'always-allow', 'block-if-contains-last-replica'), context(singles()));
    expect(always.allowed).toBe(false);
    expect(always.status!.message).toContain('longhorn-system/v1 (PVC default/v1-claim): its only copy is on node w1');
    expect(always.status!.message).toContain('longhorn-system/v2 (PVC default/v2-claim): its only copy is on node w2');
    expect(always.status!.message).not.toContain('v3');
    const stopped = validator.handle(setting('node-drain-policy', 'allow-if-replica-is-stopped', 'block-for-eviction'), context(singles()));
    expect(stopped.allowed).toBe(false);
    expect(stopped.status!.message).toContain('longhorn-system/v2');
    // v1 is attached on w1, its copy's node: the drain of w1 evicts its pod, Longhorn detaches it, the copy stops and
    // no longer holds the drain.
    expect(stopped.status!.message).toContain('longhorn-system/v1');
    // Attached on another node, its copy keeps running and keeps holding a drain of w1.
    const elsewhere = singles();
    elsewhere.upsert('longhornVolume', volume({ name: 'v1', numberOfReplicas: 1, currentNodeID: 'w3' }));
    const held = validator.handle(setting('node-drain-policy', 'allow-if-replica-is-stopped', 'block-for-eviction'), context(elsewhere));
    expect(held.status!.message).toContain('longhorn-system/v2');
    expect(held.status!.message).not.toContain('longhorn-system/v1');
  });

  it('allows a stronger or equal policy, and a weaker one when no volume would lose its last copy', () => {
    expect(validator.handle(setting('node-drain-policy', 'block-for-eviction', 'always-allow'), context(singles())).allowed).toBe(true);
    expect(validator.handle(setting('node-drain-policy', 'always-allow', 'always-allow'), context(singles())).allowed).toBe(true);
    const safe = model((m) => {
      m.upsert('longhornVolume', volume({ name: 'v3' }));
      for (const node of ['w1', 'w2', 'w3']) m.upsert('longhornReplica', replica({ volumeName: 'v3', nodeID: node }));
    });
    expect(validator.handle(setting('node-drain-policy', 'always-allow', 'block-for-eviction'), context(safe)).allowed).toBe(true);
  });

  it('judges what the change exposes: volumes the policy in force already leaves unprotected are not its doing', () => {
    // allow-if-replica-is-stopped already lets a drain take v2 (detached) and v1 (attached on its copy's node):
    // always-allow adds nothing for them.
    expect(validator.handle(setting('node-drain-policy', 'always-allow', 'allow-if-replica-is-stopped'), context(singles())).allowed).toBe(true);
    // v1 attached on another node: its running copy holds a drain under allow-if-replica-is-stopped, not under always-allow.
    const elsewhere = singles();
    elsewhere.upsert('longhornVolume', volume({ name: 'v1', numberOfReplicas: 1, currentNodeID: 'w3' }));
    const exposed = validator.handle(setting('node-drain-policy', 'always-allow', 'allow-if-replica-is-stopped'), context(elsewhere));
    expect(exposed.allowed).toBe(false);
    expect(exposed.status!.message).toContain('[storage-teardown] 1 Longhorn volume would lose its data');
    expect(exposed.status!.message).toContain('longhorn-system/v1');
    expect(exposed.status!.message).not.toContain('longhorn-system/v2');
    // The older switch on while node-drain-policy is always-allow already: nothing changes for any drain.
    const always = singles();
    always.upsert('longhornSetting', longhornSetting('node-drain-policy', 'always-allow'));
    expect(validator.handle(setting('allow-node-drain-with-last-healthy-replica', 'true', 'false'), context(always)).allowed).toBe(true);
  });

  it('advises a second copy or the evicting policy, never deleting the volumes a weaker drain policy exposes', () => {
    const message = validator.handle(setting('node-drain-policy', 'always-allow', 'block-if-contains-last-replica'), context(singles())).status!.message;
    expect(message).toContain('Fix: raise numberOfReplicas of those volumes to 2 or more');
    expect(message).toContain('block-for-eviction-if-contains-last-replica');
    expect(message).not.toContain('delete those volumes');
  });

  it('refuses allow-node-drain-with-last-healthy-replica true like always-allow; leaves Longhorn itself alone', () => {
    const decision = validator.handle(setting('allow-node-drain-with-last-healthy-replica', 'true', 'false'), context(singles()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('longhorn-system/v1');
    const byLonghorn = { ...setting('node-drain-policy', 'always-allow', 'block-if-contains-last-replica'), userInfo: LONGHORN_SA };
    expect(validator.handle(byLonghorn, context(singles())).allowed).toBe(true);
    expect(validator.handle(setting('backup-target', 's3://x', ''), context(singles())).allowed).toBe(true);
  });

  describe("Longhorn's default-setting ConfigMap (the chart's defaultSettings): longhorn-manager writes each value to its Setting", () => {
    const configMaps = { group: '', resource: 'configmaps' };
    const configMap = (text: string | undefined, name = 'longhorn-default-setting'): AdmissionRequest =>
      req(configMaps, 'UPDATE', {
        namespace: 'longhorn-system',
        name,
        object: { metadata: { name }, data: text === undefined ? {} : { 'default-setting.yaml': text } },
        oldObject: { metadata: { name }, data: {} },
      });
    const live = (policy: string): ClusterModel => {
      const m = singles();
      m.upsert('longhornSetting', { namespace: 'longhorn-system', name: 'node-drain-policy', value: policy });
      return m;
    };

    it('refuses a value weaker than the live Setting, whoever writes it (helm upgrade, kubectl edit)', () => {
      const text = 'priority-class: longhorn-critical\nnode-drain-policy: always-allow\nbackup-target:\n';
      const decision = validator.handle(configMap(text), context(live('block-if-contains-last-replica')));
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toContain('change of Longhorn setting node-drain-policy to "always-allow" (ConfigMap longhorn-system/longhorn-default-setting)');
      expect(decision.status!.message).toContain('longhorn-system/v1');
      // Helm's own write too: longhorn-manager applies it as itself, past the Setting's webhook.
      expect(validator.handle({ ...configMap(text), options: { fieldManager: 'helm' } }, context(live('block-if-contains-last-replica'))).allowed).toBe(false);
      // YAML booleans are read as Longhorn reads them, as strings.
      expect(validator.handle(configMap('allow-node-drain-with-last-healthy-replica: true\n'), context(singles())).allowed).toBe(false);
      expect(validator.handle(configMap('allow-node-drain-with-last-healthy-replica: True\n'), context(singles())).allowed).toBe(false);
      // As go-yaml v2 reads it: the first document only, a repeated key's last value, merge keys.
      const weak = live('block-if-contains-last-replica');
      for (const text of [
        'node-drain-policy: always-allow\n---\nnode-drain-policy: block-for-eviction\n',
        'node-drain-policy: block-for-eviction\nnode-drain-policy: always-allow\n',
        '<<: {node-drain-policy: always-allow}\n',
      ]) {
        expect(validator.handle(configMap(text), context(weak)).allowed, text).toBe(false);
      }
      expect(validator.handle(configMap('deleting-confirmation-flag: true\n'), context(singles())).allowed).toBe(false);
    });

    it('passes a value no weaker than the live Setting, empty values, other ConfigMaps, and says when Longhorn can read none of it', () => {
      expect(validator.handle(configMap('node-drain-policy: always-allow\n'), context(live('always-allow'))).allowed).toBe(true);
      expect(validator.handle(configMap('node-drain-policy: block-for-eviction\n'), context(live('block-if-contains-last-replica'))).allowed).toBe(true);
      expect(validator.handle(configMap('node-drain-policy:\ndeleting-confirmation-flag: ""\n'), context(singles())).allowed).toBe(true);
      expect(validator.handle(configMap(undefined), context(singles())).allowed).toBe(true);
      expect(validator.handle(configMap('node-drain-policy: always-allow\n', 'other'), context(singles())).allowed).toBe(true);
      // A file far larger than Longhorn's own is refused unread, with what to do (parsing it would hold up every request).
      const huge = validator.handle(configMap(`# ${'x'.repeat(20_000)}\nnode-drain-policy: block-for-eviction\n`), context(singles()));
      expect(huge.allowed).toBe(false);
      expect(huge.status!.message).toContain('volume-guard reads up to 16 KiB of it');
      const unreadable = validator.handle(configMap('- a list\n'), context(singles()));
      expect(unreadable.allowed).toBe(true);
      expect(unreadable.warnings?.join('\n')).toContain('is not a YAML map');
      const expression = validator.declaration.matchConditions?.[0]?.expression ?? '';
      expect(expression).toContain("request.resource.resource == 'configmaps'");
      expect(expression).toContain("'longhorn-default-setting'");
    });

    it('honors the skip on Longhorn\'s namespace, as for the Setting', () => {
      const m = live('block-if-contains-last-replica');
      m.upsert('namespace', namespace({ name: 'longhorn-system', annotations: { 'volume-guard.io/skip': 'storage-teardown', 'volume-guard.io/skip-by': 'admin' } }));
      const decision = validator.handle(configMap('node-drain-policy: always-allow\n'), context(m));
      expect(decision.allowed).toBe(true);
      expect(decision.overrides).toEqual(['storage-teardown']);
    });
  });
});

describe('storage upgrades', () => {
  /** ok: healthy; faulted: faulted; lost: its healthy replica on a node Longhorn reports down. */
  function risky(): ClusterModel {
    return model((m) => {
      m.upsert('longhornVolume', volume({ name: 'ok' }));
      for (const node of ['w1', 'w2', 'w3']) m.upsert('longhornReplica', replica({ volumeName: 'ok', nodeID: node }));
      m.upsert('longhornVolume', volume({ name: 'faulted', robustness: 'faulted' }));
      m.upsert('longhornReplica', failedReplica({ volumeName: 'faulted', nodeID: 'w1' }));
      m.upsert('longhornVolume', detachedVolume({ name: 'lost', numberOfReplicas: 2 }));
      m.upsert('longhornReplica', replica({ volumeName: 'lost', nodeID: 'w3', currentState: 'stopped' }));
      m.upsert('longhornNode', longhornNode({ name: 'w3', down: true }));
    });
  }
  const manager = (image: string, annotations: Record<string, string> = {}) => ({
    metadata: { name: 'longhorn-manager', namespace: 'longhorn-system', annotations },
    spec: { template: { spec: { containers: [{ name: 'longhorn-manager', image }] } } },
  });
  const daemonsets = { group: 'apps', resource: 'daemonsets' };
  const update = (image: string, annotations: Record<string, string> = {}) =>
    req(daemonsets, 'UPDATE', {
      namespace: 'longhorn-system',
      name: 'longhorn-manager',
      object: manager(image, annotations),
      oldObject: manager('longhornio/longhorn-manager:v1.7.2', annotations),
    });
  const validator = storageUpgradeValidator(config);

  it('refuses a new longhorn-manager image while volumes are faulted or have no copy on a node that is up', () => {
    const decision = validator.handle(update('longhornio/longhorn-manager:v1.8.0'), context(risky()));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain('[volume-health] 2 Longhorn volumes are not healthy');
    expect(message).toContain('longhorn-system/faulted');
    expect(message).toContain('longhorn-system/lost');
    expect(message).not.toContain('longhorn-system/ok');
  });

  it('allows it on a healthy Longhorn, and any update that keeps the images', () => {
    const healthy = model((m) => {
      m.upsert('longhornVolume', volume({ name: 'ok' }));
      for (const node of ['w1', 'w2']) m.upsert('longhornReplica', replica({ volumeName: 'ok', nodeID: node }));
    });
    expect(validator.handle(update('longhornio/longhorn-manager:v1.8.0'), context(healthy)).allowed).toBe(true);
    // Degraded is not faulted: a healthy copy on a node that is up is what Longhorn rebuilds from after the upgrade.
    healthy.upsert('longhornVolume', volume({ name: 'degraded', robustness: 'degraded' }));
    healthy.upsert('longhornReplica', replica({ volumeName: 'degraded', nodeID: 'w1' }));
    healthy.upsert('longhornReplica', failedReplica({ volumeName: 'degraded', nodeID: 'w2' }));
    expect(validator.handle(update('longhornio/longhorn-manager:v1.8.0'), context(healthy)).allowed).toBe(true);
    expect(validator.handle(update('longhornio/longhorn-manager:v1.7.2'), context(risky())).allowed).toBe(true);
    // Helm's workloads are judged at the release record (the chart upgrade), not twice.
    expect(validator.handle(update('longhornio/longhorn-manager:v1.8.0', { 'meta.helm.sh/release-name': 'longhorn' }), context(risky())).allowed).toBe(true);
  });

  it("judges anyone else's new image on a Helm-managed manager (kubectl set image, a GitOps sync, a UI), never Helm's own", () => {
    const helmManaged = { 'meta.helm.sh/release-name': 'longhorn', 'meta.helm.sh/release-namespace': 'longhorn-system' };
    const by = (fieldManager: string | undefined, oldObject?: unknown): AdmissionRequest => {
      const review = update('longhornio/longhorn-manager:v1.8.0', helmManaged);
      return {
        ...review,
        ...(fieldManager === undefined ? {} : { options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager } }),
        ...(oldObject === undefined ? {} : { oldObject }),
      };
    };
    const managers = ['kubectl-set', 'kubectl-edit', 'kubectl-patch', 'kubectl-rollout', 'kubectl-client-side-apply', 'kubectl'];
    for (const manager of [...managers, 'kustomize-controller', 'argocd-controller', 'rancher', 'kubectlish']) {
      const decision = validator.handle(by(manager), context(risky()));
      expect(decision.allowed, manager).toBe(false);
      expect(decision.status!.message).toContain('longhorn-system/faulted');
    }
    // Helm (the binary's name), Flux's helm-controller, and a client that names no manager: Helm's write.
    for (const manager of ['helm', 'helm-controller', 'Helm', '', undefined]) {
      expect(validator.handle(by(manager), context(risky())).allowed, String(manager)).toBe(true);
    }
    // A tool built on Helm's library under its own name: Helm's when it owns the release annotation it installed.
    const stored = (owner: string): unknown => {
      const old = update('longhornio/longhorn-manager:v1.7.2', helmManaged).oldObject as { metadata: Record<string, unknown> };
      const fieldsV1 = { 'f:metadata': { 'f:annotations': { 'f:meta.helm.sh/release-name': {}, 'f:meta.helm.sh/release-namespace': {} } } };
      return { ...old, metadata: { ...old.metadata, managedFields: [{ manager: owner, operation: 'Update', fieldsV1 }] } };
    };
    expect(validator.handle(by('rancher-helm-op', stored('rancher-helm-op')), context(risky())).allowed).toBe(true);
    expect(validator.handle(by('rancher', stored('rancher-helm-op')), context(risky())).allowed).toBe(false);
  });

  it('recognises the Longhorn chart by its chart name on upgrade and rollback, not on install', () => {
    const none = { longhornManagers: [] };
    const of = (chartName: string, operation: 'install' | 'upgrade' | 'rollback') => storageUpgradeCheck({ release: { chartName }, operation, manifest: none });
    expect(of('longhorn', 'upgrade')?.check).toBe('volume-health');
    expect(of('longhorn', 'rollback')?.check).toBe('volume-health');
    expect(of('longhorn', 'install')).toBeUndefined();
    expect(of('my-longhorn-dashboard', 'upgrade')).toBeUndefined();
    const found = of('longhorn', 'upgrade')!.collect(risky(), {});
    expect(found.findings.map((f) => f.object.name).sort()).toEqual(['faulted', 'lost']);
  });
});



describe('storage-teardown answers to a requester outside Longhorn\'s namespace', () => {
  const validator = storageTeardownValidator(config);
  const jobs = { group: 'batch', resource: 'jobs' };
  const tenant: UserInfo = { username: 'tenant', groups: ['system:authenticated'] };
  const job = (namespaceName: string) => ({ ...uninstallJob(), metadata: { name: 'longhorn-uninstall', namespace: namespaceName } });
  const withOwn = (): ClusterModel => {
    const m = withData();
    m.upsert('longhornVolume', volume({ name: 'own', pvcNamespace: 'tenant-a', pvcName: 'cache' }));
    m.upsert('longhornVolume', volume({ name: 'static', pvcNamespace: '', pvcName: '' }));
    return m;
  };

  it('refuses an uninstaller Job created in another namespace, naming only that namespace\'s and no tenant\'s volumes', () => {
    const decision = validator.handle(req(jobs, 'CREATE', { namespace: 'tenant-a', name: 'longhorn-uninstall', object: job('tenant-a'), userInfo: tenant }), context(withOwn()));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain('[storage-teardown] 4 Longhorn volumes would lose their data');
    // Counted on one line, not one line per volume.
    expect(message).toContain('  2 volumes of other namespaces, each: its data goes with the storage system; names: volume-guard audit\n');
    expect(message).not.toContain('shop');
    expect(message).not.toContain('data-a');
    expect(message).toContain('longhorn-system/own (PVC tenant-a/cache)');
    expect(message).toContain('longhorn-system/static');
  });

  it('names every volume to a requester in Longhorn\'s namespace', () => {
    const decision = validator.handle(req(jobs, 'CREATE', { namespace: 'longhorn-system', name: 'longhorn-uninstall', object: job('longhorn-system') }), context(withOwn()));
    expect(decision.status!.message).toContain('longhorn-system/data-a (PVC shop/data-a-pvc)');
  });
});
