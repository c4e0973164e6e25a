// A node-local PV whose claim is gone under reclaim policy Retain: the PV controller marks it Released and leaves it
// (it never re-binds it: its claimRef keeps the old claim's uid), the provisioners (local static provisioner,
// local-path, OpenEBS LocalPV, TopoLVM) leave its directory, device or LV alone, and its data waits on that node's
// disks for an admin to re-bind it by hand. That is the point of Retain, and pvc-delete lets the claim go on that
// promise ("data kept on a Released PV"). A cordon or drain moves nothing of it; removing the node for good (Node or
// Machine DELETE, a scale-down, an autoscaler) deletes it with the disks. Under reclaim policy Delete the PV
// controller or the provisioner destroys it anyway, and an Available PV holds no claim's data.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { collectNodeLocalVolume } from '../../../src/checks/node-local-volume.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNode, transformPersistentVolume } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, request } from '../../support/admission.ts';
import { machine, namespace, pod } from '../../support/fixtures.ts';

const config = defaultConfig();

/** w1 and w2; a local PV pinned to w1 by hostname, its claim default/data deleted (or never, when Available). */
function cluster(phase: string, reclaimPolicy: string): ClusterModel {
  const model = new ClusterModel();
  for (const name of ['w1', 'w2']) model.upsert('node', transformNode({ metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: {} })!);
  const pv = transformPersistentVolume({
    metadata: { name: 'pv-local' },
    spec: {
      local: { path: '/mnt/disks/a' },
      persistentVolumeReclaimPolicy: reclaimPolicy,
      ...(phase === 'Available' ? {} : { claimRef: { namespace: 'default', name: 'data', uid: 'uid-gone' } }),
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['w1'] }] }] } },
    },
    status: { phase },
  })!;
  model.upsert('persistentVolume', pv);
  model.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'w1' }));
  return model;
}

const nodeDelete: AdmissionRequest = request({
  kind: { group: '', version: 'v1', kind: 'Node' },
  resource: { group: '', version: 'v1', resource: 'nodes' },
  operation: 'DELETE',
  name: 'w1',
  oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'w1' } },
});

const machineDelete: AdmissionRequest = request({
  kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
  resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
  operation: 'DELETE',
  namespace: 'capi',
  name: 'm1',
  oldObject: { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine', metadata: { name: 'm1', namespace: 'capi' }, status: { nodeRef: { name: 'w1' } } },
});

describe('a Released local PV under reclaim policy Retain', () => {
  it('is lost with its node: the Node DELETE and the Machine DELETE are refused, naming it and its deleted claim', () => {
    const model = cluster('Released', 'Retain');
    for (const decision of [nodeCordonValidator(config).handle(nodeDelete, context(model)), machineValidator(config).handle(machineDelete, context(model))]) {
      expect(decision.allowed).toBe(false);
      expect(decision.status?.message).toContain('[node-local-volume]');
      expect(decision.status?.message).toContain('PV pv-local (PVC default/data): local PV keeps the data of its deleted claim on node w1 only (Released, reclaim policy Retain)');
      // Its fate is the node's removal (no pod uses it, nothing is stranded), and obsolete data is cleared by deleting the PV.
      expect(decision.status?.message).toContain('lost with w1: the node is removed and its disks go');
      expect(decision.status?.message).not.toContain('stranded on w1');
      expect(decision.status?.message.replace(/\s+/g, ' ')).toContain('a Released PV whose data is obsolete: delete the PV');
    }
    const [finding, ...rest] = collectNodeLocalVolume(model, { node: 'w1', removed: true }).findings;
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ object: { kind: 'PersistentVolume', name: 'pv-local', node: 'w1' }, tags: ['unused', 'local', 'released'] });
  });

  it('moves nothing at a cordon or drain: the cordon passes', () => {
    const model = cluster('Released', 'Retain');
    expect(collectNodeLocalVolume(model, { node: 'w1' }).findings).toEqual([]);
    expect(nodeCordonValidator(config).handle(cordonRequest('w1'), context(model)).allowed).toBe(true);
  });

  it("is withheld from an eviction of another namespace's pod on the node being removed", () => {
    const model = cluster('Released', 'Retain');
    // cluster-autoscaler's taint: the node is being removed, so every eviction there weighs the node's data.
    const tainted = { metadata: { name: 'w1', labels: { 'kubernetes.io/hostname': 'w1' } }, spec: { unschedulable: true, taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] } };
    model.upsert('node', transformNode(tainted)!);
    for (const name of ['default', 'team-a']) model.upsert('namespace', namespace({ name }));
    model.upsert('pod', pod({ namespace: 'team-a', name: 'web', nodeName: 'w1', controllerKind: 'ReplicaSet' }));
    const decision = podEvictionValidator(config).handle(evictionRequest('web', { namespace: 'team-a' }), context(model));
    const text = [decision.status?.message ?? '', ...(decision.warnings ?? [])].join('\n');
    expect(text).toContain('PV of another namespace: keeps data on node w1 only');
    expect(text).not.toContain('pv-local');
    expect(text).not.toContain('default/data');
  });

  it('is not found on another node removed', () => {
    expect(collectNodeLocalVolume(cluster('Released', 'Retain'), { node: 'w2', removed: true }).findings).toEqual([]);
  });
});

describe('PVs with no data to keep pass the removal of their node', () => {
  it.each([
    ['Released under reclaim policy Delete (destroyed by the PV controller or its provisioner anyway)', 'Released', 'Delete'],
    ['Available (no claim ever wrote to it)', 'Available', 'Retain'],
  ])('%s', (_name, phase, reclaimPolicy) => {
    const model = cluster(phase, reclaimPolicy);
    expect(collectNodeLocalVolume(model, { node: 'w1', removed: true }).findings).toEqual([]);
    expect(nodeCordonValidator(config).handle(nodeDelete, context(model)).allowed).toBe(true);
  });
});
