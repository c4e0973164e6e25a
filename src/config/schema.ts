// The configuration schema: every field, its type, bounds, default and meaning. ajv validates against it and
// fills in the defaults (src/config/load.ts); the `Config` type is derived from it (src/config/schema-type.ts);
// the environment variables (env.ts), the README's table and the chart's values schema (reference.ts,
// scripts/generate-chart.ts) are generated from it. Unknown fields are errors at every level: a typo must not
// silently fall back to a default on a component that guards data.

import { CLUSTER_API_OLDER_VERSIONS, CLUSTER_API_VERSION } from '../cluster/resources.ts';
import { DEFAULT_WATCH_STALL_MS, MIN_WATCH_STALL_SECONDS, PROBE_TIMEOUT_SECONDS } from '../cluster/watch-timing.ts';
import { CHECK_IDS, type CheckId } from '../checks/types.ts';
import { NODE_LOCAL_DRIVERS, SYSTEM_HOST_PATH_PREFIXES } from '../checks/node-local-volume.ts';
import { OPERATIONS } from '../kube.ts';
import { LOG_LEVELS } from '../logging.ts';
import type { FromSchema, SchemaNode } from './schema-type.ts';

export type { SchemaNode } from './schema-type.ts';

/** What a check does with its findings: enforce denies, warn allows with warnings, off skips it. */
export const CHECK_MODES = ['enforce', 'warn', 'off'] as const;
export type CheckMode = (typeof CHECK_MODES)[number];

/** A DNS-1123 subdomain (an API group): dot-separated lower-case labels. */
const DNS1123_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** A DNS-1035 label (a CRD's version name or plural): a lower-case letter first. */
const DNS1035_LABEL_PATTERN = '^[a-z]([-a-z0-9]*[a-z0-9])?$';

/** A served version of a CRD, as the API server names it (`v1beta2`). */
const API_VERSION_SCHEMA = { type: 'string', minLength: 1, pattern: DNS1035_LABEL_PATTERN } as const satisfies SchemaNode;

const UPGRADE_KIND_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['group', 'resource', 'kind', 'operations'],
  // Exactly one of `versions` and `version`: with both, which one the operator meant is a guess, and a stale one
  // left beside the other would narrow or widen the webhook's rules without a word (loadConfig names the mistake).
  // Each branch names its property again for ajv's strictRequired, which runs oneOf before `properties`.
  oneOf: [
    { properties: { versions: {} }, required: ['versions'] },
    { properties: { version: {} }, required: ['version'] },
  ],
  properties: {
    // As the API server names them (a CRD's group, versions and plural), lower case: `Plans` or `V1` matches no
    // request, and the upgrade check would be silently bypassed.
    group: { type: 'string', minLength: 1, pattern: DNS1123_SUBDOMAIN_PATTERN },
    // The served versions the webhook's rules name, newest first: the audit lists the kind at the first one served.
    versions: { type: 'array', minItems: 1, uniqueItems: true, items: API_VERSION_SCHEMA },
    // One served version, the same as `versions: [version]` (configurations written before `versions`).
    version: API_VERSION_SCHEMA,
    resource: { type: 'string', minLength: 1, pattern: DNS1035_LABEL_PATTERN },
    kind: { type: 'string', minLength: 1 },
    operations: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', enum: OPERATIONS },
    },
  },
} as const satisfies SchemaNode;

/** An upgrade custom resource the upgrade checks guard (an entry of `upgrades.kinds`). */
export type GuardedUpgradeKind = FromSchema<typeof UPGRADE_KIND_SCHEMA>;

/**
 * The served versions an upgrade kind names, newest first: its `versions`, or its one `version` (the schema lets an
 * entry set exactly one of them).
 */
export function upgradeKindVersions(kind: GuardedUpgradeKind): readonly string[] {
  return kind.versions ?? (kind.version === undefined ? [] : [kind.version]);
}

/**
 * Cluster API serves v1beta2 from 1.11 and plans to stop serving v1beta1 (about 1.16): naming both, as the informers
 * read them, keeps the rules matching on every release. With matchPolicy Equivalent the API server sends a request in
 * its own version when a rule names it, so each is judged by its own version's fields; only a version no rule names
 * (a later one) is converted to one that is.
 */
const CLUSTER_API_VERSIONS: readonly string[] = [CLUSTER_API_VERSION, ...CLUSTER_API_OLDER_VERSIONS];

export const DEFAULT_UPGRADE_KINDS: readonly GuardedUpgradeKind[] = [
  { group: 'harvesterhci.io', versions: ['v1beta1'], resource: 'upgrades', kind: 'Upgrade', operations: ['CREATE'] },
  {
    group: 'management.harvesterhci.io',
    versions: ['v1beta1'],
    resource: 'upgradeplans',
    kind: 'UpgradePlan',
    operations: ['CREATE'],
  },
  { group: 'upgrade.cattle.io', versions: ['v1'], resource: 'plans', kind: 'Plan', operations: ['CREATE', 'UPDATE'] },
  {
    group: 'cluster.x-k8s.io',
    versions: CLUSTER_API_VERSIONS,
    resource: 'machinedeployments',
    kind: 'MachineDeployment',
    operations: ['UPDATE'],
  },
  {
    group: 'controlplane.cluster.x-k8s.io',
    versions: CLUSTER_API_VERSIONS,
    resource: 'kubeadmcontrolplanes',
    kind: 'KubeadmControlPlane',
    operations: ['UPDATE'],
  },
];

/** A DNS-1123 label (a namespace name): lower-case alphanumerics and '-', 63 characters at most. */
export const DNS1123_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

function section<const P extends Readonly<Record<string, SchemaNode>>>(description: string, properties: P) {
  return { type: 'object', description, default: {}, additionalProperties: false, properties } as const;
}

const port = (description: string, defaultPort: number) =>
  ({
    type: 'integer',
    minimum: 0,
    maximum: 65535,
    default: defaultPort,
    description: `${description} (0: any free port)`,
  }) as const;

const stringList = (description: string, defaults: readonly string[]) =>
  ({
    type: 'array',
    items: { type: 'string', minLength: 1 },
    uniqueItems: true,
    default: defaults,
    description,
  }) as const;

const checkMode = (id: CheckId) =>
  section(`the ${id} check`, {
    mode: {
      type: 'string',
      enum: CHECK_MODES,
      default: 'enforce',
      description: `enforce denies, warn allows with a warning, off skips the ${id} check`,
    },
  });

const checkModes = Object.fromEntries(CHECK_IDS.map((id) => [id, checkMode(id)])) as Record<CheckId, ReturnType<typeof checkMode>>;

/**
 * The longest delay Node's timers take (2^31-1 ms, about 24.8 days): past it setTimeout and setInterval fire after
 * 1 ms instead (a TimeoutOverflowWarning), so a millisecond setting that reaches a timer is bounded by it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * The largest body limit: the codec reads a body as one string (JSON.parse), and V8 holds at most 2^29-24 characters
 * in one, so a limit past that made a body at the limit a 500 instead of an answer. Half of it, far over what an
 * API server sends (its own request limit is 3 MiB; an UPDATE's review holds two objects).
 */
export const MAX_BODY_LIMIT_BYTES = 256 * 1024 * 1024;

/** The largest budget of body bytes in flight (2^31-1): 8 bodies at the largest limit, far past any pod's memory. */
export const MAX_INFLIGHT_BODY_BYTES = 2_147_483_647;

/** IPv4 by default: a pod without IPv6 cannot listen on `::`; an IPv6 single-stack cluster needs it set. */
const LISTEN_HOST = 'address to listen on (IPv4 only; `::` on IPv6 single-stack clusters, which takes IPv4 too where the pod has it)';

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    admission: section('the HTTPS admission server', {
      port: port('HTTPS port the API server calls', 8443),
      host: { type: 'string', minLength: 1, default: '0.0.0.0', description: LISTEN_HOST },
      bodyLimitBytes: {
        type: 'integer',
        minimum: 1024,
        maximum: MAX_BODY_LIMIT_BYTES,
        default: 3 * 1024 * 1024,
        description: 'largest AdmissionReview accepted; larger ones get HTTP 400. At most 268435456 (256 MiB)',
      },
      maxInflightBodyBytes: {
        type: 'integer',
        minimum: 1024,
        maximum: MAX_INFLIGHT_BODY_BYTES,
        // 64 MiB: 21 reviews at the default body limit held at once, far past what the API server sends (a handful
        // of concurrent reviews, Helm records of a few MiB); on the ~250 MB a pod uses, inside the chart's 512 Mi
        // with room for decoding them. Unbounded, ~85 stalled 3 MiB bodies got the pod OOM-killed.
        default: 64 * 1024 * 1024,
        description:
          "request body bytes received and not yet answered, across all connections; a request whose bytes would go past it has its connection dropped. At least admission.bodyLimitBytes, at most 2147483647; the default holds 21 reviews at the default limit, ~320 MB with a pod's baseline, under the chart's 512 Mi",
      },
      allowAll: {
        type: 'boolean',
        default: false,
        description: 'also serve /validate/allow-all (tests and smoke checks only)',
      },
      tls: section('serving certificate, reloaded when the files change', {
        certFile: {
          type: 'string',
          minLength: 1,
          default: '/etc/volume-guard/tls/tls.crt',
          description: 'PEM certificate (chain) file',
        },
        keyFile: {
          type: 'string',
          minLength: 1,
          default: '/etc/volume-guard/tls/tls.key',
          description: 'PEM private key file',
        },
        caFile: {
          type: 'string',
          default: '',
          description: "optional PEM intermediates appended to the served chain ('' for none)",
        },
        clientCaFile: {
          type: 'string',
          default: '',
          description: "PEM CA bundle a caller's client certificate must chain to; '' lets any caller in (see Security)",
        },
        clientNames: stringList('client certificate names (subject CN or DNS SAN) accepted; empty: any from the client CA', []),
        pollIntervalMs: {
          type: 'integer',
          minimum: 100,
          maximum: MAX_TIMER_MS,
          default: 10_000,
          description: 'how often the files are re-read besides file-change events',
        },
      }),
    }),
    ops: section('the plain-HTTP ops server (/healthz, /readyz, /metrics)', {
      port: port('HTTP port for probes and metrics', 8080),
      host: { type: 'string', minLength: 1, default: '0.0.0.0', description: LISTEN_HOST },
    }),
    log: section('logging', {
      level: { type: 'string', enum: LOG_LEVELS, default: 'info', description: 'pino log level' },
    }),
    checks: section('per-check mode', checkModes),
    overrides: section('who may write the volume-guard.io/skip overrides', {
      mode: {
        type: 'string',
        enum: ['listed', 'rbac'],
        default: 'listed',
        description: 'listed: only allowedGroups/allowedUsers (both empty: nobody); rbac: anyone RBAC lets write the object',
      },
      allowedGroups: stringList('groups whose overrides are honored', ['system:masters']),
      allowedUsers: stringList('users whose overrides are honored', []),
    }),
    evictions: section('evictions that restart a pod rather than drain a node', {
      restartUsers: stringList(
        'users (e.g. system:serviceaccount:kube-system:descheduler) whose evictions from a schedulable node are allowed when the pod can only come back next to its data',
        [],
      ),
      restartGroups: stringList('groups whose evictions count as restarts, like restartUsers', []),
    }),
    reboots: section('node reboot daemons, which cordon, drain, reboot and uncordon a node (kured)', {
      users: stringList(
        'users (e.g. system:serviceaccount:kube-system:kured) whose cordon of a node, and evictions and pod DELETEs on it once cordoned, reboot it in place: the node-local PVs pinned to it are kept',
        [],
      ),
      groups: stringList('groups whose cordons and drains count as reboots in place, like users', []),
    }),
    longhorn: section('Longhorn', {
      namespace: {
        type: 'string',
        minLength: 1,
        pattern: DNS1123_LABEL_PATTERN,
        default: 'longhorn-system',
        description: "namespace of Longhorn's CRs",
      },
      serviceAccount: {
        type: 'string',
        minLength: 1,
        default: 'longhorn-service-account',
        description: "Longhorn's own service account (in longhorn.namespace): the one allowed to remove Longhorn finalizers",
      },
      nodeDownGraceSeconds: {
        type: 'integer',
        minimum: 0,
        default: 30,
        description: "a Node NotReady (Ready False) for longer than this is down: its replicas no longer count as copies (Ready Unknown is down at once, as for Longhorn)",
      },
    }),
    helm: section('Helm release records', {
      // flux-system: Flux's helm-controller stores a HelmRelease's records in its own namespace unless
      // spec.storageNamespace says otherwise, while the release is its targetNamespace's; only cluster admins and
      // Flux's controllers write there.
      storageNamespaces: stringList(
        'namespaces whose release records may describe a release of another namespace (Helm SDK users: Flux keeps a HelmRelease\'s records in its own namespace, or spec.storageNamespace); elsewhere a record is judged in its own namespace',
        ['flux-system'],
      ),
      manifestWorkers: {
        type: 'integer',
        minimum: 0,
        maximum: 16,
        default: 2,
        description: 'worker threads reading release manifests off the event loop (0: read on the event loop)',
      },
      manifestDeadlineMs: {
        type: 'integer',
        minimum: 100,
        maximum: MAX_TIMER_MS,
        default: 2000,
        description: 'a release record not read within this time (queue included) is refused with the reason',
      },
      manifestQueue: {
        type: 'integer',
        minimum: 0,
        default: 16,
        description: 'release records waiting for a worker beyond this are refused as busy',
      },
    }),
    pvcDelete: section('the pvc-delete check on PVC DELETE requests', {
      // Argo CD in-cluster, a hub Argo CD's account on this cluster (`argocd cluster add`), OpenShift GitOps' default instance.
      automationUsers: stringList('users whose deletes of Bound PVCs with reclaim policy Delete are refused (GitOps controllers)', [
        'system:serviceaccount:argocd:argocd-application-controller',
        'system:serviceaccount:kube-system:argocd-manager',
        'system:serviceaccount:openshift-gitops:openshift-gitops-argocd-application-controller',
        'system:serviceaccount:flux-system:kustomize-controller',
        'system:serviceaccount:flux-system:helm-controller',
      ]),
      automationGroups: stringList('groups treated like automationUsers', []),
      others: {
        type: 'string',
        enum: CHECK_MODES,
        default: 'off',
        description: 'what such a delete by anyone else (a person by hand) gets',
      },
    }),
    nodeLocal: section('what the node-local-volume check counts as data kept on one node', {
      csiDrivers: stringList(
        'provisioners and CSI drivers whose PVs keep their data on the node they are pinned to',
        NODE_LOCAL_DRIVERS,
      ),
      ignoredHostPathPrefixes: {
        type: 'array',
        items: { type: 'string', minLength: 1, pattern: '^/' },
        uniqueItems: true,
        default: SYSTEM_HOST_PATH_PREFIXES,
        description: 'inline hostPath volumes at or under these absolute paths are the node\'s own files, not data',
      },
      statefulSetEmptyDir: {
        type: 'string',
        enum: CHECK_MODES,
        default: 'warn',
        description: 'StatefulSet pods keeping data in an emptyDir on a cordoned or drained node: enforce denies, warn warns, off ignores',
      },
    }),
    upgrades: section('upgrade custom resources guarded by the upgrade checks', {
      kinds: {
        type: 'array',
        default: DEFAULT_UPGRADE_KINDS,
        description:
          'list of {group, versions (newest first; or one `version`, not both), resource, kind, operations}; also the kinds whose overrides are policed and honored',
        items: UPGRADE_KIND_SCHEMA,
      },
    }),
    clusterApi: section('Cluster API machine removals', {
      // Cluster API's kubeadm control plane provider, as clusterctl installs it (namespace and name prefix
      // capi-kubeadm-control-plane-, service account manager).
      controlPlaneUsers: stringList(
        "users whose Machine DELETEs carry out a KubeadmControlPlane's rollouts and scale-downs (its controller): only their DELETEs of its Machines read its stored volume-guard.io/skip",
        ['system:serviceaccount:capi-kubeadm-control-plane-system:capi-kubeadm-control-plane-manager'],
      ),
    }),
    model: section('the in-memory cluster model', {
      maxStalenessSeconds: {
        type: 'integer',
        minimum: 1,
        default: 120,
        description:
          `a resource not heard from for longer than this is stale (a quiet watch is proven current by a ${PROBE_TIMEOUT_SECONDS} s probe ` +
          `sent after half of this, at least ${MIN_WATCH_STALL_SECONDS / 2} s and at most ${DEFAULT_WATCH_STALL_MS / 2000} s)`,
      },
      stalePolicy: {
        type: 'string',
        enum: ['deny', 'allow', 'warn'],
        default: 'deny',
        description: 'what a guarded operation gets while the model is stale',
      },
      resyncSeconds: {
        type: 'integer',
        minimum: 0,
        default: 600,
        description: 'full relist period of the informers (0: never)',
      },
    }),
    shutdown: section('graceful shutdown on SIGTERM/SIGINT', {
      drainDelayMs: {
        type: 'integer',
        minimum: 0,
        maximum: MAX_TIMER_MS,
        default: 0,
        description: 'time between readiness turning false and closing the listener (the chart sets a few seconds)',
      },
      timeoutMs: {
        type: 'integer',
        minimum: 0,
        maximum: MAX_TIMER_MS,
        default: 20_000,
        description: 'in-flight requests still running after this are cut off',
      },
    }),
    events: section('Kubernetes Events for denied requests', {
      enabled: {
        type: 'boolean',
        default: true,
        description: 'record each denied request as an events.k8s.io Event on the object it concerns (needs create/patch on events)',
      },
    }),
  },
} as const satisfies SchemaNode;

/** The configuration as loaded: every field present (defaults filled in), all read-only. */
export type Config = FromSchema<typeof CONFIG_SCHEMA>;

export type StalePolicy = Config['model']['stalePolicy'];
