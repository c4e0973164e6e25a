// Building AdmissionRequests and ValidationContexts for validator unit tests, and the AdmissionReview envelope the
// API server POSTs around a request, for the tests that send one over HTTP (server, CLI, fault, soak, e2e).
import { pino } from 'pino';
import type { AdmissionRequest, Operation, UserInfo } from '../../src/admission/types.ts';
import type { ValidationContext } from '../../src/admission/validator.ts';
import type { AdmittedRemoval } from '../../src/cluster/pending-removals.ts';
import type { ClusterSnapshot, ModelHealth } from '../../src/cluster/snapshot.ts';
import { defaultConfig, type Config } from '../../src/config.ts';
import type { PlanJudgement } from '../../src/admission/plan-judge.ts';
import type { CheckId } from '../../src/checks/types.ts';

export const ADMIN: UserInfo = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };
export const ALICE: UserInfo = { username: 'alice', groups: ['developers', 'system:authenticated'] };

/** The API server's identity of the core kinds the tests send most. */
export const NODE_KIND = { kind: { group: '', version: 'v1', kind: 'Node' }, resource: { group: '', version: 'v1', resource: 'nodes' } } as const;
export const EVICTION_KIND = {
  kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  subResource: 'eviction',
} as const;

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

// A type, not an interface: assignable to Record<string, unknown> like the literals it replaces.
export type AdmissionReviewEnvelope<R> = {
  readonly apiVersion: string;
  readonly kind: string;
  readonly request: R;
};

/**
 * The AdmissionReview around a request, as the API server POSTs it. The request is taken as given, so tests can send
 * what a server must refuse; `envelope` overrides top-level fields (a wrong apiVersion or kind).
 */
export function admissionReview<R>(request: R, envelope: Record<string, unknown> = {}): AdmissionReviewEnvelope<R> {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', request, ...envelope };
}

/** The JSON body of admissionReview(request). */
export function reviewBody(request: unknown): string {
  return JSON.stringify(admissionReview(request));
}

export const FRESH: ModelHealth = { synced: () => true, staleResources: () => [] };

export function request(fields: Partial<AdmissionRequest> & Pick<AdmissionRequest, 'kind' | 'resource' | 'operation'>): AdmissionRequest {
  return {
    uid: 'uid-1',
    name: '',
    namespace: '',
    userInfo: ADMIN,
    object: null,
    oldObject: null,
    dryRun: false,
    ...fields,
  };
}

export function context(
  snapshot: ClusterSnapshot,
  options: { config?: Config; health?: ModelHealth; overrides?: string[]; removals?: AdmittedRemoval[] } = {},
): ValidationContext {
  const counted = options.overrides ?? [];
  const removals = options.removals ?? [];
  return {
    snapshot,
    health: options.health ?? FRESH,
    config: options.config ?? defaultConfig(),
    now: Date.now(),
    log: pino({ level: 'silent' }),
    onOverride: (check) => counted.push(check),
    removing: (removal) => removals.push(removal),
    cordoning: () => undefined,
  };
}

/** A Node; `labels` only when given. */
export function nodeObject(name: string, unschedulable: boolean, annotations: Record<string, string> = {}, labels?: Record<string, string>): unknown {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, ...(labels ? { labels } : {}), annotations }, spec: unschedulable ? { unschedulable: true } : {} };
}

/** `kubectl cordon`: a Node UPDATE setting spec.unschedulable. */
export function cordonRequest(name: string, annotations: Record<string, string> = {}, user: UserInfo = ADMIN, oldAnnotations = annotations): AdmissionRequest {
  return request({
    ...NODE_KIND,
    operation: 'UPDATE' as Operation,
    name,
    userInfo: user,
    object: nodeObject(name, true, annotations),
    oldObject: nodeObject(name, false, oldAnnotations),
  });
}

/** The body of a real cordon on the wire: the Node as the API server holds it (hostname label), no annotations. */
export function cordonReviewBody(node: string, options: { uid?: string; user?: UserInfo } = {}): string {
  const labels = { 'kubernetes.io/hostname': node };
  return reviewBody({
    ...cordonRequest(node, {}, options.user ?? ADMIN),
    uid: options.uid ?? 'uid-1',
    object: nodeObject(node, true, {}, labels),
    oldObject: nodeObject(node, false, {}, labels),
  });
}

/** A Harvester Upgrade CREATE (the operation Harvester's upgrades are guarded on), as its controller sends it. */
export function harvesterUpgradeRequest(annotations: Record<string, string> = {}, user: UserInfo = ADMIN): AdmissionRequest {
  return request({
    kind: { group: 'harvesterhci.io', version: 'v1beta1', kind: 'Upgrade' },
    resource: { group: 'harvesterhci.io', version: 'v1beta1', resource: 'upgrades' },
    operation: 'CREATE',
    namespace: 'harvester-system',
    name: 'hvst-upgrade-1',
    userInfo: user,
    object: { apiVersion: 'harvesterhci.io/v1beta1', kind: 'Upgrade', metadata: { name: 'hvst-upgrade-1', namespace: 'harvester-system', annotations }, spec: { version: 'v1.5.0' } },
  });
}

/** `kubectl drain`'s eviction of a pod (the pods/eviction subresource). */
export function evictionRequest(name: string, options: { namespace?: string; user?: UserInfo; uid?: string } = {}): AdmissionRequest {
  const namespace = options.namespace ?? 'default';
  return request({
    ...EVICTION_KIND,
    operation: 'CREATE',
    namespace,
    name,
    ...(options.user ? { userInfo: options.user } : {}),
    ...(options.uid ? { uid: options.uid } : {}),
    object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
  });
}

/**
 * `kubectl drain --disable-eviction`'s DELETE of a running StatefulSet pod `<statefulSet>-<ordinal>` on `node`, the pod
 * as stored, mounting `claims`.
 */
export function statefulSetPodDeleteRequest(options: { namespace: string; name: string; statefulSet: string; node: string; claims: readonly string[]; user: UserInfo }): AdmissionRequest {
  const { namespace, name, statefulSet, node, claims, user } = options;
  return request({
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'DELETE',
    namespace,
    name,
    userInfo: user,
    oldObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: statefulSet, uid: `u-${statefulSet}`, controller: true }] },
      spec: { nodeName: node, volumes: claims.map((claimName, index) => ({ name: index === 0 ? 'data' : `data-${index}`, persistentVolumeClaim: { claimName } })) },
      status: { phase: 'Running' },
    },
  });
}

/** The default configuration with these checks' modes replaced. */
export function withModes(modes: Partial<Record<CheckId, 'enforce' | 'warn' | 'off'>>): Config {
  const base = defaultConfig();
  const checks = { ...base.checks };
  for (const [check, mode] of Object.entries(modes) as [CheckId, 'enforce' | 'warn' | 'off'][]) checks[check] = { ...checks[check], mode };
  return { ...base, checks };
}

/**
 * The same judgement with an `adjust` step that passes the findings through, which makes judgeByPlan build every
 * finding of every check: the reference a shortcut that builds fewer must answer like.
 */
export function reference<T>(judgement: PlanJudgement<T>): PlanJudgement<T> {
  return { ...judgement, adjust: (results) => ({ findings: results.findings, totals: results.totals }), listingFirst: false };
}

/**
 * A StatefulSet DELETE as the API server sends it to a webhook: the old object (its uid, annotations, retention
 * policy and one claim template), the DeleteOptions when given.
 */
/**
 * metadata.managedFields as the API server records them when `manager` wrote the Helm release annotations of
 * `annotations` (none when it holds none): Helm-managed objects in tests carry them as real ones do.
 */
export function releaseAnnotationManagedFields(annotations: Record<string, string> | undefined, manager = 'helm'): Record<string, unknown>[] {
  const owned = Object.keys(annotations ?? {}).filter((key) => key.startsWith('meta.helm.sh/'));
  if (owned.length === 0) return [];
  return [
    {
      manager,
      operation: 'Update',
      apiVersion: 'v1',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:annotations': Object.fromEntries(owned.map((key) => [`f:${key}`, {}])) } },
    },
  ];
}

export function statefulSetDeleteRequest(fields: {
  namespace: string;
  name: string;
  uid: string;
  user: UserInfo;
  whenDeleted: string;
  template?: string;
  annotations?: Record<string, string>;
  options?: Record<string, unknown>;
  ownerReferences?: Record<string, unknown>[];
}): AdmissionRequest {
  return {
    ...request({
      kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
      resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
      operation: 'DELETE',
      namespace: fields.namespace,
      name: fields.name,
      userInfo: fields.user,
      oldObject: {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: {
          name: fields.name,
          namespace: fields.namespace,
          uid: fields.uid,
          ...(fields.annotations ? { annotations: fields.annotations, managedFields: releaseAnnotationManagedFields(fields.annotations) } : {}),
          ...(fields.ownerReferences ? { ownerReferences: fields.ownerReferences } : {}),
        },
        spec: {
          replicas: 2,
          persistentVolumeClaimRetentionPolicy: { whenDeleted: fields.whenDeleted, whenScaled: 'Retain' },
          volumeClaimTemplates: [{ metadata: { name: fields.template ?? 'data' } }],
        },
      },
    }),
    ...(fields.options ? { options: fields.options } : {}),
  };
}
