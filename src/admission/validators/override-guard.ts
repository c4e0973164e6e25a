// An override is only as trustworthy as its writer: refuse writes of volume-guard's override annotations and
// labels on guarded objects from anyone outside the configured writers, and any such write that does not record
// its writer (`volume-guard.io/skip-by` equal to the requesting user) or whose expiry is unreadable. So every
// stored override names the last user who added or changed it, and that user passed this check. Removing an
// override is always allowed; removing only its expiry (`skip-until`) is a write like any other.
// Harvester's `harvesterhci.io/skipSingleReplicaDetachedVol: "true"` on an Upgrade or UpgradePlan is an override
// too: it waives the detached single-replica findings of every cordon and drain of that upgrade (longhorn-drain.ts),
// read from the stored object. Harvester reads it only at the creation, so nothing legitimate adds it later; setting
// it takes an allowed writer (no skip-by: Harvester's UI writes the annotation alone).
import type { Config } from '../../config.ts';
import { describeUser } from '../context.ts';
import { metaOf } from '../objects.ts';
import { overrideWriteWarnings, unknownKeyWarnings } from '../override-feedback.ts';
import {
  changedOverrideKeys,
  coOwnedGrantingKeys,
  GRANTING_KEYS,
  HARVESTER_SKIP_DETACHED_KEY,
  HARVESTER_UPGRADE_KINDS,
  isHarvesterUpgradeKind,
  mayWriteOverrides,
  OVERRIDE_KEYS,
  parseRfc3339,
  parseSkip,
  REMOVAL_POLICED_KEYS,
  SKIP_BY_KEY,
  SKIP_EVICTIONS_KEY,
  SKIP_KEY,
  SKIP_REASON_KEY,
  SKIP_UNTIL_KEY,
  skipsEverything,
  whoMayWriteOverrides,
  writerStepRecords,
} from '../overrides.ts';
import { allowed, denied, type AdmissionRequest, type DeclaredRule, type WebhookDeclaration } from '../types.ts';
import type { Validator } from '../validator.ts';
import { PLANS, planChecks, plansReading, type OverridePlace } from '../plans.ts';
import type { CheckId } from '../../checks/types.ts';
import { wrap } from '../messages.ts';
import { WRITER_PLACEHOLDER } from '../../override-keys.ts';

/**
 * CEL: this write adds or changes one of the override keys in `field` (annotations or labels), or removes
 * `skip-until` while a granting key stays (changedOverrideKeys).
 */
function changesOverrideKeys(field: 'annotations' | 'labels'): string {
  const keys = `[${OVERRIDE_KEYS.map((key) => `'${key}'`).join(', ')}]`;
  const granting = `[${GRANTING_KEYS.map((key) => `'${key}'`).join(', ')}]`;
  const removalPoliced = `[${REMOVAL_POLICED_KEYS.map((key) => `'${key}'`).join(', ')}]`;
  return (
    `(has(object.metadata.${field}) && ${keys}.exists(k, k in object.metadata.${field} && ` +
    `(oldObject == null || !has(oldObject.metadata.${field}) || !(k in oldObject.metadata.${field}) || ` +
    `oldObject.metadata.${field}[k] != object.metadata.${field}[k]))) || ` +
    `(oldObject != null && has(oldObject.metadata.${field}) && has(object.metadata.${field}) && ` +
    `${removalPoliced}.exists(k, k in oldObject.metadata.${field} && !(k in object.metadata.${field})) && ` +
    `${granting}.exists(k, k in object.metadata.${field}))`
  );
}

/** CEL: the managedFields entry `entry` owns the annotation named by the CEL string `key` (fieldsV1 f:metadata/f:annotations). */
const ownsAnnotation = (entry: string, key: string): string =>
  `('f:metadata' in ${entry}.fieldsV1 && 'f:annotations' in ${entry}.fieldsV1['f:metadata'] && ('f:' + ${key}) in ${entry}.fieldsV1['f:metadata']['f:annotations'])`;

/**
 * CEL: an UPDATE by which a server-side applier comes to own a granting override annotation it did not own before
 * (coOwnedGrantingKeys), its value unchanged: the co-owner would keep the override in place after its writer's apply
 * drops it.
 */
const CO_OWNS_OVERRIDE =
  `(oldObject != null && has(object.metadata.managedFields) && object.metadata.managedFields.exists(m, m.operation == 'Apply' && has(m.fieldsV1) && ` +
  `[${GRANTING_KEYS.map((key) => `'${key}'`).join(', ')}].exists(k, ${ownsAnnotation('m', 'k')} && ` +
  `!(has(oldObject.metadata.managedFields) && oldObject.metadata.managedFields.exists(o, o.manager == m.manager && o.operation == 'Apply' && has(o.fieldsV1) && ${ownsAnnotation('o', 'k')})))))`;

/** CEL: the request is for one of Harvester's upgrade kinds (whose skipSingleReplicaDetachedVol volume-guard honors). */
const HARVESTER_UPGRADE_KIND = `(${HARVESTER_UPGRADE_KINDS.map(({ group, kind }) => `(request.kind.group == '${group}' && request.kind.kind == '${kind}')`).join(' || ')})`;

/** CEL: this write sets Harvester's skipSingleReplicaDetachedVol to "true" on a Harvester upgrade (it was not before). */
const SETS_HARVESTER_SKIP =
  `(${HARVESTER_UPGRADE_KIND} && ` +
  `has(object.metadata.annotations) && '${HARVESTER_SKIP_DETACHED_KEY}' in object.metadata.annotations && ` +
  `object.metadata.annotations['${HARVESTER_SKIP_DETACHED_KEY}'] == 'true' && ` +
  `(oldObject == null || !has(oldObject.metadata.annotations) || !('${HARVESTER_SKIP_DETACHED_KEY}' in oldObject.metadata.annotations) || ` +
  `oldObject.metadata.annotations['${HARVESTER_SKIP_DETACHED_KEY}'] != 'true'))`;

/** Whether this write sets Harvester's annotation to "true" on a Harvester upgrade (what SETS_HARVESTER_SKIP says). */
function setsHarvesterSkip(request: AdmissionRequest): boolean {
  if (!isHarvesterUpgradeKind(request.kind.group, request.kind.kind)) return false;
  return (
    metaOf(request.object)?.annotations?.[HARVESTER_SKIP_DETACHED_KEY] === 'true' &&
    metaOf(request.oldObject)?.annotations?.[HARVESTER_SKIP_DETACHED_KEY] !== 'true'
  );
}

/** The checks of the plans that read an override at these places. */
function checksReadAt(places: readonly OverridePlace[]): Set<CheckId> {
  return new Set(places.flatMap((place) => plansReading(place).flatMap((id) => planChecks(PLANS[id]))));
}

const NODE_SKIP_CHECKS = checksReadAt(['node']);
const NAMESPACE_SKIP_CHECKS = new Set([...checksReadAt(['namespace', 'namespace-helm']), ...planChecks(PLANS['namespace-delete'])]);
const STORAGE_NAMESPACE_CHECKS = checksReadAt(['storage-namespace']);
const EVICTION_CHECKS = checksReadAt(['namespace-evictions']);

/**
 * Warnings for check ids a node's skip, a namespace's skip or skip-evictions names that no operation reading it
 * there checks (a node's `orphan-pvc`; a namespace's skip of `node-local-volume`, which evictions never read: that is
 * its skip-evictions). Other kinds are not judged here.
 */
function unreadCheckWarnings(what: string, kind: string, name: string, config: Config, next: Readonly<Record<string, string>>, previous?: Readonly<Record<string, string>>): string[] {
  const warnings: string[] = [];
  const judged: [string, Set<CheckId>, string][] = [];
  if (kind === 'Node') judged.push([SKIP_KEY, NODE_SKIP_CHECKS, '']);
  if (kind === 'Namespace') {
    const read = name === config.longhorn.namespace ? new Set([...NAMESPACE_SKIP_CHECKS, ...STORAGE_NAMESPACE_CHECKS]) : NAMESPACE_SKIP_CHECKS;
    judged.push([SKIP_KEY, read, `; evictions of its pods read ${SKIP_EVICTIONS_KEY}`], [SKIP_EVICTIONS_KEY, EVICTION_CHECKS, '']);
  }
  for (const [key, read, hint] of judged) {
    const value = next[key];
    if (value === undefined || value === previous?.[key]) continue;
    // `*` names every check: nothing to say about the ones it cannot reach.
    if (skipsEverything(value)) continue;
    const unread = parseSkip(value).checks.filter((check) => !read.has(check));
    if (unread.length === 0) continue;
    const them = unread.length === 1 ? `${unread[0]} is` : `${unread.join(', ')} are`;
    warnings.push(...wrap(`volume-guard: ${what} ${key}: ${them} never checked for a ${kind}${hint}`));
  }
  return warnings;
}

/** How kubectl names the resources whose override keys are policed: the short core names, CRDs fully qualified. */
const KUBECTL_RESOURCE: Readonly<Record<string, string>> = { nodes: 'node', namespaces: 'namespace', persistentvolumeclaims: 'pvc', persistentvolumes: 'pv' };

/** A value as a shell word: bare when it holds nothing the shell reads, else double-quoted; a long one as a placeholder. */
function shellValue(value: string): string {
  if (value.length > 200) return '"<value>"';
  return /^[\w.,:/@+=-]+$/.test(value) ? value : `"${value.replace(/["\\$`]/g, '\\$&')}"`;
}

/** An entry of changedOverrideKeys naming a label (`label volume-guard.io/skip`, `the removal of label …`). */
const isLabelEntry = (entry: string): boolean => / ?label /.test(entry);

/**
 * How to record the writer of a refused override write (changedOverrideKeys' `changed`): a GitOps service account's
 * writes, and any CREATE, come from a manifest (an admin's `kubectl annotate` would record the admin, not the
 * requester, and refused again; the object of a CREATE does not exist): the manifest gets the annotation. Otherwise
 * the `kubectl annotate` of the object written, with what the write set. Labels are never read as overrides on these
 * objects: the advice writes annotations.
 */
function recordWriterHow(request: AdmissionRequest, next: { annotations?: Readonly<Record<string, string>>; labels?: Readonly<Record<string, string>> }, changed: readonly string[]): string {
  const user = request.userInfo.username;
  const kind = request.kind.kind;
  const labels = changed.filter(isLabelEntry);
  const labelNote =
    labels.length === changed.length
      ? `volume-guard reads no volume-guard.io/ label on a ${kind}, only annotations: write the override as annotations. `
      : '';
  if (user.startsWith('system:serviceaccount:') || request.operation === 'CREATE') {
    return `${labelNote}Add ${SKIP_BY_KEY}: "${user || '<your user name>'}" to the ${kind}'s metadata.annotations in its manifest (in Git, for a GitOps tool), beside the override, and apply it again.`;
  }
  const pairs = changed.map((entry) => {
    const removal = /^the removal of (?:annotation|label) (\S+)$/.exec(entry);
    if (removal) return `${removal[1]}-`;
    const key = entry.replace(/^(?:annotation|label) /, '');
    const value = (entry.startsWith('label ') ? next.labels : next.annotations)?.[key] ?? '';
    return `${key}=${shellValue(value)}`;
  });
  const group = request.resource.group;
  const resource = group === '' ? (KUBECTL_RESOURCE[request.resource.resource] ?? request.resource.resource) : `${request.resource.resource}.${group}`;
  const name = request.name || metaOf(request.object)?.name || '<name>';
  const namespace = request.kind.kind !== 'Namespace' && request.namespace ? ` -n ${request.namespace}` : '';
  // The command on a line of its own: pasted from the terminal, nothing else comes with it.
  return `${labelNote}Example:\n  kubectl annotate --overwrite ${resource} ${name}${namespace} ${pairs.join(' ')} ${SKIP_BY_KEY}=${user || WRITER_PLACEHOLDER}`;
}

/**
 * What the override guard is called for: every write that adds or changes an override key, on every resource where
 * one is read. The mutating step that records the writer (override-writer.ts) is called for exactly the same.
 */
export function overrideGuardDeclaration(): WebhookDeclaration {
  const writeOps = ['CREATE', 'UPDATE'] as const;
  // Every way to write the keys: the main resource and its status subresource (metadata written through
  // nodes/status, namespaces/status, namespaces/finalize, a PV's, a PVC's or a CRD's status is stored like any other
  // write; a custom resource's status keeps the stored metadata, policed all the same).
  const rules: DeclaredRule[] = [
    {
      apiGroups: [''],
      apiVersions: ['v1'],
      resources: ['nodes', 'nodes/status', 'namespaces', 'namespaces/status', 'namespaces/finalize'],
      operations: [...writeOps],
      scope: 'Cluster',
    },
    // A PV's `volume-guard.io/delete` approves turning its reclaim policy to Delete after its claim is gone.
    { apiGroups: [''], apiVersions: ['v1'], resources: ['persistentvolumes', 'persistentvolumes/status'], operations: [...writeOps], scope: 'Cluster' },
    {
      apiGroups: [''],
      apiVersions: ['v1'],
      resources: ['persistentvolumeclaims', 'persistentvolumeclaims/status'],
      operations: [...writeOps],
      scope: 'Namespaced',
    },
    // A Longhorn Volume's `volume-guard.io/delete` approves its DELETE by automation.
    { apiGroups: ['longhorn.io'], apiVersions: ['*'], resources: ['volumes', 'volumes/status'], operations: [...writeOps], scope: 'Namespaced' },
    // A CRD's skip waives the PVCs its DELETE takes with every object of its kind (plan crd-delete). Its status
    // update keeps the metadata the client sends.
    {
      apiGroups: ['apiextensions.k8s.io'],
      apiVersions: ['v1'],
      resources: ['customresourcedefinitions', 'customresourcedefinitions/status'],
      operations: [...writeOps],
      scope: 'Cluster',
    },
    { upgradeKinds: { operations: [...writeOps], scope: '*' } },
    { upgradeKinds: { operations: ['UPDATE'], scope: '*', subresource: 'status' } },
  ];
  return {
    name: 'overrides.volume-guard.io',
    target: 'overrides',
    rules,
    matchConditions: [
      {
        name: 'writes-override',
        expression: `${changesOverrideKeys('annotations')} || ${changesOverrideKeys('labels')} || ${SETS_HARVESTER_SKIP} || ${CO_OWNS_OVERRIDE}`,
      },
    ],
  };
}

/** volume-guard's mutating webhook that fills in skip-by for an allowed writer (override-writer.ts). */
export const OVERRIDE_WRITER_WEBHOOK = 'override-writer.volume-guard.io';

export function overrideGuardValidator(config: Config): Validator {
  const declaration = overrideGuardDeclaration();
  return {
    declaration,
    handle(request, context) {
      const next = metaOf(request.object);
      if (!next) return allowed();
      const changed = changedOverrideKeys(next, metaOf(request.oldObject));
      const harvester = setsHarvesterSkip(request);
      // A Namespace's own request carries its name as the namespace too.
      const scope = request.kind.kind === 'Namespace' ? '' : request.namespace;
      const what = `${request.kind.kind} ${scope ? `${scope}/` : ''}${request.name || next.name}`;
      // Only writes that also change one of volume-guard's keys are sent (a webhook that fails closed must not
      // refuse, during an outage, a write it would only have warned about): a typo beside a real key is named.
      const typos = () => unknownKeyWarnings(what, next.annotations, metaOf(request.oldObject)?.annotations);
      const coOwned = changed.length === 0 && !harvester ? coOwnedGrantingKeys(request.object, request.oldObject) : [];
      if (changed.length === 0 && !harvester && coOwned.length === 0) return allowed(typos());
      const written = harvester ? [...changed, `annotation ${HARVESTER_SKIP_DETACHED_KEY}`] : changed;
      const writers = context.config.overrides;
      const user = request.userInfo.username;
      if (coOwned.length > 0) {
        // Values unchanged: only the ownership is new. An allowed writer may hold it; nobody else may keep it alive.
        if (mayWriteOverrides(request.userInfo, writers)) return allowed(typos());
        const who = whoMayWriteOverrides(writers);
        return denied(
          [
            ...wrap(
              `volume-guard: ${describeUser(request.userInfo)} may not take ownership of ${coOwned.join(', ')} on ${what} by server-side apply: ` +
                'the override would stay after its writer drops it from their own apply.',
            ),
            ...wrap(`Leave ${coOwned.length === 1 ? 'it' : 'them'} out of your applied manifest; ${who.text}.`),
          ].join('\n'),
        );
      }
      if (!mayWriteOverrides(request.userInfo, writers)) {
        const who = whoMayWriteOverrides(writers);
        return denied(
          `volume-guard: ${describeUser(request.userInfo)} may not write ${written.join(', ')} on ${what}: ` +
            `${who.text}.${who.listed ? ' Ask one of them to review the risk and set it.' : ''}`,
        );
      }
      // Harvester's annotation alone needs no recorded writer: it is honored for the upgrade's life, whoever set it.
      if (changed.length === 0) {
        return allowed([], { 'override-written': `${written.join(', ')} on ${what} by ${describeUser(request.userInfo)}` });
      }
      const annotations = next.annotations ?? {};
      if (user === '' || annotations[SKIP_BY_KEY] !== user) {
        const found = annotations[SKIP_BY_KEY] === undefined ? 'it is missing' : `it says "${annotations[SKIP_BY_KEY]}"`;
        return denied(
          `volume-guard: a write of ${changed.join(', ')} on ${what} must record its writer: set the annotation ` +
            `${SKIP_BY_KEY}=${user || '<your user name>'} in the same write (${found}).` +
            stepNote(user, changed, next.annotations, metaOf(request.oldObject)?.annotations) +
            `\n${recordWriterHow(request, next, changed)}`,
        );
      }
      const until = annotations[SKIP_UNTIL_KEY];
      const warnings: string[] = [
        ...typos(),
        ...overrideWriteWarnings(what, next, metaOf(request.oldObject), request.kind),
        ...(request.kind.group === ''
          ? unreadCheckWarnings(what, request.kind.kind, request.name || next.name || '', config, next.annotations ?? {}, metaOf(request.oldObject)?.annotations)
          : []),
      ];
      if (until !== undefined) {
        const date = parseRfc3339(until);
        if (!date) {
          return denied(
            `volume-guard: ${SKIP_UNTIL_KEY} on ${what} must be an RFC 3339 time with a zone, e.g. ` +
              `${new Date(context.now + 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z')} (got "${until}").`,
          );
        }
        if (date.getTime() <= context.now) {
          warnings.push(...wrap(`volume-guard: ${SKIP_UNTIL_KEY} on ${what} has passed (${date.toISOString()}): its overrides are ignored`));
        }
      }
      return allowed(warnings, {
        'override-written': `${written.join(', ')} on ${what} by ${describeUser(request.userInfo)}`,
        ...(until !== undefined ? { 'override-until': until } : {}),
      });
    },
  };
}

/**
 * Why the mutating step did not record the writer, for the refusal, on a line of its own ('' when there is nothing
 * to say): nothing for a nameless requester (nothing to record) or a write of labels only (never read: the advice
 * writes annotations, which the step records); for an override stored without a writer, that taking it over is
 * explicit; for a reason or expiry alone, that they grant nothing; otherwise that the step is not installed, was not
 * reached, or its change was undone.
 */
function stepNote(
  user: string,
  changed: readonly string[],
  next: Readonly<Record<string, string>> | undefined,
  previous: Readonly<Record<string, string>> | undefined,
): string {
  if (user === '' || changed.every(isLabelEntry)) return '';
  if (writerStepRecords(next, previous)) {
    return `\n${OVERRIDE_WRITER_WEBHOOK} records it for an allowed writer: here it is not installed, was not reached, or its change was undone.`;
  }
  if (GRANTING_KEYS.some((key) => previous?.[key] !== undefined)) {
    return `\nThe override there has no recorded writer: ${OVERRIDE_WRITER_WEBHOOK} does not take it over for you; setting ${SKIP_BY_KEY} makes it count, as written by you.`;
  }
  return `\n${SKIP_REASON_KEY} and ${SKIP_UNTIL_KEY} alone grant nothing: ${OVERRIDE_WRITER_WEBHOOK} records a writer only with skip, reuse, delete or skip-evictions.`;
}
