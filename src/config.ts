// volume-guard's configuration: one optional YAML file, then environment overrides, validated by one JSON schema
// that also fills in every default. Unknown fields are errors at every level: a typo must not silently fall back
// to a default on a component that guards data.
//
// Environment overrides: every leaf field has a variable named VOLUME_GUARD_ + its path in upper case, with
// `.`, `-` and camelCase boundaries turned into `_`:
//   log.level                     -> VOLUME_GUARD_LOG_LEVEL
//   admission.port                -> VOLUME_GUARD_ADMISSION_PORT
//   admission.tls.certFile        -> VOLUME_GUARD_ADMISSION_TLS_CERT_FILE
//   checks.orphan-pvc.mode        -> VOLUME_GUARD_CHECKS_ORPHAN_PVC_MODE
//   overrides.allowedGroups       -> VOLUME_GUARD_OVERRIDES_ALLOWED_GROUPS   (comma-separated list)
//   upgrades.kinds                -> VOLUME_GUARD_UPGRADES_KINDS             (a JSON array)
// Integers and booleans are parsed from their usual spelling. CONFIG_REFERENCE lists every variable.
// An environment variable starting with VOLUME_GUARD_ that names no field is an error, like an unknown YAML key.

import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { CHECK_IDS } from './checks/types.ts';
import { NODE_LOCAL_DRIVERS, SYSTEM_HOST_PATH_PREFIXES, type EmptyDirMode } from './checks/node-local-volume.ts';
import type { CheckId } from './checks/types.ts';
import type { Operation } from './admission/types.ts';
import { LOG_LEVELS } from './logging.ts';
import type { LogLevel } from './logging.ts';

export const ENV_PREFIX = 'VOLUME_GUARD_';

export type CheckMode = 'enforce' | 'warn' | 'off';
export type StalePolicy = 'deny' | 'allow' | 'warn';

export interface GuardedUpgradeKind {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly kind: string;
  readonly operations: readonly Operation[];
}

export interface Config {
  readonly admission: {
    readonly port: number;
    readonly host: string;
    readonly bodyLimitBytes: number;
    /** Serve /validate/allow-all: for tests and smoke checks, never in production. */
    readonly allowAll: boolean;
    readonly tls: {
      readonly certFile: string;
      readonly keyFile: string;
      /** Extra intermediate certificates appended to the served chain; '' for none. */
      readonly caFile: string;
      /** PEM CA bundle the API server's client certificate must chain to; '' accepts callers without one. */
      readonly clientCaFile: string;
      /** Client certificate names (subject CN or DNS SAN) accepted; empty: any certificate of the client CA. */
      readonly clientNames: readonly string[];
      readonly pollIntervalMs: number;
    };
  };
  readonly ops: { readonly port: number; readonly host: string };
  readonly log: { readonly level: LogLevel };
  readonly checks: Readonly<Record<CheckId, { readonly mode: CheckMode }>>;
  readonly overrides: {
    /** `listed`: only the lists below (both empty: nobody); `rbac`: whoever RBAC lets write the object. */
    readonly mode: 'listed' | 'rbac';
    readonly allowedGroups: readonly string[];
    readonly allowedUsers: readonly string[];
  };
  /** Identities whose evictions are pod restarts (descheduler, VPA updater), not drains. */
  readonly evictions: { readonly restartUsers: readonly string[]; readonly restartGroups: readonly string[] };
  readonly longhorn: {
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly nodeDownGraceSeconds: number;
  };
  readonly helm: {
    readonly storageNamespaces: readonly string[];
    readonly manifestWorkers: number;
    readonly manifestDeadlineMs: number;
    readonly manifestQueue: number;
  };
  readonly pvcDelete: {
    readonly automationUsers: readonly string[];
    readonly automationGroups: readonly string[];
    readonly others: CheckMode;
  };
  readonly nodeLocal: {
    readonly csiDrivers: readonly string[];
    readonly ignoredHostPathPrefixes: readonly string[];
    readonly statefulSetEmptyDir: EmptyDirMode;
  };
  readonly upgrades: { readonly kinds: readonly GuardedUpgradeKind[] };
  readonly model: {
    readonly maxStalenessSeconds: number;
    readonly stalePolicy: StalePolicy;
    readonly resyncSeconds: number;
  };
  readonly shutdown: { readonly drainDelayMs: number; readonly timeoutMs: number };
  readonly events: { readonly enabled: boolean };
}

export const DEFAULT_UPGRADE_KINDS: readonly GuardedUpgradeKind[] = [
  { group: 'harvesterhci.io', version: 'v1beta1', resource: 'upgrades', kind: 'Upgrade', operations: ['CREATE'] },
  {
    group: 'management.harvesterhci.io',
    version: 'v1beta1',
    resource: 'upgradeplans',
    kind: 'UpgradePlan',
    operations: ['CREATE'],
  },
  { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans', kind: 'Plan', operations: ['CREATE', 'UPDATE'] },
  {
    group: 'cluster.x-k8s.io',
    version: 'v1beta1',
    resource: 'machinedeployments',
    kind: 'MachineDeployment',
    operations: ['UPDATE'],
  },
  {
    group: 'controlplane.cluster.x-k8s.io',
    version: 'v1beta1',
    resource: 'kubeadmcontrolplanes',
    kind: 'KubeadmControlPlane',
    operations: ['UPDATE'],
  },
];

// ---- schema ----

interface SchemaNode {
  type?: 'object' | 'string' | 'integer' | 'boolean' | 'array';
  description?: string;
  default?: unknown;
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  pattern?: string;
  minItems?: number;
  uniqueItems?: boolean;
  properties?: Record<string, SchemaNode>;
  required?: readonly string[];
  additionalProperties?: boolean;
  items?: SchemaNode;
}

function section(description: string, properties: Record<string, SchemaNode>): SchemaNode {
  return { type: 'object', description, default: {}, additionalProperties: false, properties };
}

const port = (description: string, defaultPort: number): SchemaNode => ({
  type: 'integer',
  minimum: 0,
  maximum: 65535,
  default: defaultPort,
  description: `${description} (0: any free port)`,
});

const stringList = (description: string, defaults: readonly string[]): SchemaNode => ({
  type: 'array',
  items: { type: 'string', minLength: 1 },
  uniqueItems: true,
  default: defaults,
  description,
});

const checkModes: Record<string, SchemaNode> = Object.fromEntries(
  CHECK_IDS.map((id) => [
    id,
    section(`the ${id} check`, {
      mode: {
        type: 'string',
        enum: ['enforce', 'warn', 'off'],
        default: 'enforce',
        description: `enforce denies, warn allows with a warning, off skips the ${id} check`,
      },
    }),
  ]),
);

export const CONFIG_SCHEMA: SchemaNode = {
  type: 'object',
  additionalProperties: false,
  properties: {
    admission: section('the HTTPS admission server', {
      port: port('HTTPS port the API server calls', 8443),
      host: { type: 'string', minLength: 1, default: '0.0.0.0', description: 'address to listen on' },
      bodyLimitBytes: {
        type: 'integer',
        minimum: 1024,
        default: 3 * 1024 * 1024,
        description: 'largest AdmissionReview accepted; larger ones get HTTP 400',
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
          default: 10_000,
          description: 'how often the files are re-read besides file-change events',
        },
      }),
    }),
    ops: section('the plain-HTTP ops server (/healthz, /readyz, /metrics)', {
      port: port('HTTP port for probes and metrics', 8080),
      host: { type: 'string', minLength: 1, default: '0.0.0.0', description: 'address to listen on' },
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
    longhorn: section('Longhorn', {
      namespace: {
        type: 'string',
        minLength: 1,
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
        description: "a Node NotReady/Unknown for longer than this is down: its replicas no longer count as copies",
      },
    }),
    helm: section('Helm release records', {
      storageNamespaces: stringList(
        'namespaces whose release records may describe a release of another namespace (Helm SDK users such as Flux storageNamespace); elsewhere a record is judged in its own namespace',
        [],
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
      automationUsers: stringList('users whose deletes of Bound PVCs with reclaim policy Delete are refused (GitOps controllers)', [
        'system:serviceaccount:argocd:argocd-application-controller',
        'system:serviceaccount:flux-system:kustomize-controller',
        'system:serviceaccount:flux-system:helm-controller',
      ]),
      automationGroups: stringList('groups treated like automationUsers', []),
      others: {
        type: 'string',
        enum: ['enforce', 'warn', 'off'],
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
        enum: ['enforce', 'warn', 'off'],
        default: 'warn',
        description: 'StatefulSet pods keeping data in an emptyDir on a cordoned or drained node: enforce denies, warn warns, off ignores',
      },
    }),
    upgrades: section('upgrade custom resources guarded by the upgrade checks', {
      kinds: {
        type: 'array',
        default: DEFAULT_UPGRADE_KINDS,
        description: 'list of {group, version, resource, kind, operations}',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['group', 'version', 'resource', 'kind', 'operations'],
          properties: {
            group: { type: 'string', minLength: 1 },
            version: { type: 'string', minLength: 1 },
            resource: { type: 'string', minLength: 1 },
            kind: { type: 'string', minLength: 1 },
            operations: {
              type: 'array',
              minItems: 1,
              uniqueItems: true,
              items: { type: 'string', enum: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] },
            },
          },
        },
      },
    }),
    model: section('the in-memory cluster model', {
      maxStalenessSeconds: {
        type: 'integer',
        minimum: 1,
        default: 120,
        description: 'a resource not heard from for longer than this is stale',
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
        default: 0,
        description: 'time between readiness turning false and closing the listener (the chart sets a few seconds)',
      },
      timeoutMs: {
        type: 'integer',
        minimum: 0,
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
};

// ---- environment mapping ----

export interface ConfigReferenceRow {
  /** Dotted path, e.g. `admission.tls.certFile`. */
  readonly path: string;
  readonly env: string;
  readonly type: string;
  readonly default: string;
  readonly description: string;
}

function envName(path: readonly string[]): string {
  return (
    ENV_PREFIX +
    path
      .map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[-.]/g, '_'))
      .join('_')
      .toUpperCase()
  );
}

interface Leaf {
  readonly path: readonly string[];
  readonly schema: SchemaNode;
}

function leaves(schema: SchemaNode, path: readonly string[] = []): Leaf[] {
  if (schema.type === 'object' && schema.properties) {
    return Object.entries(schema.properties).flatMap(([key, child]) => leaves(child, [...path, key]));
  }
  return [{ path, schema }];
}

const LEAVES = leaves(CONFIG_SCHEMA);
const LEAF_BY_ENV = new Map(LEAVES.map((leaf) => [envName(leaf.path), leaf]));

function describeType(schema: SchemaNode): string {
  if (schema.enum) return schema.enum.join(' | ');
  if (schema.type === 'array') return schema.items?.type === 'string' ? 'list (comma-separated)' : 'JSON array';
  return schema.type ?? 'any';
}

function describeDefault(value: unknown): string {
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.join(',');
  if (Array.isArray(value)) return `${value.length} entries`;
  return String(value);
}

/** Every configurable field with its environment variable, type and default (for the README). */
export const CONFIG_REFERENCE: readonly ConfigReferenceRow[] = LEAVES.map((leaf) => ({
  path: leaf.path.join('.'),
  env: envName(leaf.path),
  type: describeType(leaf.schema),
  default: describeDefault(leaf.schema.default),
  description: leaf.schema.description ?? '',
}));

/** Parse an environment value to the JSON type its field expects; unparseable values stay strings for ajv to name. */
function parseEnvValue(raw: string, schema: SchemaNode): unknown {
  const text = raw.trim();
  switch (schema.type) {
    case 'integer':
      return /^-?\d+$/.test(text) ? Number(text) : raw;
    case 'boolean':
      if (/^(true|1|yes)$/i.test(text)) return true;
      if (/^(false|0|no)$/i.test(text)) return false;
      return raw;
    case 'array':
      if (schema.items?.type === 'string') {
        return text === ''
          ? []
          : text
              .split(',')
              .map((item) => item.trim())
              .filter((item) => item !== '');
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return raw;
      }
    default:
      return raw;
  }
}

// ---- loading ----

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type MutableTree = Record<string, unknown>;

function isPlainObject(value: unknown): value is MutableTree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function setPath(tree: MutableTree, path: readonly string[], value: unknown, source: string): void {
  let node = tree;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (next === undefined) {
      const created: MutableTree = {};
      node[segment] = created;
      node = created;
    } else if (isPlainObject(next)) {
      node = next;
    } else {
      throw new ConfigError(`config: ${source} sets ${path.join('.')} but ${segment} is not a mapping in the file`);
    }
  }
  node[path[path.length - 1]!] = value;
}

const ajv = new Ajv({ useDefaults: true, allErrors: false, strict: true });
const validateConfig = ajv.compile(CONFIG_SCHEMA);

function formatValue(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(tree: unknown, pointer: string): unknown {
  let node = tree;
  for (const segment of pointer.split('/').slice(1)) {
    const key = segment.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isPlainObject(node)) node = node[key];
    else return undefined;
  }
  return node;
}

/** The schema node describing the value at a JSON pointer (array indexes go through `items`). */
function schemaAt(pointer: string): SchemaNode | undefined {
  let node: SchemaNode | undefined = CONFIG_SCHEMA;
  for (const segment of pointer.split('/').slice(1)) {
    node = /^\d+$/.test(segment) && node?.items ? node.items : node?.properties?.[segment];
  }
  return node;
}

function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment, index) => (/^\d+$/.test(segment) ? `[${segment}]` : index === 0 ? segment : `.${segment}`))
    .join('');
}

function describeError(error: ErrorObject, data: unknown, envSources: ReadonlyMap<string, string>): string {
  const at = pointerToPath(error.instancePath);
  const field = (child: string) => (at ? `${at}.${child}` : child);
  const got = formatValue(valueAt(data, error.instancePath));
  let line: string;
  let fieldPath = at;
  switch (error.keyword) {
    case 'additionalProperties': {
      const unknown = String(error.params.additionalProperty);
      const known = Object.keys(schemaAt(error.instancePath)?.properties ?? {}).join(', ');
      fieldPath = field(unknown);
      line = `${fieldPath} is not a known field (known: ${known})`;
      break;
    }
    case 'required':
      fieldPath = field(String(error.params.missingProperty));
      line = `${fieldPath} is required`;
      break;
    case 'enum':
      line = `${at} must be one of ${(error.params.allowedValues as unknown[]).join(', ')} (got ${got})`;
      break;
    case 'type':
      line = `${at || 'the configuration'} must be ${/^[aeiou]/.test(String(error.params.type)) ? 'an' : 'a'} ${String(error.params.type)} (got ${got})`;
      break;
    default:
      line = `${at} ${error.message ?? 'is invalid'} (got ${got})`;
  }
  const env = [...envSources].find(([path]) => fieldPath === path || fieldPath.startsWith(`${path}.`) || fieldPath.startsWith(`${path}[`))?.[1];
  return `config: ${line}${env ? ` (from ${env})` : ''}`;
}

export interface LoadConfigOptions {
  /** YAML file path; absent means defaults plus environment. */
  readonly file?: string;
  /** Usually process.env; only VOLUME_GUARD_* variables are read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Read, merge, validate and default the configuration. Throws ConfigError with a one-line message. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  let tree: unknown = {};
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(
        `config: cannot read ${options.file}: ${code === 'ENOENT' ? 'no such file' : String(code ?? error)}`,
      );
    }
    try {
      tree = parseYaml(text) ?? {};
    } catch (error) {
      const firstLine = String((error as Error).message).split('\n')[0];
      throw new ConfigError(`config: ${options.file} is not valid YAML: ${firstLine}`);
    }
    if (!isPlainObject(tree)) {
      throw new ConfigError(`config: ${options.file} must hold a mapping at the top level (got ${formatValue(tree)})`);
    }
  }
  const data = tree as MutableTree;

  const envSources = new Map<string, string>();
  const env = options.env ?? {};
  for (const name of Object.keys(env).sort()) {
    const raw = env[name];
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const leaf = LEAF_BY_ENV.get(name);
    if (!leaf) {
      throw new ConfigError(`config: environment variable ${name} names no configuration field`);
    }
    setPath(data, leaf.path, parseEnvValue(raw, leaf.schema), name);
    envSources.set(leaf.path.join('.'), name);
  }

  if (!validateConfig(data)) {
    const error = validateConfig.errors?.[0];
    throw new ConfigError(error ? describeError(error, data, envSources) : 'config: invalid');
  }
  return data as unknown as Config;
}

/** The defaults alone (what `loadConfig()` returns with no file and no environment). */
export function defaultConfig(): Config {
  return loadConfig({});
}

/** CONFIG_REFERENCE as a Markdown table. */
export function configReferenceMarkdown(): string {
  const escape = (text: string) => text.replace(/\|/g, '\\|');
  const rows = CONFIG_REFERENCE.map(
    (row) =>
      `| \`${row.path}\` | \`${row.env}\` | ${escape(row.type)} | ${row.default === '' ? "''" : `\`${row.default}\``} | ${escape(row.description)} |`,
  );
  return ['| field | environment | type | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}
