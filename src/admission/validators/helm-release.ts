// Helm releases, through the record Helm's storage driver writes before it touches any resource: a Secret (the
// default driver) or a ConfigMap (HELM_DRIVER=configmap), judged the same way. A CREATE of a pending revision
// (install, upgrade, rollback) is checked for PVCs the release would silently adopt or strand (orphan-pvc) and for
// PVCs an upgrade or rollback makes Helm delete (pvc-delete); a denial aborts Helm cleanly. Everything else Helm
// writes is never denied: an uninstall, the deployed, failed and superseded transitions and the history pruning
// happen after resources changed, and Helm cannot recover from a refusal there. Uninstalls get warnings. Those
// updates keep the record's labels: an update adding or changing a release override label is someone else's
// (`kubectl label secret`), judged for its writer (releaseLabelWrite).
//
// Namespaces: a release is judged in the namespace of the object it is stored in (Helm's CLI stores it in the
// release's namespace), never in one its payload claims, unless that storage namespace is listed in
// helm.storageNamespaces (Helm SDK users keeping records elsewhere); a record naming another namespace is refused
// as unreadable otherwise. The namespace override (volume-guard.io/skip on the Namespace) is read from the release's
// namespace, the one whose data is judged. Manifest objects in other namespaces are named only when Helm annotated
// them for this release, which an earlier revision created (judgedObjects): an upgrade dropping one deletes it. Other
// StatefulSets rendered there have the PVCs they would claim judged, refused with the names withheld (the chart names
// the namespace, not what it holds), only for a record stored in helm.storageNamespaces: elsewhere an answer turning
// on what the other namespace holds would let its requester probe it, so they are not looked at, as other PVCs and
// hooks there are not (a warning counts them).
//
// Release records are read (decoded and parsed) in worker threads with a deadline (handleAsync); handle() reads
// them on the calling thread (unit tests, fuzzing).
import { ownedByOtherReleases, pvcsLeftBehind, reusedIntoDeletingStatefulSets, takenOverFromRelease } from '../../checks/orphan-pvc.ts';
import {
  laterHookCollisions,
  pvcsDeletedWithNamespace,
  pvcsDeletedWithStatefulSets,
  pvcsHelmDeletes,
  pvcsUninstallHooksDelete,
  shortReclaimEffect,
  uninstallDeletesNamespace,
} from '../../checks/pvc-delete.ts';
import { PendingRemovals } from '../../cluster/pending-removals.ts';
import type { ClusterSnapshot } from '../../cluster/snapshot.ts';
import type { Config } from '../../config.ts';
import { elidedToken, type StringPaths } from '../../json-bytes.ts';
import { isObject, objectAt } from '../../json.ts';
import type { ManifestStatefulSet, ParsedManifest } from '../../helm/manifest.ts';
import { ManifestPool } from '../../helm/manifest-pool.ts';
import type { CheckId, Finding } from '../../checks/types.ts';
import { readRelease, type ReadOutcome, type ReadReleaseJob } from '../../helm/read-release.ts';
import { readReleaseSecretLabels, releaseDriverOf, releaseOperation, type HelmRelease, type ReleaseOperation } from '../../helm/release.ts';
import { describeUser, staleReads, unknownWarnings } from '../context.ts';
import { ADMITTED_RELEASES, type AdmittedReleases } from '../helm-writes.ts';
import { MAX_LISTED_PER_CHECK, fewNamed, overrideLines, plural, truncate, wrap, type Situation } from '../messages.ts';
import { metaOf } from '../objects.ts';
import {
  deleteApprovalSource,
  mayWriteOverrides,
  REUSE_KEY,
  reuseApprovalSource,
  SKIP_BY_KEY,
  skipFrom,
  SKIP_KEY,
  skipsEverything,
  whoMayWriteOverrides,
  whyNotHonored,
  type OverrideSource,
} from '../overrides.ts';
import { judgeByPlan } from '../plan-judge.ts';
import { withheldClaim, withholdOtherNamespaces } from '../withhold.ts';
import { storageUpgradeCheck } from './storage-upgrade-hook.ts';
import { NOTICES, PLANS, readOverrides, RELEASE_RESOURCES } from '../plans.ts';
import { allowed, denied, type AdmissionRequest, type Decision, type UserInfo, type WebhookDeclaration } from '../types.ts';
import type { ValidationContext, Validator } from '../validator.ts';
import { WRITER_PLACEHOLDER } from '../../override-keys.ts';

/** Release label: the revision a `volume-guard.io/skip` release label is meant for (Helm copies labels forward). */
export const SKIP_REVISION_KEY = 'volume-guard.io/skip-revision';

/** How long a refused install over kept history is remembered (RefusedInstalls). */
export const REFUSED_INSTALL_TTL_MS = 60 * 60_000;
/** At most this many refused installs are remembered; past it the oldest is forgotten. */
export const MAX_REFUSED_INSTALLS = 1024;

/**
 * The installs over kept history (`helm install --replace`, Helm 4 `helm upgrade --install` over an uninstalled
 * release: revision N+1, status pending-install) this volume-guard pod refused, by storage namespace and release
 * name (Helm keys its records so: one release of a name per storage namespace). Helm marks revision N `superseded`
 * before it writes N+1 (install.go replaceRelease), an UPDATE volume-guard never sees, so the retry
 * (`helm upgrade --install`) is an upgrade record of revision N+1 carrying the first install's `first_deployed`: judged
 * as that install, and as an upgrade (install --replace also goes on over a failed revision N, left as it is: the
 * retry then upgrades from an earlier deployed revision, deleting what it drops). Forgotten when an install, upgrade
 * or rollback of the release is allowed, after REFUSED_INSTALL_TTL_MS, or past MAX_REFUSED_INSTALLS. In memory:
 * another replica judges the retry as an upgrade only.
 */
export class RefusedInstalls {
  readonly #entries: PendingRemovals<number>;

  constructor(ttlMs = REFUSED_INSTALL_TTL_MS, maxEntries = MAX_REFUSED_INSTALLS) {
    this.#entries = new PendingRemovals<number>(ttlMs, maxEntries);
  }

  /** The revision of the refused install of the release stored in `namespace` under `name`, if remembered. */
  revision(namespace: string, name: string, now: number): number | undefined {
    if (this.#entries.size === 0) return undefined;
    this.#entries.expire(now);
    return this.#entries.get(refusedInstallKey(namespace, name));
  }

  refused(namespace: string, name: string, revision: number, now: number): void {
    this.#entries.set(refusedInstallKey(namespace, name), revision, now);
  }

  allowed(namespace: string, name: string): void {
    if (this.#entries.size > 0) this.#entries.delete(refusedInstallKey(namespace, name));
  }

  get size(): number {
    return this.#entries.size;
  }
}

const refusedInstallKey = (namespace: string, name: string): string => `${namespace}\0${name}`;

/**
 * Remembers a real (not dry-run) refused install past revision 1, and a refused upgrade judged as one; forgets the
 * release's once a pending revision of it is allowed. Read from the record's labels, so an unreadable one counts too.
 */
function remember(installs: RefusedInstalls, request: AdmissionRequest, now: number, decision: Decision): void {
  if (request.operation !== 'CREATE' || request.dryRun) return;
  let labels: ReturnType<typeof readReleaseSecretLabels>;
  try {
    labels = readReleaseSecretLabels(request.object);
  } catch {
    return;
  }
  const operation = releaseOperation(labels.status);
  if (operation === undefined || labels.name === '' || !Number.isSafeInteger(labels.version)) return;
  if (decision.allowed) {
    installs.allowed(request.namespace, labels.name);
    return;
  }
  const install = operation === 'install' && labels.version > 1;
  const judgedAsInstall = operation === 'upgrade' && installs.revision(request.namespace, labels.name, now) === labels.version;
  if (install || judgedAsInstall) installs.refused(request.namespace, labels.name, labels.version, now);
}

/**
 * The release labels that make an override (releaseLabelOverride). Helm reads a stored record's labels back and
 * copies them into the next upgrade (upgrade.go mergeCustomLabels(lastRelease.Labels, ...)), so writing them onto a
 * stored record arms that upgrade, honored as written by whoever runs it: policed here (releaseLabelWrite).
 */
const RELEASE_OVERRIDE_LABELS: readonly string[] = [SKIP_KEY, SKIP_REVISION_KEY];
/** The labels Helm finds a release's records by (`owner=helm,name=<release>`): changing them moves a record. */
const RECORD_IDENTITY_LABELS: readonly string[] = ['owner', 'name'];

/**
 * CEL: this write adds or changes a release override label on the record, counting every one it carries as added
 * when the old object was not this release's record (identity labels changed, no data.release yet).
 * Mirrored by releaseOverrideLabelsWritten. Helm's own updates write back the labels they read: never sent.
 */
const WRITES_RELEASE_OVERRIDE_LABELS =
  `(has(object.metadata.labels) && [${RELEASE_OVERRIDE_LABELS.map((key) => `'${key}'`).join(', ')}].exists(k, ` +
  'k in object.metadata.labels && (oldObject == null || !has(oldObject.metadata.labels) || ' +
  '!(k in oldObject.metadata.labels) || oldObject.metadata.labels[k] != object.metadata.labels[k] || ' +
  `[${RECORD_IDENTITY_LABELS.map((key) => `'${key}'`).join(', ')}].exists(s, s in object.metadata.labels ? ` +
  '(!(s in oldObject.metadata.labels) || oldObject.metadata.labels[s] != object.metadata.labels[s]) : ' +
  's in oldObject.metadata.labels) || ' +
  "(!has(oldObject.data) || !('release' in oldObject.data)))))";

/** The release override labels this write adds or changes (WRITES_RELEASE_OVERRIDE_LABELS); removals are stricter. */
function releaseOverrideLabelsWritten(request: AdmissionRequest): string[] {
  const next = metaOf(request.object)?.labels ?? {};
  const previous = metaOf(request.oldObject)?.labels;
  const wasThisRecord =
    previous !== undefined &&
    RECORD_IDENTITY_LABELS.every((key) => previous[key] === next[key]) &&
    holdsRecord(request.oldObject);
  const before = wasThisRecord ? previous : {};
  return RELEASE_OVERRIDE_LABELS.filter((key) => next[key] !== undefined && next[key] !== before[key]);
}

/**
 * What Helm's storage drivers read as a release record: any Secret or ConfigMap they list by its labels
 * (`owner=helm,name=<release>`, the objectSelector's owner=helm) that holds a `release` data key. They check neither
 * the Secret's type nor the ConfigMap's name (pkg/storage/driver secrets.go and cfgmaps.go Query), and `helm upgrade`
 * copies the labels of the highest revision it decodes into the next one (Storage.Last, upgrade.go
 * mergeCustomLabels). So an Opaque Secret holding a record, written by anyone who may create Secrets there, arms
 * that upgrade as a typed one would: its release override labels are policed the same (releaseLabelWrite).
 */
function holdsRecord(object: unknown): boolean {
  return objectAt(object, 'data')?.release !== undefined;
}

/**
 * A record as Helm writes one, judged as the Helm operation it stands for: a Secret of type helm.sh/release.v1, or a
 * ConfigMap named sh.helm.release.v1.* holding data.release (a chart may label its own ConfigMaps owner=helm).
 */
function writtenAsHelmWrites(request: AdmissionRequest): boolean {
  if (releaseDriverOf(request.object) === 'configmap') {
    const meta = metaOf(request.object);
    return holdsRecord(request.object) && (request.name || meta?.name || '').startsWith('sh.helm.release.v1.');
  }
  return isObject(request.object) && request.object['type'] === 'helm.sh/release.v1';
}

const declaration: WebhookDeclaration = {
  name: 'helm-release.volume-guard.io',
  target: 'helm-release',
  rules: [
    { apiGroups: [''], apiVersions: ['v1'], resources: ['secrets', 'configmaps'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' },
  ],
  objectSelector: { matchLabels: { owner: 'helm' } },
  // Release records as Helm writes them (a typed Secret, or a ConfigMap named sh.helm.release.v1.* holding
  // data.release: writtenAsHelmWrites), and of their updates only the move to `uninstalling` (for its warning) and
  // writes of the release override labels; those writes also on any other object holding data.release, which Helm
  // reads as a record all the same (holdsRecord).
  matchConditions: [
    {
      name: 'helm-release-record',
      expression:
        "((request.resource.resource == 'configmaps' ? (has(object.data) && 'release' in object.data && " +
        "has(object.metadata.name) && object.metadata.name.startsWith('sh.helm.release.v1.')) : " +
        "(has(object.type) && object.type == 'helm.sh/release.v1')) && (request.operation == 'CREATE' || " +
        "(has(object.metadata.labels) && 'status' in object.metadata.labels && object.metadata.labels['status'] == 'uninstalling') || " +
        `${WRITES_RELEASE_OVERRIDE_LABELS})) || ` +
        `(has(object.data) && 'release' in object.data && ${WRITES_RELEASE_OVERRIDE_LABELS})`,
    },
  ],
  workload: 'helm-releases',
};

function describeOperation(operation: string, release: { namespace: string; name: string; version: number }): string {
  return `${operation} of Helm release ${release.namespace}/${release.name} (revision ${release.version})`;
}

function overrideHint(namespace: string, name: string, revision: number): string {
  return (
    `re-run helm with --labels ${SKIP_KEY}=<checks>,${SKIP_REVISION_KEY}=${revision}, annotate the PVCs ${REUSE_KEY}=true ` +
    `${SKIP_BY_KEY}=${WRITER_PLACEHOLDER} if their data is meant to be reused, or delete them (kubectl delete pvc -n ${namespace} ...) if it is not; release ${name}`
  );
}

/** What a record needs before it is read: its override sources and warnings, or an early answer. */
interface Prepared {
  readonly early?: Decision;
  readonly recordName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly job?: ReadReleaseJob;
  /** An override writer's write of release override labels on an update (releaseLabelWrite), for the answer. */
  readonly audit?: Readonly<Record<string, string>>;
}

function prepare(request: AdmissionRequest, context: ValidationContext): Prepared {
  const meta = metaOf(request.object);
  const labels = meta?.labels ?? {};
  const what = releaseDriverOf(request.object) === 'configmap' ? 'ConfigMap' : 'Secret';
  const recordName = `${what} ${request.namespace}/${request.name || meta?.name || ''}`;
  // Not a record as Helm writes one (an Opaque Secret, a ConfigMap under another name): no Helm operation to judge,
  // but Helm reads one holding data.release as a record, and copies its labels into the next upgrade.
  if (!writtenAsHelmWrites(request)) {
    const labelWrite = holdsRecord(request.object) ? releaseLabelWrite(request, context, recordName) : undefined;
    return { early: labelWrite ?? allowed(), recordName, labels };
  }
  const releaseToken = elidedToken(objectAt(request.object, 'data')?.release, request.elided);
  const job: ReadReleaseJob = {
    object: request.object,
    ...(releaseToken === undefined ? {} : { releaseToken }),
    namespace: request.namespace,
    trustRecordNamespace: context.config.helm.storageNamespaces.includes(request.namespace),
  };
  if (request.operation === 'UPDATE') {
    const labelWrite = releaseLabelWrite(request, context, recordName);
    if (labelWrite !== undefined && !labelWrite.allowed) return { early: labelWrite, recordName, labels };
    const answer = labelWrite ?? allowed();
    let status = '';
    try {
      status = readReleaseSecretLabels(request.object).status;
    } catch {
      return { early: answer, recordName, labels };
    }
    const { checks } = context.config;
    if (status !== 'uninstalling' || NOTICES['helm-uninstall'].checks.every((check) => checks[check].mode === 'off')) {
      return { early: answer, recordName, labels };
    }
    return { recordName, labels, job, ...(labelWrite?.auditAnnotations ? { audit: labelWrite.auditAnnotations } : {}) };
  }
  if (request.operation !== 'CREATE') return { early: allowed(), recordName, labels };
  return { recordName, labels, job };
}

/**
 * A write of the release override labels onto a stored record (`kubectl label secret sh.helm.release.v1...`): Helm
 * copies them into the next upgrade, where they would count as written by whoever runs it. So only an override
 * writer may add or change them (no skip-by: labels carry none), and a skip-revision ahead of the record's own
 * revision, arming that upgrade, is refused for anyone. Undefined when the write adds or changes none.
 */
function releaseLabelWrite(request: AdmissionRequest, context: ValidationContext, recordName: string): Decision | undefined {
  const written = releaseOverrideLabelsWritten(request);
  if (written.length === 0) return undefined;
  const what = `label ${written.join(', ')}`;
  const writers = context.config.overrides;
  if (!mayWriteOverrides(request.userInfo, writers)) {
    const who = whoMayWriteOverrides(writers);
    return denied(
      `volume-guard: ${describeUser(request.userInfo)} may not write ${what} on Helm release record ${recordName}: ${who.text}. ` +
        `Helm copies a record's labels into the next upgrade, whose checks they would skip for whoever runs it. ` +
        `To skip checks in an upgrade, an override writer runs it with --labels ${SKIP_KEY}=<checks>,${SKIP_REVISION_KEY}=<new revision>.`,
    );
  }
  const revisionLabel = metaOf(request.object)?.labels?.[SKIP_REVISION_KEY];
  const version = labelledVersion(request.object);
  if (revisionLabel !== undefined && (version === undefined || aheadOf(revisionLabel, version))) {
    return denied(aheadRefusal(recordName, revisionLabel, version));
  }
  return allowed([], { 'override-written': `${what} on ${recordName} by ${describeUser(request.userInfo)}` });
}

/** The revision a skip-revision label names; undefined when it names none (not 1 to 9 digits). */
function namedRevision(label: string): number | undefined {
  return /^[0-9]{1,9}$/.test(label) ? Number(label) : undefined;
}

/** Whether a skip-revision label names a revision after `version` (Helm copies it there) or none at all. */
function aheadOf(label: string, version: number): boolean {
  const revision = namedRevision(label);
  return revision === undefined || revision > version;
}

/** The refusal of a skip-revision label that a stored (or settled) record of revision `version` may not carry. */
function aheadRefusal(recordName: string, label: string, version: number | undefined): string {
  const on = `release label ${SKIP_REVISION_KEY}=${label} on Helm release record ${recordName}`;
  const revision = namedRevision(label);
  if (revision === undefined || version === undefined) {
    const why = revision === undefined ? 'names no revision' : 'cannot be checked: the record has no version label';
    return `volume-guard: ${on} ${why}; remove it.`;
  }
  return (
    `volume-guard: ${on} names a later revision than the record's (${version}): Helm copies it into revision ${revision}, ` +
    `whose checks it would skip for whoever runs that upgrade. Pass it to that upgrade instead ` +
    `(helm upgrade ... --labels ${SKIP_KEY}=<checks>,${SKIP_REVISION_KEY}=${revision}), or remove it.`
  );
}

/** The revision a record's `version` label says; undefined without one. */
function labelledVersion(object: unknown): number | undefined {
  try {
    const { version } = readReleaseSecretLabels(object);
    return Number.isSafeInteger(version) && version > 0 ? version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The revision of a record created in a settled status (deployed, superseded: helm-2to3 and mapkubeapis write such,
 * never judged), from its labels or else its data; undefined for a pending record or one whose status is unknown.
 */
function settledRevision(object: unknown, outcome: ReadOutcome): number | undefined {
  let status = '';
  try {
    status = readReleaseSecretLabels(object).status;
  } catch {
    // No labels to read: the data says.
  }
  if (status === '' && outcome.ok) status = outcome.decoded.release.status;
  if (status === '' || releaseOperation(status) !== undefined) return undefined;
  return labelledVersion(object) ?? (outcome.ok ? outcome.decoded.release.version : undefined);
}

/**
 * The release label override, scoped to one revision. Helm copies a release's labels into every later revision
 * (upgrade merges them, rollback copies the target revision's), and an AdmissionReview cannot tell a copied label
 * from one this requester set. So: at an install (Helm takes labels only from the command line) the label is the
 * requester's; at an upgrade it counts only with `volume-guard.io/skip-revision=<this revision>`, which the
 * requester must set for that upgrade; at a rollback never. A skip-revision ahead of the revision is refused (it
 * would arm an override for someone else's later upgrade); one behind it is a leftover, reported and ignored.
 */
export function releaseLabelOverride(
  labels: Readonly<Record<string, string>>,
  release: Pick<HelmRelease, 'version'>,
  operation: ReleaseOperation,
  user: UserInfo,
): { source?: OverrideSource; warnings: string[]; refusal?: string } {
  const skip = labels[SKIP_KEY];
  const revisionLabel = labels[SKIP_REVISION_KEY];
  const revision = revisionLabel === undefined ? undefined : namedRevision(revisionLabel);
  if (revisionLabel !== undefined && aheadOf(revisionLabel, release.version)) {
    return {
      warnings: [],
      refusal:
        `release label ${SKIP_REVISION_KEY}=${revisionLabel} does not name this revision (${release.version}) or an earlier one; ` +
        `set it to ${release.version} for this ${operation}, or remove it (--labels ${SKIP_REVISION_KEY}=null)`,
    };
  }
  if (skip === undefined) return { warnings: [] };
  const forThisRevision = revision === release.version || (operation === 'install' && revision === undefined);
  if (operation === 'rollback' || !forThisRevision) {
    const how =
      operation === 'rollback'
        ? 'a rollback copies labels of an earlier revision'
        : `add --labels ${SKIP_REVISION_KEY}=${release.version} to skip checks in this ${operation}`;
    return {
      warnings: [
        truncate(`volume-guard: release label ${SKIP_KEY}=${skip} is left from an earlier revision and not honored;`),
        truncate(`${how}; or remove it: --labels ${SKIP_KEY}=null,${SKIP_REVISION_KEY}=null`),
      ],
    };
  }
  const source = skipFrom(`release label (revision ${release.version})`, labels, user);
  return { ...(source ? { source } : {}), warnings: unknownWarnings('release label', labels) };
}

/** The operation and revision the record's own labels (status, version) say, when both are there. */
function storedRevision(object: unknown): { operation: ReleaseOperation; version: number } | undefined {
  try {
    const labels = readReleaseSecretLabels(object);
    const operation = releaseOperation(labels.status);
    return operation && Number.isSafeInteger(labels.version) && labels.version > 0 ? { operation, version: labels.version } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The manifest objects judged: those in the release's namespace, and those elsewhere (a template's own
 * metadata.namespace) whose live object Helm annotated for this release. An earlier revision created those: their
 * names are in the release's history, stored beside this record, so judging and naming them tells the requester
 * nothing of that namespace the release did not. `elsewhere`: the StatefulSets left out, whose claims are judged with
 * the names withheld for a record of a storage namespace (conclude), counted in a warning otherwise. `outside`: how many PVCs and hooks were
 * left out (what this revision creates elsewhere).
 */
function judgedObjects(
  manifest: ParsedManifest,
  release: HelmRelease,
  snapshot: ClusterSnapshot,
): { manifest: ParsedManifest; elsewhere: ManifestStatefulSet[]; outside: number } {
  const { namespace } = release;
  let ofRelease: ReadonlySet<string> | undefined;
  const judged = (kind: string, object: { readonly namespace: string; readonly name: string }): boolean => {
    if (object.namespace === namespace) return true;
    ofRelease ??= new Set([
      ...snapshot.statefulSetsOfRelease(namespace, release.name).map((s) => `StatefulSet ${s.namespace}/${s.name}`),
      ...snapshot.persistentVolumeClaimsAnnotatedForRelease(namespace, release.name).map((c) => `PersistentVolumeClaim ${c.namespace}/${c.name}`),
    ]);
    return ofRelease.has(`${kind} ${object.namespace}/${object.name}`);
  };
  const statefulSets = manifest.statefulSets.filter((s) => judged('StatefulSet', s));
  const elsewhere = manifest.statefulSets.filter((s) => !statefulSets.includes(s));
  const persistentVolumeClaims = manifest.persistentVolumeClaims.filter((p) => judged('PersistentVolumeClaim', p));
  const allHookClaims = manifest.hookClaims ?? [];
  const hookClaims = allHookClaims.filter((p) => p.namespace === namespace);
  const outside = manifest.persistentVolumeClaims.length - persistentVolumeClaims.length + (allHookClaims.length - hookClaims.length);
  return { manifest: { ...manifest, statefulSets, persistentVolumeClaims, hookClaims }, elsewhere, outside };
}

/**
 * The checks the record's release label skips and that count here (Situation.labelSkip): read for this revision
 * (releaseLabelOverride) and by a requester who may write overrides. A leftover label, or one not honored, keeps
 * nothing: the advice must not turn on what volume-guard ignored.
 */
function countingLabelSkip(
  labels: Readonly<Record<string, string>>,
  source: OverrideSource | undefined,
  context: ValidationContext,
): { labelSkip?: readonly CheckId[] | '*' } {
  if (source === undefined || source.checks.length === 0 || whyNotHonored(source, context.config.overrides) !== undefined) return {};
  return { labelSkip: skipsEverything(labels[SKIP_KEY] ?? '') ? '*' : source.checks };
}

/** The service account that wrote a record (`flux-system/helm-controller`): a controller running Helm, not a person. */
function controllerOf(username: string): { controller?: string } {
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  return match === null ? {} : { controller: `${match[1]}/${match[2]}` };
}

/**
 * The namespace whose data a record is judged about: the release's. Outside helm.storageNamespaces that is the
 * storage namespace whatever the record says (a record naming another is refused as unreadable). In a storage
 * namespace it is the one the record names, known only once the record decoded: undefined when it did not. Then
 * no namespace's override applies; the storage namespace's must not, as it would waive for an unreadable record
 * what it does not waive for a readable one of the same release (any namespace's); the release label still can.
 */
function judgedNamespace(request: AdmissionRequest, prepared: Prepared, outcome: ReadOutcome): string | undefined {
  if (outcome.ok) return outcome.decoded.release.namespace;
  if (outcome.namespace !== undefined) return outcome.namespace;
  return prepared.job?.trustRecordNamespace === true ? undefined : request.namespace;
}

function conclude(request: AdmissionRequest, context: ValidationContext, prepared: Prepared, outcome: ReadOutcome, installs: RefusedInstalls): Decision {
  if (request.operation === 'UPDATE') return withAudit(uninstallWarnings(context, prepared, outcome), prepared.audit);
  const warnings: string[] = [];
  // The namespace override of the namespace whose data is judged: the release's, which with helm.storageNamespaces
  // is not the one the record is stored in (a storage namespace's skip must not waive another namespace's checks).
  const judged = judgedNamespace(request, prepared, outcome);
  const namespaceAnnotations = judged === undefined ? undefined : context.snapshot.namespace(judged)?.annotations;
  const namespaceSkip = judged === undefined ? undefined : skipFrom(`namespace ${judged}`, namespaceAnnotations, undefined, { now: context.now });
  if (judged !== undefined) warnings.push(...unknownWarnings(`namespace ${judged}`, namespaceAnnotations));
  let labelSkip: OverrideSource | undefined;
  const plan = PLANS['helm-release'];
  const overridesRead = (): OverrideSource[] =>
    readOverrides(plan, {
      'release-label': () => labelSkip,
      namespace: () => namespaceSkip,
      'pvc-reuse': reuseApprovalSource,
      'pvc-delete': deleteApprovalSource,
    });

  // The release label override, read from the labels Helm wrote (they must agree with the payload, checked when
  // it is decoded), so that it also applies to a record that cannot be read.
  const stored = storedRevision(request.object);
  if (stored) {
    const label = releaseLabelOverride(prepared.labels, { version: stored.version }, stored.operation, request.userInfo);
    warnings.push(...label.warnings);
    if (label.refusal) {
      return denied(`volume-guard refused the ${stored.operation} of Helm release ${prepared.recordName}: ${label.refusal}.`, { warnings });
    }
    labelSkip = label.source;
  }
  // A record created in a settled status is not judged, but the next upgrade copies its labels: a skip-revision
  // ahead of it would arm that upgrade. One at or below it is a copied leftover (mapkubeapis writes revision N+1 with
  // revision N's labels, after marking N superseded: refusing it would leave no deployed revision).
  const settled = settledRevision(request.object, outcome);
  const revisionLabel = prepared.labels[SKIP_REVISION_KEY];
  if (settled !== undefined && revisionLabel !== undefined && aheadOf(revisionLabel, settled)) {
    return denied(aheadRefusal(prepared.recordName, revisionLabel, settled), { warnings });
  }

  const situation: Situation | undefined = stored
    ? {
        kind: 'helm',
        operation: stored.operation,
        namespace: judged ?? '',
        release: readReleaseSecretLabels(request.object).name,
        revision: stored.version,
        ...countingLabelSkip(prepared.labels, labelSkip, context),
      }
    : undefined;
  if (!outcome.ok) return unreadable(context, prepared.recordName, outcome.reason, overridesRead(), warnings, situation);
  const release = outcome.decoded.release;
  if (outcome.recordNamespace !== release.namespace) {
    const reason =
      `it names namespace ${outcome.recordNamespace} but is stored in ${release.namespace} ` +
      `(list ${release.namespace} in helm.storageNamespaces if a Helm SDK keeps releases there)`;
    return unreadable(context, prepared.recordName, reason, overridesRead(), warnings, situation);
  }
  const operation = releaseOperation(release.status);
  if (!operation) return allowed(warnings);
  // The retry of an install over kept history this pod refused: an upgrade of the same revision (RefusedInstalls).
  // install --replace goes on over an uninstalled revision, which it marks superseded, or a failed one, which it
  // leaves: then a deployed revision may remain, and the retry really upgrades from it, deleting what it drops. So it
  // is judged as that install (its adoption rules) and as the upgrade it is (the rest), each finding with its own
  // override; the advice is the install's (helm upgrade --install, with skip-revision).
  const replaced = operation === 'upgrade' && installs.revision(request.namespace, release.name, context.now) === release.version;
  if (!stored) {
    // Labels without status or version (not how Helm writes them): the decoded record says which revision it is.
    const label = releaseLabelOverride(prepared.labels, release, operation, request.userInfo);
    warnings.push(...label.warnings);
    if (label.refusal) return denied(`volume-guard refused the ${describeOperation(operation, release)}: ${label.refusal}.`, { warnings });
    labelSkip = label.source;
  }

  const action = replaced
    ? `upgrade of Helm release ${release.namespace}/${release.name} (revision ${release.version}, judged as the install refused at ` +
      `revision ${release.version} and as an upgrade: that install came after an uninstalled or a failed revision)`
    : describeOperation(operation, release);
  const judgedHere = judgedObjects(outcome.manifest, release, context.snapshot);
  const { manifest, outside } = judgedHere;
  if (outside > 0) {
    warnings.push(truncate(`volume-guard: ${outside} ${outside === 1 ? 'PVC' : 'PVCs'} of this release outside namespace ${release.namespace} not checked`));
  }
  // StatefulSets rendered in another namespace, not yet the release's: a record stored in a storage namespace
  // (helm.storageNamespaces, written by trusted controllers) has the PVCs they would claim judged, names withheld.
  // Anywhere else the requester may only write here: whether the answer turned on what that namespace holds, it
  // would tell them (a refusal there, a pass where nothing is left). The same warning, whatever it holds.
  const elsewhere = prepared.job?.trustRecordNamespace === true ? judgedHere.elsewhere : [];
  if (judgedHere.elsewhere.length > elsewhere.length) {
    // Named: they come from the requester's own chart (nothing of that namespace is told).
    const sets = judgedHere.elsewhere.map((set) => `${set.namespace}/${set.name}`);
    const named = sets.length <= 3 ? sets.join(', ') : `${sets.slice(0, 3).join(', ')} and ${sets.length - 3} more`;
    warnings.push(
      ...wrap(
        `volume-guard: ${sets.length === 1 ? 'StatefulSet' : 'StatefulSets'} ${named} of this release ${sets.length === 1 ? 'is' : 'are'} ` +
          `outside namespace ${release.namespace}: not judged here (a record stored there judges that namespace's objects only); ` +
          `${sets.length === 1 ? 'its' : 'their'} own creation is, and a refusal then stops Helm half way`,
      ),
    );
  }
  // helm --take-ownership: objects another release owns become this release's, but stay in that release's last
  // revision, and Helm deletes what a revision drops whoever owns it now. Nothing is lost yet: said, not refused.
  for (const taken of ownedByOtherReleases(context.snapshot, release, manifest).slice(0, MAX_LISTED_PER_CHECK)) {
    const what = `${taken.kind === 'StatefulSet' ? 'StatefulSet' : 'PVC'} ${taken.namespace}/${taken.name}`;
    const owner = taken.owner.slice(taken.owner.indexOf('/') + 1);
    warnings.push(
      truncate(`volume-guard: ${what} belongs to Helm release ${taken.owner};`),
      truncate(`this ${operation} takes it over, but release ${owner}'s last revision still renders it:`),
      truncate(`helm upgrade of ${owner} without it, or helm uninstall ${owner} (Helm 3), deletes it`),
    );
  }
  if (operation !== 'install') {
    for (const taken of takenOverFromRelease(context.snapshot, release, manifest).slice(0, MAX_LISTED_PER_CHECK)) {
      const what = taken.kind === 'StatefulSet' ? `StatefulSet ${taken.namespace}/${taken.name}` : `PVC ${taken.namespace}/${taken.name}`;
      const tie = taken.kind === 'StatefulSet' ? 'has PVCs of this release' : 'is labelled for this release';
      warnings.push(
        truncate(`volume-guard: ${what}, now Helm release ${taken.owner.slice(taken.owner.indexOf('/') + 1)}'s, ${tie};`),
        truncate(`if revision ${release.version - 1} still renders it, this ${operation} deletes it (Helm deletes what a revision drops)`),
      );
    }
  }
  // Reused data tied to a StatefulSet this revision creates under whenDeleted: Delete: undoing it deletes the data.
  const reused = context.config.checks['orphan-pvc'].mode === 'off' ? [] : reusedIntoDeletingStatefulSets(context.snapshot, manifest, context.now);
  if (reused.length > 0) {
    const shown = reused.slice(0, 3).map((claim) => claim.name).join(', ') + (reused.length > 3 ? ` and ${reused.length - 3} more` : '');
    warnings.push(
      ...wrap(`volume-guard: ${plural(reused.length, 'PVC', 'PVCs')} approved for reuse will be owned by a new StatefulSet (whenDeleted: Delete):`),
      ...wrap(`- ${shown}`),
      ...wrap('deleting it (helm uninstall, a failed --atomic or --rollback-on-failure undone) deletes that data with it'),
    );
  }
  // Hook PVCs of `helm test` and `helm uninstall` named like the release's own claims: those runs are not seen.
  if (context.config.checks['pvc-delete'].mode !== 'off') {
    for (const hook of laterHookCollisions(manifest, release.applyMethod).slice(0, MAX_LISTED_PER_CHECK)) {
      const like = hook.statefulSet === '' ? 'a PVC the chart declares' : `the claim of StatefulSet ${hook.statefulSet}`;
      const when = hook.event === 'test' ? 'helm test' : 'helm uninstall';
      const how = hook.policy === 'before-hook-creation' ? 'and re-creates it empty (before-hook-creation)' : 'after taking it over (Helm 4, hook-succeeded)';
      warnings.push(
        ...wrap(`volume-guard: the chart's ${hook.event} hook PVC ${hook.namespace}/${hook.name} is named like ${like}:`),
        ...wrap(`${when} deletes that claim ${how}; give the hook PVC another name`),
      );
    }
  }
  // A Longhorn upgrade from outside Longhorn's namespace (the `longhorn` chart with its namespaceOverride, anyone's
  // chart of that name, an umbrella chart such as Harvester's) is judged on every Longhorn volume: named only to a
  // requester in Longhorn's namespace.
  const longhornNamespace = context.config.longhorn.namespace;
  const upgradesLonghorn = storageUpgradeCheck({ release, operation, manifest, longhornNamespace }) !== undefined;
  const withhold = release.namespace !== longhornNamespace && upgradesLonghorn;
  // The claims of StatefulSets the chart renders in other namespaces, not yet the release's: judged, named to no one
  // (the requester may write only here; the chart names the namespace, not what it holds).
  const foreign = new Set(elsewhere.map((s) => `${s.namespace}/${s.name}`));
  const ofForeignStatefulSet = (finding: Finding): boolean =>
    (finding.related ?? []).some((object) => object.kind === 'StatefulSet' && foreign.has(`${object.namespace ?? ''}/${object.name}`));
  return judgeByPlan(context, plan, {
    action,
    target: {
      release,
      operation,
      manifest,
      now: context.now,
      longhornNamespace,
      ...(elsewhere.length > 0 ? { elsewhere } : {}),
      ...(replaced ? { retriedInstall: true } : {}),
    },
    // Longhorn's volumes are read for a Longhorn upgrade only: a stale view of them leaves other releases judged.
    ...(upgradesLonghorn ? {} : { reads: RELEASE_RESOURCES }),
    overrides: overridesRead(),
    unlimited: true,
    overrideHint: overrideHint(release.namespace, release.name, release.version),
    warnings,
    situation: {
      kind: 'helm',
      operation: replaced ? 'install' : operation,
      namespace: release.namespace,
      release: release.name,
      revision: release.version,
      ...controllerOf(request.userInfo.username),
      ...countingLabelSkip(prepared.labels, labelSkip, context),
    },
    ...(withhold
      ? { adjust: withholdOtherNamespaces(release.namespace) }
      : foreign.size > 0
        ? { adjust: withholdOtherNamespaces(release.namespace, ofForeignStatefulSet, withheldClaim) }
        : {}),
  });
}

/** The decision with these audit annotations added. */
function withAudit(decision: Decision, audit: Readonly<Record<string, string>> | undefined): Decision {
  return audit === undefined ? decision : { ...decision, auditAnnotations: { ...decision.auditAnnotations, ...audit } };
}

/**
 * The release records of a review: set aside by the decoder (a 1 MB release is ~150 KB of base64 here), they become
 * strings only in the manifest worker that reads them, never on the event loop. The old record is never read.
 */
const RELEASE_PAYLOADS: StringPaths = [
  ['request', 'object', 'data', 'release'],
  ['request', 'oldObject', 'data', 'release'],
];

/**
 * Remembers the release of a pending record allowed (not a dry run): its helm-controller writes that follow are
 * Helm's own (AdmittedReleases). The release's namespace and name as judged: the decoded record's, or for one that
 * could not be read, its labels' name in the namespace judged.
 */
function noteAdmitted(admitted: AdmittedReleases, request: AdmissionRequest, context: ValidationContext, prepared: Prepared, outcome: ReadOutcome, decision: Decision): void {
  if (!decision.allowed || request.operation !== 'CREATE' || request.dryRun) return;
  if (outcome.ok) {
    const { release } = outcome.decoded;
    if (releaseOperation(release.status) !== undefined) admitted.admitted(release.namespace, release.name, context.now);
    return;
  }
  const stored = storedRevision(request.object);
  const namespace = judgedNamespace(request, prepared, outcome);
  if (stored === undefined || namespace === undefined) return;
  admitted.admitted(namespace, readReleaseSecretLabels(request.object).name, context.now);
}

export function helmReleaseValidator(
  config: Config,
  installs: RefusedInstalls = new RefusedInstalls(),
  admitted: AdmittedReleases = ADMITTED_RELEASES,
): Validator {
  let pool: ManifestPool | undefined;
  const read = async (job: ReadReleaseJob): Promise<ReadOutcome> => {
    if (config.helm.manifestWorkers === 0) return readRelease(job);
    pool ??= new ManifestPool({
      workers: config.helm.manifestWorkers,
      deadlineMs: config.helm.manifestDeadlineMs,
      queue: config.helm.manifestQueue,
    });
    return pool.read(job);
  };
  return {
    declaration,
    elide: RELEASE_PAYLOADS,
    handle(request, context) {
      const prepared = prepare(request, context);
      if (prepared.early || !prepared.job) return prepared.early ?? allowed();
      const outcome = readRelease(prepared.job);
      const decision = conclude(request, context, prepared, outcome, installs);
      remember(installs, request, context.now, decision);
      noteAdmitted(admitted, request, context, prepared, outcome, decision);
      return decision;
    },
    async handleAsync(request, context) {
      const prepared = prepare(request, context);
      if (prepared.early || !prepared.job) return prepared.early ?? allowed();
      const outcome = await read(prepared.job);
      const decision = conclude(request, context, prepared, outcome, installs);
      remember(installs, request, context.now, decision);
      noteAdmitted(admitted, request, context, prepared, outcome, decision);
      return decision;
    },
    async close() {
      await pool?.close();
    },
  };
}

/** A release volume-guard cannot read is denied with the reason (never allowed unchecked), unless overridden. */
function unreadable(
  context: ValidationContext,
  recordName: string,
  reason: string,
  overrides: readonly OverrideSource[],
  warnings: string[],
  situation?: Situation,
): Decision {
  const honored = overrides.find(
    (source) => source.checks.includes('orphan-pvc') && whyNotHonored(source, context.config.overrides) === undefined,
  );
  if (context.config.checks['orphan-pvc'].mode !== 'enforce' || honored) {
    return allowed([...warnings, truncate(`volume-guard: Helm release ${recordName} not checked: ${reason}`)]);
  }
  if (situation?.kind === 'helm' && situation.operation === 'rollback' && situation.namespace === '') {
    // helm rollback takes no --labels, and no namespace's skip applies to a record whose namespace is unknown.
    return denied(
      `volume-guard cannot check Helm release ${recordName}: ${reason}. It refuses what it cannot check; a rollback ` +
        `of a record it cannot read in a storage namespace (helm.storageNamespaces) takes no override: ` +
        `an admin can set checks.orphan-pvc.mode to warn for it`,
      { warnings, checks: ['orphan-pvc'] },
    );
  }
  // The override that works for the operation the record's labels name (helm rollback takes no --labels).
  const how = situation
    ? overrideLines(situation, ['orphan-pvc']).join(' ')
    : `helm ... --labels ${SKIP_KEY}=orphan-pvc,${SKIP_REVISION_KEY}=<the new revision>`;
  return denied(
    `volume-guard cannot check Helm release ${recordName}: ${reason}. It refuses what it cannot check; ` +
      `if this is a real Helm release, an authorized admin can override: ${how}`,
    { warnings, checks: ['orphan-pvc'] },
  );
}

/** `helm uninstall`: allowed always, with warnings naming the PVCs it deletes (and their data) and those it leaves. */
function uninstallWarnings(context: ValidationContext, prepared: Prepared, outcome: ReadOutcome): Decision {
  if (!outcome.ok) {
    return allowed([truncate(`volume-guard: cannot list the PVCs this uninstall deletes or leaves: ${outcome.reason}`)]);
  }
  const release = outcome.decoded.release;
  if (outcome.recordNamespace !== release.namespace) {
    return allowed([truncate(`volume-guard: ${prepared.recordName} names namespace ${outcome.recordNamespace}; PVCs not listed`)]);
  }
  const { manifest } = judgedObjects(outcome.manifest, release, context.snapshot);
  const lines: string[] = [];
  // Never refused: a stale view still lists what it knows, and says the list may miss what it has not seen.
  const stale = staleReads(context, RELEASE_RESOURCES);
  if (stale.length > 0) {
    const what = context.health.synced() ? `is stale (${stale.slice(0, 5).join(', ')})` : 'is not synced yet';
    lines.push(...wrap(`volume-guard: its view of the cluster ${what}: the PVCs this uninstall deletes or leaves may not all be listed`));
  }
  // Taken over by another release (helm --take-ownership): Helm 4 skips what it no longer owns, Helm 3 deletes it.
  for (const taken of ownedByOtherReleases(context.snapshot, release, manifest).slice(0, MAX_LISTED_PER_CHECK)) {
    const what = `${taken.kind === 'StatefulSet' ? 'StatefulSet' : 'PVC'} ${taken.namespace}/${taken.name}`;
    lines.push(truncate(`volume-guard: ${what} now belongs to Helm release ${taken.owner}:`), 'Helm 4 leaves it, Helm 3 deletes it');
  }
  const hookDeleted = new Set<string>();
  if (context.config.checks['pvc-delete'].mode !== 'off') {
    const deleted = pvcsHelmDeletes(context.snapshot, manifest);
    if (deleted.length > 0) {
      lines.push(truncate(`volume-guard: uninstalling ${release.namespace}/${release.name} deletes ${plural(deleted.length, 'templated PVC', 'templated PVCs')}:`));
      for (const claim of deleted.slice(0, MAX_LISTED_PER_CHECK)) {
        const effect = claim.volumeName ? `PV ${claim.volumeName}, ${shortReclaimEffect(claim.reclaimPolicy)}` : 'unbound';
        lines.push(truncate(`- PVC ${claim.namespace}/${claim.name} (${effect})`));
      }
      if (deleted.length > MAX_LISTED_PER_CHECK) lines.push(`- and ${deleted.length - MAX_LISTED_PER_CHECK} more`);
    }
    const templated = new Set(deleted.map((claim) => `${claim.namespace}/${claim.name}`));
    const hooked = pvcsUninstallHooksDelete(context.snapshot, manifest).filter((claim) => !templated.has(`${claim.namespace}/${claim.name}`));
    for (const claim of hooked) hookDeleted.add(`${claim.namespace}/${claim.name}`);
    if (hooked.length > 0) {
      lines.push(
        truncate(`volume-guard: uninstalling ${release.namespace}/${release.name} deletes ${plural(hooked.length, 'PVC', 'PVCs')} through its delete hooks`),
        truncate('(before-hook-creation: re-created empty; hook-succeeded: Helm 4 applies the hook over it, then deletes it):'),
      );
      for (const claim of hooked.slice(0, MAX_LISTED_PER_CHECK)) {
        const effect = claim.volumeName ? `PV ${claim.volumeName}, ${shortReclaimEffect(claim.reclaimPolicy)}` : 'unbound';
        // Helm 3 creates a hook-succeeded hook over an existing PVC and fails the uninstall there ("already exists").
        const helm4 = claim.policy === 'hook-succeeded' ? ', Helm 4 only' : '';
        lines.push(...wrap(`- PVC ${claim.namespace}/${claim.name}: ${claim.event}, ${claim.policy}${helm4} (${effect})`));
      }
      if (hooked.length > MAX_LISTED_PER_CHECK) lines.push(`- and ${hooked.length - MAX_LISTED_PER_CHECK} more`);
    }
    // A claim a delete hook deletes (or re-creates empty) is said once, there.
    const owned = pvcsDeletedWithStatefulSets(context.snapshot, manifest).filter((claim) => !hookDeleted.has(`${claim.namespace}/${claim.name}`));
    if (owned.length > 0) {
      lines.push(
        truncate(`volume-guard: uninstalling ${release.namespace}/${release.name} deletes ${plural(owned.length, 'PVC', 'PVCs')} with its StatefulSets`),
        truncate('(they name it as owner; the garbage collector deletes them unless helm runs with --cascade=orphan):'),
      );
      for (const claim of owned.slice(0, MAX_LISTED_PER_CHECK)) {
        const effect = claim.volumeName ? `PV ${claim.volumeName}, ${shortReclaimEffect(claim.reclaimPolicy)}` : 'unbound';
        lines.push(truncate(`- PVC ${claim.name} of StatefulSet ${claim.statefulSet} (${effect})`));
      }
      if (owned.length > MAX_LISTED_PER_CHECK) lines.push(`- and ${owned.length - MAX_LISTED_PER_CHECK} more`);
    }
    // The chart declares its own namespace: Helm deletes the Namespace, and the namespace controller every PVC in it.
    const named = new Set([...templated, ...hookDeleted, ...owned.map((claim) => `${claim.namespace}/${claim.name}`)]);
    const withNamespace = pvcsDeletedWithNamespace(context.snapshot, manifest, release.namespace).filter((claim) => !named.has(`${claim.namespace}/${claim.name}`));
    if (withNamespace.length > 0) {
      lines.push(
        truncate(`volume-guard: uninstalling ${release.namespace}/${release.name} deletes namespace ${release.namespace}, which its chart declares;`),
        truncate(`the namespace controller then deletes ${plural(withNamespace.length, 'PVC', 'PVCs')} in it:`),
      );
      for (const claim of withNamespace.slice(0, MAX_LISTED_PER_CHECK)) {
        const effect = claim.volumeName ? `PV ${claim.volumeName}, ${shortReclaimEffect(claim.reclaimPolicy)}` : 'unbound';
        lines.push(truncate(`- PVC ${claim.namespace}/${claim.name} (${effect})`));
      }
      if (withNamespace.length > MAX_LISTED_PER_CHECK) lines.push(`- and ${withNamespace.length - MAX_LISTED_PER_CHECK} more`);
    }
  }
  // Other namespaces the chart declares go too, with all they hold (not listed here: judged in its own namespace).
  const others = (manifest.namespaces ?? []).filter((declared) => declared.name !== release.namespace && !declared.keep).map((declared) => declared.name);
  if (others.length > 0) {
    lines.push(...wrap(`volume-guard: uninstalling ${release.namespace}/${release.name} also deletes ${others.length === 1 ? 'namespace' : 'namespaces'} ${fewNamed(others)}, which its chart declares, with every PVC in ${others.length === 1 ? 'it' : 'them'}`));
  }
  // Nothing is left behind in a namespace the uninstall deletes.
  if (context.config.checks['orphan-pvc'].mode !== 'off' && !uninstallDeletesNamespace(manifest, release.namespace)) {
    const left = pvcsLeftBehind(context.snapshot, release, manifest).filter((claim) => !hookDeleted.has(`${claim.namespace}/${claim.name}`));
    if (left.length > 0) {
      lines.push(
        truncate(`volume-guard: uninstalling ${release.namespace}/${release.name} leaves ${plural(left.length, 'PVC', 'PVCs')} and data behind;`),
        truncate(`a later install of ${release.name} would re-attach ${left.length === 1 ? 'it' : 'them'} (delete if the data is obsolete)`),
      );
      for (const claim of left.slice(0, MAX_LISTED_PER_CHECK)) {
        const pv = claim.volumeName ? `PV ${claim.volumeName}, reclaim ${claim.reclaimPolicy || 'unknown'}` : 'unbound';
        lines.push(truncate(`- PVC ${claim.namespace}/${claim.name} (${pv})`));
      }
      if (left.length > MAX_LISTED_PER_CHECK) lines.push(`- and ${left.length - MAX_LISTED_PER_CHECK} more`);
    }
  }
  return allowed(lines);
}
