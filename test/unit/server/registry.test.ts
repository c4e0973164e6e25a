import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createValidators } from '../../../src/admission/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOW_ALL_TARGET, allowAllValidator } from '../../../src/admission/allow-all.ts';
import { ValidatorRegistry, createRegistry } from '../../../src/admission/registry.ts';
import type { ValidatorFactory } from '../../../src/admission/validator.ts';
import { allowed } from '../../../src/admission/types.ts';
import { createServeDependencies } from '../../../src/server/serve.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import { captureLog, testConfig, validator } from './server-fixtures.ts';

describe('ValidatorRegistry', () => {
  it('maps targets to validators and lists their declarations', () => {
    const nodes = validator('node-cordon', () => allowed());
    const registry = new ValidatorRegistry().register(nodes).register(allowAllValidator(testConfig()));
    expect(registry.get('node-cordon')).toBe(nodes);
    expect(registry.get('missing')).toBeUndefined();
    expect(registry.targets()).toEqual(['node-cordon', ALLOW_ALL_TARGET]);
    expect(registry.declarations().map((declaration) => declaration.name)).toEqual([
      'node-cordon.test.volume-guard.io',
      'allow-all.volume-guard.io',
    ]);
  });

  it('rejects a second validator for the same target', () => {
    const registry = new ValidatorRegistry().register(validator('upgrades', () => allowed()));
    expect(() => registry.register(validator('upgrades', () => allowed()))).toThrow(
      'validator upgrades.test.volume-guard.io: target "upgrades" is already served by upgrades.test.volume-guard.io',
    );
  });

  it('rejects targets that are not URL-safe path segments', () => {
    for (const target of ['', 'Upper', 'a/b', '-lead', 'trail-', 'sp ace']) {
      expect(() => new ValidatorRegistry().register(validator(target, () => allowed())), target).toThrow(/must be lower-case/);
    }
  });

  it('builds validators from factories with the configuration', () => {
    const seen: number[] = [];
    const factory: ValidatorFactory = (config) => {
      seen.push(config.admission.bodyLimitBytes);
      return validator('sized', () => allowed());
    };
    const registry = createRegistry(testConfig({ VOLUME_GUARD_ADMISSION_BODY_LIMIT_BYTES: '5000' }), [factory]);
    expect(registry.targets()).toEqual(['sized']);
    expect(seen).toEqual([5000]);
  });
});

describe('createServeDependencies', () => {
  const context = () => ({ log: captureLog().log, metrics: createMetrics({ processMetrics: false }) });
  let kubeconfigDir = '';
  const previous = process.env.KUBECONFIG;
  beforeAll(() => {
    // An API server nobody listens on: the model must start, stay unsynced, and stop cleanly.
    kubeconfigDir = mkdtempSync(join(tmpdir(), 'vg-kubeconfig-'));
    const file = join(kubeconfigDir, 'kubeconfig');
    writeFileSync(
      file,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    process.env.KUBECONFIG = file;
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = previous;
    rmSync(kubeconfigDir, { recursive: true, force: true });
  });

  it('registers every validator, and allow-all only when admission.allowAll is set', async () => {
    const off = await createServeDependencies(testConfig(), context());
    expect(off.registry.get(ALLOW_ALL_TARGET)).toBeUndefined();
    expect(off.registry.targets()).toEqual(createValidators(testConfig()).map((v) => v.declaration.target));
    // The mutating override-writer step is served at /mutate/ only.
    expect(off.registry.targets(true)).toEqual(['override-writer']);
    expect(off.registry.get('override-writer')).toBeUndefined();
    expect(off.registry.get('override-writer', true)?.declaration.mutating).toBe(true);
    expect(off.registry.get('overrides', true)).toBeUndefined();
    await off.close?.();
    const on = await createServeDependencies(testConfig({ VOLUME_GUARD_ADMISSION_ALLOW_ALL: 'true' }), context());
    expect(on.registry.get(ALLOW_ALL_TARGET)).toBeDefined();
    await on.close?.();
  });

  it('is not synced before the informers have listed the cluster', async () => {
    const dependencies = await createServeDependencies(testConfig(), context());
    expect(dependencies.health.synced()).toBe(false);
    expect(dependencies.snapshot.count('node')).toBe(0);
    await dependencies.close?.();
  });
});
