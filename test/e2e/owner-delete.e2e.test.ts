// Through the real API server, kubectl and the real garbage collector: a GitOps prune (Argo CD's identity,
// impersonated) of an object that Bound PVCs name as owner, as an operator's resource (a CloudNativePG Cluster) is for
// its instances' claims, is judged at its DELETE by the owner-delete webhook: the garbage collector deletes those
// claims next, and their PVs' reclaim policy Delete their data. A ConfigMap and a ClusterRole stand in for the
// operator's resources (no CRD needed: the webhook's rule covers every resource), and a ClusterRole owning a Namespace
// for a Capsule Tenant. An object owning no claim, an orphaning DELETE and a person's DELETE pass; approved claims go,
// deleted by the real garbage collector.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, boundClaim, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'e2e-owner-delete';
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
const TENANT_ROLE = 'e2e-owner-tenant';
// A cluster-scoped owner of a Namespace, as a Capsule Tenant owns its tenant's namespaces.
const NS_OWNER_ROLE = 'e2e-owner-of-namespace';
const OWNED_NS = 'e2e-owner-delete-owned';
const as = ['--as', ARGO, '--as-group', 'system:serviceaccounts'];
const denied = (stderr: string) => stderr.includes('admission webhook "owner-delete.volume-guard.io" denied the request');

async function uidOf(...resource: string[]): Promise<string> {
  return (await must(kubectl(['get', ...resource, '-o', 'jsonpath={.metadata.uid}']), `uid of ${resource.join(' ')}`)).stdout;
}

async function ownClaim(claim: string, owner: Record<string, unknown>): Promise<void> {
  await boundClaim(NS, claim, 'Delete');
  const reference = { ...owner, controller: true, blockOwnerDeletion: true };
  await must(kubectl(['patch', 'pvc', claim, '-n', NS, '--type=merge', '-p', JSON.stringify({ metadata: { ownerReferences: [reference] } })]), `own ${claim}`);
}

describe('owner-delete: an automation DELETE of an object that Bound PVCs name as owner', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await apply(
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'cm-deleter', namespace: NS }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'delete'] }] },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'argo-cm-deleter', namespace: NS },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-deleter' },
        subjects: [{ kind: 'User', name: ARGO, apiGroup: 'rbac.authorization.k8s.io' }],
      },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'e2e-cr-deleter' }, rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['get', 'delete'] }] },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'argo-cr-deleter' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'e2e-cr-deleter' },
        subjects: [{ kind: 'User', name: ARGO, apiGroup: 'rbac.authorization.k8s.io' }],
      },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'db', namespace: NS } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'plain', namespace: NS } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: TENANT_ROLE }, rules: [] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: NS_OWNER_ROLE }, rules: [] },
    );
    await ensureNamespace(OWNED_NS);
    await boundClaim(OWNED_NS, 'vault', 'Delete');
    const owner = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: NS_OWNER_ROLE, uid: await uidOf('clusterrole', NS_OWNER_ROLE) };
    await must(kubectl(['patch', 'namespace', OWNED_NS, '--type=merge', '-p', JSON.stringify({ metadata: { ownerReferences: [owner] } })]), 'own the namespace');
    await ownClaim('db-1', { apiVersion: 'v1', kind: 'ConfigMap', name: 'db', uid: await uidOf('configmap', 'db', '-n', NS) });
    await ownClaim('data', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: TENANT_ROLE, uid: await uidOf('clusterrole', TENANT_ROLE) });
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(
      ['pvc', '--all', '-n', NS],
      ['pv', `pv-${NS}-db-1`, `pv-${NS}-data`],
      ['configmap', '--all', '-n', NS],
      ['clusterrolebinding', 'argo-cr-deleter'],
      ['clusterrole', 'e2e-cr-deleter', TENANT_ROLE, NS_OWNER_ROLE],
      ['pvc', '--all', '-n', OWNED_NS],
      ['pv', `pv-${OWNED_NS}-vault`],
      ['namespace', OWNED_NS],
      ['rolebinding', 'argo-cm-deleter', '-n', NS],
      ['role', 'cm-deleter', '-n', NS],
    );
  });

  it('refuses the prune of the owner, naming its claims and how to orphan them', async () => {
    // Until the model has seen the claim's owner reference, the owner owns nothing it knows of.
    const refused = await eventually(() => kubectl(['delete', 'configmap', 'db', '-n', NS, ...as, '--dry-run=server']), (r) => r.code !== 0, 60_000);
    expect(denied(refused.stderr), refused.stderr).toBe(true);
    expect(refused.stderr).toContain(`deletion of ConfigMap ${NS}/db`);
    expect(refused.stderr).toContain(`${NS}/db-1`);
    expect(refused.stderr).toContain('PrunePropagationPolicy=orphan');
  });

  it('passes an object owning no claim, an orphaning DELETE and a person deleting it', async () => {
    await must(kubectl(['delete', 'configmap', 'plain', '-n', NS, ...as]), 'owns nothing');
    await must(kubectl(['delete', 'configmap', 'db', '-n', NS, ...as, '--cascade=orphan', '--dry-run=server']), 'orphaning');
    await must(kubectl(['delete', 'configmap', 'db', '-n', NS, '--dry-run=server']), 'a person');
  });

  it('refuses the prune of a cluster-scoped owner for its claims in a namespace', async () => {
    const refused = await eventually(() => kubectl(['delete', 'clusterrole', TENANT_ROLE, ...as, '--dry-run=server']), (r) => r.code !== 0, 60_000);
    expect(denied(refused.stderr), refused.stderr).toBe(true);
    expect(refused.stderr).toContain(`deletion of ClusterRole ${TENANT_ROLE}`);
    expect(refused.stderr).toContain(`${NS}/data`);
  });

  it('refuses the prune of a cluster-scoped owner of a Namespace for the claims in it (the namespace controller deletes them)', async () => {
    const refused = await eventually(() => kubectl(['delete', 'clusterrole', NS_OWNER_ROLE, ...as, '--dry-run=server']), (r) => r.code !== 0, 60_000);
    expect(denied(refused.stderr), refused.stderr).toBe(true);
    expect(refused.stderr).toContain(`deletion of ClusterRole ${NS_OWNER_ROLE}`);
    expect(refused.stderr).toContain(`${OWNED_NS}/vault`);
    expect(refused.stderr.replace(/\s+/g, ' ')).toContain(`deleted with Namespace ${OWNED_NS}`);
    // Orphaning keeps the Namespace: it passes.
    await must(kubectl(['delete', 'clusterrole', NS_OWNER_ROLE, ...as, '--cascade=orphan', '--dry-run=server']), 'orphaning');
  });

  it('lets the prune through once the claim is approved; the garbage collector then deletes it', async () => {
    await must(kubectl(['annotate', 'pvc', 'db-1', '-n', NS, 'volume-guard.io/delete=true', 'volume-guard.io/skip-reason=e2e', 'volume-guard.io/skip-by=admin']), 'approve');
    const pruned = await eventually(() => kubectl(['delete', 'configmap', 'db', '-n', NS, ...as, '--wait=false']), (r) => r.code === 0, 30_000);
    expect(pruned.stderr).not.toContain('denied');
    const gone = await eventually(() => kubectl(['get', 'pvc', 'db-1', '-n', NS]), (r) => r.code !== 0, 90_000);
    expect(gone.stderr).toContain('NotFound');
  });
});

// A CRD's DELETE (plan crd-delete on the storage-teardown webhook): the CRD finalizer deletes every object of its kind
// in storage, where no webhook sees it, then the garbage collector their claims. Judged at the CRD's DELETE, whoever
// makes it; the claims are matched by their owner's group and kind. A test CRD stands in for CloudNativePG's.
describe('crd-delete: the DELETE of a CRD whose objects Bound PVCs name as owner', () => {
  const GROUP = 'e2e.volume-guard.io';
  const CRD = `e2eclusters.${GROUP}`;
  const OTHER_CRD = `e2egadgets.${GROUP}`;
  const crd = (plural: string, kind: string) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      scope: 'Namespaced',
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  });
  const crdDenied = (stderr: string) => stderr.includes('admission webhook "storage-teardown.volume-guard.io" denied the request');

  beforeAll(async () => {
    await ensureNamespace(NS);
    await apply(crd('e2eclusters', 'E2eCluster'), crd('e2egadgets', 'E2eGadget'));
    for (const name of [CRD, OTHER_CRD]) await must(kubectl(['wait', '--for=condition=Established', `crd/${name}`, '--timeout=60s']), `${name} established`);
    await apply({ apiVersion: `${GROUP}/v1`, kind: 'E2eCluster', metadata: { name: 'pg', namespace: NS } });
    await ownClaim('crd-db-1', { apiVersion: `${GROUP}/v1`, kind: 'E2eCluster', name: 'pg', uid: await uidOf('e2eclusters.e2e.volume-guard.io', 'pg', '-n', NS) });
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(['pvc', 'crd-db-1', '-n', NS], ['pv', `pv-${NS}-crd-db-1`], ['crd', CRD, OTHER_CRD]);
  });

  it("refuses it, by a person too, naming the claims its objects own; a CRD whose kind owns nothing passes", async () => {
    // Until the model has seen the claim's owner reference, the kind owns nothing it knows of.
    const refused = await eventually(() => kubectl(['delete', 'crd', CRD, '--dry-run=server']), (r) => r.code !== 0, 60_000);
    expect(crdDenied(refused.stderr), refused.stderr).toBe(true);
    expect(refused.stderr).toContain(`deletion of CRD ${CRD}`);
    expect(refused.stderr).toContain(`${NS}/crd-db-1`);
    expect(refused.stderr.replace(/\s+/g, ' ')).toContain(`owned by E2eCluster ${NS}/pg`);
    await must(kubectl(['delete', 'crd', OTHER_CRD, '--dry-run=server']), 'a CRD owning nothing');
  });
});
