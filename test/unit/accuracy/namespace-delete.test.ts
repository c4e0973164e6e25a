// Deleting a namespace deletes every PVC in it: the namespace controller (kube-controller-manager) deletes its
// contents, PVCs included, as system:serviceaccount:kube-system:namespace-controller, and the PV controller then
// reclaims each Bound PV by its policy (Delete destroys the volume). A GitOps controller pruning a Namespace
// (Flux kustomize-controller with prune, Argo CD with a managed Namespace) loses the data as surely as one pruning
// the PVC itself, and the PVC DELETEs that follow come from the namespace controller, not from the automation: the
// namespace's DELETE is where the automation can be told apart and refused.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { pv, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();
const validator = pvcDeleteValidator(config);
const FLUX: UserInfo = { username: 'system:serviceaccount:flux-system:kustomize-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:flux-system'] };
const NS = 'shop';

function namespaceDelete(user: UserInfo, annotations: Record<string, string> = {}, terminating = false): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'Namespace' },
    resource: { group: '', version: 'v1', resource: 'namespaces' },
    operation: 'DELETE',
    name: NS,
    userInfo: user,
    oldObject: {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS, annotations, ...(terminating ? { deletionTimestamp: '2026-12-01T00:00:00Z' } : {}) },
      status: { phase: terminating ? 'Terminating' : 'Active' },
    },
  });
}

/** shop/db-data on a Delete PV, shop/uploads on a Retain PV, shop/scratch unbound, other/db-data on a Delete PV. */
function model(dbAnnotations: Record<string, string> = {}): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('persistentVolume', pv({ name: 'pv-db', claimNamespace: NS, claimName: 'db-data', reclaimPolicy: 'Delete' }));
  m.upsert('persistentVolume', pv({ name: 'pv-uploads', claimNamespace: NS, claimName: 'uploads', reclaimPolicy: 'Retain' }));
  m.upsert('persistentVolume', pv({ name: 'pv-other', claimNamespace: 'other', claimName: 'db-data', reclaimPolicy: 'Delete' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'db-data', volumeName: 'pv-db', annotations: dbAnnotations }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'uploads', volumeName: 'pv-uploads' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'scratch', volumeName: '', phase: 'Pending' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'other', name: 'db-data', volumeName: 'pv-other' }));
  return m;
}

describe('pvc-delete at a namespace DELETE', () => {
  it('refuses a GitOps controller deleting a namespace whose Bound PVCs the reclaim policy destroys, naming only those', () => {
    const decision = validator.handle(namespaceDelete(FLUX), context(model()));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain('deletion of namespace shop by system:serviceaccount:flux-system:kustomize-controller');
    expect(message).toContain('[pvc-delete]');
    expect(message).toContain('PVC shop/db-data');
    expect(message).toContain('reclaim policy Delete destroys the volume and its data');
    for (const spared of ['uploads', 'scratch', 'pv-other']) expect(message).not.toContain(spared);
    // The namespace controller deletes every PVC: Helm's resource policy keeps none; a Retain PV keeps the data.
    const fix = message.replace(/\n\s+/g, ' ');
    expect(fix).toContain('Fix: back the data up, or set their PVs to reclaim policy Retain first (the data stays on Released PVs)');
    expect(fix).not.toContain('helm.sh/resource-policy');
  });

  it('allows what loses no data: only Retain or unbound claims, an empty namespace, one already terminating', () => {
    const retainOnly = model();
    retainOnly.remove('persistentVolumeClaim', `${NS}/db-data`);
    expect(validator.handle(namespaceDelete(FLUX), context(retainOnly)).allowed).toBe(true);
    expect(validator.handle(namespaceDelete(FLUX), context(new ClusterModel(VOLUME_SETS))).allowed).toBe(true);
    expect(validator.handle(namespaceDelete(FLUX, {}, true), context(model())).allowed).toBe(true);
  });

  it('people deleting a namespace by hand follow pvcDelete.others (off by default, enforce refuses)', () => {
    expect(validator.handle(namespaceDelete(ADMIN), context(model())).allowed).toBe(true);
    const enforcing = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' as const } };
    expect(pvcDeleteValidator(enforcing).handle(namespaceDelete(ADMIN), context(model(), { config: enforcing })).allowed).toBe(false);
  });

  it("honors the PVC's volume-guard.io/delete=true (with its writer), and the namespace's own skip", () => {
    const approved = model({ 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' });
    const decision = validator.handle(namespaceDelete(FLUX), context(approved));
    expect(decision.allowed).toBe(true);
    expect(decision.overrides).toEqual(['pvc-delete']);
    // Without a recorded writer the approval does not count.
    expect(validator.handle(namespaceDelete(FLUX), context(model({ 'volume-guard.io/delete': 'true' }))).allowed).toBe(false);
    const skipped = validator.handle(
      namespaceDelete(FLUX, { 'volume-guard.io/skip': 'pvc-delete', 'volume-guard.io/skip-reason': 'env retired', 'volume-guard.io/skip-by': 'admin' }),
      context(model()),
    );
    expect(skipped.allowed).toBe(true);
    expect(skipped.auditAnnotations?.['override-reason']).toBe('env retired');
  });
});

describe('a namespace DELETE over more PVCs than a denial lists', () => {
  function many(count: number, prefix = 'data-web'): ClusterModel {
    const m = new ClusterModel(VOLUME_SETS);
    for (let i = 0; i < count; i++) {
      m.upsert('persistentVolume', pv({ name: `pv-${i}`, claimNamespace: NS, claimName: `${prefix}-${i}` }));
      m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: `${prefix}-${i}`, volumeName: `pv-${i}` }));
    }
    return m;
  }
  const deny = (m: ClusterModel) => validator.handle(namespaceDelete(FLUX), context(m)).status!.message;

  it('names the PVCs past the listing (no audit lists what a deletion deletes)', () => {
    const message = deny(many(14));
    expect(message).toContain(`  and 4 more: ${[10, 11, 12, 13].map((i) => `${NS}/data-web-${i}`).join(', ')}\n`);
    expect(message).not.toContain('volume-guard audit');
  });

  it('its approval command names every PVC, or takes them all (--all) when their names do not fit', () => {
    const names = Array.from({ length: 14 }, (_, i) => `data-web-${i}`);
    expect(deny(many(14))).toContain(`kubectl annotate pvc ${names.join(' ')} -n ${NS} volume-guard.io/delete=true`);
    const long = deny(many(12, `data-${'w'.repeat(80)}`));
    expect(long).toContain(`kubectl annotate pvc --all -n ${NS} volume-guard.io/delete=true`);
    expect(long).not.toContain(' ... ');
  });
});

describe('pvc-delete at a PVC DELETE of a claim already being deleted', () => {
  // A DELETE of an object that already has a deletionTimestamp changes nothing (the first DELETE decided; the
  // finalizers, such as kubernetes.io/pvc-protection while a pod mounts it, only delay it): a controller retrying
  // it is refused for nothing.
  it('passes: its data goes whatever this answer says', () => {
    const m = model();
    const claim = (deletionTimestamp?: string) =>
      request({
        kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
        resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
        operation: 'DELETE',
        namespace: NS,
        name: 'db-data',
        userInfo: FLUX,
        oldObject: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'db-data', namespace: NS, finalizers: ['kubernetes.io/pvc-protection'], ...(deletionTimestamp ? { deletionTimestamp } : {}) },
          spec: { volumeName: 'pv-db' },
          status: { phase: 'Bound' },
        },
      });
    expect(validator.handle(claim(), context(m)).allowed).toBe(false);
    expect(validator.handle(claim('2026-12-01T00:00:00Z'), context(m)).allowed).toBe(true);
  });
});
