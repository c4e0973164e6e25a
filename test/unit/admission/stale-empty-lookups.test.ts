// Answers given on a stale view of the cluster. README ("When volume-guard has not seen the cluster
// recently ... it does not guess: guarded operations get model.stalePolicy"): an answer that reads a stale resource
// gets the stale policy (deny by default). Two DELETE validators look the owned PVCs up first and allow when the stale
// view shows none, before the plan's stale check ever runs; the uninstall warnings are computed on the stale view
// without saying so.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { ownerDeleteValidator } from '../../../src/admission/validators/owner-delete.ts';
import { storageTeardownValidator } from '../../../src/admission/validators/storage-teardown.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { ModelHealth } from '../../../src/cluster/snapshot.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { releaseSecret } from '../helm/helm-fixtures.ts';

const config = defaultConfig();
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd'] };
/** The PVC watch has been silent past model.maxStalenessSeconds (synced once, then its connection died). */
const STALE_PVCS: ModelHealth = { synced: () => true, staleResources: () => ['persistentvolumeclaims'] };

/** The cluster as volume-guard last saw it: namespace shop, none of the CloudNativePG claims created since. */
function staleView(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: 'shop' }));
  return model;
}

/** The same cluster as it is: the Cluster's instances' claims, Bound, on PVs that say Delete. */
function freshView(): ClusterModel {
  const model = staleView();
  for (const name of ['db-1', 'db-2']) {
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name, volumeName: `pv-${name}`, ownerReferences: [{ apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', name: 'db', uid: 'uid-cnpg-db', controller: true }] }));
    model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: 'shop', claimName: name, reclaimPolicy: 'Delete' }));
  }
  return model;
}

const clusterDelete = (): AdmissionRequest =>
  request({
    kind: { group: 'postgresql.cnpg.io', version: 'v1', kind: 'Cluster' },
    resource: { group: 'postgresql.cnpg.io', version: 'v1', resource: 'clusters' },
    operation: 'DELETE',
    namespace: 'shop',
    name: 'db',
    userInfo: ARGO,
    oldObject: { apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: { name: 'db', namespace: 'shop', uid: 'uid-cnpg-db' }, spec: { instances: 2 } },
    options: { propagationPolicy: 'Foreground' },
  });

const crdDelete = (): AdmissionRequest =>
  request({
    kind: { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' },
    resource: { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions' },
    operation: 'DELETE',
    name: 'clusters.postgresql.cnpg.io',
    userInfo: ARGO,
    oldObject: {
      metadata: { name: 'clusters.postgresql.cnpg.io', annotations: {} },
      spec: { group: 'postgresql.cnpg.io', names: { kind: 'Cluster', plural: 'clusters' }, scope: 'Namespaced', versions: [{ name: 'v1', served: true, storage: true }] },
      status: { acceptedNames: { kind: 'Cluster', plural: 'clusters' }, conditions: [{ type: 'Established', status: 'True' }] },
    },
  });

describe('owner and CRD DELETEs on a stale view of the PVCs', () => {
  it('owner-delete: refuses (stale policy) rather than allowing because the stale view shows no owned PVC', () => {
    const validator = ownerDeleteValidator(config);
    // Fresh: refused, naming the claims (the baseline the stale answer must not undercut).
    expect(validator.handle(clusterDelete(), context(freshView())).allowed).toBe(false);
    const decision = validator.handle(clusterDelete(), context(staleView(), { health: STALE_PVCS }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain("volume-guard's view of the cluster is stale");
  });

  it('crd-delete: refuses (stale policy) rather than allowing because the stale view shows no claim of the kind', () => {
    const validator = storageTeardownValidator(config);
    expect(validator.handle(crdDelete(), context(freshView())).allowed).toBe(false);
    const decision = validator.handle(crdDelete(), context(staleView(), { health: STALE_PVCS }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain("volume-guard's view of the cluster is stale");
  });

  it('a DELETE of an owner of nothing is still allowed while the PVCs are fresh', () => {
    expect(ownerDeleteValidator(config).handle(clusterDelete(), context(staleView())).allowed).toBe(true);
    expect(storageTeardownValidator(config).handle(crdDelete(), context(staleView())).allowed).toBe(true);
  });
});

describe('helm uninstall warnings on a stale view', () => {
  it('says the PVC list may be incomplete when what it reads is stale (never refused)', () => {
    const manifest = '---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\nspec:\n  resources: {requests: {storage: 1Gi}}\n';
    const fixture = { name: 'web', namespace: 'shop', version: 1, manifest };
    const object = releaseSecret({ ...fixture, status: 'uninstalling' });
    const oldObject = releaseSecret({ ...fixture, status: 'deployed' });
    const uninstall = request({
      kind: { group: '', version: 'v1', kind: 'Secret' },
      resource: { group: '', version: 'v1', resource: 'secrets' },
      operation: 'UPDATE',
      namespace: 'shop',
      name: 'sh.helm.release.v1.web.v1',
      userInfo: ADMIN,
      object,
      oldObject,
    });
    const decision = helmReleaseValidator(config).handle(uninstall, context(staleView(), { health: STALE_PVCS }));
    expect(decision.allowed).toBe(true);
    // The stale view shows no PVC data: the uninstall (which deletes it) passes with no warning at all.
    expect((decision.warnings ?? []).join('\n')).toMatch(/stale|not synced/);
  });
});
