// A NoExecute taint makes the taint manager delete every pod on the node that does not tolerate it; pods tolerating
// it for good (no tolerationSeconds) stay, with the data they use (`kubectl taint node n1 dedicated=db:NoExecute`
// keeps the database pods and clears the rest). So a local PV or inline data in use by tolerating pods refuses no
// such taint; one used by a pod that would be deleted still does, and so does data no pod uses (the node is being
// emptied). The taint manager deletes pods past every PodDisruptionBudget: Longhorn's node-drain-policy, which holds a
// drain through the instance managers' budgets, does not make a NoExecute taint safe.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { Toleration } from '../../../src/cluster/records.ts';
import { tolerationMatches, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { localPV, longhornNode, longhornSetting, node, pod, pvc, volumeWithReplicas } from '../../support/fixtures.ts';

const validator = nodeCordonValidator(defaultConfig());
const DEDICATED: Toleration = { key: 'dedicated', operator: 'Equal', value: 'db' };

function taintUpdate(taints: unknown[], unschedulable = false): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'Node' },
    resource: { group: '', version: 'v1', resource: 'nodes' },
    operation: 'UPDATE',
    name: 'node-1',
    object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: { taints, unschedulable } },
    oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: {} },
  });
}

/** node-1: db-0 (tolerations as given) mounts the local PV pv-db. */
function cluster(tolerations: readonly Toleration[] | undefined, extra: (model: ClusterModel) => void = () => undefined): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('node', node({ name: 'node-1' }));
  model.upsert('node', node({ name: 'node-2' }));
  model.upsert('persistentVolume', localPV({ name: 'pv-db', pinnedNode: 'node-1', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-db', storageClassName: 'local-storage' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'node-1', claimNames: ['db-data'], controllerKind: 'StatefulSet', ...(tolerations ? { noExecuteTolerations: tolerations } : {}) }));
  extra(model);
  return model;
}

const dedicatedTaint = { key: 'dedicated', value: 'db', effect: 'NoExecute' };

describe('NoExecute taints: pods tolerating them stay with their data', () => {
  it('the pod record keeps the tolerations a NoExecute taint is matched against, in order, with their seconds', () => {
    const record = transformPod({
      metadata: { name: 'db-0', namespace: 'default' },
      spec: {
        nodeName: 'node-1',
        tolerations: [
          { key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoExecute' },
          { key: 'gpu', operator: 'Exists' },
          { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
          { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
          { key: 'maintenance', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 },
          { key: 'pool', operator: 'Equal', value: 'a', effect: 'NoSchedule' },
        ],
      },
    });
    // Kept with its seconds: the taint manager reads only the first toleration matching each taint
    // (noexecute-first-toleration.test.ts).
    expect(record?.noExecuteTolerations).toEqual([
      DEDICATED,
      { key: 'gpu', operator: 'Exists', value: '' },
      { key: 'maintenance', operator: 'Exists', value: '', tolerationSeconds: 60 },
    ]);
    expect(transformPod({ metadata: { name: 'web', namespace: 'default' }, spec: {} })?.noExecuteTolerations).toBeUndefined();
  });

  it('a toleration of a condition key written with NoExecute by hand counts: the taint manager reads it as any other', () => {
    // disk-pressure and out-of-service are judged with NoExecute (nothing Kubernetes does sets them so); a pod
    // tolerating them for good stays. not-ready and unreachable are never judged with NoExecute: not kept.
    const record = transformPod({
      metadata: { name: 'db-0', namespace: 'default' },
      spec: {
        nodeName: 'node-1',
        tolerations: [
          { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists' },
          { key: 'node.kubernetes.io/out-of-service', operator: 'Exists', effect: 'NoExecute' },
          { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
        ],
      },
    });
    const tolerations = record?.noExecuteTolerations ?? [];
    expect(tolerations.map((toleration) => toleration.key)).toEqual(['node.kubernetes.io/disk-pressure', 'node.kubernetes.io/out-of-service']);
    const pressure = { key: 'node.kubernetes.io/disk-pressure', value: '', effect: 'NoExecute' };
    expect(validator.handle(taintUpdate([pressure]), context(cluster(tolerations))).allowed).toBe(true);
    expect(validator.handle(taintUpdate([pressure]), context(cluster(undefined))).allowed).toBe(false);
  });

  it('tolerations match taints as the scheduler matches them', () => {
    expect(tolerationMatches(DEDICATED, { key: 'dedicated', value: 'db' })).toBe(true);
    expect(tolerationMatches(DEDICATED, { key: 'dedicated', value: 'web' })).toBe(false);
    expect(tolerationMatches({ key: 'dedicated', operator: 'Exists', value: '' }, { key: 'dedicated', value: 'web' })).toBe(true);
    expect(tolerationMatches({ key: '', operator: 'Exists', value: '' }, { key: 'anything', value: 'x' })).toBe(true);
    expect(tolerationMatches({ key: '', operator: 'Equal', value: '' }, { key: 'anything', value: '' })).toBe(false);
  });

  it('Lt and Gt tolerations compare decimal integers, as ToleratesTaint does (TaintTolerationComparisonOperators)', () => {
    // k8s.io/api core/v1 toleration.go: Lt matches a taint value below the toleration's, Gt one above; a value that is
    // no decimal integer (content.IsDecimalInteger: no '+', no leading zero) matches nothing. Equal values: neither.
    const gt: Toleration = { key: 'rank', operator: 'Gt', value: '3' };
    const lt: Toleration = { key: 'rank', operator: 'Lt', value: '3' };
    expect(tolerationMatches(gt, { key: 'rank', value: '5' })).toBe(true);
    expect(tolerationMatches(gt, { key: 'rank', value: '3' })).toBe(false);
    expect(tolerationMatches(gt, { key: 'rank', value: '-7' })).toBe(false);
    expect(tolerationMatches(lt, { key: 'rank', value: '-7' })).toBe(true);
    expect(tolerationMatches(lt, { key: 'rank', value: '3' })).toBe(false);
    expect(tolerationMatches(lt, { key: 'rank', value: '5' })).toBe(false);
    expect(tolerationMatches(gt, { key: 'other', value: '5' })).toBe(false);
    for (const value of ['+5', '05', '-0', 'five', '', '9223372036854775808']) {
      expect(tolerationMatches(gt, { key: 'rank', value })).toBe(false);
      expect(tolerationMatches({ key: 'rank', operator: 'Lt', value }, { key: 'rank', value: '1' })).toBe(false);
    }
    expect(tolerationMatches({ key: 'rank', operator: 'Gt', value: '-9223372036854775808' }, { key: 'rank', value: '0' })).toBe(true);
    // An operator the API server does not know matches nothing, whatever the values.
    expect(tolerationMatches({ key: 'rank', operator: 'Ge', value: '3' }, { key: 'rank', value: '3' })).toBe(false);
    // Through the taint webhook: a pod tolerating rank>3 stays under rank=5:NoExecute, not under rank=3:NoExecute.
    const rank = (value: string) => ({ key: 'rank', value, effect: 'NoExecute' });
    expect(validator.handle(taintUpdate([rank('5')]), context(cluster([gt]))).allowed).toBe(true);
    const equal = validator.handle(taintUpdate([rank('3')]), context(cluster([gt])));
    expect(equal.allowed).toBe(false);
    expect(equal.status?.message).toContain('pv-db');
  });

  it('a NoExecute taint the pod using the local PV tolerates passes; one it does not tolerate is refused', () => {
    expect(validator.handle(taintUpdate([dedicatedTaint]), context(cluster([DEDICATED]))).allowed).toBe(true);
    expect(validator.handle(taintUpdate([dedicatedTaint]), context(cluster([{ key: '', operator: 'Exists', value: '' }]))).allowed).toBe(true);
    const other = validator.handle(taintUpdate([{ key: 'maintenance', value: 'now', effect: 'NoExecute' }]), context(cluster([DEDICATED])));
    expect(other.allowed).toBe(false);
    expect(other.status?.message).toContain('pv-db');
    const none = validator.handle(taintUpdate([dedicatedTaint]), context(cluster(undefined)));
    expect(none.allowed).toBe(false);
    expect(none.status?.message).toContain('pv-db');
  });

  it('a cordon in the same update, data no pod uses, or another pod on the PV that would go keep it refused', () => {
    expect(validator.handle(taintUpdate([dedicatedTaint], true), context(cluster([DEDICATED]))).allowed).toBe(false);
    const unused = cluster([DEDICATED], (model) => {
      model.upsert('persistentVolume', localPV({ name: 'pv-spare', pinnedNode: 'node-1', claimName: 'spare' }));
      model.upsert('persistentVolumeClaim', pvc({ name: 'spare', volumeName: 'pv-spare', storageClassName: 'local-storage' }));
    });
    const refused = validator.handle(taintUpdate([dedicatedTaint]), context(unused));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('pv-spare');
    expect(refused.status?.message).not.toContain('pv-db');
    expect(refused.status?.message).toContain('1 risk of data loss');
    const shared = cluster([DEDICATED], (model) => {
      model.upsert('pod', pod({ name: 'reader', nodeName: 'node-1', claimNames: ['db-data'], controllerKind: 'ReplicaSet' }));
    });
    expect(validator.handle(taintUpdate([dedicatedTaint]), context(shared)).allowed).toBe(false);
  });

  it("Longhorn's node-drain-policy makes a cordon of the last copy's node safe, not a NoExecute taint", () => {
    const longhorn = (model: ClusterModel) => {
      model.upsert('longhornNode', longhornNode({ name: 'node-1' }));
      const lh = volumeWithReplicas('vol-last', ['node-1'], { numberOfReplicas: 2 });
      model.upsert('longhornVolume', lh.volume);
      for (const replica of lh.replicas) model.upsert('longhornReplica', replica);
      model.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
    };
    const model = cluster([DEDICATED], longhorn);
    // The cordon: Longhorn moves the last copy before the drain ends (a warning); only the local PV refuses it.
    const cordon = validator.handle(taintUpdate([], true), context(model));
    expect(cordon.allowed).toBe(false);
    expect(cordon.status?.message).toContain('pv-db');
    expect(cordon.status?.message).not.toContain('vol-last');
    expect((cordon.warnings ?? []).join(' ')).toContain('node-drain-policy block-for-eviction');
    const tainted = validator.handle(taintUpdate([dedicatedTaint]), context(model));
    expect(tainted.allowed).toBe(false);
    expect(tainted.status?.message).toContain('vol-last');
    expect(tainted.status?.message).not.toContain('pv-db');
  });
});

// The taint manager (k8s pkg/controller/tainteviction/taint_eviction.go processPodOnNode) reads a pod's tolerations
// per NoExecute taint: GetMatchingTolerations keeps the FIRST toleration in the pod's list that tolerates it (the loop
// breaks there), and a pod with a taint none tolerates is deleted at once; otherwise getMinTolerationTime takes the
// least tolerationSeconds of those first matches (none: it stays for good; <= 0: deleted at once). So a first match
// with tolerationSeconds: 60 deletes the pod after 60 s even when a later toleration would tolerate the taint for good,
// and the node-local data it uses is stranded. volume-guard treats any pod deleted in the end as deleted now.

const maintenance = { key: 'maintenance', value: 'db', effect: 'NoExecute' };

/** The pod db-0, with these tolerations, as the informer's transform records it. */
function dbPod(tolerations: readonly object[]) {
  return transformPod({
    metadata: { name: 'db-0', namespace: 'default', ownerReferences: [{ kind: 'StatefulSet', name: 'db', controller: true, apiVersion: 'apps/v1', uid: 'u' }] },
    spec: { nodeName: 'node-1', volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'db-data' } }], tolerations },
    status: { phase: 'Running' },
  })!;
}

/** The cordon validator's answer to these NoExecute taints (maintenance by default) with db-0 tolerating as given. */
const judge = (tolerations: readonly object[], taints: readonly object[] = [maintenance]) =>
  validator.handle(taintUpdate([...taints]), context(cluster(undefined, (model) => model.upsert('pod', dbPod(tolerations)))));

describe('the taint manager reads only the first toleration matching each taint (GetMatchingTolerations)', () => {
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
    expect(judge(tolerations, [dedicatedTaint, maintenance]).allowed).toBe(false);
    // Each tolerated for good by its first match: the pod stays.
    expect(judge([tolerations[0]!, tolerations[2]!], [dedicatedTaint, maintenance]).allowed).toBe(true);
  });

  it('a toleration with seconds matching one taint while another taint is untolerated: deleted at once, refused', () => {
    const decision = judge([{ key: 'maintenance', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }], [maintenance, dedicatedTaint]);
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
