// A pod already being deleted (metadata.deletionTimestamp: a rollout, a scale-down, a first drain's eviction still in
// its grace period) leaves its node whatever a cordon or an eviction of another pod is answered: its own eviction
// passes (kubectl drain's skipDeletedFilter keeps it, evicts it again and waits for it), a ReplicaSet has already
// created its replacement (FilterActivePods leaves terminating pods out), and its emptyDir goes with it. Its inline
// data is no risk the cordon or the drain adds: refusing them for it blocked the drain of the whole node and kept
// nothing. What it wrote to a hostPath stays on the node's disk, lost only when the node is removed with its disks.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { collectNodeLocalVolume } from '../../../src/checks/node-local-volume.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';
import { node } from '../../support/fixtures.ts';

/** A running pod on node-1 owned by a `kind`, writing to `volume` (a hostPath or an emptyDir). */
function podOn(name: string, kind: string, volume: Record<string, unknown>, deleting: boolean) {
  const pod = transformPod({
    metadata: {
      name,
      namespace: 'default',
      ownerReferences: [{ apiVersion: 'apps/v1', kind, name: `${name}-owner`, uid: `u-${name}`, controller: true }],
      ...(deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
    },
    spec: { nodeName: 'node-1', containers: [{ name: 'c', volumeMounts: [{ name: 'data', mountPath: '/data' }] }], volumes: [{ name: 'data', ...volume }] },
    status: { phase: 'Running' },
  });
  if (pod === undefined) throw new Error('pod not read');
  return pod;
}

const hostPathPod = (deleting: boolean) => podOn('cache-7d9f-x2', 'ReplicaSet', { hostPath: { path: '/srv/cache' } }, deleting);
const emptyDirPod = (deleting: boolean) => podOn('kafka-0', 'StatefulSet', { emptyDir: {} }, deleting);
const plainPod = podOn('web-5c8-q1', 'ReplicaSet', { emptyDir: {} }, false);

function cluster(unschedulable: boolean, ...pods: ReturnType<typeof podOn>[]): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('node', node({ name: 'node-1', unschedulable }));
  model.upsert('node', node({ name: 'node-2' }));
  for (const pod of [plainPod, ...pods]) model.upsert('pod', pod);
  return model;
}

describe('inline data of a pod already being deleted, on a node being cordoned or drained', () => {
  const config = defaultConfig();
  const enforcedEmptyDir: Config = { ...defaultConfig(), nodeLocal: { ...defaultConfig().nodeLocal, statefulSetEmptyDir: 'enforce' } };

  it('its hostPath does not refuse the cordon, where the same pod not being deleted does', () => {
    const cordon = (deleting: boolean) => nodeCordonValidator(config).handle(cordonRequest('node-1'), context(cluster(false, hostPathPod(deleting))));
    expect(cordon(true).status?.message).toBeUndefined();
    expect(cordon(true).allowed).toBe(true);
    expect(cordon(false).allowed).toBe(false);
    expect(cordon(false).status!.message).toContain('cache-7d9f-x2');
  });

  it("its hostPath does not refuse another pod's eviction from the cordoned node", () => {
    const evict = (deleting: boolean) => podEvictionValidator(config).handle(evictionRequest('web-5c8-q1'), context(cluster(true, hostPathPod(deleting))));
    expect(evict(true).status?.message).toBeUndefined();
    expect(evict(true).allowed).toBe(true);
    expect(evict(false).allowed).toBe(false);
  });

  it("a StatefulSet pod's emptyDir goes with it: neither refused (enforce) nor warned about", () => {
    const cordon = (deleting: boolean) =>
      nodeCordonValidator(enforcedEmptyDir).handle(cordonRequest('node-1'), context(cluster(false, emptyDirPod(deleting)), { config: enforcedEmptyDir }));
    expect(cordon(true).allowed).toBe(true);
    expect(cordon(true).warnings ?? []).toEqual([]);
    expect(cordon(false).allowed).toBe(false);
    const evict = podEvictionValidator(defaultConfig()).handle(evictionRequest('web-5c8-q1'), context(cluster(true, emptyDirPod(true))));
    expect(evict.allowed).toBe(true);
    expect(evict.warnings ?? []).toEqual([]);
  });

  it('its hostPath data still counts when the node is removed with its disks', () => {
    const findings = collectNodeLocalVolume(cluster(true, hostPathPod(true)), { node: 'node-1', removed: true }).findings;
    expect(findings.map((finding) => finding.object.name)).toEqual(['cache-7d9f-x2']);
  });
});
