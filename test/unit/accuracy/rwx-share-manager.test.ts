// An RWX Longhorn volume (spec.accessMode rwx): its data lives in its replicas; longhorn-manager's share-manager
// controller runs the NFS server in pod `share-manager-<volume>` in longhorn-system (owned by its ShareManager,
// hostPath /dev, /sys, /proc and /lib/modules read-only, no claim), and the volume attaches to that pod's node.
// Moving the share-manager moves no data: its eviction from a schedulable node passes. The replica checks still judge
// the node: on a node being drained that holds the volume's last copy, every eviction there is refused, the
// share-manager's too, as for any pod; a workload pod mounting the volume on the node with its last copy is refused.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, evictionRequest } from '../../support/admission.ts';
import { longhornNode, node, pod, pv, pvc, replica, volume } from '../../support/fixtures.ts';

const eviction = podEvictionValidator(defaultConfig());

/** The share-manager pod as longhorn-manager's createPodManifest writes it, bound to `nodeName`. */
function shareManagerPod(nodeName: string) {
  const hostPath = (name: string, path: string) => ({ name, hostPath: { path } });
  return transformPod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'share-manager-pvc-rwx',
      namespace: 'longhorn-system',
      ownerReferences: [{ apiVersion: 'longhorn.io/v1beta2', kind: 'ShareManager', name: 'pvc-rwx', uid: 'sm-1', controller: true }],
    },
    spec: {
      nodeName,
      containers: [
        {
          name: 'share-manager',
          volumeMounts: [
            { name: 'host-dev', mountPath: '/dev' },
            { name: 'host-sys', mountPath: '/sys' },
            { name: 'host-proc', mountPath: '/host/proc' },
            { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
          ],
        },
      ],
      volumes: [hostPath('host-dev', '/dev'), hostPath('host-sys', '/sys'), hostPath('host-proc', '/proc'), hostPath('lib-modules', '/lib/modules')],
    },
    status: { phase: 'Running' },
  })!;
}

/** The RWX volume pvc-rwx, attached to w1 (the share-manager's node), its only healthy replica on w1. */
function cluster(options: { w1Cordoned: boolean }): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  m.setLonghornInstalled(true);
  for (const name of ['w1', 'w2']) {
    m.upsert('node', node({ name, unschedulable: name === 'w1' && options.w1Cordoned, labels: { 'kubernetes.io/hostname': name } }));
    m.upsert('longhornNode', longhornNode({ name }));
  }
  m.upsert('longhornVolume', volume({ name: 'pvc-rwx', numberOfReplicas: 1, currentNodeID: 'w1', pvName: 'pvc-rwx', pvcNamespace: 'app', pvcName: 'shared' }));
  m.upsert('longhornReplica', replica({ volumeName: 'pvc-rwx', nodeID: 'w1' }));
  m.upsert('persistentVolume', pv({ name: 'pvc-rwx', claimNamespace: 'app', claimName: 'shared' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'app', name: 'shared', volumeName: 'pvc-rwx' }));
  m.upsert('pod', shareManagerPod('w1'));
  // Workload pods mounting the claim over NFS, one on each node.
  m.upsert('pod', pod({ namespace: 'app', name: 'web-w1', nodeName: 'w1', claimNames: ['shared'], controllerKind: 'ReplicaSet' }));
  m.upsert('pod', pod({ namespace: 'app', name: 'web-w2', nodeName: 'w2', claimNames: ['shared'], controllerKind: 'ReplicaSet' }));
  return m;
}

describe('RWX volumes: the share-manager pod and the workload pods', () => {
  it('models the share-manager pod as holding no data: no claim, only system host paths', () => {
    const record = shareManagerPod('w1');
    expect(record.claimNames).toEqual([]);
    expect(record.controllerKind).toBe('ShareManager');
  });

  it('lets the share-manager move off a schedulable node, and a workload pod on a node without the copy', () => {
    const m = cluster({ w1Cordoned: false });
    expect(eviction.handle(evictionRequest('share-manager-pvc-rwx', { namespace: 'longhorn-system' }), context(m)).allowed).toBe(true);
    expect(eviction.handle(evictionRequest('web-w2', { namespace: 'app' }), context(m)).allowed).toBe(true);
  });

  it('refuses a workload pod on the node holding the last copy, as for an RWO volume', () => {
    const decision = eviction.handle(evictionRequest('web-w1', { namespace: 'app' }), context(cluster({ w1Cordoned: false })));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('[last-replica-on-node]');
  });

  it('on a node being drained, judges the node: the share-manager eviction is refused while the last copy is there', () => {
    const decision = eviction.handle(evictionRequest('share-manager-pvc-rwx', { namespace: 'longhorn-system' }), context(cluster({ w1Cordoned: true })));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('[last-replica-on-node]');
  });
});
