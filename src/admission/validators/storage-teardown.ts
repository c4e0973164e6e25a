// Storage teardown and weakened storage safety (issue 20.1, 20.2, 20.3): the requests that take Longhorn away, or its
// protection, while it still holds volumes. Three webhooks, each with narrow rules and matchConditions so the API
// server calls volume-guard only for the few writes that matter:
// - storage-teardown: the uninstaller Job, a DELETE of Longhorn's namespace or of a Longhorn CRD, Longhorn's
//   finalizer stripped from a volume or replica by anyone but Longhorn's own service account;
// - longhorn-settings: deleting-confirmation-flag set true, node-drain-policy weakened,
//   allow-node-drain-with-last-healthy-replica set true;
// - storage-upgrade: the longhorn-manager workload's image changed outside Helm (a Helm upgrade of the Longhorn
//   chart is judged at its release record, see helm-release.ts; anyone else's writes of a Helm-managed one are judged).
// Overrides: `volume-guard.io/skip` on Longhorn's namespace (policed by the override guard when written).
import {
  ALLOW_DRAIN_WITH_LAST_REPLICA,
  DEFAULT_NODE_DRAIN_POLICY,
  DELETING_CONFIRMATION_FLAG,
  drainPolicyStrength,
  longhornSettingIsTrue,
  NODE_DRAIN_POLICY,
  type TeardownTarget,
} from '../../checks/storage-teardown.ts';
import { DELETE_APPROVED_KEY, dependentsOfKind } from '../../checks/pvc-delete.ts';
import { effectiveReclaimPolicy, reclaimKeepsData } from '../../checks/reclaim.ts';
import type { PersistentVolumeClaimRecord } from '../../cluster/records.ts';
import type { ClusterSnapshot } from '../../cluster/snapshot.ts';
import { transformLonghornReplica } from '../../cluster/transforms.ts';
import { describeUser } from '../../kube.ts';
import type { Config } from '../../config.ts';
import { LONGHORN_MANAGER_NAME } from '../../helm/manifest.ts';
import { parseAllDocuments } from 'yaml';
import { isHelmsOwnWrite } from '../helm-writes.ts';
import { isAutomation, namespaceGoing, staleModelDecision, unknownWarnings } from '../context.ts';
import { annotateHint } from '../decide.ts';
import { wrap } from '../messages.ts';
import { celString } from '../rules.ts';
import { field, finalizersOf, isRecord, metaOf, stringField } from '../objects.ts';
import { deleteApprovalSource, SKIP_BY_KEY, SKIP_KEY, skipFrom } from '../overrides.ts';
import { judgeByPlan } from '../plan-judge.ts';
import { withholdOtherNamespaces } from '../withhold.ts';
import { PLANS, readOverrides, type Plan } from '../plans.ts';
import { allowed, denied, type AdmissionRequest, type Decision, type WebhookDeclaration } from '../types.ts';
import type { ValidationContext, Validator } from '../validator.ts';
import { WRITER_PLACEHOLDER } from '../../override-keys.ts';

/** Longhorn's finalizer on its volumes, replicas and other CRs. */
export const LONGHORN_FINALIZER = 'longhorn.io';
/** The name the storage-upgrade webhook guards, the one a release record's manifest is read for (helm/manifest.ts). */
export const LONGHORN_MANAGER = LONGHORN_MANAGER_NAME;

/** `system:serviceaccount:<namespace>:<name>` of Longhorn's own service account. */
export function longhornServiceAccount(config: Config): string {
  return `system:serviceaccount:${config.longhorn.namespace}:${config.longhorn.serviceAccount}`;
}

/** CEL: the finalizer list of `object`/`oldObject` holds Longhorn's. */
const holdsFinalizer = (which: 'object' | 'oldObject'): string =>
  `(has(${which}.metadata.finalizers) && ${which}.metadata.finalizers.exists(f, f == ${celString(LONGHORN_FINALIZER)}))`;

/** CEL: a container runs `longhorn-manager ... uninstall`. */
const UNINSTALL_CONTAINER =
  `object.spec.template.spec.containers.exists(c, has(c.image) && c.image.contains(${celString(LONGHORN_MANAGER)}) && ` +
  `((has(c.command) && c.command.exists(a, a == 'uninstall')) || (has(c.args) && c.args.exists(a, a == 'uninstall'))))`;

/** The name Longhorn's chart and its uninstall manifest give the uninstaller Job. */
export const UNINSTALL_JOB_NAME = 'longhorn-uninstall';

/** Whether a Job object is Longhorn's uninstaller: named so, or running `longhorn-manager uninstall`. */
export function isLonghornUninstallJob(job: unknown): boolean {
  if (metaOf(job)?.name.startsWith(UNINSTALL_JOB_NAME)) return true;
  const containers = field(job, 'spec', 'template', 'spec', 'containers');
  if (!Array.isArray(containers)) return false;
  return containers.some((container: unknown) => {
    if (!stringField(container, 'image').includes(LONGHORN_MANAGER)) return false;
    const words = [field(container, 'command'), field(container, 'args')].flatMap((list) => (Array.isArray(list) ? list : []));
    return words.includes('uninstall');
  });
}

/** Longhorn's finalizer was on the old object and is not on the new one. */
export function stripsLonghornFinalizer(request: AdmissionRequest): boolean {
  return finalizersOf(request.oldObject).includes(LONGHORN_FINALIZER) && !finalizersOf(request.object).includes(LONGHORN_FINALIZER);
}

/**
 * Judges a storage operation by its plan, with the override on Longhorn's namespace (and warnings for unknown ids in
 * it). `requester`: the namespace of a namespaced request made outside Longhorn's (a Job), whose answer names no other
 * namespace's objects (withhold.ts).
 */
function judgeWith<Target>(context: ValidationContext, action: string, plan: Plan<Target, 'storage-namespace'>, target: Target, requester?: string): Decision {
  const namespace = context.config.longhorn.namespace;
  const annotations = context.snapshot.namespace(namespace)?.annotations;
  const warnings = unknownWarnings(`namespace ${namespace}`, annotations);
  const withhold = requester !== undefined && requester !== '' && requester !== namespace;
  return judgeByPlan(context, plan, {
    action,
    target,
    overrides: readOverrides(plan, { 'storage-namespace': () => skipFrom(`namespace ${namespace}`, annotations, undefined, { now: context.now }) }),
    overrideHint: annotateHint('namespace', context.config.longhorn.namespace),
    warnings,
    ...(withhold ? { adjust: withholdOtherNamespaces(requester) } : {}),
  });
}

function teardown(context: ValidationContext, action: string, target: TeardownTarget, requester?: string): Decision {
  return judgeWith(context, action, PLANS['storage-teardown'], target, requester);
}

// ------------------------------------------------------------------------------------------------ CRD DELETE

/** The CRD's status.conditions say Established=True: the CRD finalizer deletes its objects only then. */
function crdEstablished(crd: unknown): boolean {
  const conditions = field(crd, 'status', 'conditions');
  if (!Array.isArray(conditions)) return false;
  return conditions.some((condition: unknown) => stringField(condition, 'type') === 'Established' && stringField(condition, 'status') === 'True');
}

/** spec.versions[].served: the versions the garbage collector can resolve an owner reference through. */
function servedVersions(crd: unknown): readonly string[] | undefined {
  const versions = field(crd, 'spec', 'versions');
  if (!Array.isArray(versions)) return undefined;
  return versions.flatMap((version: unknown) => (field(version, 'served') === true && stringField(version, 'name') !== '' ? [stringField(version, 'name')] : []));
}

/**
 * A CRD's DELETE (plan crd-delete), whoever makes it: the CRD finalizer deletes every object of its kind straight in
 * storage (no webhook sees those), then the garbage collector the PVCs they own, directly or through StatefulSets
 * (whenDeleted: Delete) or Namespaces they own, and the PV controller reclaims the volumes. Argo CD and Flux prunes of
 * an operator's CRD, `helm uninstall` of a chart shipping CRDs in templates/. A CRD whose kind owns nothing passes
 * after three lookups. The CRD deleter is cluster-scoped: the PVCs of every namespace are named to it.
 */
function judgeCrdDelete(request: AdmissionRequest, context: ValidationContext, name: string): Decision {
  const old = request.oldObject;
  // Never Established (its names taken by another CRD, ...): the CRD finalizer deletes no object, it only removes
  // itself (crd_finalizer.go deletes instances only when Established is True).
  if (!crdEstablished(old)) return allowed();
  const group = stringField(old, 'spec', 'group');
  // The kind it serves: status.acceptedNames (spec.names may ask for a change not accepted).
  const kind = stringField(old, 'status', 'acceptedNames', 'kind') || stringField(old, 'spec', 'names', 'kind');
  if (group === '' || kind === '') return allowed();
  const namespaced = stringField(old, 'spec', 'scope') !== 'Cluster';
  const served = servedVersions(old);
  const dependents = dependentsOfKind(context.snapshot, { group, kind, namespaced, served });
  if (dependents.taken.size === 0) {
    // Nothing of the kind owns a claim, as a stale view says: one made (or owned) since is not in it. The check off
    // refuses nothing; the CRD's honored `*` skip passes, as where something is found.
    if (context.config.checks['pvc-delete'].mode === 'off') return allowed();
    const skip = skipFrom(`CRD ${name}`, metaOf(old)?.annotations ?? {}, undefined, { now: context.now });
    const stale = staleModelDecision(context, `deletion of CRD ${name} by ${describeUser(request.userInfo)}`, skip ? [skip] : [], ['persistentVolumeClaim', 'statefulSet', 'namespace'], [
      annotateHint('crd', name).replace(/^run: /, '').replace(`${SKIP_KEY}=<checks>`, `${SKIP_KEY}="*"`),
      'or retry once volume-guard sees the PVCs, StatefulSets and Namespaces again',
    ]);
    return stale ?? allowed();
  }
  // Once allowed (whatever the mode), the garbage collector's DELETEs of what those objects own follow as itself: judged
  // here (pvc-delete.ts ownersWereJudged, ownedOnlyByAdmittedDeletions), not again under pvcDelete.others.
  for (const uid of dependents.owners) context.removing({ kind: 'owner', uid });
  const mode = context.config.checks['pvc-delete'].mode;
  if (mode === 'off') return allowed();
  const annotations = metaOf(old)?.annotations ?? {};
  const where = `CRD ${name}`;
  const plan = PLANS['crd-delete'];
  const approval = `${DELETE_APPROVED_KEY}=true ${SKIP_BY_KEY}=${WRITER_PLACEHOLDER}`;
  const automation = isAutomation(request.userInfo, context.config);
  // Who deletes it again once the PVCs are marked: a controller at its next sync; a person, by hand (a refused
  // `helm uninstall` deleted the release's other objects and left it "uninstalling": run again, it deletes the rest).
  const retry = automation ? 'then let the controller retry' : `then run the delete again (kubectl delete crd ${name}, or the same helm uninstall)`;
  return judgeByPlan(context, plan, {
    // The CRD's consequence, said once: each PVC's line names only its owner and PV.
    action: `deletion of CRD ${name} by ${describeUser(request.userInfo)} (every ${kind} goes with it, and the garbage collector deletes the PVCs they own)`,
    target: { crd: name, group, kind, namespaced, served, now: context.now, dependents },
    overrides: readOverrides(plan, { object: () => skipFrom(where, annotations, undefined, { now: context.now }), 'pvc-delete': deleteApprovalSource }),
    warnings: unknownWarnings(where, annotations),
    modes: { 'pvc-delete': mode },
    unlimited: ['pvc-delete'],
    reviewed: { resources: ['crd'], name, annotations },
    overrideHint: [
      `back the data up, mark each PVC that may go, ${retry}:`,
      ...markingCommands(dependents.taken.keys(), context.snapshot).map((command) => `${command} ${approval}`),
      `or, for all of them: ${annotateHint('crd', name).replace(/^run: /, '')}`,
    ].join('\n'),
  });
}

/** How many namespaces a CRD refusal gives an annotate command of its own (kubectl annotate -n takes one). */
const MAX_MARKING_NAMESPACES = 3;

/**
 * The `kubectl annotate pvc` commands that mark the PVCs a CRD's DELETE takes: one per namespace holding a Bound
 * PVC whose PV reclaims its data (those refused; the decision drops a namespace none of whose PVCs was refused),
 * at most MAX_MARKING_NAMESPACES, then one to fill in for the others.
 */
function markingCommands(claims: Iterable<PersistentVolumeClaimRecord>, snapshot: ClusterSnapshot): string[] {
  const namespaces = new Set<string>();
  for (const claim of claims) {
    const policy = effectiveReclaimPolicy(snapshot.persistentVolume(claim.volumeName));
    if (claim.volumeName !== '' && !reclaimKeepsData(policy)) namespaces.add(claim.namespace);
  }
  const sorted = [...namespaces].sort();
  const commands = sorted.slice(0, MAX_MARKING_NAMESPACES).map((namespace) => `kubectl annotate pvc <pvcs@${namespace}> -n ${namespace}`);
  if (sorted.length > MAX_MARKING_NAMESPACES) commands.push('kubectl annotate pvc "<pvc>" -n "<its namespace>"');
  return commands;
}

// ------------------------------------------------------------------------------------------------ teardown

export function storageTeardownValidator(config: Config): Validator {
  const namespace = config.longhorn.namespace;
  const declaration: WebhookDeclaration = {
    name: 'storage-teardown.volume-guard.io',
    target: 'storage-teardown',
    rules: [
      { apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs'], operations: ['CREATE'], scope: 'Namespaced' },
      { apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], operations: ['DELETE'], scope: 'Cluster' },
      {
        apiGroups: ['apiextensions.k8s.io'],
        apiVersions: ['v1'],
        resources: ['customresourcedefinitions'],
        operations: ['DELETE'],
        scope: 'Cluster',
      },
      { apiGroups: ['longhorn.io'], apiVersions: ['*'], resources: ['volumes', 'replicas'], operations: ['UPDATE'], scope: 'Namespaced' },
      { apiGroups: ['longhorn.io'], apiVersions: ['*'], resources: ['replicas'], operations: ['DELETE'], scope: 'Namespaced' },
    ],
    matchConditions: [
      {
        name: 'longhorn-teardown',
        expression:
          `(request.resource.resource == 'jobs' && has(object.spec.template.spec.containers) && ` +
          `((has(object.metadata.name) && object.metadata.name.startsWith(${celString(UNINSTALL_JOB_NAME)})) || ${UNINSTALL_CONTAINER})) || ` +
          // A namespace or CRD already being deleted: a second DELETE changes nothing (the first one was judged).
          `(request.resource.resource == 'namespaces' && request.name == ${celString(namespace)} && !has(oldObject.metadata.deletionTimestamp)) || ` +
          // A collection DELETE is admitted item by item with no request.name (CEL then has no such key, and the
          // error would fail every CRD's collection DELETE): the item is oldObject.
          // Any CRD (plan crd-delete: the PVCs the objects of its kind own), Longhorn's (storage-teardown).
          `(request.resource.resource == 'customresourcedefinitions' && !has(oldObject.metadata.deletionTimestamp)) || ` +
          `((request.resource.resource == 'volumes' || request.resource.resource == 'replicas') && ` +
          `request.userInfo.username != ${celString(longhornServiceAccount(config))} && ` +
          `(request.operation == 'DELETE' ? (request.resource.resource == 'replicas' && !has(oldObject.metadata.deletionTimestamp)) : ` +
          `(${holdsFinalizer('oldObject')} && !${holdsFinalizer('object')})))`,
      },
    ],
  };
  return {
    declaration,
    handle(request, context) {
      const resource = request.resource.resource;
      if (resource === 'jobs' && request.operation === 'CREATE') {
        if (!isLonghornUninstallJob(request.object)) return allowed();
        const ref = `${request.namespace}/${request.name || metaOf(request.object)?.name || ''}`;
        // It runs anywhere (Longhorn's namespace comes from LONGHORN_NAMESPACE; older uninstall manifests used `default`):
        // judged in any namespace, other namespaces' volumes named only to a requester in Longhorn's.
        return teardown(context, `creation of Longhorn's uninstaller Job ${ref}`, { consequence: "deleted by Longhorn's uninstaller" }, request.namespace);
      }
      // A namespace or CRD already being deleted (Terminating): the namespace controller or the CRD finalizer is
      // deleting what it holds whatever this answer says; a second DELETE changes nothing, and was judged the first time.
      const alreadyGoing = request.operation === 'DELETE' && stringField(request.oldObject, 'metadata', 'deletionTimestamp') !== '';
      if (resource === 'namespaces' && request.operation === 'DELETE') {
        if (request.name !== context.config.longhorn.namespace || alreadyGoing) return allowed();
        return teardown(context, `deletion of namespace ${request.name}`, {
          consequence: `deleted with namespace ${request.name}`,
        });
      }
      if (resource === 'customresourcedefinitions' && request.operation === 'DELETE') {
        if (alreadyGoing) return allowed();
        // A collection DELETE's items come without request.name.
        const name = request.name || metaOf(request.oldObject)?.name || '';
        if (name.endsWith('.longhorn.io')) return teardown(context, `deletion of CRD ${name}`, { consequence: `deleted with CRD ${name}` });
        return judgeCrdDelete(request, context, name);
      }
      if (resource === 'replicas' && request.operation === 'DELETE') {
        // Longhorn's own deletes (its cleanups, its API after its own last-replica test) and its namespace's teardown
        // (judged at the Namespace DELETE) pass.
        if (request.userInfo.username === longhornServiceAccount(context.config)) return allowed();
        if (namespaceGoing(context, request.namespace)) return allowed();
        // The API server sends the replica being deleted as oldObject.
        const replica = transformLonghornReplica(request.oldObject);
        if (replica === undefined) return allowed();
        // Once allowed, the next DELETE (of the same command, the same DeleteCollection) counts it gone.
        context.removing({ kind: 'longhornReplica', name: replica.name });
        return judgeWith(context, `deletion of Longhorn replica ${request.namespace}/${replica.name}`, PLANS['replica-delete'], { replica });
      }
      if ((resource === 'volumes' || resource === 'replicas') && request.operation === 'UPDATE') {
        if (request.userInfo.username === longhornServiceAccount(context.config) || !stripsLonghornFinalizer(request)) {
          return allowed();
        }
        // A replica already being deleted is no copy (Longhorn's healthy test excludes it): its finalizer only lets
        // Longhorn remove its data, and one stuck Terminating on a gone node is freed this way. Nothing is lost.
        if (resource === 'replicas' && stringField(request.oldObject, 'metadata', 'deletionTimestamp') !== '') return allowed();
        const volumeName = resource === 'volumes' ? request.name : stringField(request.oldObject, 'spec', 'volumeName');
        const what = resource === 'volumes' ? 'volume' : 'replica';
        return teardown(context, `removal of Longhorn's finalizer from ${what} ${request.namespace}/${request.name}`, {
          volumes: volumeName === '' ? [] : [volumeName],
          consequence: "Longhorn's finalizer stripped: it can vanish without Longhorn keeping or releasing its data",
        });
      }
      return allowed();
    },
  };
}

// ------------------------------------------------------------------------------------------------ settings

const GUARDED_SETTINGS = [DELETING_CONFIRMATION_FLAG, NODE_DRAIN_POLICY, ALLOW_DRAIN_WITH_LAST_REPLICA] as const;

function settingValue(object: unknown): string {
  return isRecord(object) ? stringField(object, 'value') : '';
}

/** Longhorn's default-setting ConfigMap and its key: the Helm chart's `defaultSettings` land there. */
export const DEFAULT_SETTING_CONFIGMAP = 'longhorn-default-setting';
const DEFAULT_SETTING_KEY = 'default-setting.yaml';

/**
 * Read as longhorn-manager reads it (go-yaml v2 into a map of strings): the first document only, every scalar as its
 * text (the failsafe schema: `True` stays `True` for Go's ParseBool), `<<` merge keys expanded, a repeated key's last
 * value winning.
 */
const LONGHORN_YAML = { schema: 'failsafe', merge: true, uniqueKeys: false, maxAliasCount: 16 } as const;
/** The longest default-setting.yaml volume-guard reads (characters). */
const MAX_DEFAULT_SETTINGS_BYTES = 16 * 1024;

/**
 * The guarded settings a write of Longhorn's default-setting ConfigMap sets, as longhorn-manager reads them
 * (GetCustomizedDefaultSettings; an empty value is skipped for a required setting). Undefined when the document is
 * not such a map (Longhorn then applies nothing).
 */
export function defaultSettingsOf(configMap: unknown): Map<string, string> | undefined {
  const text = field(configMap, 'data', DEFAULT_SETTING_KEY);
  if (typeof text !== 'string') return new Map();
  let parsed: unknown;
  try {
    const first = parseAllDocuments(text, LONGHORN_YAML);
    const document = Array.isArray(first) ? first[0] : undefined;
    if (document === undefined) return new Map();
    if (document.errors.length > 0) return undefined;
    parsed = document.toJS({ maxAliasCount: LONGHORN_YAML.maxAliasCount });
  } catch {
    return undefined;
  }
  if (parsed === null || parsed === undefined) return new Map();
  if (!isRecord(parsed)) return undefined;
  const values = new Map<string, string>();
  for (const name of GUARDED_SETTINGS) {
    const value = parsed[name];
    if (typeof value === 'string') values.set(name, value.trim());
  }
  return values;
}

/** The judgement of one guarded setting going from `previous` to `next`, or undefined when it weakens nothing. */
function judgeSettingChange(context: ValidationContext, name: string, next: string, previous: string, action: string): Decision | undefined {
  switch (name) {
    case DELETING_CONFIRMATION_FLAG:
      if (!longhornSettingIsTrue(next) || longhornSettingIsTrue(previous)) return undefined;
      return judgeWith(context, action, PLANS['storage-delete-flag'], { consequence: 'deleted by the Longhorn uninstall this flag permits' });
    case NODE_DRAIN_POLICY: {
      const before = previous === '' ? DEFAULT_NODE_DRAIN_POLICY : previous;
      if (next === '' || drainPolicyStrength(next) >= drainPolicyStrength(before)) return undefined;
      // Judged on what the change exposes: the volumes the policy in force already leaves unprotected are not its doing.
      return judgeWith(context, action, PLANS['storage-drain-setting'], { policy: next, from: before });
    }
    case ALLOW_DRAIN_WITH_LAST_REPLICA: {
      if (!longhornSettingIsTrue(next) || longhornSettingIsTrue(previous)) return undefined;
      // The older switch: true lets a drain take a volume's last copy, like node-drain-policy always-allow.
      const policy = context.snapshot.longhornSetting(NODE_DRAIN_POLICY)?.value || DEFAULT_NODE_DRAIN_POLICY;
      return judgeWith(context, action, PLANS['storage-drain-setting'], { policy: 'always-allow', from: policy });
    }
    default:
      return undefined;
  }
}

/**
 * A write of the default-setting ConfigMap (`helm upgrade longhorn --set defaultSettings.nodeDrainPolicy=...`,
 * `kubectl edit`): on every new version of it longhorn-manager writes each value it holds to the Setting, as its own
 * service account, over whatever the Setting says then (UpdateCustomizedSettings). So each guarded value is judged
 * against the live Setting, the first one that weakens it answering.
 */
function judgeDefaultSettings(request: AdmissionRequest, context: ValidationContext): Decision {
  // Parsed on the event loop: a file many times Longhorn's own (a few KB) is refused unread rather than hold every
  // other admission up (a 1 MB flow map parses for seconds).
  const text = field(request.object, 'data', DEFAULT_SETTING_KEY);
  if (typeof text === 'string' && text.length > MAX_DEFAULT_SETTINGS_BYTES) {
    return denied(
      `volume-guard: ${DEFAULT_SETTING_KEY} of ConfigMap ${request.namespace}/${DEFAULT_SETTING_CONFIGMAP} is ${Math.ceil(text.length / 1024)} KiB; ` +
        `volume-guard reads up to ${MAX_DEFAULT_SETTINGS_BYTES / 1024} KiB of it (Longhorn's own is a few KB): keep only the settings you change.`,
    );
  }
  const values = defaultSettingsOf(request.object);
  if (values === undefined) {
    return allowed(wrap(`volume-guard: ${DEFAULT_SETTING_KEY} of ConfigMap ${request.namespace}/${DEFAULT_SETTING_CONFIGMAP} is not a YAML map: Longhorn applies none of it`));
  }
  // A refusal answers; else the first judged change (its warnings, its audited override).
  let answer: Decision | undefined;
  for (const [name, next] of values) {
    const action = `change of Longhorn setting ${name} to "${next}" (ConfigMap ${request.namespace}/${DEFAULT_SETTING_CONFIGMAP})`;
    const decision = judgeSettingChange(context, name, next, context.snapshot.longhornSetting(name)?.value ?? '', action);
    if (decision !== undefined && !decision.allowed) return decision;
    answer ??= decision;
  }
  return answer ?? allowed();
}

export function longhornSettingsValidator(config: Config): Validator {
  const declaration: WebhookDeclaration = {
    name: 'longhorn-settings.volume-guard.io',
    target: 'longhorn-settings',
    rules: [
      { apiGroups: ['longhorn.io'], apiVersions: ['*'], resources: ['settings'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' },
      { apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' },
    ],
    matchConditions: [
      {
        name: 'guarded-setting',
        expression:
          `request.namespace == ${celString(config.longhorn.namespace)} && (request.resource.resource == 'configmaps' ? ` +
          `(request.name == ${celString(DEFAULT_SETTING_CONFIGMAP)} || (has(object.metadata.name) && object.metadata.name == ${celString(DEFAULT_SETTING_CONFIGMAP)})) : ` +
          `([${GUARDED_SETTINGS.map(celString).join(', ')}].exists(s, s == request.name) && ` +
          `request.userInfo.username != ${celString(longhornServiceAccount(config))}))`,
      },
    ],
  };
  return {
    declaration,
    handle(request, context) {
      if (request.namespace !== context.config.longhorn.namespace) return allowed();
      const name = request.name || metaOf(request.object)?.name || '';
      if (request.resource.resource === 'configmaps') return name === DEFAULT_SETTING_CONFIGMAP ? judgeDefaultSettings(request, context) : allowed();
      // Longhorn's manager applies the settings it was configured with (its default-setting ConfigMap, judged at its
      // write, the Helm chart's defaultSettings); refusing it would only make it retry. Its uninstaller is still guarded.
      if (request.userInfo.username === longhornServiceAccount(context.config)) return allowed();
      const next = settingValue(request.object);
      const previous = request.operation === 'UPDATE' ? settingValue(request.oldObject) : '';
      return judgeSettingChange(context, name, next, previous, `change of Longhorn setting ${name} to "${next}"`) ?? allowed();
    },
  };
}

// ------------------------------------------------------------------------------------------------ upgrade

function containerImages(workload: unknown): string {
  const containers = field(workload, 'spec', 'template', 'spec', 'containers');
  if (!Array.isArray(containers)) return '';
  return containers.map((container: unknown) => `${stringField(container, 'name')}=${stringField(container, 'image')}`).join(',');
}

export function storageUpgradeValidator(config: Config): Validator {
  const declaration: WebhookDeclaration = {
    name: 'storage-upgrade.volume-guard.io',
    target: 'storage-upgrade',
    rules: [
      { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['daemonsets', 'deployments'], operations: ['UPDATE'], scope: 'Namespaced' },
    ],
    matchConditions: [
      {
        name: 'longhorn-manager',
        expression: `request.namespace == ${celString(config.longhorn.namespace)} && request.name == ${celString(LONGHORN_MANAGER)}`,
      },
    ],
  };
  return {
    declaration,
    handle(request, context) {
      if (request.operation !== 'UPDATE' || request.namespace !== context.config.longhorn.namespace || request.name !== LONGHORN_MANAGER) {
        return allowed();
      }
      if (containerImages(request.object) === containerImages(request.oldObject)) return allowed();
      // Helm's own write: the upgrade of the release rendering it (the `longhorn` chart or one bundling it) was judged
      // at its release record (storage-upgrade-hook.ts). Anyone else's writes are judged (src/admission/helm-writes.ts).
      if (isHelmsOwnWrite(request, metaOf(request.object)?.annotations ?? {})) return allowed();
      const kind = request.resource.resource === 'daemonsets' ? 'DaemonSet' : 'Deployment';
      return judgeWith(context, `upgrade of Longhorn (${kind} ${request.namespace}/${request.name} image)`, PLANS['storage-upgrade'], {});
    },
  };
}
