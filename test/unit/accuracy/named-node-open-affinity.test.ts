// A local PV whose only node affinity is `matchFields: [{key: metadata.name, operator: In, values: [node-1]}]`: the
// scheduler's volume binding and the kubelet ignore matchFields for a PV (pv-name-affinity.test.ts), so nothing pins
// it and a cordon judges it where the pod writing it runs (tag `unpinned`). Its data still sits on node-1's disk, the
// node the PV names: removing node-1 for good (Node DELETE, a Machine DELETE or scale-down, an autoscaler) loses it
// even when no pod uses it. The removal is refused naming it; a cordon or drain moves nothing of it and passes.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { collectNodeLocalVolume } from '../../../src/checks/node-local-volume.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNode, transformPersistentVolume } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, request } from '../../support/admission.ts';
import { machine, namespace, pod, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();

const byName = (node: string) => ({ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] });

/** node-1 and node-2; local PV pv-a (claim default/data) whose affinity is metadata.name In [node-1] only. */
function cluster(options: { phase?: string; reclaimPolicy?: string; writer?: string } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  for (const name of ['node-1', 'node-2']) model.upsert('node', transformNode({ metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: {} })!);
  const phase = options.phase ?? 'Bound';
  model.upsert(
    'persistentVolume',
    transformPersistentVolume({
      metadata: { name: 'pv-a' },
      spec: {
        local: { path: '/mnt/disks/a' },
        persistentVolumeReclaimPolicy: options.reclaimPolicy ?? 'Retain',
        claimRef: { namespace: 'default', name: 'data' },
        nodeAffinity: { required: { nodeSelectorTerms: [byName('node-1')] } },
      },
      status: { phase },
    })!,
  );
  if (phase === 'Bound') model.upsert('persistentVolumeClaim', pvc({ name: 'data', volumeName: 'pv-a' }));
  if (options.writer !== undefined) model.upsert('pod', pod({ name: 'db-0', nodeName: options.writer, controllerKind: 'StatefulSet', claimNames: ['data'] }));
  model.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'node-1' }));
  return model;
}

const nodeDelete = (name: string): AdmissionRequest =>
  request({
    kind: { group: '', version: 'v1', kind: 'Node' },
    resource: { group: '', version: 'v1', resource: 'nodes' },
    operation: 'DELETE',
    name,
    oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name } },
  });

const machineDelete: AdmissionRequest = request({
  kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
  resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
  operation: 'DELETE',
  namespace: 'capi',
  name: 'm1',
  oldObject: { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine', metadata: { name: 'm1', namespace: 'capi' }, status: { nodeRef: { name: 'node-1' } } },
});

describe('a bound local PV whose affinity names node-1 by metadata.name only, used by no pod', () => {
  it('is pinned to no node (the scheduler ignores matchFields for a PV)', () => {
    expect(cluster().persistentVolume('pv-a')).toMatchObject({ pinnedNode: '', namedNode: 'node-1' });
  });

  it('is lost with node-1: its Node DELETE and its Machine DELETE are refused, naming it', () => {
    const model = cluster();
    for (const decision of [nodeCordonValidator(config).handle(nodeDelete('node-1'), context(model)), machineValidator(config).handle(machineDelete, context(model))]) {
      expect(decision.allowed).toBe(false);
      expect(decision.status?.message).toContain('[node-local-volume]');
      expect(decision.status?.message).toContain('local PV keeps the data of claim default/data on node node-1, which its node affinity names, not mounted by any pod');
      expect(decision.status?.message).toContain('lost with node-1: the node is removed and its disks go');
    }
    const [finding, ...rest] = collectNodeLocalVolume(model, { node: 'node-1', removed: true }).findings;
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ object: { kind: 'PersistentVolume', name: 'pv-a', node: 'node-1' }, tags: ['unused', 'local', 'node-removed'] });
  });

  it('moves nothing at a cordon of node-1, and nothing of it is on node-2', () => {
    const model = cluster();
    expect(collectNodeLocalVolume(model, { node: 'node-1' }).findings).toEqual([]);
    expect(nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model)).allowed).toBe(true);
    expect(nodeCordonValidator(config).handle(nodeDelete('node-2'), context(model)).allowed).toBe(true);
  });

  it('the audit of node-1 lists it under the removal of the node, not the cordon, as the webhook judges both', () => {
    const report = buildAuditReport({
      model: cluster(),
      scope: { kind: 'node', node: 'node-1' },
      cluster: { server: 's', context: 'c' },
      generatedAt: 'now',
      upgradeKinds: config.upgrades.kinds,
      writers: config.overrides,
    });
    expect(report.findings.map((finding) => [finding.object.name, finding.operation.split(' ')[0]])).toEqual([['pv-a', 'removal']]);
  });

  it("is withheld from an eviction of another namespace's pod on node-1 being removed, worded as data kept there", () => {
    const model = cluster();
    const tainted = { metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } }, spec: { unschedulable: true, taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] } };
    model.upsert('node', transformNode(tainted)!);
    for (const name of ['default', 'team-a']) model.upsert('namespace', namespace({ name }));
    model.upsert('pod', pod({ namespace: 'team-a', name: 'web', nodeName: 'node-1', controllerKind: 'ReplicaSet' }));
    const decision = podEvictionValidator(config).handle(evictionRequest('web', { namespace: 'team-a' }), context(model));
    const text = [decision.status?.message ?? '', ...(decision.warnings ?? [])].join('\n');
    expect(decision.allowed).toBe(false);
    expect(text).toContain('PV of another namespace: keeps data on node node-1, which is removed with its disks');
    expect(text).not.toContain('pv-a');
    expect(text).not.toContain('hostPath');
  });
});

describe('the same PV with a writer, or with no claim to keep', () => {
  it('written by a pod on node-1: found once, as the data its pod writes there', () => {
    const findings = collectNodeLocalVolume(cluster({ writer: 'node-1' }), { node: 'node-1', removed: true }).findings;
    expect(findings.map((finding) => [finding.object.name, finding.tags])).toEqual([['pv-a', ['in-use', 'local', 'unpinned']]]);
  });

  it('written by a pod on node-2: the data is where that pod runs, node-1’s removal passes', () => {
    const model = cluster({ writer: 'node-2' });
    expect(collectNodeLocalVolume(model, { node: 'node-1', removed: true }).findings).toEqual([]);
    expect(nodeCordonValidator(config).handle(nodeDelete('node-1'), context(model)).allowed).toBe(true);
    expect(nodeCordonValidator(config).handle(cordonRequest('node-2'), context(model)).allowed).toBe(false);
  });

  it('Released under Retain: lost with node-1 too (tag released)', () => {
    const model = cluster({ phase: 'Released' });
    const decision = nodeCordonValidator(config).handle(nodeDelete('node-1'), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('keeps the data of its deleted claim on node node-1 only (Released, reclaim policy Retain)');
    expect(nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model)).allowed).toBe(true);
  });

  it('Released under Delete, or Available: nothing to keep, the removal passes', () => {
    for (const model of [cluster({ phase: 'Released', reclaimPolicy: 'Delete' }), cluster({ phase: 'Available' })]) {
      expect(nodeCordonValidator(config).handle(nodeDelete('node-1'), context(model)).allowed).toBe(true);
    }
  });
});
