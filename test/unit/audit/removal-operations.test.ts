// What `volume-guard audit` says each finding blocks, beside the webhook's answers on the same model: what only a
// Node DELETE is refused for (a retained Released PV, a last copy Longhorn's node-drain-policy would move in a drain),
// what the drain of a node whose Cluster API Machine is being deleted is refused for (not its cordon), and data on a
// node that no longer exists (no operation is refused for it).
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { policyReports } from '../../../src/audit/policyreport.ts';
import { renderTable } from '../../../src/audit/render.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { failingFindings, unknownScope } from '../../../src/audit/run.ts';
import type { AuditReport, AuditScope } from '../../../src/audit/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformPersistentVolume } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, NODE_KIND, nodeObject, request } from '../../support/admission.ts';
import { csiPV, harvesterUpgrade, hostPathPV, localPV, longhornSetting, machine, machineOwner, namespace, node, pod, pvc } from '../../support/fixtures.ts';
import { addVolume, longhornCluster } from './cordon-agreement.ts';

function nodeDelete(model: ClusterModel, node: string): ReturnType<ReturnType<typeof nodeCordonValidator>['handle']> {
  const deletion = request({ ...NODE_KIND, operation: 'DELETE', name: node, oldObject: nodeObject(node, false) });
  return nodeCordonValidator(defaultConfig()).handle(deletion, context(model));
}

function cordon(model: ClusterModel, node: string): ReturnType<ReturnType<typeof nodeCordonValidator>['handle']> {
  return nodeCordonValidator(defaultConfig()).handle(cordonRequest(node), context(model));
}

function audit(model: ClusterModel, scope: AuditScope): AuditReport {
  return buildAuditReport({ model, scope, cluster: { server: 's', context: 'c' }, generatedAt: 'now' });
}

const operationsOf = (report: AuditReport, name: string): string[] => report.findings.filter((f) => f.object.name === name).map((f) => f.operation);

describe('audit: what only the removal of a node loses', () => {
  it('a retained Released local PV: the Node DELETE is refused, the audit lists it under the removal; only the whole cluster fails', () => {
    const model = longhornCluster();
    model.upsert('persistentVolume', localPV({ name: 'pv-kept', pinnedNode: 'n1', claimName: 'gone', phase: 'Released', reclaimPolicy: 'Retain' }));
    const decision = nodeDelete(model, 'n1');
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('pv-kept');
    expect(cordon(model, 'n1').allowed).toBe(true);

    for (const scope of [{ kind: 'cluster' }, { kind: 'node', node: 'n1' }] as const) {
      const report = audit(model, scope);
      expect(operationsOf(report, 'pv-kept'), scope.kind).toEqual(['removal of node n1 (Node or Machine DELETE, scale-down, autoscaler)']);
      // --node says what its cordon and drain hit: what only its removal would hit is shown, not failing it.
      expect(failingFindings(report, false), scope.kind).toBe(scope.kind === 'node' ? 0 : 1);
      expect(failingFindings(report, true), scope.kind).toBe(1);
    }
  });

  it('a last copy the node-drain-policy moves: a note for the cordon, a finding of the Node DELETE', () => {
    const model = longhornCluster();
    addVolume(model, 'v', ['n1'], { numberOfReplicas: 3 });
    model.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
    expect(cordon(model, 'n1').allowed).toBe(true);
    const decision = nodeDelete(model, 'n1');
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('last-replica-on-node');

    const report = audit(model, { kind: 'node', node: 'n1' });
    // Its last copy (last-replica-on-node), and its only healthy one of three (single-replica).
    expect(report.findings.filter((f) => f.object.name === 'v').map((f) => `${f.check}: ${f.operation}`)).toEqual([
      'single-replica: Node DELETE of node n1 (nothing is drained first)',
      'last-replica-on-node: Node DELETE of node n1 (nothing is drained first)',
    ]);
    expect(report.findings.some((f) => f.operation.startsWith('cordon/drain'))).toBe(false);
    expect(report.notes.some((note) => note.includes("node-drain-policy block-for-eviction moves the only copy"))).toBe(true);
    // Neither fails --node: its cordon and drain pass; a note says what deleting it would hit.
    expect(failingFindings(report, false)).toBe(0);
    expect(failingFindings(report, true)).toBe(2);
    expect(report.notes.some((note) => note.startsWith('2 findings under the removal or Node DELETE of node n1 are what deleting the node would hit'))).toBe(true);
    // The whole cluster: single-replica is the upgrade's and the Node DELETE's, the last copy the Node DELETE's.
    expect(audit(model, { kind: 'cluster' }).findings.filter((f) => f.object.name === 'v').map((f) => `${f.check}: ${f.operation}`)).toEqual([
      'single-replica: Node DELETE of node n1 (nothing is drained first)',
      'single-replica: upgrade',
      'last-replica-on-node: Node DELETE of node n1 (nothing is drained first)',
    ]);
  });
});

describe("audit: a Harvester upgrade's in-place reboot", () => {
  it('lists the device-backed PV it keeps through the reboot under the removal, which is refused for it', () => {
    const model = new ClusterModel(VOLUME_SETS);
    for (const name of ['w1', 'w2']) model.upsert('node', node({ name }));
    model.upsert('persistentVolume', csiPV('lvm.driver.harvesterhci.io', { name: 'pv-vm-disk', pinnedNode: 'w1', claimNamespace: 'vms', claimName: 'vm-disk' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'vms', name: 'vm-disk', volumeName: 'pv-vm-disk', storageClassName: 'lvm' }));
    model.upsert('pod', pod({ namespace: 'vms', name: 'virt-launcher-vm-1', nodeName: 'w1', claimNames: ['vm-disk'], controllerKind: 'VirtualMachineInstance' }));
    model.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: false, nodeStates: { w1: 'Pre-drained', w2: 'Images preloaded' } }));
    expect(cordon(model, 'w1').allowed).toBe(true);
    const decision = nodeDelete(model, 'w1');
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('pv-vm-disk');

    for (const scope of [{ kind: 'cluster' }, { kind: 'node', node: 'w1' }] as const) {
      const report = audit(model, scope);
      expect(operationsOf(report, 'pv-vm-disk'), scope.kind).toEqual(['removal of node w1 (Node or Machine DELETE, scale-down, autoscaler)']);
      expect(report.notes.some((note) => note.includes('upgrades node w1 in place')), scope.kind).toBe(true);
      // --node says what its cordon and drain hit: what only its removal would hit is shown, not failing it.
      expect(failingFindings(report, false), scope.kind).toBe(scope.kind === 'node' ? 0 : 1);
      expect(failingFindings(report, true), scope.kind).toBe(1);
    }
  });
});

describe('audit: a node whose Cluster API Machine is being deleted', () => {
  it("labels a bare pod's hostPath data with the drain and removal the webhook refuses, not the cordon it allows", () => {
    const model = longhornCluster();
    model.upsert('namespace', namespace({ name: 'default' }));
    model.upsert('machine', machine({ nodeName: 'n1', deleting: true }));
    model.upsert('pod', pod({ name: 'writer', nodeName: 'n1', hostPaths: [{ path: '/data', writable: true }] }));
    expect(model.nodeLeaving('n1')).toBe('machine');
    // Cluster API cordons the node: allowed. Its drain's eviction of the pod: refused.
    expect(cordon(model, 'n1').allowed).toBe(true);
    const eviction = podEvictionValidator(defaultConfig()).handle(evictionRequest('writer'), context(model));
    expect(eviction.allowed).toBe(false);

    const report = audit(model, { kind: 'node', node: 'n1' });
    expect(operationsOf(report, 'writer')).toEqual(['drain and removal of node n1 (its Cluster API Machine is being deleted)']);
    expect(report.findings.find((f) => f.object.name === 'writer')?.severity).toBe('critical');
  });

  it('keeps under the cordon what the cordon is refused for', () => {
    const model = longhornCluster();
    model.upsert('machine', machine({ nodeName: 'n1', deleting: true }));
    model.upsert('persistentVolume', localPV({ name: 'pv-l', pinnedNode: 'n1', claimName: 'c-l' }));
    model.upsert('persistentVolumeClaim', pvc({ name: 'c-l', volumeName: 'pv-l' }));
    expect(cordon(model, 'n1').allowed).toBe(false);
    expect(operationsOf(audit(model, { kind: 'node', node: 'n1' }), 'pv-l')).toEqual(['cordon/drain of node n1']);
  });
});

describe('audit: data on a node that no longer exists', () => {
  function goneNodeModel(): ClusterModel {
    const model = longhornCluster();
    model.upsert('persistentVolume', hostPathPV({ name: 'pv-cache', pinnedNode: 'node-gone', claimName: 'cache' }));
    model.upsert('persistentVolumeClaim', pvc({ name: 'cache', volumeName: 'pv-cache' }));
    return model;
  }

  it('is reported under its own operation, without an annotate command, and does not fail the exit code', () => {
    for (const scope of [{ kind: 'cluster' }, { kind: 'node', node: 'node-gone' }] as const) {
      const report = audit(goneNodeModel(), scope);
      const finding = report.findings.find((f) => f.object.name === 'pv-cache');
      expect(finding, scope.kind).toBeDefined();
      expect(finding!.operation).toBe('no operation (node node-gone no longer exists)');
      expect(finding!.severity).toBe('warning');
      expect(finding!.tags).toContain('node-gone');
      expect(finding!.override).not.toContain('kubectl annotate');
      expect(finding!.fix).toContain('delete the PV');
      expect(failingFindings(report, false), scope.kind).toBe(0);
      expect(failingFindings(report, true), scope.kind).toBe(1);
    }
  });

  it("is the removal's while a Cluster API Machine still names the node: its DELETE is refused", () => {
    const model = goneNodeModel();
    model.upsert('machine', machine({ namespace: 'capi', name: 'm-gone', nodeName: 'node-gone' }));
    const machineDelete = request({
      kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
      resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
      operation: 'DELETE',
      namespace: 'capi',
      name: 'm-gone',
      oldObject: { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine', metadata: { name: 'm-gone', namespace: 'capi' }, status: { nodeRef: { name: 'node-gone' } } },
    });
    const decision = machineValidator(defaultConfig()).handle(machineDelete, context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('pv-cache');

    for (const scope of [{ kind: 'cluster' }, { kind: 'node', node: 'node-gone' }] as const) {
      const report = audit(model, scope);
      const finding = report.findings.find((f) => f.object.name === 'pv-cache');
      expect(finding?.operation, scope.kind).toBe('removal of node node-gone (Node or Machine DELETE, scale-down, autoscaler)');
      expect(finding?.severity).toBe('critical');
      expect(finding?.tags).not.toContain('node-gone');
      expect(finding?.fix).toContain("Machine capi/m-gone's DELETE is refused while it is there");
      // No Node to annotate: kubectl annotate node would fail, and nothing else is read for this Machine's DELETE.
      expect(finding?.override).not.toContain('kubectl annotate');
      expect(finding?.override).toContain('there is no Node node-gone to annotate, and no other override is read');
      expect(decision.status?.message).toContain('there is no Node node-gone to annotate, and no other override is read');
      // No Node to cordon or drain: the Machine DELETE is the operation refused for it, --node fails on it too.
      expect(failingFindings(report, false), scope.kind).toBe(1);
      expect(failingFindings(report, true), scope.kind).toBe(1);
    }
    const scoped = audit(model, { kind: 'node', node: 'node-gone' });
    expect(scoped.scope).toEqual({ kind: 'node', node: 'node-gone', withoutNodeObject: true });
    expect(scoped.notes.some((note) => note.includes('its cordon and drain are not refused'))).toBe(false);
    expect(scoped.notes).toContain(
      'node node-gone has no Node object, so nothing to cordon or drain: 1 finding under its removal is what the DELETE of ' +
        'Cluster API Machine capi/m-gone is refused for, and fails the exit code',
    );
    expect(renderTable(scoped)).toContain('what is left of node node-gone (no Node object: nothing to cordon or drain)');
    // A Machine being deleted: its DELETE was judged already, nothing refused is left.
    model.upsert('machine', machine({ namespace: 'capi', name: 'm-gone', nodeName: 'node-gone', deleting: true }));
    expect(operationsOf(audit(model, { kind: 'node', node: 'node-gone' }), 'pv-cache')).toEqual(['no operation (node node-gone no longer exists)']);
  });

  it("a KubeadmControlPlane's Machine: its skip is the override, read for that controller's DELETE", () => {
    const model = goneNodeModel();
    model.upsert('machine', machine({ namespace: 'capi', name: 'cp-gone', nodeName: 'node-gone', machineSet: '', machineDeployment: '', controlPlane: 'cp' }));
    const annotate = 'kubectl annotate kubeadmcontrolplanes.controlplane.cluster.x-k8s.io cp -n capi volume-guard.io/skip=node-local-volume';
    const finding = audit(model, { kind: 'node', node: 'node-gone' }).findings.find((f) => f.object.name === 'pv-cache');
    expect(finding?.override).toContain(annotate);
    expect(finding?.override).toContain("read for its controller's own DELETE of Machine capi/cp-gone, not a person's");
    const machineDelete = request({
      kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
      resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
      operation: 'DELETE',
      namespace: 'capi',
      name: 'cp-gone',
      userInfo: { username: 'system:serviceaccount:capi-kubeadm-control-plane-system:capi-kubeadm-control-plane-manager', groups: [] },
      oldObject: {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Machine',
        metadata: { name: 'cp-gone', namespace: 'capi', labels: { 'cluster.x-k8s.io/control-plane-name': 'cp' } },
        status: { nodeRef: { name: 'node-gone' } },
      },
    });
    expect(machineValidator(defaultConfig()).handle(machineDelete, context(model)).status?.message).toContain(annotate);
  });

  it('a KubeadmControlPlane whose controller is no configured user (clusterApi.controlPlaneUsers empty): no override, as the webhook', () => {
    const model = goneNodeModel();
    model.upsert('machine', machine({ namespace: 'capi', name: 'cp-gone', nodeName: 'node-gone', machineSet: '', machineDeployment: '', controlPlane: 'cp' }));
    const config = defaultConfig();
    const clusterApi = { ...config.clusterApi, controlPlaneUsers: [] };
    const report = buildAuditReport({ model, scope: { kind: 'node', node: 'node-gone' }, cluster: { server: 's', context: 'c' }, generatedAt: 'now', clusterApi });
    const finding = report.findings.find((f) => f.object.name === 'pv-cache');
    expect(finding?.override).not.toContain('kubeadmcontrolplanes');
    expect(finding?.override).toContain('there is no Node node-gone to annotate, and no other override is read');
    const machineDelete = request({
      kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
      resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
      operation: 'DELETE',
      namespace: 'capi',
      name: 'cp-gone',
      userInfo: { username: 'system:serviceaccount:capi-kubeadm-control-plane-system:capi-kubeadm-control-plane-manager', groups: [] },
      oldObject: {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Machine',
        metadata: { name: 'cp-gone', namespace: 'capi', labels: { 'cluster.x-k8s.io/control-plane-name': 'cp' } },
        status: { nodeRef: { name: 'node-gone' } },
      },
    });
    const message = machineValidator({ ...config, clusterApi }).handle(machineDelete, context(model, { config: { ...config, clusterApi } })).status?.message;
    expect(message).not.toContain('kubeadmcontrolplanes');
  });

  it("a KubeadmControlPlane holding a skip: the command keeps its checks and overwrites it", () => {
    const model = goneNodeModel();
    model.upsert('machine', machine({ namespace: 'capi', name: 'cp-gone', nodeName: 'node-gone', machineSet: '', machineDeployment: '', controlPlane: 'cp' }));
    const stored = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-by': 'admin' };
    model.upsert('kubeadmControlPlane', machineOwner({ namespace: 'capi', name: 'cp', annotations: stored }));
    const finding = audit(model, { kind: 'node', node: 'node-gone' }).findings.find((f) => f.object.name === 'pv-cache');
    expect(finding?.override).toContain(
      'kubectl annotate --overwrite kubeadmcontrolplanes.controlplane.cluster.x-k8s.io cp -n capi volume-guard.io/skip=node-local-volume,single-replica ',
    );
  });

  it('can be audited with --node: the node is known from its PV', () => {
    expect(unknownScope(goneNodeModel(), { node: 'node-gone' })).toBeUndefined();
    expect(unknownScope(goneNodeModel(), { node: 'n1' })).toBeUndefined();
    expect(unknownScope(goneNodeModel(), { node: 'nowhere' })).toMatch(/^node "nowhere" not found in the cluster/);
  });

  // A local PV affine to node-gone by `matchFields` metadata.name only: pinned to no node (the scheduler ignores
  // matchFields for a PV), its data is on node-gone's disk all the same (unpinnedPersistentVolumesNaming).
  function namedGoneNodeModel(): ClusterModel {
    const model = longhornCluster();
    const byName = { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-gone'] }] };
    const spec = { local: { path: '/mnt/disks/a' }, persistentVolumeReclaimPolicy: 'Retain', claimRef: { namespace: 'default', name: 'data' }, nodeAffinity: { required: { nodeSelectorTerms: [byName] } } };
    model.upsert('persistentVolume', transformPersistentVolume({ metadata: { name: 'pv-named' }, spec, status: { phase: 'Bound' } })!);
    model.upsert('persistentVolumeClaim', pvc({ name: 'data', volumeName: 'pv-named' }));
    return model;
  }

  it('a PV whose open affinity names the gone node: the whole-cluster audit reports it as --node does', () => {
    expect(namedGoneNodeModel().persistentVolume('pv-named')).toMatchObject({ pinnedNode: '', namedNode: 'node-gone' });
    for (const scope of [{ kind: 'cluster' }, { kind: 'node', node: 'node-gone' }] as const) {
      expect(operationsOf(audit(namedGoneNodeModel(), scope), 'pv-named'), scope.kind).toEqual(['no operation (node node-gone no longer exists)']);
    }
    expect(unknownScope(namedGoneNodeModel(), { node: 'node-gone' })).toBeUndefined();
  });
});

describe('audit: the configuration it judges with', () => {
  it('says when it judges with the default configuration, and with which file otherwise', () => {
    const model = longhornCluster();
    const configured = buildAuditReport({ model, scope: { kind: 'cluster' }, cluster: { server: 's', context: 'c' }, generatedAt: 'now', configFile: 'vg.yaml' });
    const defaulted = buildAuditReport({ model, scope: { kind: 'cluster' }, cluster: { server: 's', context: 'c' }, generatedAt: 'now' });
    expect(defaulted.config).toEqual({ source: 'default' });
    const note = defaulted.notes.find((line) => line.startsWith('judged with the default configuration'));
    expect(note).toContain('volume-guard audit --config volume-guard.yaml');
    expect(note).toContain("kubectl get configmap -n NAMESPACE NAME -o jsonpath='{.data.config\\.yaml}' > volume-guard.yaml");
    expect(note).toContain('kubectl get configmap -A -l app.kubernetes.io/name=volume-guard');
    // Every output format says so: the table and JSON carry the notes, the PolicyReports an annotation.
    expect(renderTable(defaulted)).toContain('judged with the default configuration');
    for (const object of policyReports(defaulted)) expect(object.metadata.annotations['volume-guard.io/config']).toBe(note);
    for (const object of policyReports(configured)) expect(object.metadata.annotations['volume-guard.io/config']).toBe('file vg.yaml');

    expect(configured.config).toEqual({ source: 'file', file: 'vg.yaml' });
    expect(configured.notes.some((line) => line.startsWith('judged with the default configuration'))).toBe(false);
  });
});

describe('audit: one object with two findings of the same check', () => {
  it("keeps a StatefulSet pod's hostPath data lost at removal beside its emptyDir warning under the cordon", () => {
    const model = longhornCluster();
    model.upsert('namespace', namespace({ name: 'default' }));
    model.upsert(
      'pod',
      pod({
        name: 'db-0',
        nodeName: 'n1',
        controllerKind: 'StatefulSet',
        hostPaths: [{ path: '/data', writable: true }],
        emptyDirs: ['cache'],
        nodeSelector: [{ matchExpressions: [], matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }],
      }),
    );
    expect(nodeDelete(model, 'n1').allowed).toBe(false);
    for (const scope of [{ kind: 'cluster' }, { kind: 'node', node: 'n1' }] as const) {
      const report = audit(model, scope);
      const removal = report.findings.filter((f) => f.object.name === 'db-0' && f.operation.startsWith('removal of node n1'));
      expect(removal.map((f) => f.severity), scope.kind).toEqual(['critical']);
      // --node says what its cordon and drain hit: what only its removal would hit is shown, not failing it.
      expect(failingFindings(report, false), scope.kind).toBe(scope.kind === 'node' ? 0 : 1);
      // With --strict, the emptyDir warning under the cordon too.
      expect(failingFindings(report, true), scope.kind).toBe(2);
    }
    // Its Machine being deleted: the drain's eviction of the pod is refused for the hostPath data.
    model.upsert('machine', machine({ nodeName: 'n1', deleting: true }));
    expect(podEvictionValidator(defaultConfig()).handle(evictionRequest('db-0'), context(model)).allowed).toBe(false);
    const report = audit(model, { kind: 'node', node: 'n1' });
    expect(report.findings.filter((f) => f.object.name === 'db-0').map((f) => `${f.severity}: ${f.operation}`)).toEqual([
      'critical: drain and removal of node n1 (its Cluster API Machine is being deleted)',
      'warning: cordon/drain of node n1',
    ]);
  });
});
