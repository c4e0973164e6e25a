// Loading what the audit reads, with the admin's own credentials: the cluster model through the webhook's own
// informers (started, synced once, stopped), the guarded upgrade objects (for their overrides), and, for
// --release, the release's Secrets metadata-only (their labels say whether it is installed; the payload is
// never fetched). Every failure becomes an AuditError: one line, exit code 2.

import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { metaOf, type StringMap } from '../admission/objects.ts';
import { HARVESTER_SKIP_DETACHED_KEY, isHarvesterUpgradeKind, SKIP_KEY as SKIP_LABEL } from '../admission/overrides.ts';
import { rolloutOwnerKind } from '../admission/rollout-owner.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../checks/longhorn-health.ts';
import { boundConnect, HttpKubeClient, KubeApiError, kubeconfigOptions, naming, type KubeClient, type ListOptions, type ListPage, type WatchHandlers, type WatchOptions } from '../cluster/kube-client.ts';
import { ClusterModel } from '../cluster/model.ts';
import { ANNOTATION_PREFIX } from '../cluster/records.ts';
import { collectionPaths, RESOURCE_SPECS, resourceLabel } from '../cluster/resources.ts';
import { startClusterModel } from '../cluster/start.ts';
import type { InformerStatus } from '../cluster/informers.ts';
import { RESOURCE_KINDS } from '../cluster/records.ts';
import { upgradeKindVersions, type GuardedUpgradeKind } from '../config.ts';
import { arrayAt, objectAt, stringAt, stringMapAt } from '../json.ts';
import { budgetOf, type LoadBudget } from './budget.ts';
import { fatalFailure, type ClusterTarget } from './connect.ts';
import { AuditError } from './errors.ts';
import { machineOwnerAppliesTo, type OverrideCarrier } from './overrides.ts';
import { MANAGED_BY_LABEL, POLICY_NAME, POLICY_REPORT_GROUP, POLICY_REPORT_KINDS, POLICY_REPORT_VERSION, storedReportSelector, type StoredReport } from './policyreport.ts';
import type { AuditReport, ReleaseRevision } from './types.ts';


function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The line for a failed API call that no retry fixes (refused, unknown host, TLS, 401, 403), or undefined when
 * waiting may help (a 5xx, a 429). See connect.ts.
 */
export function fatalApiFailure(error: unknown, verb: string, resource: string, target: ClusterTarget = { server: '(unknown server)', context: '' }): string | undefined {
  return fatalFailure(error, verb, resource, target);
}

/** A KubeClient that reports each failed call before passing it on. */
class ObservedClient implements KubeClient {
  readonly #inner: KubeClient;
  readonly #onFailure: (verb: 'list' | 'watch', path: string, error: unknown) => void;

  constructor(inner: KubeClient, onFailure: (verb: 'list' | 'watch', path: string, error: unknown) => void) {
    this.#inner = inner;
    this.#onFailure = onFailure;
  }

  async list(path: string, options: ListOptions): Promise<ListPage> {
    try {
      return await this.#inner.list(path, options);
    } catch (error) {
      if (!options.signal.aborted) this.#onFailure('list', path, error);
      throw error;
    }
  }

  async watch(path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
    try {
      await this.#inner.watch(path, options, handlers);
    } catch (error) {
      if (!options.signal.aborted) this.#onFailure('watch', path, error);
      throw error;
    }
  }
}

export interface LoadProgress {
  readonly synced: number;
  readonly total: number;
  /** Resources not synced yet (`pods`, `volumes.longhorn.io`...). */
  readonly pending: readonly string[];
}

export function progressOf(statuses: readonly InformerStatus[]): LoadProgress {
  return {
    synced: statuses.filter((status) => status.synced).length,
    total: statuses.length,
    pending: statuses.filter((status) => !status.synced).map((status) => status.resource),
  };
}

export interface LoadModelOptions {
  readonly kubeConfig: KubeConfig;
  readonly longhornNamespace: string;
  /** config longhorn.nodeDownGraceSeconds in ms [the model's default]. */
  readonly nodeDownGraceMs?: number;
  /** How long it may take: ms of its own, or what is left of the audit's budget (--timeout). */
  readonly timeoutMs: number | LoadBudget;
  /** Another transport than HTTP from the kubeconfig (tests). */
  readonly client?: KubeClient;
  /** Called about every 100 ms while loading, and once when done. */
  readonly onProgress?: (progress: LoadProgress) => void;
}

/** The server a KubeConfig points at, for messages. */
export function serverOf(kubeConfig: KubeConfig): string {
  return kubeConfig.getCurrentCluster()?.server ?? '(no server)';
}

/** The kubeconfig's server and context, for messages. */
export function targetOf(kubeConfig: KubeConfig): ClusterTarget {
  return { server: serverOf(kubeConfig), context: kubeConfig.getCurrentContext() };
}

/** Starts the informers, waits until every resource is listed once, stops them: the model holds that state. */
export async function loadClusterModel(options: LoadModelOptions): Promise<ClusterModel> {
  const resources = new Map<string, string>();
  for (const kind of RESOURCE_KINDS) {
    const spec = RESOURCE_SPECS[kind];
    // Cluster API's older version too (read when the newest is not served): its failures are named alike.
    for (const path of collectionPaths(spec, options.longhornNamespace)) resources.set(path, resourceLabel(spec));
  }
  let fatal: string | undefined;
  let lastError: string | undefined;
  const budget = budgetOf(options.timeoutMs, serverOf(options.kubeConfig));
  const transport = options.client ?? new HttpKubeClient(options.kubeConfig, undefined, budget.connectTimeoutMs);
  const client = new ObservedClient(transport, (verb, path, error) => {
    const resource = resources.get(path) ?? path;
    fatal ??= fatalApiFailure(error, verb === 'list' ? 'list and watch' : 'watch', resource, targetOf(options.kubeConfig));
    // The final line names the server once.
    lastError = `${verb} ${resource}: ${messageOf(error).replace(`${serverOf(options.kubeConfig).replace(/\/+$/, '')}: `, '')}`;
  });
  const model = new ClusterModel(
    VOLUME_SETS,
    options.nodeDownGraceMs === undefined
      ? { volumeCounts: VOLUME_COUNTS }
      : { nodeDownGraceMs: options.nodeDownGraceMs, volumeCounts: VOLUME_COUNTS },
  );
  // Before the informers start: a budget already spent stops here.
  const phase = 'loading the cluster model';
  const deadline = Date.now() + budget.left(phase);
  const running = startClusterModel({
    kubeConfig: options.kubeConfig,
    sink: model,
    registry: new Registry(),
    config: { longhornNamespace: options.longhornNamespace, resyncSeconds: 0 },
    log: pino({ level: 'silent' }),
    client,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const tick = (): void => {
        const progress = progressOf(running.statuses());
        options.onProgress?.(progress);
        if (fatal !== undefined) {
          reject(new AuditError(fatal));
        } else if (running.health.synced()) {
          resolve();
        } else if (Date.now() >= deadline) {
          reject(budget.exhausted(phase, lastError ?? `still waiting for ${progress.pending.join(', ')}`));
        } else {
          timer = setTimeout(tick, Math.min(100, Math.max(1, deadline - Date.now())));
        }
      };
      tick();
    });
  } finally {
    if (timer) clearTimeout(timer);
    await running.stop();
  }
  return model;
}

// ------------------------------------------------------------------------------------------------ upgrade objects

function overrideKeysOnly(values: StringMap, extra: readonly string[] = []): StringMap {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (key.startsWith(ANNOTATION_PREFIX) || extra.includes(key)) kept[key] = value;
  }
  return kept;
}

function appliesTo(kind: GuardedUpgradeKind, controlPlaneUsers: readonly string[] | undefined): string {
  // Harvester's upgrades carry the skip to the cordons and drains of their nodes (longhorn-drain.ts harvesterUpgradeSkip).
  if (isHarvesterUpgradeKind(kind.group, kind.kind)) return `the creation of this ${kind.kind}, and the cordons and drains of its nodes while it upgrades them`;
  // A Cluster API owner's carries to the steps of its rollouts and scale-downs (rollout-owner.ts).
  const owner = rolloutOwnerKind(kind.group, kind.kind);
  if (owner !== undefined) return machineOwnerAppliesTo(owner, kind.operations.includes('UPDATE'), controlPlaneUsers);
  return kind.operations.includes('UPDATE')
    ? `every change of this ${kind.kind} that starts a rollout`
    : `the creation of this ${kind.kind} only (already past)`;
}

export interface UpgradeObjects {
  readonly carriers: OverrideCarrier[];
  readonly notes: string[];
}

/**
 * The objects of the guarded upgrade kinds that carry an override, listed with the admin's credentials. A kind
 * whose CRD is absent is skipped; one that cannot be listed becomes a note (the rest of the audit still stands),
 * unless the time (`timeout`: ms of its own, or what is left of the audit's budget) runs out: an error.
 */
export async function listUpgradeObjects(
  client: KubeClient,
  kinds: readonly GuardedUpgradeKind[],
  timeout: number | LoadBudget,
  /** The configuration's `clusterApi.controlPlaneUsers` (whose Machine DELETEs read a KubeadmControlPlane's skip); default: the default's. */
  controlPlaneUsers?: readonly string[],
): Promise<UpgradeObjects> {
  const carriers: OverrideCarrier[] = [];
  const notes: string[] = [];
  const budget = budgetOf(timeout, 'the API server');
  const phase = 'listing the guarded upgrade objects';
  const signal = AbortSignal.timeout(budget.left(phase));
  for (const kind of kinds) {
    let items: readonly unknown[] = [];
    try {
      // The first version the server serves, newest first: one it no longer serves (Cluster API's v1beta1 once
      // dropped) answers 404, as a CRD not installed does at every version (then the kind is skipped).
      for (const version of upgradeKindVersions(kind)) {
        try {
          items = await listAll(client, `/apis/${kind.group}/${version}/${kind.resource}`, signal);
          break;
        } catch (error) {
          if (error instanceof KubeApiError && error.statusCode === 404) continue;
          throw error;
        }
      }
    } catch (error) {
      if (budget.ranOut(error)) throw budget.exhausted(phase, `${kind.resource}.${kind.group}: ${messageOf(error)}`);
      notes.push(`${kind.resource}.${kind.group} not checked for lingering overrides: ${messageOf(error)}`);
      continue;
    }
    for (const item of items) {
      const carrier = overrideCarrier(kind, item, controlPlaneUsers);
      if (carrier !== undefined) carriers.push(carrier);
    }
  }
  return { carriers, notes };
}

/** Every item of a collection, page by page. */
async function listAll(client: KubeClient, path: string, signal: AbortSignal): Promise<unknown[]> {
  const items: unknown[] = [];
  let continueToken = '';
  do {
    const page = await client.list(path, { limit: 500, continueToken, signal });
    items.push(...page.items);
    continueToken = page.continueToken;
  } while (continueToken !== '');
  return items;
}

/** An object of a guarded upgrade kind as a carrier of the overrides it holds; undefined when it holds none. */
function overrideCarrier(kind: GuardedUpgradeKind, item: unknown, controlPlaneUsers: readonly string[] | undefined): OverrideCarrier | undefined {
  const meta = metaOf(item);
  if (meta === undefined || meta.name === '') return undefined;
  const harvester = isHarvesterUpgradeKind(kind.group, kind.kind);
  const annotations = overrideKeysOnly(meta.annotations, harvester ? [HARVESTER_SKIP_DETACHED_KEY] : []);
  const labels = overrideKeysOnly(meta.labels);
  if (Object.keys(annotations).length === 0 && Object.keys(labels).length === 0) return undefined;
  return {
    kind: kind.kind,
    ...(meta.namespace !== '' ? { namespace: meta.namespace } : {}),
    name: meta.name,
    annotations,
    labels,
    appliesTo: appliesTo(kind, controlPlaneUsers),
    harvesterUpgrade: harvester,
  };
}

// ------------------------------------------------------------------------------------------------ release Secrets

/** Kubernetes' metadata-only list: names, labels and annotations, never `data`. */
const METADATA_ONLY = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

/** Items per page of a metadata list, as the informers page their lists. */
const METADATA_PAGE_SIZE = 500;

/**
 * A metadata-only list, paged (`limit`, then `continue` until the server gives none): `{ items }` of every page. A
 * continue token that expired (410) starts the list over, as the informers relist. `timeoutMs` bounds the whole.
 */
async function getMetadataList(kubeConfig: KubeConfig, path: string, query: Readonly<Record<string, string>>, timeoutMs: number, connectTimeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  const items: unknown[] = [];
  let continueToken = '';
  let restarts = 0;
  do {
    const paged: Record<string, string> = { ...query, limit: String(METADATA_PAGE_SIZE), ...(continueToken !== '' ? { continue: continueToken } : {}) };
    let page: unknown;
    try {
      page = await getMetadataPage(kubeConfig, path, paged, Math.max(1, deadline - Date.now()), connectTimeoutMs);
    } catch (error) {
      if (continueToken !== '' && error instanceof KubeApiError && error.statusCode === 410 && restarts < 3) {
        restarts += 1;
        items.length = 0;
        continueToken = '';
        continue;
      }
      throw error;
    }
    items.push(...arrayAt(page, 'items'));
    continueToken = stringAt(objectAt(page, 'metadata'), 'continue');
  } while (continueToken !== '');
  return { items };
}

async function getMetadataPage(kubeConfig: KubeConfig, path: string, query: Readonly<Record<string, string>>, timeoutMs: number, connectTimeoutMs: number): Promise<unknown> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new AuditError('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  const options = await kubeconfigOptions(kubeConfig);
  const transport = url.protocol === 'http:' ? http : https;
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const request = transport.request(url, {
      ...options,
      method: 'GET',
      headers: { ...options.headers, Accept: METADATA_ONLY },
      signal: AbortSignal.timeout(timeoutMs),
    });
    boundConnect(request, connectTimeoutMs);
    request.on('response', resolve);
    request.on('error', (error) => reject(naming(error, url.origin)));
    request.end();
  });
  response.setEncoding('utf8');
  let body = '';
  for await (const chunk of response) body += String(chunk);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (response.statusCode !== 200) {
    const message = stringAt(parsed, 'message') || `GET ${path}: HTTP ${response.statusCode}`;
    throw new KubeApiError(response.statusCode ?? 0, stringAt(parsed, 'reason'), message);
  }
  return parsed;
}

/**
 * Where Helm's drivers keep release records: Secrets (the default) and ConfigMaps (HELM_DRIVER=configmap). The
 * ConfigMap driver is the rarer one: without permission to list ConfigMaps the audit goes on, saying so.
 */
const RELEASE_STORES = [
  { resource: 'secrets', kind: 'Secret', prefix: '', optional: false },
  // A chart may label its own ConfigMaps owner=helm: only Helm's record names count, as in the webhook.
  { resource: 'configmaps', kind: 'ConfigMap', prefix: 'sh.helm.release.v1.', optional: true },
] as const;

/** A release's revisions as read, and what could not be read (a store the user may not list). */
export interface ReleaseRevisions {
  readonly revisions: readonly ReleaseRevision[];
  readonly notes: readonly string[];
}

/**
 * The revisions of a Helm release, from the labels of its records in either driver (Secrets, and ConfigMaps for
 * HELM_DRIVER=configmap), read metadata-only. A 403 on the ConfigMaps is a note (most releases are stored in
 * Secrets); any other failure ends the audit. `timeout`: ms of its own, or what is left of the audit's budget.
 */
export async function listReleaseRevisions(kubeConfig: KubeConfig, namespace: string, name: string, timeout: number | LoadBudget): Promise<ReleaseRevisions> {
  const revisions: ReleaseRevision[] = [];
  const notes: string[] = [];
  const budget = budgetOf(timeout, serverOf(kubeConfig));
  const phase = `listing the records of Helm release ${namespace}/${name}`;
  for (const store of RELEASE_STORES) {
    let list: unknown;
    try {
      list = await getMetadataList(
        kubeConfig,
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/${store.resource}`,
        { labelSelector: `owner=helm,name=${name}` },
        budget.left(phase),
        budget.connectTimeoutMs,
      );
    } catch (error) {
      if (error instanceof AuditError) throw error;
      if (budget.ranOut(error)) throw budget.exhausted(phase, `list ${store.resource}: ${messageOf(error)}`);
      if (store.optional && error instanceof KubeApiError && error.statusCode === 403) {
        notes.push(
          `Helm release records in ConfigMaps (HELM_DRIVER=configmap) not read: ${messageOf(error)}; ` +
            `a release stored there counts as not installed (grant list on configmaps in namespace ${namespace})`,
        );
        continue;
      }
      const fatal = fatalApiFailure(error, 'list', `${store.resource} in namespace ${namespace} (metadata only, to find the release's revisions)`, targetOf(kubeConfig));
      throw new AuditError(fatal ?? `cannot list the revisions of Helm release ${namespace}/${name}: ${messageOf(error)}`);
    }
    for (const record of releaseSecretsOf(list, store.prefix)) {
      revisions.push({ version: record.version, status: record.status, labels: record.overrides, store: store.kind });
    }
  }
  return { revisions, notes };
}

/** What a release Secret's labels say (read metadata-only, never the payload). */
interface ReleaseSecretMetadata {
  readonly namespace: string;
  /** The release's name ('' when the label is missing). */
  readonly name: string;
  /** The revision, NaN when the label is missing or not a number. */
  readonly version: number;
  readonly status: string;
  /** The `volume-guard.io/` labels: release-label overrides. */
  readonly overrides: StringMap;
  readonly store?: 'Secret' | 'ConfigMap';
}

/** The one reader of a metadata list of release records (Secrets, or ConfigMaps named `prefix`…). */
function releaseSecretsOf(list: unknown, prefix = ''): ReleaseSecretMetadata[] {
  const items = arrayAt(list, 'items').filter((item) => stringAt(objectAt(item, 'metadata'), 'name').startsWith(prefix));
  return items.map((item) => {
    const metadata = objectAt(item, 'metadata');
    const labels = stringMapAt(metadata, 'labels');
    const overrides: Record<string, string> = {};
    for (const [key, value] of Object.entries(labels)) if (key.startsWith(ANNOTATION_PREFIX)) overrides[key] = value;
    return {
      namespace: stringAt(metadata, 'namespace'),
      name: labels['name'] ?? '',
      version: Number(labels['version'] || Number.NaN),
      status: labels['status'] ?? '',
      overrides,
    };
  });
}

// ------------------------------------------------------------------------------------------------ release labels


/**
 * Helm releases whose latest revision carries a `volume-guard.io/skip` label (`helm install --labels ...`), read
 * metadata-only (labels, never the payload) from the release records of either driver (Secrets, ConfigMaps), in
 * `namespace` or all namespaces. Without permission to list one of them, a note says so and the rest stands; when the
 * time (`timeout`: ms of its own, or what is left of the audit's budget) runs out, an error.
 */
export async function listReleaseLabelOverrides(kubeConfig: KubeConfig, timeout: number | LoadBudget, namespace?: string): Promise<ReleaseLabels> {
  const records: ReleaseSecretMetadata[] = [];
  const notes: string[] = [];
  const budget = budgetOf(timeout, serverOf(kubeConfig));
  const phase = 'listing the Helm release labels';
  // Whether every release stored in Secrets (the default driver) is known: which releases are installed.
  let secretsListed = true;
  for (const store of RELEASE_STORES) {
    const path =
      namespace === undefined ? `/api/v1/${store.resource}` : `/api/v1/namespaces/${encodeURIComponent(namespace)}/${store.resource}`;
    try {
      // Every record (metadata only), not just those labelled: the latest revision may have dropped the label.
      const list = await getMetadataList(kubeConfig, path, { labelSelector: 'owner=helm' }, budget.left(phase), budget.connectTimeoutMs);
      records.push(...releaseSecretsOf(list, store.prefix).map((record) => ({ ...record, store: store.kind })));
    } catch (error) {
      if (error instanceof AuditError) throw error;
      if (budget.ranOut(error)) throw budget.exhausted(phase, `list ${store.resource}: ${messageOf(error)}`);
      notes.push(`Helm release labels not checked for lingering overrides (list ${store.resource}, metadata only): ${messageOf(error)}`);
      if (!store.optional) secretsListed = false;
    }
  }
  // Only the latest revision of each release decides what its next upgrade inherits.
  const latest = new Map<string, ReleaseSecretMetadata>();
  for (const secret of records) {
    if (secret.name === '' || !Number.isFinite(secret.version)) continue;
    const key = `${secret.namespace}/${secret.name}`;
    const current = latest.get(key);
    if (current === undefined || secret.version > current.version) latest.set(key, secret);
  }
  const releases: ReleaseWithRevisions[] = [];
  const all: ReleaseWithRevisions[] = [];
  for (const release of latest.values()) {
    const entry = {
      namespace: release.namespace,
      name: release.name,
      revisions: [{ version: release.version, status: release.status, labels: release.overrides, ...(release.store ? { store: release.store } : {}) }],
    };
    all.push(entry);
    if (release.overrides[SKIP_LABEL] !== undefined) releases.push(entry);
  }
  return { releases, notes, ...(secretsListed ? { records: all } : {}) };
}

/** A release and the revisions read of it (metadata only), for its release-label overrides. */
export interface ReleaseWithRevisions {
  readonly namespace: string;
  readonly name: string;
  readonly revisions: readonly ReleaseRevision[];
}

export interface ReleaseLabels {
  /** The releases whose latest revision carries a `volume-guard.io/skip` label. */
  readonly releases: readonly ReleaseWithRevisions[];
  /**
   * Every release, its latest revision: which are installed, for the whole-cluster audit. Absent when the Secrets
   * could not be listed (a release stored in ConfigMaps that could not be listed counts as not installed, a note says).
   */
  readonly records?: readonly ReleaseWithRevisions[];
  readonly notes: readonly string[];
}

// ------------------------------------------------------------------------------------------------ earlier PolicyReports

export interface StoredReports {
  readonly reports: readonly StoredReport[];
  readonly notes: readonly string[];
}

/**
 * The PolicyReports and ClusterPolicyReports an earlier `audit -o policyreport` of `scope` left (its labels), read
 * metadata-only, so this run can empty those it has nothing to say in any more (kubectl apply cannot delete). No CRD
 * (404): none. Any other failure, a 403 first, is a note: the reports printed still stand, an old one may stay stale.
 * `timeout`: ms of its own, or what is left of the audit's budget (running out is an error, as for the other lists).
 */
export async function listStoredPolicyReports(kubeConfig: KubeConfig, scope: AuditReport['scope']['kind'], timeout: number | LoadBudget): Promise<StoredReports> {
  const reports: StoredReport[] = [];
  const budget = budgetOf(timeout, serverOf(kubeConfig));
  const phase = 'listing the earlier PolicyReports';
  for (const { kind, resource } of POLICY_REPORT_KINDS) {
    let list: unknown;
    try {
      list = await getMetadataList(
        kubeConfig,
        `/apis/${POLICY_REPORT_GROUP}/${POLICY_REPORT_VERSION}/${resource}`,
        { labelSelector: storedReportSelector(scope) },
        budget.left(phase),
        budget.connectTimeoutMs,
      );
    } catch (error) {
      if (error instanceof AuditError) throw error;
      if (budget.ranOut(error)) throw budget.exhausted(phase, `list ${resource}: ${messageOf(error)}`);
      if (error instanceof KubeApiError && error.statusCode === 404) continue;
      return {
        reports: [],
        notes: [
          `earlier PolicyReports not listed (${messageOf(error)}): one whose risks are gone is not emptied; ` +
            `grant list on ${POLICY_REPORT_KINDS.map((each) => each.resource).join(' and ')} (${POLICY_REPORT_GROUP}), ` +
            `or delete them first: kubectl delete policyreport,clusterpolicyreport -A -l ${MANAGED_BY_LABEL}=${POLICY_NAME}`,
        ],
      };
    }
    for (const item of arrayAt(list, 'items')) {
      const metadata = objectAt(item, 'metadata');
      const name = stringAt(metadata, 'name');
      if (name === '') continue;
      const namespace = stringAt(metadata, 'namespace');
      reports.push({
        kind,
        ...(namespace !== '' ? { namespace } : {}),
        name,
        labels: stringMapAt(metadata, 'labels'),
        annotations: stringMapAt(metadata, 'annotations'),
      });
    }
  }
  return { reports, notes: [] };
}
