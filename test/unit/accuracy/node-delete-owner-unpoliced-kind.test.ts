// A Machine owner's skip is read only for a kind volume-guard polices (upgrades.kinds): an owner kind left out of it
// has annotations anyone may write, so neither the cordon nor the Node DELETE of its Machine's node reads them.
import { describe, expect, it } from 'vitest';
import type { Decision, UserInfo } from '../../../src/admission/types.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, cordonRequest, NODE_KIND, request } from '../../support/admission.ts';
import { longhornNode, machine, machineOwner, node, volumeWithReplicas } from '../../support/fixtures.ts';

const CAPI_MANAGER: UserInfo = { username: 'system:serviceaccount:capi-system:capi-manager', groups: ['system:serviceaccounts'] };
const SKIP = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'x' };

function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['h1', 'h2', 'h3']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  const { volume, replicas } = volumeWithReplicas('vol-s', ['h1'], { state: 'detached', numberOfReplicas: 1 });
  model.upsert('longhornVolume', volume);
  for (const replica of replicas) model.upsert('longhornReplica', replica);
  model.upsert('machine', machine({ namespace: 'capi', name: 'm-old-1', nodeName: 'h1', machineSet: 'md-a-old', machineDeployment: 'md-a', deleting: true }));
  model.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-a', annotations: SKIP }));
  return model;
}

// MachineDeployment not guarded: its annotations are not policed by the override guard, so its skip must not count.
function config(): Config {
  const base = defaultConfig();
  return { ...base, upgrades: { ...base.upgrades, kinds: base.upgrades.kinds.filter((k) => k.kind !== 'MachineDeployment') } };
}

describe('node-delete: machine-owner skip honours upgrades.kinds', () => {
  it('the cordon does not read an unguarded MachineDeployment skip', () => {
    const d: Decision = nodeCordonValidator(config()).handle(cordonRequest('h1', {}, CAPI_MANAGER), context(cluster(), { config: config() }));
    expect(d.allowed).toBe(false);
  });
  it('nor does the Node DELETE', () => {
    const d: Decision = nodeCordonValidator(config()).handle(
      request({ ...NODE_KIND, operation: 'DELETE', name: 'h1', userInfo: CAPI_MANAGER, oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'h1', annotations: {} }, spec: {} } }),
      context(cluster(), { config: config() }),
    );
    expect(d.allowed).toBe(false);
  });
});
