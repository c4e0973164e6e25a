// A refused Cluster API scale-down reads like a node's removal: a verdict line within the width naming the Machine and
// its node, which Machines Cluster API removes on a line of its own, the node named in the consequences, the fix
// ending with the scale to run again, and the override with the placeholder every denial uses.
import { describe, expect, it } from 'vitest';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { MAX_LINE_LENGTH } from '../../../src/admission/messages.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, machine, node, volumeWithReplicas } from '../../support/fixtures.ts';

/** md-0's Machines md-0-a (node w1, holding a single-replica volume) and md-0-b (node w2). */
function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  for (const name of ['w1', 'w2']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  const lh = volumeWithReplicas('vol-0', ['w1'], { numberOfReplicas: 1, pvcNamespace: 'shop', pvcName: 'data-0' });
  model.upsert('longhornVolume', lh.volume);
  for (const replica of lh.replicas) model.upsert('longhornReplica', replica);
  model.upsert('machine', machine({ namespace: 'capi', name: 'md-0-a', nodeName: 'w1', machineSet: 'md-0-s', machineDeployment: 'md-0' }));
  model.upsert('machine', machine({ namespace: 'capi', name: 'md-0-b', nodeName: 'w2', machineSet: 'md-0-s', machineDeployment: 'md-0' }));
  return model;
}

function scaleDown(resource: 'machinedeployments' | 'machinesets', name: string, subResource?: 'scale') {
  return request({
    kind: subResource ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: resource === 'machinesets' ? 'MachineSet' : 'MachineDeployment' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource },
    ...(subResource ? { subResource } : {}),
    operation: 'UPDATE',
    namespace: 'capi',
    name,
    object: { metadata: { name }, spec: { replicas: 1 } },
    oldObject: { metadata: { name }, spec: { replicas: 2 } },
  });
}

const validator = machineValidator(defaultConfig());

describe("a refused Cluster API scale-down's wording", () => {
  it('opens with a short verdict, then which Machines Cluster API removes, then that the node goes with its disks', () => {
    const message = validator.handle(scaleDown('machinedeployments', 'md-0'), context(cluster())).status?.message ?? '';
    const [verdict, how, note] = message.split('\n');
    expect(verdict).toBe('volume-guard refused the scale-down of MachineDeployment capi/md-0 from 2 to 1, which removes Machine md-0-a on node w1: 2 risks of data loss.');
    expect(how).toBe(
      'Cluster API removes the Machines marked cluster.x-k8s.io/delete-machine, updating in place or unhealthy first, then the others by name (deletion order Random).',
    );
    expect(note).toBe('The node is removed, not only emptied: what is kept on its disks goes with it.');
    for (const line of message.split('\n')) if (!line.includes('kubectl annotate')) expect(line.length).toBeLessThanOrEqual(MAX_LINE_LENGTH);
  });

  it('names the node in the heading and consequence, and ends the fix with the scale to run again', () => {
    const message = validator.handle(scaleDown('machinedeployments', 'md-0'), context(cluster())).status?.message ?? '';
    expect(message).toContain('[last-replica-on-node] 1 Longhorn volume has its only healthy replica on w1');
    expect(message).toContain('its only copy is on w1');
    expect(message).not.toContain('on one node');
    expect(message.replace(/\n\s+/g, ' ')).toContain('then scale MachineDeployment capi/md-0 to 1 again.');
  });

  it('advises marking the other Machine, or the node skip with the placeholder every denial uses', () => {
    const message = validator.handle(scaleDown('machinedeployments', 'md-0'), context(cluster())).status?.message ?? '';
    expect(message).toContain(
      '  annotate the Machine to remove instead: kubectl annotate machines.cluster.x-k8s.io md-0-b -n capi cluster.x-k8s.io/delete-machine=yes, ' +
        'or kubectl annotate node w1 volume-guard.io/skip=last-replica-on-node,single-replica volume-guard.io/skip-reason="<why>" volume-guard.io/skip-by="<you>"',
    );
    expect(message).not.toContain('<your user name>');
    expect(message).not.toContain('or run:');
  });

  it('through the scale subresource (any Machine may go): "may remove", and the node skip alone when every Machine is at risk', () => {
    const model = cluster();
    const other = volumeWithReplicas('vol-1', ['w2'], { numberOfReplicas: 1, pvcNamespace: 'shop', pvcName: 'data-1' });
    model.upsert('longhornVolume', other.volume);
    for (const replica of other.replicas) model.upsert('longhornReplica', replica);
    const message = validator.handle(scaleDown('machinesets', 'md-0-s', 'scale'), context(model)).status?.message ?? '';
    expect(message.split('\n')[0]).toMatch(/^volume-guard refused the scale-down of MachineSet capi\/md-0-s from 2 to 1, which may remove Machine md-0-a on node w1: risks of data loss on 2 Machines' nodes/);
    expect(message.split('\n')[1]).toBe('Cluster API may remove any of its Machines (fewer than 1 marked cluster.x-k8s.io/delete-machine).');
    expect(message.replace(/\n\s+/g, ' ')).toContain('then scale MachineSet capi/md-0-s to 1 again.');
    expect(message).toContain('\n  kubectl annotate node w1 volume-guard.io/skip=last-replica-on-node,single-replica volume-guard.io/skip-reason="<why>" volume-guard.io/skip-by="<you>"');
  });
});
