// A Scale (autoscaling/v1) omits `replicas` when it is 0 (`json:"replicas,omitempty"`): `kubectl scale
// machinedeployment md-0 --replicas=0`, and an autoscaler scaling a node group to zero through the scale subresource,
// reach the webhook as `spec: {}`. Cluster API then removes every Machine of the set, so every node holding data is
// at stake; reading the missing count as "not a scale-down" let the largest removal of all through. A collection
// DELETE of Machines (`kubectl delete machines --all`, `-l`) is admitted per item with the name only in the object:
// the refusal still names the Machine. A refused scale-down names every Machine it may remove with data at risk, not
// only the first: fixing one node at a time would be refused node after node. An allowed one records every override
// it honored in its audit annotations (and so the admission log line), not only the last node's.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import type { AdmittedRemoval } from '../../../src/cluster/pending-removals.ts';
import { machineRemovalCel, machineValidator } from '../../../src/admission/validators/machine.ts';
import { MAX_DENIAL_LENGTH } from '../../../src/admission/messages.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { boundDecision, MAX_AUDIT_ANNOTATION_LENGTH } from '../../../src/server/codec.ts';
import { context, request } from '../../support/admission.ts';
import { localPV, machine, machineOwner, node, pod, pvc } from '../../support/fixtures.ts';

const validator = machineValidator(defaultConfig());

/** node-1 holds a local PV in use by db-0 (none with `clean`); node-2 holds nothing. Both Machines in md-0-a of md-0. */
function cluster(clean = false): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('node', node({ name: 'node-1' }));
  model.upsert('node', node({ name: 'node-2' }));
  if (!clean) {
    model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimName: 'db-data' }));
    model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
    model.upsert('pod', pod({ name: 'db-0', nodeName: 'node-1', claimNames: ['db-data'] }));
  }
  for (const [name, nodeName] of [['md-0-a-1', 'node-1'], ['md-0-a-2', 'node-2']] as const) {
    model.upsert('machine', machine({ namespace: 'capi', name, nodeName, machineSet: 'md-0-a', machineDeployment: 'md-0' }));
  }
  return model;
}

/** A write of the scale subresource as the API server sends it: Scale objects, 0 replicas omitted. */
function scaleTo(resource: 'machinedeployments' | 'machinesets', replicas: number, before: number): AdmissionRequest {
  const spec = (count: number) => (count === 0 ? {} : { replicas: count });
  const name = resource === 'machinesets' ? 'md-0-a' : 'md-0';
  const scale = (count: number) => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name, namespace: 'capi' }, spec: spec(count), status: { replicas: before } });
  return request({
    kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource },
    subResource: 'scale',
    operation: 'UPDATE',
    namespace: 'capi',
    name,
    object: scale(replicas),
    oldObject: scale(before),
  });
}

/** An UPDATE of MachineDeployment capi/md-0 (the main resource) from `before` to `replicas`, carrying `annotations`. */
function deploymentScaleDown(annotations: Record<string, string>, replicas: number, before: number): AdmissionRequest {
  const deployment = (count: number) => ({ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'MachineDeployment', metadata: { name: 'md-0', namespace: 'capi', annotations }, spec: { replicas: count } });
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'MachineDeployment' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machinedeployments' },
    operation: 'UPDATE',
    namespace: 'capi',
    name: 'md-0',
    object: deployment(replicas),
    oldObject: deployment(before),
  });
}

describe('Cluster API: a scale to zero through the scale subresource', () => {
  it.each(['machinedeployments', 'machinesets'] as const)('of %s is refused, naming a node holding data', (resource) => {
    const decision = validator.handle(scaleTo(resource, 0, 2), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('from 2 to 0');
    expect(decision.status!.message).toContain('md-0-a-1 on node node-1');
    expect(decision.status!.message).toContain('pv-local');
  });

  it('passes a scale up from zero (no replicas before) and a scale to zero of a set whose nodes hold nothing', () => {
    expect(validator.handle(scaleTo('machinesets', 2, 0), context(cluster())).allowed).toBe(true);
    expect(validator.handle(scaleTo('machinesets', 0, 2), context(cluster(true))).allowed).toBe(true);
  });

  it("the webhook's matchCondition reads a Scale without replicas as 0 (CEL has() on the omitted field)", () => {
    expect(machineRemovalCel('longhorn-system')).toContain("has(request.subResource) && request.subResource == 'scale' && oldObject.spec.replicas > 0");
  });
});

describe('Cluster API: a collection DELETE of Machines', () => {
  it('names the Machine read from the object deleted (the request carries no name)', () => {
    const decision = validator.handle(
      request({
        kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
        resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
        operation: 'DELETE',
        namespace: 'capi',
        name: '',
        oldObject: { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine', metadata: { name: 'md-0-a-1', namespace: 'capi' }, status: { nodeRef: { name: 'node-1' } } },
      }),
      context(cluster()),
    );
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('deletion of Machine capi/md-0-a-1 (node node-1)');
  });
});

describe('Cluster API: a scale-down refused for several nodes', () => {
  /** `count` Machines of md-0-a, each on its own node holding a local PV. */
  function everyNodeHoldsData(count: number): ClusterModel {
    const model = new ClusterModel(VOLUME_SETS);
    for (let i = 1; i <= count; i++) {
      const nodeName = `node-${String(i).padStart(3, '0')}`;
      model.upsert('node', node({ name: nodeName }));
      model.upsert('persistentVolume', localPV({ name: `pv-${nodeName}`, pinnedNode: nodeName, claimName: `data-${nodeName}` }));
      model.upsert('persistentVolumeClaim', pvc({ name: `data-${nodeName}`, volumeName: `pv-${nodeName}` }));
      model.upsert('machine', machine({ namespace: 'capi', name: `md-0-a-${nodeName}`, nodeName, machineSet: 'md-0-a', machineDeployment: 'md-0' }));
    }
    return model;
  }

  it('names every Machine it may remove whose node holds data, before the override', () => {
    const decision = validator.handle(scaleTo('machinesets', 0, 3), context(everyNodeHoldsData(3)));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    // To zero every Machine goes, whatever Cluster API's order.
    expect(message).toContain('which removes Machine md-0-a-node-001 on node node-001');
    expect(message).toContain('Cluster API removes every Machine of the MachineSet.');
    // The headline counts the whole scale-down, not only the node told in full.
    expect(message.split('\n')[0]).toMatch(/which removes Machine md-0-a-node-001 on node node-001: risks of data loss on 3 Machines' nodes \(1 on node-001\)\.$/);
    expect(message).not.toContain('1 risk of data loss');
    expect(message).toContain('pv-node-001');
    expect(message).toContain('Other Machines it may remove with data at risk (2; volume-guard audit --node NODE for each):');
    expect(message).toContain('  md-0-a-node-002 on node node-002 [node-local-volume]');
    expect(message).toContain('  md-0-a-node-003 on node node-003 [node-local-volume]');
    expect(message.indexOf('Other Machines it may remove')).toBeLessThan(message.indexOf('Override (an authorized admin'));
    expect(decision.deniedChecks).toEqual(['node-local-volume']);
  });

  it('a node whose own override lets its data go is not named; a scale-down reaching one node names no other', () => {
    const model = everyNodeHoldsData(3);
    model.upsert('node', node({ name: 'node-002', annotations: { 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-by': 'admin' } }));
    const message = validator.handle(scaleTo('machinesets', 0, 3), context(model)).status!.message;
    expect(message).toContain('with data at risk (1;');
    expect(message).toContain("risks of data loss on 2 Machines' nodes (1 on node-001).");
    expect(message).not.toContain('md-0-a-node-002');
    // The object's own write carries its deletion order: Random takes md-0-a-node-001 only.
    const byName = request({
      kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'MachineSet' },
      resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machinesets' },
      operation: 'UPDATE',
      namespace: 'capi',
      name: 'md-0-a',
      object: { metadata: { name: 'md-0-a' }, spec: { replicas: 2 } },
      oldObject: { metadata: { name: 'md-0-a' }, spec: { replicas: 3 } },
    });
    const one = validator.handle(byName, context(everyNodeHoldsData(3))).status!.message;
    expect(one).toContain('md-0-a-node-001 on node node-001: 1 risk of data loss.');
    expect(one).not.toContain('Other Machines it may remove');
  });

  it('stays within the denial length however many Machines go, counting those not named', () => {
    const message = validator.handle(scaleTo('machinedeployments', 0, 300), context(everyNodeHoldsData(300))).status!.message;
    expect(message.length).toBeLessThanOrEqual(MAX_DENIAL_LENGTH);
    expect(message).toContain('with data at risk (299;');
    expect(message).toContain("risks of data loss on 300 Machines' nodes (1 on node-001).\n");
    expect(message).toMatch(/\n {2}and \d+ more\nOverride \(an authorized admin/);
  });
});

describe('Cluster API: the audit of a scale-down several overrides let through', () => {
  const skip = (by: string, why: string, until?: string) => ({
    'volume-guard.io/skip': 'node-local-volume',
    'volume-guard.io/skip-by': by,
    'volume-guard.io/skip-reason': why,
    ...(until ? { 'volume-guard.io/skip-until': until } : {}),
  });
  const until = new Date(Date.now() + 86_400_000).toISOString();

  /** `count` Machines of md-0-a, each on its own node holding a local PV in use; `annotations` per node. */
  function nodesWithData(count: number, annotations: (n: number) => Record<string, string> = () => ({})): ClusterModel {
    const model = new ClusterModel(VOLUME_SETS);
    for (let n = 1; n <= count; n++) {
      model.upsert('node', node({ name: `node-${n}`, annotations: annotations(n) }));
      model.upsert('persistentVolume', localPV({ name: `pv-${n}`, pinnedNode: `node-${n}`, claimName: `data-${n}` }));
      model.upsert('persistentVolumeClaim', pvc({ name: `data-${n}`, volumeName: `pv-${n}` }));
      model.upsert('pod', pod({ name: `db-${n}`, nodeName: `node-${n}`, claimNames: [`data-${n}`] }));
      model.upsert('machine', machine({ namespace: 'capi', name: `md-0-a-${n}`, nodeName: `node-${n}`, machineSet: 'md-0-a', machineDeployment: 'md-0' }));
    }
    return model;
  }

  it("names every node's writer, reason, source and expiry, and counts every object accepted", () => {
    const model = nodesWithData(2, (n) => (n === 1 ? skip('alice-admin', 'backed up db-1') : skip('bob-admin', 'backed up db-2', until)));
    const decision = validator.handle(scaleTo('machinesets', 0, 2), context(model));
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations).toEqual({
      'overridden-checks': 'node-local-volume',
      'override-source': 'node node-1; node node-2',
      'override-reason': 'backed up db-1; backed up db-2',
      'override-writer': 'alice-admin,bob-admin',
      'override-until': until,
      'overridden-objects': '2',
    });
  });

  it("records a MachineDeployment's own skip once, with the objects it accepted on every node", () => {
    const decision = validator.handle(deploymentScaleDown(skip('carol-admin', 'md-0 retired'), 0, 2), context(nodesWithData(2)));
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations).toMatchObject({
      'override-source': 'MachineDeployment capi/md-0',
      'override-reason': 'md-0 retired',
      'override-writer': 'carol-admin',
      'overridden-objects': '2',
    });
  });

  it('keeps every value within the audit annotation bound however many nodes go', () => {
    const model = nodesWithData(300, (n) => skip(n % 2 === 0 ? 'alice-admin' : 'bob-admin', `backed up db-${n}`));
    const decision = boundDecision(validator.handle(scaleTo('machinedeployments', 0, 300), context(model)));
    expect(decision.allowed).toBe(true);
    const audit = decision.auditAnnotations ?? {};
    for (const value of Object.values(audit)) expect(value.length).toBeLessThanOrEqual(MAX_AUDIT_ANNOTATION_LENGTH);
    expect(audit['override-writer']).toBe('bob-admin,alice-admin');
    expect(audit['override-source']).toMatch(/^node node-1; node node-2; .*…$/);
    expect(audit['overridden-objects']).toBe('300');
  });
});

// A MachineDeployment's own skip passes its scale-down; the MachineSet controller then DELETEs the Machine it chose
// (syncReplicas), and that DELETE, judged alone with the node's overrides only, was refused for good: the MachineSet
// never converged. The scale-down's answer now carries to the DELETE of exactly the Machines it recorded as going.
describe("Cluster API: the DELETE carrying out a scale-down the owner's override passed", () => {
  const SKIP = { 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-reason': 'data moved', 'volume-guard.io/skip-by': 'admin' };
  const CAPI = { username: 'system:serviceaccount:capi-system:capi-manager', groups: ['system:serviceaccounts'] };
  const scaleDown = deploymentScaleDown(SKIP, 1, 2);
  const deleteMachine = (name: string, nodeName: string) =>
    request({
      kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
      resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
      operation: 'DELETE',
      namespace: 'capi',
      name,
      userInfo: CAPI,
      oldObject: {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Machine',
        metadata: { name, namespace: 'capi', labels: { 'cluster.x-k8s.io/set-name': 'md-0-a', 'cluster.x-k8s.io/deployment-name': 'md-0' } },
        status: { nodeRef: { name: nodeName } },
      },
    });

  it('passes the DELETE of the Machine the allowed scale-down recorded, and no other', () => {
    const model = cluster();
    // Another Machine on node-1, of another MachineDeployment: nothing this scale-down removes.
    model.upsert('machine', machine({ namespace: 'capi', name: 'md-1-a-9', nodeName: 'node-1', machineSet: 'md-1-a', machineDeployment: 'md-1' }));
    expect(validator.handle(deleteMachine('md-0-a-1', 'node-1'), context(model)).allowed).toBe(false);
    const removals: AdmittedRemoval[] = [];
    const scaled = validator.handle(scaleDown, context(model, { removals }));
    expect(scaled.allowed).toBe(true);
    // What the server does with an allowed answer (app.ts): the removals it named count as admitted.
    for (const removal of removals) model.admitRemoval(removal);
    expect(removals.map((removal) => (removal.kind === 'machine' ? removal.name : ''))).toContain('md-0-a-1');
    expect(validator.handle(deleteMachine('md-0-a-1', 'node-1'), context(model)).allowed).toBe(true);
    // A Machine the scale-down did not name, whatever its labels say, is judged as before.
    expect(validator.handle(deleteMachine('md-1-a-9', 'node-1'), context(model)).allowed).toBe(false);
  });

  // getMachinesToDeletePrioritized returns every Machine when the set goes to zero, whatever its deletion order: the
  // old MachineSet of a rollout under Oldest or Newest, scaled to zero on the MachineDeployment's skip, recorded no
  // Machine, and the MachineSet controller's DELETEs were refused: the rollout stalled there.
  it.each(['Oldest', 'Newest'])('a scale to zero under the %s order records every Machine it removes', (order) => {
    const model = cluster();
    const set = (count: number) => ({
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'MachineSet',
      // The MachineDeployment controller's MachineSet: created with md-0 as its controller (getNewMachineSet).
      metadata: {
        name: 'md-0-a',
        namespace: 'capi',
        labels: { 'cluster.x-k8s.io/deployment-name': 'md-0' },
        ownerReferences: [{ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'MachineDeployment', name: 'md-0', uid: 'uid-md-0', controller: true }],
      },
      spec: { replicas: count, deletion: { order } },
    });
    model.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-0', annotations: SKIP }));
    const removals: AdmittedRemoval[] = [];
    const scaled = validator.handle(
      request({
        kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'MachineSet' },
        resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machinesets' },
        operation: 'UPDATE',
        namespace: 'capi',
        name: 'md-0-a',
        userInfo: CAPI,
        object: set(0),
        oldObject: set(2),
      }),
      context(model, { removals }),
    );
    expect(scaled.allowed).toBe(true);
    for (const removal of removals) model.admitRemoval(removal);
    expect(removals.map((removal) => (removal.kind === 'machine' ? removal.name : '')).sort()).toEqual(['md-0-a-1', 'md-0-a-2']);
    expect(validator.handle(deleteMachine('md-0-a-1', 'node-1'), context(model)).allowed).toBe(true);
  });
});
