// Building AdmissionRequests and ValidationContexts for validator unit tests.
import { pino } from 'pino';
import type { AdmissionRequest, Operation, UserInfo } from '../../src/admission/types.ts';
import type { ValidationContext } from '../../src/admission/validator.ts';
import type { ClusterSnapshot, ModelHealth } from '../../src/cluster/snapshot.ts';
import { defaultConfig, type Config } from '../../src/config.ts';

export const ADMIN: UserInfo = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };
export const ALICE: UserInfo = { username: 'alice', groups: ['developers', 'system:authenticated'] };

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

export function context(snapshot: ClusterSnapshot, options: { config?: Config; health?: ModelHealth; overrides?: string[] } = {}): ValidationContext {
  const counted = options.overrides ?? [];
  return {
    snapshot,
    health: options.health ?? FRESH,
    config: options.config ?? defaultConfig(),
    now: Date.now(),
    log: pino({ level: 'silent' }),
    onOverride: (check) => counted.push(check),
  };
}

export function nodeObject(name: string, unschedulable: boolean, annotations: Record<string, string> = {}): unknown {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, annotations }, spec: unschedulable ? { unschedulable: true } : {} };
}

export function cordonRequest(name: string, annotations: Record<string, string> = {}, user: UserInfo = ADMIN, oldAnnotations = annotations): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'Node' },
    resource: { group: '', version: 'v1', resource: 'nodes' },
    operation: 'UPDATE' as Operation,
    name,
    userInfo: user,
    object: nodeObject(name, true, annotations),
    oldObject: nodeObject(name, false, oldAnnotations),
  });
}
