// An automation identity's DELETE of any object that PVCs name as owner (an operator's resource: a CloudNativePG
// Cluster owns its instances' claims): the garbage collector then deletes the claims and the PV controller their
// volumes. Judged like a StatefulSet DELETE for the PVCs it owns; an object owning no PVC passes after one lookup.
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { ownerDeleteValidator } from '../../../src/admission/validators/owner-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { OwnerRef } from '../../../src/cluster/records.ts';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { chartWebhooks, webhooksFile } from '../../../scripts/generate-chart.ts';
import { ADMIN, context, releaseAnnotationManagedFields, request } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';

const config = defaultConfig();
const validator = ownerDeleteValidator(config);
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd'] };
const FLUX_HELM: UserInfo = { username: 'system:serviceaccount:flux-system:helm-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:flux-system'] };
const NS = 'shop';
const UID = 'uid-cnpg-shop-db';
const CNPG_OWNER: OwnerRef = { kind: 'Cluster', name: 'db', uid: UID, controller: true };
const APPROVED = { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' };

interface DeleteOptions {
  readonly user?: UserInfo;
  readonly group?: string;
  readonly version?: string;
  readonly kind?: string;
  readonly resource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly uid?: string;
  readonly options?: unknown;
  readonly metadata?: Record<string, unknown>;
}

/** A DELETE of CloudNativePG's Cluster shop/db (or whatever `fields` say) by Argo CD, Foreground like its prunes. */
function del(fields: DeleteOptions = {}): AdmissionRequest {
  const group = fields.group ?? 'postgresql.cnpg.io';
  const version = fields.version ?? 'v1';
  const kind = fields.kind ?? 'Cluster';
  const ns = fields.namespace ?? NS;
  const name = fields.name ?? 'db';
  return request({
    kind: { group, version, kind },
    resource: { group, version, resource: fields.resource ?? 'clusters' },
    operation: 'DELETE',
    namespace: ns,
    name,
    userInfo: fields.user ?? ARGO,
    oldObject: {
      apiVersion: group === '' ? version : `${group}/${version}`,
      kind,
      metadata: { name, ...(ns === '' ? {} : { namespace: ns }), uid: fields.uid ?? UID, ...fields.metadata },
      spec: { instances: 2 },
    },
    options: 'options' in fields ? fields.options : { propagationPolicy: 'Foreground' },
  });
}

/** Bound PVCs `names` of `ns` owned by `owners`, on PVs with reclaim `policy`. */
function claims(m: ClusterModel, names: readonly string[], options: { ns?: string; policy?: string; owners?: readonly OwnerRef[]; annotations?: Record<string, string>; phase?: string } = {}): void {
  const ns = options.ns ?? NS;
  for (const name of names) {
    m.upsert('persistentVolumeClaim', pvc({ namespace: ns, name, volumeName: `pv-${ns}-${name}`, ownerReferences: options.owners ?? [CNPG_OWNER], annotations: options.annotations ?? {}, phase: options.phase ?? 'Bound' }));
    m.upsert('persistentVolume', pv({ name: `pv-${ns}-${name}`, claimNamespace: ns, claimName: name, reclaimPolicy: options.policy ?? 'Delete' }));
  }
}

function model(setup: (m: ClusterModel) => void = (m) => claims(m, ['db-1', 'db-2'])): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: NS }));
  setup(m);
  return m;
}

const message = (request: AdmissionRequest, m: ClusterModel, cfg: Config = config): string =>
  (ownerDeleteValidator(cfg).handle(request, context(m, { config: cfg })).status?.message ?? '').replace(/\n\s+/g, ' ');

describe('owner-delete: an automation DELETE of an object that PVCs name as owner', () => {
  it("refuses Argo CD pruning a CloudNativePG Cluster whose Bound PVCs' PVs say Delete, naming every claim", () => {
    const decision = validator.handle(del(), context(model()));
    expect(decision.allowed).toBe(false);
    const text = decision.status!.message.replace(/\n\s+/g, ' ');
    expect(text).toContain('deletion of Cluster shop/db by system:serviceaccount:argocd:argocd-application-controller');
    expect(text).toContain('[pvc-delete]');
    expect(text).toContain('PVC shop/db-1');
    expect(text).toContain('PVC shop/db-2');
    expect(text).toContain('deleted with Cluster shop/db, which its ownerReferences name (the garbage collector deletes it)');
    expect(text).toContain('reclaim policy Delete destroys the volume and its data');
    // The fix is what keeps claims from a GitOps prune of an owner; Helm's resource policy means nothing to it.
    expect(text).toContain("Argo CD's sync option PrunePropagationPolicy=orphan");
    expect(text).toContain('delete their owner with --cascade=orphan');
    expect(text).not.toContain('helm.sh/resource-policy');
    expect(text).toContain('kubectl annotate pvc db-1 db-2 -n shop volume-guard.io/delete=true');
  });

  it('passes an object owning no PVC and no StatefulSet after one lookup of each owner index', () => {
    const m = model();
    const asked: string[] = [];
    const spy = new Proxy(m, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]): unknown => {
          asked.push(String(property));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as ClusterSnapshot;
    const configMap = del({ group: '', kind: 'ConfigMap', resource: 'configmaps', name: 'settings', uid: 'uid-cm' });
    expect(validator.handle(configMap, context(spy)).allowed).toBe(true);
    expect(asked.sort()).toEqual(['persistentVolumeClaimsOwnedBy', 'statefulSetsOwnedBy']);
  });

  it('allows what loses no data: a Retain PV, a Pending claim, a claim being deleted already', () => {
    expect(validator.handle(del(), context(model((m) => claims(m, ['db-1'], { policy: 'Retain' }))))).toMatchObject({ allowed: true });
    expect(validator.handle(del(), context(model((m) => claims(m, ['db-1'], { phase: 'Pending' }))))).toMatchObject({ allowed: true });
    const deleting = model((m) => {
      claims(m, ['db-1']);
      m.upsert('persistentVolumeClaim', { ...m.persistentVolumeClaim(NS, 'db-1')!, deleting: true });
    });
    expect(validator.handle(del(), context(deleting)).allowed).toBe(true);
  });

  it('passes a DELETE that orphans the claims: Orphan, orphanDependents, or the orphan finalizer without options', () => {
    expect(validator.handle(del({ options: { propagationPolicy: 'Orphan' } }), context(model())).allowed).toBe(true);
    expect(validator.handle(del({ options: { orphanDependents: true } }), context(model())).allowed).toBe(true);
    const orphaning = { deletionTimestamp: '2030-01-01T00:00:00Z', finalizers: ['orphan'] };
    expect(validator.handle(del({ options: undefined, metadata: orphaning }), context(model())).allowed).toBe(true);
    // A second DELETE with Background rewrites the finalizer: the garbage collector deletes the claims after all.
    const reopened = validator.handle(del({ options: { propagationPolicy: 'Background' }, metadata: orphaning }), context(model()));
    expect(reopened.allowed).toBe(false);
    expect(reopened.status!.message).toContain('deletion of Cluster shop/db (being deleted with --cascade=orphan)');
    // Being deleted without it: the first DELETE decided.
    const foreground = { deletionTimestamp: '2030-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] };
    expect(validator.handle(del({ options: { propagationPolicy: 'Background' }, metadata: foreground }), context(model())).allowed).toBe(true);
  });

  it("reads the resource's own default when the DELETE says nothing: batch/v1 Jobs orphan, custom resources do not", () => {
    const job = (options: unknown) => del({ group: 'batch', kind: 'Job', resource: 'jobs', name: 'db', options });
    expect(validator.handle(job(undefined), context(model())).allowed).toBe(true);
    expect(validator.handle(job({ propagationPolicy: 'Background' }), context(model())).allowed).toBe(false);
    expect(validator.handle(del({ options: undefined }), context(model())).allowed).toBe(false);
  });

  it('keeps a claim another owner keeps (a live StatefulSet it sees), and names owners it cannot see', () => {
    const sts: OwnerRef = { kind: 'StatefulSet', name: 'db', uid: 'uid-sts-shop-db' };
    const kept = model((m) => {
      m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'uid-sts-shop-db' }));
      claims(m, ['db-1'], { owners: [CNPG_OWNER, sts] });
    });
    expect(validator.handle(del(), context(kept)).allowed).toBe(true);
    const unseen = model((m) => claims(m, ['db-1'], { owners: [CNPG_OWNER, { kind: 'Backup', name: 'nightly', uid: 'uid-backup' }] }));
    expect(message(del(), unseen)).toContain('unless its other owner Backup nightly stays (volume-guard cannot see it)');
  });

  it("counts a namespaced owner's claims in its own namespace only (across namespaces the collector sees no owner)", () => {
    const elsewhere = model((m) => claims(m, ['db-1'], { ns: 'other' }));
    expect(validator.handle(del(), context(elsewhere)).allowed).toBe(true);
  });

  it("judges a cluster-scoped owner's claims in every namespace, the fix annotating each in its own", () => {
    const m = model((cluster) => {
      claims(cluster, ['data'], { ns: 'team-a' });
      claims(cluster, ['data'], { ns: 'team-b' });
    });
    const tenant = del({ group: 'example.io', kind: 'Tenant', resource: 'tenants', namespace: '', name: 'acme' });
    const text = message(tenant, m);
    expect(text).toContain('deletion of Tenant acme by');
    expect(text).toContain('PVC team-a/data');
    expect(text).toContain('PVC team-b/data');
    expect(text).toContain('deleted with Tenant acme, which its ownerReferences name');
    expect(text).toContain('kubectl annotate pvc "<pvc>" -n "<its namespace>" volume-guard.io/delete=true');
  });

  it('honours volume-guard.io/delete=true on every claim (with its writer recorded), audited; one left unapproved is still named', () => {
    const approved = model((m) => claims(m, ['db-1', 'db-2'], { annotations: APPROVED }));
    const decision = validator.handle(del(), context(approved));
    expect(decision.allowed).toBe(true);
    expect(decision.overrides).toEqual(['pvc-delete']);
    const half = model((m) => {
      claims(m, ['db-1'], { annotations: APPROVED });
      claims(m, ['db-2']);
    });
    const text = message(del(), half);
    expect(text).toContain('PVC shop/db-2');
    expect(text).not.toContain('PVC shop/db-1 ');
  });

  it("counts the namespace's skip for an owner a Helm release of that namespace manages (Flux's helm-controller deleting it)", () => {
    const skipped = model((m) => {
      m.upsert('namespace', namespace({ name: NS, annotations: { 'volume-guard.io/skip': 'pvc-delete', 'volume-guard.io/skip-by': 'admin' } }));
      claims(m, ['db-1']);
    });
    const release = { 'meta.helm.sh/release-name': 'shop', 'meta.helm.sh/release-namespace': NS };
    const helmOwned = { annotations: release, managedFields: releaseAnnotationManagedFields(release, 'helm-controller') };
    expect(validator.handle(del({ user: FLUX_HELM, metadata: helmOwned }), context(skipped)).allowed).toBe(true);
    // Nor for the release annotation written by another tool.
    const forged = { annotations: release, managedFields: releaseAnnotationManagedFields(release, 'argocd-controller') };
    expect(validator.handle(del({ user: FLUX_HELM, metadata: forged }), context(skipped)).allowed).toBe(false);
    // Not for an object no Helm release manages.
    expect(validator.handle(del({ user: FLUX_HELM }), context(skipped)).allowed).toBe(false);
  });

  it('is not for people, nor for what other webhooks judge (the same filter as the matchCondition)', () => {
    expect(validator.handle(del({ user: ADMIN }), context(model())).allowed).toBe(true);
    const sts = del({ group: 'apps', kind: 'StatefulSet', resource: 'statefulsets' });
    expect(validator.handle(sts, context(model())).allowed).toBe(true);
    const pod = del({ group: '', kind: 'Pod', resource: 'pods' });
    expect(validator.handle(pod, context(model())).allowed).toBe(true);
  });

  it('follows checks.pvc-delete: off passes, warn passes with the claims named; a namespace being deleted passes', () => {
    const off: Config = { ...config, checks: { ...config.checks, 'pvc-delete': { mode: 'off' } } };
    expect(ownerDeleteValidator(off).handle(del(), context(model(), { config: off })).allowed).toBe(true);
    const warn: Config = { ...config, checks: { ...config.checks, 'pvc-delete': { mode: 'warn' } } };
    const warned = ownerDeleteValidator(warn).handle(del(), context(model(), { config: warn }));
    expect(warned.allowed).toBe(true);
    expect(warned.warnings?.join('\n')).toContain('shop/db-1');
    const terminating = model((m) => {
      m.upsert('namespace', namespace({ name: NS, deleting: true }));
      claims(m, ['db-1']);
    });
    expect(validator.handle(del(), context(terminating)).allowed).toBe(true);
  });

  it('counts automation groups like users', () => {
    const groups: Config = { ...config, pvcDelete: { ...config.pvcDelete, automationUsers: [], automationGroups: ['system:serviceaccounts:argocd'] } };
    expect(ownerDeleteValidator(groups).handle(del(), context(model(), { config: groups })).allowed).toBe(false);
  });
});

describe('the owner-delete webhook declaration', () => {
  const declaration = validator.declaration;

  it('is its own webhook, for every DELETE, narrowed by a matchCondition on the automation identities', () => {
    expect(declaration).toMatchObject({ name: 'owner-delete.volume-guard.io', target: 'owner-delete' });
    expect(declaration.rules).toEqual([{ apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], operations: ['DELETE'], scope: '*' }]);
    const expression = declaration.matchConditions?.[0]?.expression ?? '';
    expect(expression).toContain("request.userInfo.username in ['system:serviceaccount:argocd:argocd-application-controller'");
    expect(expression).toContain('request.userInfo.groups.exists(g, g in [])');
    // What other webhooks judge is left out, so nothing is judged twice.
    expect(expression).toContain("in ['/persistentvolumeclaims', '/namespaces', 'apps/statefulsets', 'longhorn.io/volumes', '/pods', 'apiextensions.k8s.io/customresourcedefinitions']");
    expect(expression).toContain("'orphan' in oldObject.metadata.finalizers");
    expect(createValidators(config).map((v) => v.declaration.target)).toContain('owner-delete');
  });

  it('follows pvcDelete.automationUsers and Groups, in the chart too (filled from .Values.config)', () => {
    const custom: Config = { ...config, pvcDelete: { ...config.pvcDelete, automationUsers: ['system:serviceaccount:ci:deployer'], automationGroups: ['gitops'] } };
    const expression = ownerDeleteValidator(custom).declaration.matchConditions?.[0]?.expression ?? '';
    expect(expression).toContain("request.userInfo.username in ['system:serviceaccount:ci:deployer']");
    expect(expression).toContain("g in ['gitops']");
    const chart = chartWebhooks(custom).find((webhook) => webhook.target === 'owner-delete');
    expect(chart?.matchConditions?.[0]?.expression).toBe(expression);
    const file = JSON.parse(webhooksFile()) as { webhooks: { target: string; matchConditions?: { expression: string }[] }[] };
    const generated = file.webhooks.find((webhook) => webhook.target === 'owner-delete')?.matchConditions?.[0]?.expression ?? '';
    expect(generated).toContain('__VG_CONFIG_pvcDelete.automationUsers__');
    expect(generated).toContain('__VG_CONFIG_pvcDelete.automationGroups__');
  });
});
