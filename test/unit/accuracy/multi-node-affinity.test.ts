// Issue 12.3: a PV is pinned to a node when it can only ever mount there. A node-local-kind PV (local, hostPath, a
// node-local CSI driver) whose required affinity allows several nodes (hostname In [w1, w2], two ORed terms, a zone)
// is trusted like a zonal disk: the admin declares its data reachable on each of them. It is neither pinned nor
// "unpinned" (the data where its pod runs): only an affinity that constrains nothing the scheduler reads for a PV (no
// terms, or terms of `matchFields` metadata.name alone, which it ignores) leaves the data on the node of its pod.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, Decision } from '../../../src/admission/types.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { collectNodeLocalVolume, isUnpinnedNodeLocalVolume } from '../../../src/checks/node-local-volume.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { declaresNodes, persistentVolumeNodeSelector, parseNodeSelector } from '../../../src/cluster/node-affinity.ts';
import { transformNode, transformPersistentVolume } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, request } from '../../support/admission.ts';
import { pod, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();
const HOST = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';

const expr = (key: string, values: string[]) => ({ key, operator: 'In', values });
const byName = (node: string) => ({ key: 'metadata.name', operator: 'In', values: [node] });

/** w1 and w2 in zone z1, w3 in z2; PV pv-a (claim default/data) of `spec`, its claim, and pod db-0 on `writer` writing it. */
function cluster(spec: Record<string, unknown>, terms: unknown[] | undefined, writer: string | null = 'w1'): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  for (const [name, zone] of [['w1', 'z1'], ['w2', 'z1'], ['w3', 'z2']] as const) {
    model.upsert('node', transformNode({ metadata: { name, labels: { [HOST]: name, [ZONE]: zone } }, spec: {} })!);
  }
  model.upsert(
    'persistentVolume',
    transformPersistentVolume({
      metadata: { name: 'pv-a' },
      spec: {
        ...spec,
        persistentVolumeReclaimPolicy: 'Retain',
        claimRef: { namespace: 'default', name: 'data' },
        ...(terms === undefined ? {} : { nodeAffinity: { required: { nodeSelectorTerms: terms } } }),
      },
      status: { phase: 'Bound' },
    })!,
  );
  model.upsert('persistentVolumeClaim', pvc({ name: 'data', volumeName: 'pv-a' }));
  if (writer !== null) model.upsert('pod', pod({ name: 'db-0', nodeName: writer, controllerKind: 'StatefulSet', claimNames: ['data'] }));
  return model;
}

const cordon = (model: ClusterModel, node = 'w1'): Decision => nodeCordonValidator(config).handle(cordonRequest(node), context(model));
const evict = (model: ClusterModel): Decision => podEvictionValidator(config).handle(evictionRequest('db-0'), context(model));
const nodeDelete = (name: string): AdmissionRequest =>
  request({
    kind: { group: '', version: 'v1', kind: 'Node' },
    resource: { group: '', version: 'v1', resource: 'nodes' },
    operation: 'DELETE',
    name,
    oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name } },
  });

const LOCAL = { local: { path: '/mnt/disks/a' } };
const HOST_PATH = { hostPath: { path: '/srv/data' } };
const TOPOLVM = { csi: { driver: 'topolvm.io', volumeHandle: 'lv-1' } };

describe('a node-local PV whose affinity allows several nodes is trusted like a zonal disk', () => {
  const several: [string, Record<string, unknown>, unknown[]][] = [
    ['a local PV with hostname In [w1, w2]', LOCAL, [{ matchExpressions: [expr(HOST, ['w1', 'w2'])] }]],
    ['a local PV with two ORed terms hostname In [w1] / In [w2]', LOCAL, [{ matchExpressions: [expr(HOST, ['w1'])] }, { matchExpressions: [expr(HOST, ['w2'])] }]],
    ['a hostPath PV with zone In [z1]', HOST_PATH, [{ matchExpressions: [expr(ZONE, ['z1'])] }]],
    ['a TopoLVM PV with its node key In [w1, w2]', TOPOLVM, [{ matchExpressions: [expr(HOST, ['w1', 'w2'])] }]],
    ['a local PV with zone In [z1] and metadata.name In [w1] (the name is ignored for a PV)', LOCAL, [{ matchExpressions: [expr(ZONE, ['z1'])], matchFields: [byName('w1')] }]],
  ];
  for (const [what, spec, terms] of several) {
    it(`${what}: the cordon, the eviction and the Node DELETE of w1 pass`, () => {
      const model = cluster(spec, terms);
      const pv = model.persistentVolume('pv-a')!;
      expect(pv.pinnedNode).toBe('');
      expect(isUnpinnedNodeLocalVolume(pv)).toBe(false);
      expect(collectNodeLocalVolume(model, { node: 'w1' }).findings).toEqual([]);
      expect(cordon(model)).toMatchObject({ allowed: true });
      expect(evict(model)).toMatchObject({ allowed: true });
      expect(nodeCordonValidator(config).handle(nodeDelete('w1'), context(model)).allowed).toBe(true);
      // No unpinned node-local kind left in the cluster: a cordon resolves no pod's claims.
      expect([...model.unpinnedClaimedPersistentVolumeSources()]).toEqual([]);
      expect(model.unpinnedPersistentVolumesNaming('w1')).toEqual([]);
    });
  }

  it('one live node matching by hostname In [w1, w9] (w9 not in the cluster) still pins the PV to w1', () => {
    const model = cluster(LOCAL, [{ matchExpressions: [expr(HOST, ['w1', 'w9'])] }]);
    expect(model.persistentVolume('pv-a')?.pinnedNode).toBe('w1');
    expect(cordon(model).allowed).toBe(false);
  });
});

describe('an affinity that constrains nothing the scheduler reads for a PV leaves the data where its pod runs', () => {
  it('no affinity (a minikube hostPath PV): the cordon and the eviction of its pod are refused (tag unpinned)', () => {
    const model = cluster(HOST_PATH, undefined);
    expect(isUnpinnedNodeLocalVolume(model.persistentVolume('pv-a')!)).toBe(true);
    expect(collectNodeLocalVolume(model, { node: 'w1' }).findings[0]?.tags).toContain('unpinned');
    expect(cordon(model).allowed).toBe(false);
    expect(evict(model).status?.message).toContain('no affinity keeps its pod on w1, elsewhere the path is empty');
    expect([...model.unpinnedClaimedPersistentVolumeSources()]).toEqual([{ source: 'hostPath', driver: '' }]);
  });

  it('a metadata.name term alone: unpinned, and its removal still takes it (stop 50)', () => {
    const model = cluster(LOCAL, [{ matchFields: [byName('w1')] }], null);
    expect(isUnpinnedNodeLocalVolume(model.persistentVolume('pv-a')!)).toBe(true);
    expect(model.unpinnedPersistentVolumesNaming('w1').map((pv) => pv.name)).toEqual(['pv-a']);
    expect(cordon(model).allowed).toBe(true);
    expect(nodeCordonValidator(config).handle(nodeDelete('w1'), context(model)).allowed).toBe(false);
  });

  it('a hostname term ORed with a metadata.name term: the second lets the PV onto every node', () => {
    const model = cluster(LOCAL, [{ matchExpressions: [expr(HOST, ['w1'])] }, { matchFields: [byName('w2')] }]);
    expect(isUnpinnedNodeLocalVolume(model.persistentVolume('pv-a')!)).toBe(true);
    expect(cordon(model).allowed).toBe(false);
  });
});

describe('declaresNodes', () => {
  const selector = (terms: unknown[]) => persistentVolumeNodeSelector(parseNodeSelector({ nodeSelectorTerms: terms }));
  it('no terms, a valid term of metadata.name fields alone (ORed: every node), or terms matching nothing: no', () => {
    expect(declaresNodes([])).toBe(false);
    expect(declaresNodes(selector([{ matchFields: [byName('w1')] }]))).toBe(false);
    expect(declaresNodes(selector([{ matchExpressions: [expr(HOST, ['w1'])] }, { matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['w1'] }] }]))).toBe(false);
    // An invalid field requirement (two values) makes its term match nothing; an empty term matches nothing.
    expect(declaresNodes(selector([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['w1', 'w2'] }] }]))).toBe(false);
    expect(declaresNodes(selector([{}]))).toBe(false);
  });
  it('a label requirement in every term the scheduler can use: yes', () => {
    expect(declaresNodes(selector([{ matchExpressions: [expr(HOST, ['w1', 'w2'])] }]))).toBe(true);
    expect(declaresNodes(selector([{ matchExpressions: [{ key: HOST, operator: 'Exists' }] }]))).toBe(true);
    expect(declaresNodes(selector([{ matchExpressions: [expr(ZONE, ['z1'])], matchFields: [byName('w1')] }]))).toBe(true);
    expect(declaresNodes(selector([{ matchExpressions: [expr(HOST, ['w1'])] }, {}]))).toBe(true);
  });
});
