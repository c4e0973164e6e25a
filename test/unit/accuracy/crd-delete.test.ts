// A CRD's DELETE takes every object of its kind with it: the CRD finalizer deletes them straight in storage (no
// webhook sees those), then the garbage collector the PVCs they own and the PV controller their volumes. Argo CD or
// Flux pruning an operator's CRD, `helm uninstall` of a chart shipping CRDs in templates/. Judged at the CRD's DELETE
// (plan crd-delete, storage-teardown webhook), whoever deletes it.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { storageTeardownValidator } from '../../../src/admission/validators/storage-teardown.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectClaimsDeletedWithKind, dependentsOfKind } from '../../../src/checks/pvc-delete.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { OwnerRef } from '../../../src/cluster/records.ts';
import { transformPersistentVolumeClaim } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';

const config = defaultConfig();
const validator = storageTeardownValidator(config);
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const ALICE: UserInfo = { username: 'alice', groups: ['system:authenticated'] };
const CNPG: OwnerRef = { apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', name: 'db', uid: 'uid-cnpg', controller: true };

interface CrdOptions {
  group?: string;
  kind?: string;
  scope?: string;
  user?: UserInfo;
  annotations?: Record<string, string>;
  /** status.conditions Established (True unless false). */
  established?: boolean;
  /** status.acceptedNames.kind (the spec's kind unless set). */
  acceptedKind?: string;
  /** spec.versions: name → served (v1 served unless set). */
  versions?: Record<string, boolean>;
}

function crdDelete(options: CrdOptions = {}): AdmissionRequest {
  const group = options.group ?? 'postgresql.cnpg.io';
  const name = `clusters.${group}`;
  const kind = options.kind ?? 'Cluster';
  const versions = Object.entries(options.versions ?? { v1: true }).map(([version, served]) => ({ name: version, served, storage: served }));
  return request({
    kind: { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' },
    resource: { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions' },
    operation: 'DELETE',
    namespace: '',
    name,
    userInfo: options.user ?? ARGO,
    oldObject: {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name, uid: 'uid-crd', annotations: options.annotations ?? {} },
      spec: { group, names: { kind, plural: 'clusters' }, scope: options.scope ?? 'Namespaced', versions },
      status: {
        acceptedNames: { kind: options.acceptedKind ?? kind, plural: 'clusters' },
        conditions: [
          { type: 'NamesAccepted', status: options.established === false ? 'False' : 'True' },
          { type: 'Established', status: options.established === false ? 'False' : 'True' },
        ],
      },
    },
  });
}

/** shop/db-1 owned by the CloudNativePG Cluster db, bound to pv-1 under reclaim `policy`. */
function cluster(policy = 'Delete', owners: readonly OwnerRef[] = [CNPG], annotations: Record<string, string> = {}): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: 'shop' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'db-1', volumeName: 'pv-1', ownerReferences: owners, annotations }));
  m.upsert('persistentVolume', pv({ name: 'pv-1', claimNamespace: 'shop', claimName: 'db-1', reclaimPolicy: policy }));
  return m;
}

describe("a CRD's DELETE takes the PVCs the objects of its kind own", () => {
  it('refuses the prune of the CloudNativePG CRD, naming the Bound PVC its Cluster owns', () => {
    const refused = validator.handle(crdDelete(), context(cluster()));
    expect(refused.allowed).toBe(false);
    const message = refused.status?.message ?? '';
    expect(message).toContain('deletion of CRD clusters.postgresql.cnpg.io');
    expect(message).toContain('shop/db-1');
    expect(message).toContain('Cluster shop/db');
    expect(message).toContain('keep the CRD');
    // At helm uninstall Helm reads the policy from the release's manifest, never the live CRD.
    const fix = message.replace(/\s+/g, ' ');
    expect(fix).toContain('Helm: set helm.sh/resource-policy: keep on it in the chart, or ship it in crds/, which Helm never deletes');
    // The live CRD is annotated with kubectl's syntax (key=value), never a YAML one.
    expect(fix).toContain('for an upgrade, kubectl annotate crd "<name>" helm.sh/resource-policy=keep is enough');
    expect(fix).not.toContain('annotate it helm.sh/resource-policy');
  });

  it("says the CRD's consequence once, in the verdict; each PVC's line names its owner and reclaim policy only", () => {
    const m = cluster();
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'db-2', volumeName: 'pv-2', ownerReferences: [CNPG] }));
    m.upsert('persistentVolume', pv({ name: 'pv-2', claimNamespace: 'shop', claimName: 'db-2', reclaimPolicy: 'Delete' }));
    const message = validator.handle(crdDelete({ user: ALICE }), context(m)).status?.message ?? '';
    const lines = message.split('\n');
    expect(lines[0]).toBe(
      'volume-guard refused the deletion of CRD clusters.postgresql.cnpg.io by alice (every Cluster goes with it, and the ' +
        'garbage collector deletes the PVCs they own): 2 risks of data loss.',
    );
    expect(lines).toContain('  PVC shop/db-1 (PV pv-1): owned by Cluster shop/db; reclaim Delete');
    expect(lines).toContain('  PVC shop/db-2 (PV pv-2): owned by Cluster shop/db; reclaim Delete');
    expect(message.split('goes with').length - 1).toBe(1);
    // Two PVCs: their PVs, plural.
    expect(lines).toContain('  deleted, and the reclaim policy of their PVs destroys the data');
  });

  it('gives one annotate command per namespace (kubectl annotate -n takes one), and says who deletes it again', () => {
    const m = cluster();
    m.upsert('namespace', namespace({ name: 'erp' }));
    const other: OwnerRef = { ...CNPG, name: 'db2', uid: 'uid-cnpg-2' };
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'erp', name: 'db2-1', volumeName: 'pv-e', ownerReferences: [other] }));
    m.upsert('persistentVolume', pv({ name: 'pv-e', claimNamespace: 'erp', claimName: 'db2-1', reclaimPolicy: 'Delete' }));
    // A namespace whose PVC keeps its data (Retain) gets no command.
    m.upsert('namespace', namespace({ name: 'kept' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'kept', name: 'k-1', volumeName: 'pv-k', ownerReferences: [{ ...CNPG, name: 'k', uid: 'uid-k' }] }));
    m.upsert('persistentVolume', pv({ name: 'pv-k', claimNamespace: 'kept', claimName: 'k-1', reclaimPolicy: 'Retain' }));
    const byAlice = validator.handle(crdDelete({ user: ALICE }), context(m)).status?.message ?? '';
    const approval = 'volume-guard.io/delete=true volume-guard.io/skip-by="<you>"';
    expect(byAlice).toContain(`\n  kubectl annotate pvc db2-1 -n erp ${approval}\n`);
    expect(byAlice).toContain(`\n  kubectl annotate pvc db-1 -n shop ${approval}\n`);
    expect(byAlice).not.toContain('-n kept');
    expect(byAlice).not.toContain('<its namespace>');
    expect(byAlice).not.toContain('let the delete be retried');
    expect(byAlice).toContain('then run the delete again (kubectl delete crd clusters.postgresql.cnpg.io, or the same helm uninstall)');
    expect(validator.handle(crdDelete(), context(m)).status?.message).toContain('then let the controller retry');
    // Past three namespaces, one command to fill in for the others.
    for (const ns of ['a1', 'a2', 'a3']) {
      m.upsert('namespace', namespace({ name: ns }));
      m.upsert('persistentVolumeClaim', pvc({ namespace: ns, name: 'd', volumeName: `pv-${ns}`, ownerReferences: [{ ...CNPG, uid: `uid-${ns}` }] }));
      m.upsert('persistentVolume', pv({ name: `pv-${ns}`, claimNamespace: ns, claimName: 'd', reclaimPolicy: 'Delete' }));
    }
    const many = validator.handle(crdDelete({ user: ALICE }), context(m)).status?.message ?? '';
    expect(many.match(/kubectl annotate pvc /g)).toHaveLength(4);
    expect(many).toContain(`kubectl annotate pvc "<pvc>" -n "<its namespace>" ${approval}`);
  });

  it('refuses a person deleting it too (not only automation)', () => {
    expect(validator.handle(crdDelete({ user: ALICE }), context(cluster())).allowed).toBe(false);
  });

  it('passes a CRD whose kind owns nothing', () => {
    const m = cluster('Delete', []);
    expect(validator.handle(crdDelete(), context(m)).allowed).toBe(true);
  });

  it('passes when the PVs keep the data (reclaim Retain)', () => {
    expect(validator.handle(crdDelete(), context(cluster('Retain'))).allowed).toBe(true);
  });

  it('passes a CRD of the same kind in another group: owner references match by group, not kind alone', () => {
    expect(validator.handle(crdDelete({ group: 'example.io' }), context(cluster())).allowed).toBe(true);
    // An owner reference of another group's Cluster is no owner of this CRD's kind either.
    const other = cluster('Delete', [{ ...CNPG, apiVersion: 'cluster.x-k8s.io/v1beta1' }]);
    expect(validator.handle(crdDelete(), context(other)).allowed).toBe(true);
  });

  it('passes once each PVC carries an approval by a policed writer', () => {
    const approved = cluster('Delete', [CNPG], { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' });
    const decision = validator.handle(crdDelete(), context(approved));
    expect(decision.allowed, decision.status?.message).toBe(true);
  });

  it("passes with a skip of pvc-delete on the CRD, as stored (its writes are policed)", () => {
    const annotations = { 'volume-guard.io/skip': 'pvc-delete', 'volume-guard.io/skip-by': 'admin' };
    const decision = validator.handle(crdDelete({ annotations }), context(cluster()));
    expect(decision.allowed, decision.status?.message).toBe(true);
    expect(decision.overrides).toContain('pvc-delete');
  });

  it('keeps a PVC another StatefulSet still owns', () => {
    const m = cluster('Delete', [CNPG, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'keeper', uid: 'uid-keeper' }]);
    m.upsert('statefulSet', statefulSet({ namespace: 'shop', name: 'keeper', uid: 'uid-keeper' }));
    expect(validator.handle(crdDelete(), context(m)).allowed).toBe(true);
  });

  it('names the PVCs of a StatefulSet an object of the kind owns (whenDeleted: Delete)', () => {
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('namespace', namespace({ name: 'mq' }));
    const sts = statefulSet({ namespace: 'mq', name: 'rabbit-server', uid: 'uid-sts', ownerUids: ['uid-cr'], ownerTypes: ['rabbitmq.com/v1beta1/RabbitmqCluster'], controlled: true });
    m.upsert('statefulSet', sts);
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'mq', name: 'data-rabbit-server-0', volumeName: 'pv-0', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'rabbit-server', uid: 'uid-sts', controller: true }] }));
    m.upsert('persistentVolume', pv({ name: 'pv-0', claimNamespace: 'mq', claimName: 'data-rabbit-server-0', reclaimPolicy: 'Delete' }));
    const del = crdDelete({ group: 'rabbitmq.com', kind: 'RabbitmqCluster', versions: { v1beta1: true } });
    const refused = validator.handle(del, context(m));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('mq/data-rabbit-server-0');
    expect(refused.status?.message).toContain('StatefulSet mq/rabbit-server, which a RabbitmqCluster owns');
    // Another kind's owner keeping the StatefulSet, it passes.
    m.upsert('statefulSet', { ...sts, ownerUids: ['uid-cr', 'uid-x'], ownerTypes: ['rabbitmq.com/v1beta1/RabbitmqCluster', 'example.io/v1/Other'] });
    expect(validator.handle(del, context(m)).allowed).toBe(true);
  });

  it('passes a CRD already being deleted: the first DELETE was judged', () => {
    const del = crdDelete();
    const old = del.oldObject as { metadata: Record<string, unknown> };
    old.metadata['deletionTimestamp'] = '2024-05-03T10:00:00Z';
    expect(validator.handle(del, context(cluster())).allowed).toBe(true);
  });

  it("passes the PVCs of a namespace being deleted: the namespace controller deletes them whatever is decided", () => {
    const m = cluster();
    m.upsert('namespace', namespace({ name: 'shop', deleting: true }));
    expect(validator.handle(crdDelete(), context(m)).allowed).toBe(true);
    // Another namespace's claim of the kind is still named.
    m.upsert('namespace', namespace({ name: 'erp' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'erp', name: 'db-1', volumeName: 'pv-2', ownerReferences: [{ ...CNPG, uid: 'uid-erp' }] }));
    m.upsert('persistentVolume', pv({ name: 'pv-2', claimNamespace: 'erp', claimName: 'db-1', reclaimPolicy: 'Delete' }));
    const refused = validator.handle(crdDelete(), context(m));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('erp/db-1');
    expect(refused.status?.message).not.toContain('shop/db-1');
  });

  it('passes a CRD never Established: the CRD finalizer then deletes no object', () => {
    // NamesAccepted=False (its kind taken by another CRD of the group): Established never turned True.
    expect(validator.handle(crdDelete({ established: false }), context(cluster())).allowed).toBe(true);
  });

  it('matches the kind the CRD serves (status.acceptedNames), not one spec.names asks for', () => {
    // spec.names.kind changed to one another CRD holds: the objects served, and deleted, are still Cluster.
    const renamed = crdDelete({ kind: 'PgCluster', acceptedKind: 'Cluster' });
    expect(validator.handle(renamed, context(cluster())).allowed).toBe(false);
    expect(validator.handle(crdDelete({ kind: 'Cluster', acceptedKind: 'PgCluster' }), context(cluster())).allowed).toBe(true);
  });

  it('passes owner references through a version the CRD no longer serves: the garbage collector never resolves them', () => {
    const m = cluster('Delete', [{ ...CNPG, apiVersion: 'postgresql.cnpg.io/v1beta1' }]);
    expect(validator.handle(crdDelete({ versions: { v1beta1: false, v1: true } }), context(m)).allowed).toBe(true);
    expect(validator.handle(crdDelete({ versions: { v1beta1: true, v1: true } }), context(m)).allowed).toBe(false);
    // A StatefulSet owned through an unserved version stays, and so do its claims.
    const sets = new ClusterModel(VOLUME_SETS);
    sets.upsert('namespace', namespace({ name: 'mq' }));
    sets.upsert('statefulSet', statefulSet({ namespace: 'mq', name: 'rabbit-server', uid: 'uid-sts', ownerUids: ['uid-cr'], ownerTypes: ['rabbitmq.com/v1alpha1/RabbitmqCluster'] }));
    sets.upsert('persistentVolumeClaim', pvc({ namespace: 'mq', name: 'data-rabbit-server-0', volumeName: 'pv-0', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'rabbit-server', uid: 'uid-sts', controller: true }] }));
    sets.upsert('persistentVolume', pv({ name: 'pv-0', claimNamespace: 'mq', claimName: 'data-rabbit-server-0', reclaimPolicy: 'Delete' }));
    const rabbit = (versions: Record<string, boolean>) => crdDelete({ group: 'rabbitmq.com', kind: 'RabbitmqCluster', versions });
    expect(validator.handle(rabbit({ v1alpha1: false, v1beta1: true }), context(sets)).allowed).toBe(true);
    expect(validator.handle(rabbit({ v1alpha1: true, v1beta1: true }), context(sets)).allowed).toBe(false);
  });

  it('files no claim under a built-in owner kind (a CRD group always has a dot)', () => {
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'uid-sts' }] }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'web-0-scratch', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-0', uid: 'uid-pod', controller: true }] }));
    m.upsert('statefulSet', statefulSet({ namespace: 'shop', name: 'db', ownerUids: ['uid-dep'], ownerTypes: ['apps/v1/Deployment'] }));
    const sizes = m.internalSizes();
    expect(sizes['persistentVolumeClaim.byOwnerKind']).toBe(0);
    expect(sizes['statefulSet.byOwnerKind']).toBe(0);
    // A custom resource's owner is filed, the built-in one beside it not.
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'db-1', ownerReferences: [CNPG, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'uid-sts' }] }));
    expect(m.internalSizes()['persistentVolumeClaim.byOwnerKind']).toBe(1);
    expect(m.persistentVolumeClaimsOwnedByKind('postgresql.cnpg.io', 'Cluster').map((claim) => claim.name)).toEqual(['db-1']);
  });

  it("keeps the owner reference's apiVersion in the model", () => {
    const claim = transformPersistentVolumeClaim({
      metadata: { name: 'db-1', namespace: 'shop', ownerReferences: [{ apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', name: 'db', uid: 'uid-cnpg', controller: true }] },
    });
    expect(claim?.ownerReferences).toEqual([CNPG]);
  });

  it("the plan's collector reads the dependents the validator computed, instead of walking the indexes again", () => {
    const m = cluster();
    const target = { crd: 'clusters.postgresql.cnpg.io', group: 'postgresql.cnpg.io', kind: 'Cluster', namespaced: true, served: ['v1'], now: 0 };
    const dependents = dependentsOfKind(m, target);
    expect(collectClaimsDeletedWithKind(m, { ...target, dependents }).findings.map((finding) => finding.object.name)).toEqual(['db-1']);
    // Dependents computed before the claim appeared: the collector trusts them (it does not look again).
    const none = dependentsOfKind(new ClusterModel(VOLUME_SETS), target);
    expect(collectClaimsDeletedWithKind(m, { ...target, dependents: none }).findings).toEqual([]);
    expect(collectClaimsDeletedWithKind(m, target).findings).toHaveLength(1);
  });
});
