// Setting a KubeadmControlPlane's certificate-expiry rollout (v1beta2 spec.rollout.before.certificatesExpiryDays,
// v1beta1 spec.rolloutBefore) replaces only the Machines whose status.certificatesExpiryDate falls within that many days
// (collections.ShouldRolloutBefore), which volume-guard cannot see: it is not judged as removing every control-plane
// node with its disks (node-local-volume); a version change still is.
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { localPV, longhornNode, machine, node, pod, pvc, volumeWithReplicas } from '../../support/fixtures.ts';

const kcp = (spec: Record<string, unknown>) => ({
  apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2',
  kind: 'KubeadmControlPlane',
  metadata: { name: 'cp', namespace: 'capi' },
  spec: { version: 'v1.31.4', replicas: 1, kubeadmConfigSpec: { files: [] }, machineTemplate: { spec: { infrastructureRef: { apiGroup: 'i', kind: 'T', name: 'a' } } }, ...spec },
});

describe('KubeadmControlPlane rollout.before set, certificates far from expiry', () => {
  it('passes: no Machine is replaced', () => {
    const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    for (const name of ['h1', 'h2']) model.upsert('node', node({ name }));
    model.upsert('persistentVolume', localPV({ name: 'pv-db', pinnedNode: 'h1', claimName: 'data-db-0' }));
    model.upsert('persistentVolumeClaim', pvc({ name: 'data-db-0', volumeName: 'pv-db' }));
    model.upsert('pod', pod({ name: 'db-0', nodeName: 'h1', claimNames: ['data-db-0'], controllerKind: 'StatefulSet' }));
    model.upsert('machine', machine({ namespace: 'capi', name: 'cp-1', nodeName: 'h1', machineSet: '', machineDeployment: '', controlPlane: 'cp' }));
    const decision = upgradeValidator(defaultConfig()).handle(
      request({
        kind: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta2', kind: 'KubeadmControlPlane' },
        resource: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta2', resource: 'kubeadmcontrolplanes' },
        operation: 'UPDATE',
        namespace: 'capi',
        name: 'cp',
        object: kcp({ rollout: { before: { certificatesExpiryDays: 21 } } }),
        oldObject: kcp({}),
      }),
      context(model),
    );
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
    const bumped = upgradeValidator(defaultConfig()).handle(
      request({
        kind: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta2', kind: 'KubeadmControlPlane' },
        resource: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta2', resource: 'kubeadmcontrolplanes' },
        operation: 'UPDATE',
        namespace: 'capi',
        name: 'cp',
        object: kcp({ version: 'v1.32.0', rollout: { before: { certificatesExpiryDays: 21 } } }),
        oldObject: kcp({}),
      }),
      context(model),
    );
    expect(bumped.allowed).toBe(false);
    expect(bumped.deniedChecks).toEqual(['node-local-volume']);
  });

  it("stays on the control plane's own nodes: a worker's single-replica volume is not judged", () => {
    const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    model.setLonghornInstalled(true);
    for (const name of ['cp1', 'w1', 'w2']) model.upsert('node', node({ name }));
    model.replaceAll('longhornNode', ['cp1', 'w1', 'w2'].map((name) => longhornNode({ name })));
    const { volume, replicas } = volumeWithReplicas('vol-w', ['w1'], { numberOfReplicas: 1 });
    model.replaceAll('longhornVolume', [volume]);
    model.replaceAll('longhornReplica', replicas);
    model.upsert('machine', machine({ namespace: 'capi', name: 'cp-1', nodeName: 'cp1', machineSet: '', machineDeployment: '', controlPlane: 'cp' }));
    const decision = upgradeValidator(defaultConfig()).handle(
      request({
        kind: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta2', kind: 'KubeadmControlPlane' },
        resource: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta2', resource: 'kubeadmcontrolplanes' },
        operation: 'UPDATE',
        namespace: 'capi',
        name: 'cp',
        object: kcp({ rollout: { before: { certificatesExpiryDays: 21 } } }),
        oldObject: kcp({}),
      }),
      context(model),
    );
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });
});
