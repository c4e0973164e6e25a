// Seed 004 on a one-node cluster whose data is in a hostPath PV written without node affinity (a `manual` PV made by
// hand; minikube's, MicroK8s' and Docker Desktop's hostpath provisioners), bound to a claim no running pod mounts (its
// StatefulSet scaled to 0, or its pod Failed: evicted by the kubelet under disk pressure). An unpinned PV's data is on
// the node of the pod that wrote it; with one Node in the cluster, that can only be the node judged. Wiping or
// replacing it (seed 004: /var/lib/kubelet moved, every local PV emptied) loses that data, mounted or not, as for an
// unused pinned PV. A node joining later does not pin the PV: with two nodes, where the data is is unknown again.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { collectNodeLocalVolume } from '../../../src/checks/node-local-volume.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { ModelSink } from '../../../src/cluster/records.ts';
import { transformNode, transformPersistentVolume, transformPersistentVolumeClaim, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { context, cordonRequest, NODE_KIND, nodeObject, request } from '../../support/admission.ts';

const config = defaultConfig();
const NODE = 'k8s-single';
const validator = nodeCordonValidator(config);

function nodeRecord(name: string) {
  return transformNode({
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-01-01T00:00:00Z' }] },
  })!;
}

function mysqlPod(phase: string) {
  return transformPod({
    metadata: { name: 'mysql-0', namespace: 'mineru', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'mysql', uid: 'sts-1', controller: true }] },
    spec: {
      nodeName: NODE,
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-mysql-0' } }],
      containers: [{ name: 'mysql', image: 'mysql:8', volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }] }],
    },
    status: { phase },
  })!;
}

/** The one node, and hostPath PV pv-mysql (no affinity, Retain) bound to mineru/data-mysql-0; its pod in `podPhase`, if any. */
function fill(sink: Pick<ModelSink, 'upsert'>, podPhase?: string): void {
  sink.upsert('node', nodeRecord(NODE));
  sink.upsert(
    'persistentVolume',
    transformPersistentVolume({
      metadata: { name: 'pv-mysql' },
      spec: {
        hostPath: { path: '/data/mysql', type: 'DirectoryOrCreate' },
        storageClassName: 'manual',
        persistentVolumeReclaimPolicy: 'Retain',
        claimRef: { namespace: 'mineru', name: 'data-mysql-0' },
      },
      status: { phase: 'Bound' },
    })!,
  );
  sink.upsert(
    'persistentVolumeClaim',
    transformPersistentVolumeClaim({
      metadata: { name: 'data-mysql-0', namespace: 'mineru', uid: 'u-data-mysql-0' },
      spec: { volumeName: 'pv-mysql', storageClassName: 'manual' },
      status: { phase: 'Bound' },
    })!,
  );
  if (podPhase !== undefined) sink.upsert('pod', mysqlPod(podPhase));
}

function cluster(podPhase?: string): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  fill(model, podPhase);
  return model;
}

const cordon = (model: ClusterModel) => validator.handle(cordonRequest(NODE), context(model));
const deleteNode = (model: ClusterModel) =>
  validator.handle(request({ ...NODE_KIND, operation: 'DELETE', name: NODE, oldObject: nodeObject(NODE, true) }), context(model));

describe('a hostPath PV without affinity on the cluster’s only node, no running pod mounting it', () => {
  it('refuses the cordon and the Node DELETE, naming the PV and why it is there', () => {
    for (const [what, model] of [
      ['scaled to 0', cluster()],
      ['pod Failed', cluster('Failed')],
    ] as const) {
      for (const decision of [cordon(model), deleteNode(model)]) {
        expect(decision.allowed, what).toBe(false);
        expect(decision.status?.message, what).toContain('pv-mysql');
        expect(decision.status?.message, what).toContain(`on node ${NODE}, the cluster's only node, not mounted by any pod`);
      }
    }
  });

  it('is tagged unpinned and unused, as the pinned-unused rule tags it; a running pod still finds it as before', () => {
    const [unused] = collectNodeLocalVolume(cluster(), { node: NODE }).findings;
    expect(unused?.tags).toEqual(['unused', 'hostPath', 'unpinned']);
    const [running] = collectNodeLocalVolume(cluster('Running'), { node: NODE }).findings;
    expect(running?.tags).toEqual(['in-use', 'hostPath', 'unpinned']);
    expect(running?.reason).toContain(`on node ${NODE}, where its pod runs`);
  });

  it('is not reported once a second node has joined (the data may be on either), nor when the claim is being deleted (reclaim Delete)', () => {
    const two = cluster();
    two.upsert('node', nodeRecord('k8s-second'));
    expect(cordon(two).allowed).toBe(true);
    expect(collectNodeLocalVolume(two, { node: NODE }).total).toBe(0);
    const model = cluster();
    model.upsert('persistentVolume', { ...model.persistentVolume('pv-mysql')!, reclaimPolicy: 'Delete' });
    model.upsert('persistentVolumeClaim', { ...model.persistentVolumeClaim('mineru', 'data-mysql-0')!, deleting: true });
    expect(cordon(model).allowed).toBe(true);
  });

  it('is listed by audit --node under the cordon, and counted by the risk gauges as a node joins and leaves', () => {
    const report = buildAuditReport({ model: cluster(), scope: { kind: 'node', node: NODE }, cluster: { server: 's', context: 'c' }, generatedAt: 'now' });
    expect(report.findings.map((f) => [f.object.name, f.tags])).toEqual([['pv-mysql', ['unused', 'hostPath', 'unpinned']]]);

    const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    const tracker = new RiskTracker(model);
    const sink = tracker.sink();
    fill(sink);
    const counted = () => {
      expect(tracker.flush()).toBe(true);
      const { atRiskVolumes, nodesBlocked } = tracker.counts();
      return [atRiskVolumes['node-local-volume'], nodesBlocked['node-local-volume']];
    };
    expect(counted()).toEqual([1, 1]);
    sink.upsert('node', nodeRecord('k8s-second'));
    expect(counted()).toEqual([0, 0]);
    sink.remove('node', 'k8s-second');
    expect(counted()).toEqual([1, 1]);
    // Its claim being deleted (the data goes with it, or stays Released, which a cordon moves nothing of), then not.
    const claim = model.persistentVolumeClaim('mineru', 'data-mysql-0')!;
    sink.upsert('persistentVolumeClaim', { ...claim, deleting: true });
    expect(counted()).toEqual([0, 0]);
    sink.upsert('persistentVolumeClaim', claim);
    expect(counted()).toEqual([1, 1]);
    // The PV gone, then back.
    const volume = model.persistentVolume('pv-mysql')!;
    sink.remove('persistentVolume', 'pv-mysql');
    expect(counted()).toEqual([0, 0]);
    sink.upsert('persistentVolume', volume);
    expect(counted()).toEqual([1, 1]);
    // Its pod running on a node the model does not hold (gone): written there, counted there, no Node to cordon.
    sink.upsert('pod', { ...mysqlPod('Running'), nodeName: 'k8s-gone' });
    expect(counted()).toEqual([1, 0]);
    expect(collectNodeLocalVolume(model, { node: NODE }).total).toBe(0);
    sink.remove('pod', 'mineru/mysql-0');
    expect(counted()).toEqual([1, 1]);
  });
});
