// Shared builders for the server tests.
import type { Logger } from 'pino';
import { allowAllValidator } from '../../../src/admission/allow-all.ts';
import { ValidatorRegistry } from '../../../src/admission/registry.ts';
import type { Validator } from '../../../src/admission/validator.ts';
import type { Decision } from '../../../src/admission/types.ts';
import { loadConfig } from '../../../src/config.ts';
import type { Config } from '../../../src/config.ts';
import { createLogger } from '../../../src/logging.ts';
import { ALWAYS_SYNCED, EMPTY_SNAPSHOT } from '../../support/empty-model.ts';
import type { ServeDependencies } from '../../../src/server/serve.ts';
import { admissionReview, NODE_KIND } from '../../support/admission.ts';

/** A valid AdmissionReview (alice cordons worker-1); `request` replaces request fields, `top` the envelope's. */
export function sampleReview(request: Record<string, unknown> = {}, top: Record<string, unknown> = {}) {
  return admissionReview(
    {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      ...NODE_KIND,
      name: 'worker-1',
      operation: 'UPDATE',
      userInfo: { username: 'alice', groups: ['system:authenticated'] },
      object: { metadata: { name: 'worker-1' }, spec: { unschedulable: true } },
      oldObject: { metadata: { name: 'worker-1' }, spec: {} },
      dryRun: false,
      ...request,
    },
    top,
  );
}

/** Defaults with small adjustments; ports 0 so tests never collide. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    env: { VOLUME_GUARD_ADMISSION_PORT: '0', VOLUME_GUARD_OPS_PORT: '0', VOLUME_GUARD_ADMISSION_HOST: '127.0.0.1', VOLUME_GUARD_OPS_HOST: '127.0.0.1', VOLUME_GUARD_LOG_LEVEL: 'debug', ...env },
  });
}

export interface CapturedLog {
  readonly log: Logger;
  readonly lines: Record<string, unknown>[];
  readonly text: () => string;
}

export function captureLog(): CapturedLog {
  const raw: string[] = [];
  const log = createLogger('debug', { write: (line: string) => void raw.push(line) });
  return {
    log,
    get lines() {
      return raw.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    text: () => raw.join(''),
  };
}

export function validator(target: string, handle: Validator['handle']): Validator {
  return { declaration: { name: `${target}.test.volume-guard.io`, target, rules: [] }, handle };
}

export function registryOf(...validators: Validator[]): ValidatorRegistry {
  const registry = new ValidatorRegistry();
  for (const item of validators) registry.register(item);
  return registry;
}

export const deny = (message: string, extra: Partial<Decision> = {}): Decision => ({
  allowed: false,
  status: { code: 403, reason: 'Forbidden', message },
  ...extra,
});

/** An empty, synced model serving allow-all: server tests that need no cluster (and no kubeconfig). */
export function emptyDependencies(overrides: Partial<ServeDependencies> = {}): ServeDependencies {
  return {
    snapshot: EMPTY_SNAPSHOT,
    health: ALWAYS_SYNCED,
    registry: registryOf(allowAllValidator(testConfig())),
    ...overrides,
  };
}
