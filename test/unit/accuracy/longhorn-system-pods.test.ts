// Longhorn's instance-manager (and backing-image-manager) pods: longhorn-manager creates one per node with
// `spec.nodeName` set to that node and owned (controller: true) by its InstanceManager, mounting Longhorn's disk
// /var/lib/longhorn as a writable hostPath. They are no pods "recreated elsewhere without their data": Longhorn puts
// them back on the same node, and the replicas on that disk are judged by the Longhorn checks. Taking them for
// inline hostPath data refused the cordon (and the drain) of every node running Longhorn.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';
import { longhornNode, node } from '../../support/fixtures.ts';

const config = defaultConfig();

/** A pod on node-1 owned by `owner`, mounting /var/lib/longhorn writable (as Longhorn's managers do). */
function managerPod(name: string, owner: { apiVersion: string; kind: string }) {
  const pod = transformPod({
    metadata: {
      name,
      namespace: 'default',
      ownerReferences: [{ ...owner, name: `${name}-owner`, uid: 'u-1', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      nodeName: 'node-1',
      containers: [
        {
          name: 'manager',
          volumeMounts: [
            { name: 'dev', mountPath: '/host/dev' },
            { name: 'longhorn', mountPath: '/var/lib/longhorn/', mountPropagation: 'Bidirectional' },
          ],
        },
      ],
      volumes: [
        { name: 'dev', hostPath: { path: '/dev' } },
        { name: 'longhorn', hostPath: { path: '/var/lib/longhorn/' } },
      ],
    },
    status: { phase: 'Running' },
  });
  if (pod === undefined) throw new Error('pod not read');
  return pod;
}

function cluster(...pods: ReturnType<typeof managerPod>[]) {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('node', node({ name: 'node-1' }));
  model.upsert('node', node({ name: 'node-2' }));
  model.upsert('longhornNode', longhornNode({ name: 'node-1' }));
  for (const pod of pods) model.upsert('pod', pod);
  return model;
}

describe("Longhorn's per-node manager pods keep no data a drain moves", () => {
  const instanceManager = managerPod('instance-manager-0c1f', { apiVersion: 'longhorn.io/v1beta2', kind: 'InstanceManager' });
  const backingImageManager = managerPod('backing-image-manager-5f2a', { apiVersion: 'longhorn.io/v1beta2', kind: 'BackingImageManager' });

  it('their hostPaths are not data: the cordon of their node passes, and so does their eviction', () => {
    expect(instanceManager.hostPaths).toEqual([]);
    expect(backingImageManager.hostPaths).toEqual([]);
    const model = cluster(instanceManager, backingImageManager);
    const cordon = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model));
    expect(cordon.status?.message).toBeUndefined();
    expect(cordon.allowed).toBe(true);
    expect(podEvictionValidator(config).handle(evictionRequest(instanceManager.name), context(model)).allowed).toBe(true);
  });

  it('the same hostPath written by a Deployment pod, or by an InstanceManager of another API group, is still refused', () => {
    const deployment = managerPod('store-7c9d-x1', { apiVersion: 'apps/v1', kind: 'ReplicaSet' });
    const foreign = managerPod('im-other-x1', { apiVersion: 'example.com/v1', kind: 'InstanceManager' });
    expect(foreign.controllerKind).toBe('InstanceManager.example.com');
    for (const pod of [deployment, foreign]) {
      const cordon = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(cluster(pod)));
      expect(cordon.allowed).toBe(false);
      expect(cordon.status?.message).toContain(`${pod.name}`);
      expect(cordon.status?.message).toContain('hostPath /var/lib/longhorn');
    }
  });
});
