// StatefulSet CREATE outside Helm (kubectl apply, Argo CD, Flux): existing PVCs it would claim with no live owner
// and no pod of their own mounting them are an orphan-pvc denial; a PVC its own StatefulSet pod mounts never is.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { statefulSetValidator } from '../../../src/admission/validators/statefulset.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, ALICE, context, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';

const validator = statefulSetValidator(defaultConfig());
const NS = 'shop';

function stsObject(options: { name?: string; replicas?: number; templates?: string[]; annotations?: Record<string, string>; start?: number } = {}): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: options.name ?? 'db', namespace: NS, annotations: options.annotations ?? {} },
    spec: {
      replicas: options.replicas ?? 2,
      ...(options.start !== undefined ? { ordinals: { start: options.start } } : {}),
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'db:1' }] } },
      volumeClaimTemplates: (options.templates ?? ['data']).map((name) => ({ metadata: { name }, spec: { accessModes: ['ReadWriteOnce'] } })),
    },
  };
}

function create(object: unknown, user: UserInfo = ADMIN): AdmissionRequest {
  return request({
    kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
    resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
    operation: 'CREATE',
    namespace: NS,
    name: 'db',
    userInfo: user,
    object,
  });
}

function withClaims(...names: string[]): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  for (const name of names) {
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}` }));
    model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Retain' }));
  }
  return model;
}

describe('StatefulSet CREATE outside Helm', () => {
  it('denies a StatefulSet that would re-attach leftover PVCs, naming each of them', () => {
    const decision = validator.handle(create(stsObject()), context(withClaims('data-db-0', 'data-db-1', 'data-other-0')));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain('creation of StatefulSet shop/db');
    expect(message).toContain('[orphan-pvc]');
    expect(message).toContain('shop/data-db-0');
    expect(message).toContain('shop/data-db-1');
    // No Helm release here: the StatefulSet being created is what adopts them.
    expect(message).toContain('2 adopted with their old data by the StatefulSet');
    expect(message).not.toContain('release');
    expect(message).not.toContain('data-other-0');
    expect(message).toContain('volume-guard.io/reuse=true');
  });

  it('counts only the ordinals the StatefulSet runs (replicas, ordinals.start) and its own templates', () => {
    expect(validator.handle(create(stsObject({ replicas: 1 })), context(withClaims('data-db-1'))).allowed).toBe(true);
    expect(validator.handle(create(stsObject({ start: 5, replicas: 1 })), context(withClaims('data-db-0'))).allowed).toBe(true);
    expect(validator.handle(create(stsObject({ start: 5, replicas: 1 })), context(withClaims('data-db-5'))).allowed).toBe(false);
    expect(validator.handle(create(stsObject({ templates: ['logs'] })), context(withClaims('data-db-0'))).allowed).toBe(true);
  });

  it('allows when no PVC exists, or every one is annotated for reuse (audited)', () => {
    expect(validator.handle(create(stsObject()), context(withClaims())).allowed).toBe(true);
    const model = withClaims();
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-0', annotations: { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin' } }));
    const decision = validator.handle(create(stsObject()), context(model));
    expect(decision.allowed).toBe(true);
    expect(decision.overrides).toEqual(['orphan-pvc']);
    expect(decision.auditAnnotations?.['override-source']).toContain('volume-guard.io/reuse');
    // A reuse approval without its recorded writer approves nothing.
    const unsigned = withClaims();
    unsigned.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-0', annotations: { 'volume-guard.io/reuse': 'true' } }));
    expect(validator.handle(create(stsObject()), context(unsigned)).allowed).toBe(false);
  });

  it('a PVC mounted by its own live StatefulSet pod is never an orphan (delete --cascade=orphan, then re-create)', () => {
    const model = withClaims('data-db-0', 'data-db-1');
    model.upsert('pod', pod({ namespace: NS, name: 'db-0', claimNames: ['data-db-0'] }));
    model.upsert('pod', pod({ namespace: NS, name: 'db-1', claimNames: ['data-db-1'], phase: 'Pending' }));
    expect(validator.handle(create(stsObject()), context(model)).allowed).toBe(true);
    // Orphaned and finished (evicted): the re-created StatefulSet adopts db-1 and replaces it on data-db-1, its own data.
    model.upsert('pod', pod({ namespace: NS, name: 'db-1', claimNames: ['data-db-1'], phase: 'Failed' }));
    expect(validator.handle(create(stsObject()), context(model)).allowed).toBe(true);
    // Any other finished pod mounts nothing any more.
    model.remove('pod', `${NS}/db-1`);
    model.upsert('pod', pod({ namespace: NS, name: 'restore-db-1-x7k2p', claimNames: ['data-db-1'], controllerKind: 'Job', phase: 'Succeeded' }));
    const decision = validator.handle(create(stsObject()), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('shop/data-db-1');
    expect(decision.status!.message).not.toContain('shop/data-db-0');
  });

  it('a PVC with a live owner or being deleted is not an orphan', () => {
    const model = withClaims();
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-0', ownerReferences: [{ kind: 'Pod', name: 'db-0', uid: 'u' }] }));
    model.upsert('pod', pod({ namespace: NS, name: 'db-0', claimNames: [] }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-1', deleting: true }));
    expect(validator.handle(create(stsObject()), context(model)).allowed).toBe(true);
  });

  it('does not judge a StatefulSet Helm created (judged at its release record)', () => {
    const helmManaged = stsObject({ annotations: { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': NS } });
    expect(validator.handle(create(helmManaged), context(withClaims('data-db-0'))).allowed).toBe(true);
    expect(validator.declaration.matchConditions?.[0]?.expression).toContain('meta.helm.sh/release-name');
  });

  it('judges a Helm-annotated StatefulSet that kubectl creates (a copy of a Helm-made one re-applied by hand)', () => {
    const helmManaged = stsObject({ annotations: { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': NS } });
    const byKubectl = { ...create(helmManaged), options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-client-side-apply' } };
    const decision = validator.handle(byKubectl, context(withClaims('data-db-0')));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('shop/data-db-0');
    const byHelm = { ...create(helmManaged), options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'helm' } };
    expect(validator.handle(byHelm, context(withClaims('data-db-0'))).allowed).toBe(true);
    // The API server sends writes of Helm-managed StatefulSets by any manager not named for Helm.
    expect(validator.declaration.matchConditions?.[0]?.expression).toContain("request.options.fieldManager.startsWith('helm')");
  });

  it('judges a Helm-annotated StatefulSet a GitOps controller or UI creates; a custom manager cannot show it installed it', () => {
    const helmManaged = stsObject({ annotations: { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': NS } });
    for (const fieldManager of ['kustomize-controller', 'argocd-controller', 'rancher', 'greenhouse']) {
      const by = { ...create(helmManaged), options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager } };
      const decision = validator.handle(by, context(withClaims('data-db-0')));
      expect(decision.allowed, fieldManager).toBe(false);
      expect(decision.status!.message).toContain('shop/data-db-0');
    }
    for (const fieldManager of ['helm-controller', 'Helm']) {
      const by = { ...create(helmManaged), options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager } };
      expect(validator.handle(by, context(withClaims('data-db-0'))).allowed, fieldManager).toBe(true);
    }
  });

  it('honors a skip on the StatefulSet from an allowed writer only', () => {
    const skip = { 'volume-guard.io/skip': 'orphan-pvc', 'volume-guard.io/skip-reason': 'restore' };
    const byAdmin = validator.handle(create(stsObject({ annotations: skip })), context(withClaims('data-db-0')));
    expect(byAdmin.allowed).toBe(true);
    expect(byAdmin.auditAnnotations?.['override-reason']).toBe('restore');
    const byAlice = validator.handle(create(stsObject({ annotations: skip }), ALICE), context(withClaims('data-db-0')));
    expect(byAlice.allowed).toBe(false);
    expect(byAlice.warnings?.join('\n')).toContain('alice may not write overrides');
  });

  it('advises the skip as YAML lines for the manifest (the StatefulSet does not exist yet), also when the view is stale', () => {
    const yaml = (checks: string): string =>
      "  or add to the StatefulSet's metadata.annotations in its manifest, then create it again:\n" +
      `    volume-guard.io/skip: "${checks}"\n    volume-guard.io/skip-reason: "<why>"\n    volume-guard.io/skip-by: "<your user name>"`;
    const refused = validator.handle(create(stsObject()), context(withClaims('data-db-0')));
    expect(refused.status!.message.endsWith(yaml('orphan-pvc'))).toBe(true);
    expect(refused.status!.message).not.toContain('volume-guard.io/skip=');
    const stale = { synced: () => true, staleResources: () => ['persistentvolumeclaims'] };
    const unknown = validator.handle(create(stsObject()), context(withClaims('data-db-0'), { health: stale }));
    expect(unknown.status!.message).toContain('is stale');
    expect(unknown.status!.message.endsWith(`Override (an authorized admin, after checking):\n  ${yaml('*').slice(5)}`)).toBe(true);
    // Written so, the skip is honored.
    const skip = { 'volume-guard.io/skip': 'orphan-pvc', 'volume-guard.io/skip-reason': 'restore', 'volume-guard.io/skip-by': ADMIN.username };
    expect(validator.handle(create(stsObject({ annotations: skip })), context(withClaims('data-db-0'))).allowed).toBe(true);
  });

  it('warn mode allows with the names as warnings; a StatefulSet without claim templates is never judged', () => {
    const config = defaultConfig();
    const warn = { ...config, checks: { ...config.checks, 'orphan-pvc': { mode: 'warn' as const } } };
    const decision = statefulSetValidator(warn).handle(create(stsObject()), context(withClaims('data-db-0'), { config: warn }));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain('shop/data-db-0');
    expect(validator.handle(create(stsObject({ templates: [] })), context(withClaims('data-db-0'))).allowed).toBe(true);
  });

  it('a live StatefulSet of another name never makes a PVC owned', () => {
    const model = withClaims('data-db-0');
    model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'other', claimTemplates: ['data'] }));
    expect(validator.handle(create(stsObject({ replicas: 1 })), context(model)).allowed).toBe(false);
  });
});

describe('StatefulSet CREATE whose claim names collide with another live StatefulSet', () => {
  it('denies it, naming the other StatefulSet, with a fix that renames instead of deleting its data', () => {
    // data-a-db-0: template data of the new a-db, and template data-a of the live db (its pod mounts it).
    const model = withClaims('data-a-db-0');
    model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', claimTemplates: ['data-a'] }));
    model.upsert('pod', pod({ namespace: NS, name: 'db-0', claimNames: ['data-a-db-0'], controllerKind: 'StatefulSet' }));
    const decision = validator.handle(create(stsObject({ name: 'a-db', replicas: 1 })), context(model));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message.replace(/\n\s+/g, ' ');
    expect(message).toContain('shop/data-a-db-0');
    expect(message).toContain("also the claim of live StatefulSet db (the names collide); StatefulSet a-db would mount db's volume and data");
    expect(message).toContain("Fix: rename the StatefulSet or its claim template: its PVC names collide with another live StatefulSet's.");
  });
});
