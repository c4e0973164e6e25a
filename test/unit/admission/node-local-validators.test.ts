// The cordon and eviction validators with the node-local inline data checks and the nodeLocal configuration.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';
import { node, pod } from '../../support/fixtures.ts';

const base = defaultConfig();
const withNodeLocal = (nodeLocal: Partial<Config['nodeLocal']>): Config => ({ ...base, nodeLocal: { ...base.nodeLocal, ...nodeLocal } });

const model = new ClusterModel();
model.upsert('node', node({ name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } }));
model.upsert('node', node({ name: 'node-2', labels: { 'kubernetes.io/hostname': 'node-2' } }));
model.upsert('pod', pod({ name: 'cache-1', controllerKind: 'ReplicaSet', hostPaths: [{ path: '/srv/cache', writable: true }] }));
model.upsert('pod', pod({ name: 'agent-1', controllerKind: 'DaemonSet', hostPaths: [{ path: '/srv/agent', writable: true }] }));
model.upsert('pod', pod({ name: 'db-0', controllerKind: 'StatefulSet', emptyDirs: ['data'] }));

const evict = (name: string) => evictionRequest(name);

describe('eviction of pods keeping inline data on their node', () => {
  const validator = podEvictionValidator(base);

  it('denies a ReplicaSet pod writing to a hostPath, though it mounts no claim', () => {
    const decision = validator.handle(evict('cache-1'), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('Pod default/cache-1: writes to hostPath /srv/cache');
  });

  it('allows a DaemonSet pod, and warns for a StatefulSet emptyDir', () => {
    expect(validator.handle(evict('agent-1'), context(model))).toMatchObject({ allowed: true });
    const emptyDir = validator.handle(evict('db-0'), context(model));
    expect(emptyDir.allowed).toBe(true);
    expect(emptyDir.warnings?.join('\n')).toContain('Pod default/db-0: StatefulSet pod keeps data in emptyDir data');
  });

  it('follows nodeLocal: enforce makes the emptyDir a denial, a configured prefix frees the hostPath', () => {
    const strict = withNodeLocal({ statefulSetEmptyDir: 'enforce', ignoredHostPathPrefixes: ['/srv'] });
    const strictValidator = podEvictionValidator(strict);
    expect(strictValidator.handle(evict('db-0'), context(model, { config: strict })).allowed).toBe(false);
    expect(strictValidator.handle(evict('cache-1'), context(model, { config: strict })).allowed).toBe(true);
  });
});

describe('cordon of a node with inline data', () => {
  it('denies naming the hostPath writer, not the DaemonSet pod; a node without such pods passes', () => {
    const decision = nodeCordonValidator(base).handle(cordonRequest('node-1'), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('cache-1');
    expect(decision.status?.message).not.toContain('agent-1');
    expect(nodeCordonValidator(base).handle(cordonRequest('node-2'), context(model)).allowed).toBe(true);
  });
});
