import { constants } from 'node:buffer';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECK_IDS } from '../../src/checks/types.ts';
import {
  CONFIG_REFERENCE,
  CONFIG_SCHEMA,
  ConfigError,
  DEFAULT_UPGRADE_KINDS,
  MAX_BODY_LIMIT_BYTES,
  MAX_TIMER_MS,
  configReferenceMarkdown,
  defaultConfig,
  loadConfig,
  upgradeKindVersions,
} from '../../src/config.ts';
import { tempDir } from '../support/tls.ts';

async function yamlFile(text: string): Promise<string> {
  const file = join(await tempDir('vg-config-'), 'config.yaml');
  await writeFile(file, text);
  return file;
}

async function errorOf(text: string | undefined, env: Record<string, string> = {}): Promise<string> {
  try {
    loadConfig({ ...(text === undefined ? {} : { file: await yamlFile(text) }), env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  it('fills in every field', () => {
    const config = defaultConfig();
    expect(config.admission).toEqual({
      port: 8443,
      host: '0.0.0.0',
      bodyLimitBytes: 3 * 1024 * 1024,
      maxInflightBodyBytes: 64 * 1024 * 1024,
      allowAll: false,
      tls: { certFile: '/etc/volume-guard/tls/tls.crt', keyFile: '/etc/volume-guard/tls/tls.key', caFile: '', clientCaFile: '', clientNames: [], pollIntervalMs: 10_000 },
    });
    expect(config.ops).toEqual({ port: 8080, host: '0.0.0.0' });
    expect(config.log).toEqual({ level: 'info' });
    expect(Object.keys(config.checks).sort()).toEqual([...CHECK_IDS].sort());
    for (const id of CHECK_IDS) expect(config.checks[id].mode).toBe('enforce');
    expect(config.overrides).toEqual({ mode: 'listed', allowedGroups: ['system:masters'], allowedUsers: [] });
    expect(config.longhorn).toEqual({ namespace: 'longhorn-system', serviceAccount: 'longhorn-service-account', nodeDownGraceSeconds: 30 });
    expect(config.upgrades.kinds).toEqual(DEFAULT_UPGRADE_KINDS);
    expect(config.upgrades.kinds.map((kind) => `${kind.resource}.${kind.group}/${upgradeKindVersions(kind).join(',')}:${kind.operations.join('+')}`)).toEqual([
      'upgrades.harvesterhci.io/v1beta1:CREATE',
      'upgradeplans.management.harvesterhci.io/v1beta1:CREATE',
      'plans.upgrade.cattle.io/v1:CREATE+UPDATE',
      // Cluster API's current version and the one it plans to stop serving (1.16): rollouts judged in either.
      'machinedeployments.cluster.x-k8s.io/v1beta2,v1beta1:UPDATE',
      'kubeadmcontrolplanes.controlplane.cluster.x-k8s.io/v1beta2,v1beta1:UPDATE',
    ]);
    expect(config.model).toEqual({ maxStalenessSeconds: 120, stalePolicy: 'deny', resyncSeconds: 600 });
    expect(config.shutdown).toEqual({ drainDelayMs: 0, timeoutMs: 20_000 });
  });

  it('gives every load its own default lists', () => {
    const first = loadConfig();
    (first.overrides.allowedGroups as string[]).push('mutated');
    (first.upgrades.kinds as unknown[]).length = 0;
    const second = loadConfig();
    expect(second.overrides.allowedGroups).toEqual(['system:masters']);
    expect(second.upgrades.kinds).toHaveLength(5);
  });
});

describe('loadConfig from YAML', () => {
  it('merges a partial file with the defaults', async () => {
    const config = loadConfig({
      file: await yamlFile(`
admission:
  port: 9443
  tls: { certFile: /certs/tls.crt }
checks:
  orphan-pvc: { mode: warn }
overrides:
  allowedGroups: [cluster-admins]
  allowedUsers: [alice]
upgrades:
  kinds:
    - { group: example.io, version: v1, resource: rollouts, kind: Rollout, operations: [CREATE] }
`),
    });
    expect(config.admission.port).toBe(9443);
    expect(config.admission.host).toBe('0.0.0.0');
    expect(config.admission.tls).toMatchObject({ certFile: '/certs/tls.crt', keyFile: '/etc/volume-guard/tls/tls.key' });
    expect(config.checks['orphan-pvc'].mode).toBe('warn');
    expect(config.checks['single-replica'].mode).toBe('enforce');
    expect(config.overrides).toEqual({ mode: 'listed', allowedGroups: ['cluster-admins'], allowedUsers: ['alice'] });
    expect(config.upgrades.kinds).toEqual([{ group: 'example.io', version: 'v1', resource: 'rollouts', kind: 'Rollout', operations: ['CREATE'] }]);
  });

  it('takes an upgrade kind\'s versions, newest first, or the one version of a configuration written before them', async () => {
    const config = loadConfig({
      file: await yamlFile(`
upgrades:
  kinds:
    - { group: cluster.x-k8s.io, versions: [v1beta2, v1beta1], resource: machinedeployments, kind: MachineDeployment, operations: [UPDATE] }
    - { group: controlplane.cluster.x-k8s.io, version: v1beta1, resource: kubeadmcontrolplanes, kind: KubeadmControlPlane, operations: [UPDATE] }
`),
    });
    expect(config.upgrades.kinds.map(upgradeKindVersions)).toEqual([['v1beta2', 'v1beta1'], ['v1beta1']]);
  });

  it('accepts an empty file', async () => {
    expect(loadConfig({ file: await yamlFile('') })).toEqual(defaultConfig());
  });

  it.each([
    ['a bad enum', 'checks:\n  orphan-pvc:\n    mode: block\n', 'config: checks.orphan-pvc.mode must be one of enforce, warn, off (got "block")'],
    ['an unknown top-level field', 'admision: {}\n', `config: admision is not a known field (known: ${Object.keys(CONFIG_SCHEMA.properties ?? {}).join(', ')})`],
    ['an unknown nested field', 'admission:\n  tls:\n    certfile: /x\n', 'config: admission.tls.certfile is not a known field (known: certFile, keyFile, caFile, clientCaFile, clientNames, pollIntervalMs)'],
    ['an unknown check id', 'checks:\n  single-replicas: { mode: warn }\n', `config: checks.single-replicas is not a known field (known: ${CHECK_IDS.join(', ')})`],
    ['a wrong type', 'admission:\n  port: "8443"\n', 'config: admission.port must be an integer (got "8443")'],
    ['an out-of-range port', 'ops:\n  port: 70000\n', 'config: ops.port must be <= 65535 (got 70000)'],
    ['a section that is not a mapping', 'log: debug\n', 'config: log must be an object (got "debug")'],
    ['an upgrade kind without operations', 'upgrades:\n  kinds:\n    - { group: a, version: v1, resource: r, kind: K }\n', 'config: upgrades.kinds[0].operations is required'],
    ['an unknown operation', 'upgrades:\n  kinds:\n    - { group: a, version: v1, resource: r, kind: K, operations: [PATCH] }\n', 'config: upgrades.kinds[0].operations[0] must be one of CREATE, UPDATE, DELETE, CONNECT (got "PATCH")'],
    ['a stale policy typo', 'model:\n  stalePolicy: denied\n', 'config: model.stalePolicy must be one of deny, allow, warn (got "denied")'],
    // An upper-case resource, version or group matches no request: the upgrade check would be silently bypassed.
    ['an upgrade kind\'s resource in upper case', 'upgrades:\n  kinds:\n    - { group: upgrade.cattle.io, version: v1, resource: Plans, kind: Plan, operations: [CREATE] }\n',
      'config: upgrades.kinds[0].resource must match pattern "^[a-z]([-a-z0-9]*[a-z0-9])?$" (got "Plans")'],
    ['an upgrade kind\'s version in upper case', 'upgrades:\n  kinds:\n    - { group: upgrade.cattle.io, version: V1, resource: plans, kind: Plan, operations: [CREATE] }\n',
      'config: upgrades.kinds[0].version must match pattern "^[a-z]([-a-z0-9]*[a-z0-9])?$" (got "V1")'],
    ['an upgrade kind\'s group in upper case', 'upgrades:\n  kinds:\n    - { group: Upgrade.Cattle.io, version: v1, resource: plans, kind: Plan, operations: [CREATE] }\n',
      'config: upgrades.kinds[0].group must match pattern "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" (got "Upgrade.Cattle.io")'],
    // An entry names its versions once: `versions`, or the one `version` of a configuration written before it.
    ['an upgrade kind with both version and versions', 'upgrades:\n  kinds:\n    - { group: a, version: v1, versions: [v2, v1], resource: r, kind: K, operations: [UPDATE] }\n',
      'config: upgrades.kinds[0] sets versions and version: set only one of them'],
    ['an upgrade kind with no version', 'upgrades:\n  kinds:\n    - { group: a, resource: r, kind: K, operations: [UPDATE] }\n', 'config: upgrades.kinds[0] must set one of versions, version'],
    ['an upgrade kind with an empty versions list', 'upgrades:\n  kinds:\n    - { group: a, versions: [], resource: r, kind: K, operations: [UPDATE] }\n',
      'config: upgrades.kinds[0].versions must NOT have fewer than 1 items (got [])'],
    ['an upgrade kind with versions as one string', 'upgrades:\n  kinds:\n    - { group: a, versions: v1, resource: r, kind: K, operations: [UPDATE] }\n',
      'config: upgrades.kinds[0].versions must be an array (got "v1")'],
    ['an upgrade kind with one of its versions in upper case', 'upgrades:\n  kinds:\n    - { group: a, versions: [v1beta2, V1beta1], resource: r, kind: K, operations: [UPDATE] }\n',
      'config: upgrades.kinds[0].versions[1] must match pattern "^[a-z]([-a-z0-9]*[a-z0-9])?$" (got "V1beta1")'],
    ['an upgrade kind naming a version twice', 'upgrades:\n  kinds:\n    - { group: a, versions: [v1, v1], resource: r, kind: K, operations: [UPDATE] }\n',
      'config: upgrades.kinds[0].versions must NOT have duplicate items (items ## 1 and 0 are identical) (got ["v1","v1"])'],
    ['a Longhorn namespace that is no namespace name', 'longhorn:\n  namespace: Longhorn_System\n', 'config: longhorn.namespace must match pattern "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" (got "Longhorn_System")'],
  ])('names the field for %s', async (_what, text, message) => {
    expect(await errorOf(text)).toBe(message);
  });

  it('bounds the body limit below what one string holds, and the budget of bodies in flight', async () => {
    expect(await errorOf('admission:\n  bodyLimitBytes: 1e19\n')).toBe('config: admission.bodyLimitBytes must be <= 268435456 (got 10000000000000000000)');
    expect(await errorOf('admission:\n  maxInflightBodyBytes: 2147483648\n')).toBe('config: admission.maxInflightBodyBytes must be <= 2147483647 (got 2147483648)');
    const largest = loadConfig({ env: { VOLUME_GUARD_ADMISSION_BODY_LIMIT_BYTES: '268435456', VOLUME_GUARD_ADMISSION_MAX_INFLIGHT_BODY_BYTES: '2147483647' } });
    expect(largest.admission).toMatchObject({ bodyLimitBytes: 268435456, maxInflightBodyBytes: 2147483647 });
    expect(MAX_BODY_LIMIT_BYTES).toBeLessThan(constants.MAX_STRING_LENGTH);
  });

  it('wants the budget of bodies in flight to hold one review at the body limit', async () => {
    expect(await errorOf('admission:\n  bodyLimitBytes: 4096\n  maxInflightBodyBytes: 4095\n')).toBe(
      'config: admission.maxInflightBodyBytes (4095) must be at least admission.bodyLimitBytes (4096)',
    );
    expect(loadConfig({ env: { VOLUME_GUARD_ADMISSION_BODY_LIMIT_BYTES: '4096', VOLUME_GUARD_ADMISSION_MAX_INFLIGHT_BODY_BYTES: '4096' } }).admission.maxInflightBodyBytes).toBe(4096);
  });

  it('reports unreadable files and bad YAML in one line', async () => {
    expect(() => loadConfig({ file: '/nonexistent/volume-guard.yaml' })).toThrow('config: cannot read /nonexistent/volume-guard.yaml: no such file');
    expect(await errorOf('admission: [unclosed\n')).toMatch(/^config: .*config\.yaml is not valid YAML: /);
    expect(await errorOf('- just\n- a list\n')).toMatch(/must hold a mapping at the top level/);
  });
});

describe('loadConfig refuses a file whose YAML aliases refer to themselves', () => {
  // The parser builds a value that holds itself: each one crashed with "Converting circular structure to JSON".
  it.each([
    ['a list holding itself', 'a: &a [*a]\n', 'a[0]'],
    ['a known list field', 'overrides:\n  allowedGroups: &g [*g]\n', 'overrides.allowedGroups[0]'],
    ['a section holding itself', 'log: &l {level: *l}\n', 'log.level'],
    ['the top level', '&r\nlog: {level: info}\nagain: *r\n', 'again'],
    ['a deeper alias', 'upgrades:\n  kinds: &k\n    - { group: a, version: v1, resource: r, kind: K, operations: [CREATE], more: [*k] }\n', 'upgrades.kinds[0].more[0]'],
  ])('names where: %s', async (_what, text, at) => {
    const file = await yamlFile(text);
    let message = '';
    try {
      loadConfig({ file, env: { VOLUME_GUARD_LOG_LEVEL: 'debug' } });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toBe(`config: ${file}: recursive YAML alias at ${at} (an alias inside the value it names)`);
  });

  it('takes an alias used twice that is no recursion', async () => {
    const config = loadConfig({ file: await yamlFile('overrides:\n  allowedGroups: &g [ops, system:masters]\nevictions:\n  restartGroups: *g\n') });
    expect(config.evictions.restartGroups).toEqual(['ops', 'system:masters']);
  });

  it('describes a top level that holds itself without crashing', async () => {
    expect(await errorOf('&r [*r]\n')).toMatch(/config\.yaml must hold a mapping at the top level \(got \(a value that contains itself\)\)$/);
  });
});

describe('loadConfig environment overrides', () => {
  it('overrides file values and parses integers, booleans and lists', async () => {
    const file = await yamlFile('log:\n  level: warn\nadmission:\n  port: 9443\n');
    const config = loadConfig({
      file,
      env: {
        VOLUME_GUARD_LOG_LEVEL: 'debug',
        VOLUME_GUARD_ADMISSION_PORT: '10443',
        VOLUME_GUARD_ADMISSION_ALLOW_ALL: 'true',
        VOLUME_GUARD_OVERRIDES_ALLOWED_GROUPS: 'ops, admins',
        VOLUME_GUARD_OVERRIDES_ALLOWED_USERS: '',
        VOLUME_GUARD_CHECKS_ORPHAN_PVC_MODE: 'off',
        VOLUME_GUARD_ADMISSION_TLS_CERT_FILE: '/run/tls.crt',
        VOLUME_GUARD_UPGRADES_KINDS: '[{"group":"g","version":"v1","resource":"r","kind":"K","operations":["UPDATE"]}]',
        PATH: '/usr/bin',
      },
    });
    expect(config.log.level).toBe('debug');
    expect(config.admission.port).toBe(10443);
    expect(config.admission.allowAll).toBe(true);
    expect(config.overrides).toEqual({ mode: 'listed', allowedGroups: ['ops', 'admins'], allowedUsers: [] });
    expect(config.checks['orphan-pvc'].mode).toBe('off');
    expect(config.admission.tls.certFile).toBe('/run/tls.crt');
    expect(config.upgrades.kinds).toEqual([{ group: 'g', version: 'v1', resource: 'r', kind: 'K', operations: ['UPDATE'] }]);
  });

  it.each([
    [{ VOLUME_GUARD_ADMISSION_PORT: 'https' }, 'config: admission.port must be an integer (got "https") (from VOLUME_GUARD_ADMISSION_PORT)'],
    [{ VOLUME_GUARD_CHECKS_ORPHAN_PVC_MODE: 'block' }, 'config: checks.orphan-pvc.mode must be one of enforce, warn, off (got "block") (from VOLUME_GUARD_CHECKS_ORPHAN_PVC_MODE)'],
    [{ VOLUME_GUARD_ADMISSION_ALLOW_ALL: 'maybe' }, 'config: admission.allowAll must be a boolean (got "maybe") (from VOLUME_GUARD_ADMISSION_ALLOW_ALL)'],
    [{ VOLUME_GUARD_UPGRADES_KINDS: '[{"group":"g"}]' }, 'config: upgrades.kinds[0] must set one of versions, version (from VOLUME_GUARD_UPGRADES_KINDS)'],
    [{ VOLUME_GUARD_UPGRADES_KINDS: '[{"group":"g","version":"v1","versions":["v1"],"resource":"r","kind":"K","operations":["UPDATE"]}]' },
      'config: upgrades.kinds[0] sets versions and version: set only one of them (from VOLUME_GUARD_UPGRADES_KINDS)'],
    [{ VOLUME_GUARD_LOG_LEVL: 'debug' }, 'config: environment variable VOLUME_GUARD_LOG_LEVL names no configuration field'],
    [
      { VOLUME_GUARD_ADMISSION_MAX_INFLIGHT_BODY_BYTES: '2097152' },
      'config: admission.maxInflightBodyBytes (2097152) must be at least admission.bodyLimitBytes (3145728) (from VOLUME_GUARD_ADMISSION_MAX_INFLIGHT_BODY_BYTES)',
    ],
    [
      { VOLUME_GUARD_ADMISSION_BODY_LIMIT_BYTES: '100000000' },
      'config: admission.maxInflightBodyBytes (67108864) must be at least admission.bodyLimitBytes (100000000) (from VOLUME_GUARD_ADMISSION_BODY_LIMIT_BYTES)',
    ],
    // Any size was taken and echoed back; a body past V8's longest string was a 500.
    [
      { VOLUME_GUARD_ADMISSION_BODY_LIMIT_BYTES: '10000000000000000000' },
      'config: admission.bodyLimitBytes must be <= 268435456 (got 10000000000000000000) (from VOLUME_GUARD_ADMISSION_BODY_LIMIT_BYTES)',
    ],
    [
      { VOLUME_GUARD_ADMISSION_MAX_INFLIGHT_BODY_BYTES: '10000000000000000000' },
      'config: admission.maxInflightBodyBytes must be <= 2147483647 (got 10000000000000000000) (from VOLUME_GUARD_ADMISSION_MAX_INFLIGHT_BODY_BYTES)',
    ],
  ])('names the field and the variable: %o', async (env, message) => {
    expect(await errorOf(undefined, env)).toBe(message);
  });

  // A list of objects is JSON in the environment. Written as YAML (or with shell quoting lost), it read "must be an array
  // (got ...)" of what was an array to its writer, without saying it is the JSON that is wrong.
  it.each([['[{group: g}]'], ["[{'group':'g'}]"], ['- group: g']])('says a JSON array variable is not JSON, and how to write it: %s', async (raw) => {
    const message = await errorOf(undefined, { VOLUME_GUARD_UPGRADES_KINDS: raw });
    expect(message).toMatch(/^config: VOLUME_GUARD_UPGRADES_KINDS is not JSON \(.+\): upgrades\.kinds takes a JSON array, e\.g\. \[\{"group":"upgrade\.cattle\.io","versions":\["v1"\],"resource":"plans","kind":"Plan","operations":\["CREATE","UPDATE"\]\}\]$/);
    expect(message.split('\n')).toHaveLength(1);
  });

  it.each([
    ['helm.manifestDeadlineMs', 'VOLUME_GUARD_HELM_MANIFEST_DEADLINE_MS'],
    ['shutdown.timeoutMs', 'VOLUME_GUARD_SHUTDOWN_TIMEOUT_MS'],
    ['shutdown.drainDelayMs', 'VOLUME_GUARD_SHUTDOWN_DRAIN_DELAY_MS'],
    ['admission.tls.pollIntervalMs', 'VOLUME_GUARD_ADMISSION_TLS_POLL_INTERVAL_MS'],
  ])('refuses %s past the longest timer Node keeps (it would fire after 1 ms)', async (path, env) => {
    expect(loadConfig({ env: { [env]: String(MAX_TIMER_MS) } })).toBeDefined();
    expect(await errorOf(undefined, { [env]: '2147483648' })).toBe(`config: ${path} must be <= 2147483647 (got 2147483648) (from ${env})`);
    const [section, ...rest] = path.split('.');
    const yaml = `${section}:\n${rest.map((key, depth) => `${'  '.repeat(depth + 1)}${key}:${depth === rest.length - 1 ? ' 3000000000' : ''}`).join('\n')}\n`;
    expect(await errorOf(yaml)).toBe(`config: ${path} must be <= 2147483647 (got 3000000000)`);
  });

  it('bounds every millisecond field by the longest timer Node keeps', () => {
    const ms = CONFIG_REFERENCE.filter((row) => row.path.endsWith('Ms'));
    expect(ms.map((row) => row.path)).toEqual(
      expect.arrayContaining(['helm.manifestDeadlineMs', 'shutdown.timeoutMs', 'shutdown.drainDelayMs', 'admission.tls.pollIntervalMs']),
    );
    for (const row of ms) {
      const schema = row.path.split('.').reduce<{ properties?: Record<string, unknown>; maximum?: number }>(
        (node, key) => node.properties![key] as { properties?: Record<string, unknown>; maximum?: number },
        CONFIG_SCHEMA,
      );
      expect(schema.maximum, row.path).toBeLessThanOrEqual(MAX_TIMER_MS);
    }
  });

  it('lists every leaf field with a distinct environment variable', () => {
    const envs = CONFIG_REFERENCE.map((row) => row.env);
    expect(new Set(envs).size).toBe(envs.length);
    expect(CONFIG_REFERENCE.find((row) => row.path === 'log.level')).toMatchObject({ env: 'VOLUME_GUARD_LOG_LEVEL', default: 'info' });
    expect(CONFIG_REFERENCE.find((row) => row.path === 'admission.tls.pollIntervalMs')?.env).toBe('VOLUME_GUARD_ADMISSION_TLS_POLL_INTERVAL_MS');
    // Every variable in the table is accepted by loadConfig with its default value.
    const config = defaultConfig();
    for (const row of CONFIG_REFERENCE) {
      const value = row.path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
      const raw = Array.isArray(value) ? (value.every((item) => typeof item === 'string') ? value.join(',') : JSON.stringify(value)) : String(value);
      expect(() => loadConfig({ env: { [row.env]: raw } }), row.env).not.toThrow();
    }
    expect(configReferenceMarkdown().split('\n')).toHaveLength(CONFIG_REFERENCE.length + 2);
  });
});
