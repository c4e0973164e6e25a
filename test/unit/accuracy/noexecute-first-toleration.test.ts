// The taint manager (k8s pkg/controller/tainteviction/taint_eviction.go processPodOnNode) reads a pod's tolerations
// per NoExecute taint: GetMatchingTolerations keeps the FIRST toleration in the pod's list that tolerates it (the loop
// breaks there), and a pod with a taint none tolerates is deleted at once; otherwise getMinTolerationTime takes the
// least tolerationSeconds of those first matches (none: it stays for good; <= 0: deleted at once). So a first match
// with tolerationSeconds: 60 deletes the pod after 60 s even when a later toleration would tolerate the taint for good,
// and the node-local data it uses is stranded. volume-guard treats any pod deleted in the end as deleted now.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { localPV, node, pvc } from '../../support/fixtures.ts';

const maintenance = { key: 'maintenance', value: 'db', effect: 'NoExecute' };
const dedicated = { key: 'dedicated', value: 'db', effect: 'NoExecute' };

function taintUpdate(taints: readonly object[] = [maintenance]): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'Node' },
    resource: { group: '', version: 'v1', resource: 'nodes' },
    operation: 'UPDATE',
    name: 'node-1',
    object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: { taints } },
    oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: {} },
  });
}

/** The pod db-0, with these tolerations, as the informer's transform records it. */
function dbPod(tolerations: readonly object[]) {
  return transformPod({
    metadata: { name: 'db-0', namespace: 'default', ownerReferences: [{ kind: 'StatefulSet', name: 'db', controller: true, apiVersion: 'apps/v1', uid: 'u' }] },
    spec: { nodeName: 'node-1', volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'db-data' } }], tolerations },
    status: { phase: 'Running' },
  })!;
}

/** node-1: db-0 (tolerations as given) mounts the local PV pv-db. */
function cluster(tolerations: readonly object[]): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('node', node({ name: 'node-1' }));
  model.upsert('node', node({ name: 'node-2' }));
  model.upsert('persistentVolume', localPV({ name: 'pv-db', pinnedNode: 'node-1', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-db', storageClassName: 'local-storage' }));
  model.upsert('pod', dbPod(tolerations));
  return model;
}

const validator = nodeCordonValidator(defaultConfig());
const judge = (tolerations: readonly object[], taints?: readonly object[]) => validator.handle(taintUpdate(taints), context(cluster(tolerations)));

describe('F2: NoExecute taint manager uses the FIRST toleration matching each taint (GetMatchingTolerations)', () => {
  it('a pod whose first matching toleration has tolerationSeconds is deleted: its local PV refuses the taint', () => {
    const decision = judge([{ key: 'maintenance', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }, { operator: 'Exists' }]);
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('pv-db');
  });

  it('the order reversed: the first match tolerates for good, so the pod stays and the taint passes', () => {
    expect(judge([{ operator: 'Exists' }, { key: 'maintenance', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }]).allowed).toBe(true);
  });

  it('the record keeps the NoExecute-relevant tolerations in order with their seconds, other effects left out', () => {
    const record = dbPod([
      { key: 'maintenance', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 },
      { operator: 'Exists', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { operator: 'Exists' },
    ]);
    expect(record.noExecuteTolerations).toEqual([
      { key: 'maintenance', operator: 'Exists', value: '', tolerationSeconds: 60 },
      { key: '', operator: 'Exists', value: '' },
    ]);
  });

  it('two taints: a first match with seconds for one of them deletes the pod, though the other is tolerated for good', () => {
    const tolerations = [
      { key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoExecute' },
      { key: 'maintenance', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3600 },
      { key: 'maintenance', operator: 'Exists', effect: 'NoExecute' },
    ];
    expect(judge(tolerations, [dedicated, maintenance]).allowed).toBe(false);
    // Each tolerated for good by its first match: the pod stays.
    expect(judge([tolerations[0]!, tolerations[2]!], [dedicated, maintenance]).allowed).toBe(true);
  });

  it('a toleration with seconds matching one taint while another taint is untolerated: deleted at once, refused', () => {
    const decision = judge([{ key: 'maintenance', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }], [maintenance, dedicated]);
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('pv-db');
  });

  it('a toleration with an empty effect matches NoExecute taints and counts in order', () => {
    // First: tolerated for good, whatever follows.
    expect(judge([{ key: 'maintenance', operator: 'Exists' }, { key: 'maintenance', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }]).allowed).toBe(true);
    // Behind a NoExecute toleration with seconds: that one matches first.
    expect(judge([{ key: 'maintenance', operator: 'Equal', value: 'db', effect: 'NoExecute', tolerationSeconds: 60 }, { key: 'maintenance', operator: 'Exists' }]).allowed).toBe(false);
    // An empty-effect toleration with seconds first: deleted too.
    expect(judge([{ key: 'maintenance', operator: 'Exists', tolerationSeconds: 0 }, { operator: 'Exists', effect: 'NoExecute' }]).allowed).toBe(false);
  });

  it('a NoSchedule toleration ahead never matches a NoExecute taint: the NoExecute one behind it decides', () => {
    expect(judge([{ operator: 'Exists', effect: 'NoSchedule' }, { key: 'maintenance', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }]).allowed).toBe(false);
    expect(judge([{ key: 'maintenance', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 60 }, { key: 'maintenance', operator: 'Exists', effect: 'NoExecute' }]).allowed).toBe(true);
  });
});
