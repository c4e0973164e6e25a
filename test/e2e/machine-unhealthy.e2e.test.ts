// A MachineSet scale-down removes the unhealthy Machines (no node, or NodeHealthy / HealthCheckSucceeded False)
// together with those without a node, by name, before any healthy one (Cluster API's delete priority). Through the
// real API server and kubectl: a Machine whose node holds a local PV and reports NodeHealthy False, sorting before a
// Machine without a node, is the one removed, so `kubectl scale` is refused naming it; so is it while it updates in
// place (ranked before unhealthy ones); once healthy and done, the Machine without a node goes and the scale-down passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createNode, createPodOnLocalVolume, deleteObjects, ensureNamespace, eventually, must, patchStatus } from '../harness/scenario.ts';

const NS = 'e2e-machine-unhealthy';
const DATA = 'mu-data';
const CLEAN = 'mu-clean';
const SET = 'mu-ms';

const machine = (name: string) => ({
  apiVersion: 'cluster.x-k8s.io/v1beta2',
  kind: 'Machine',
  metadata: { name, namespace: NS, labels: { 'cluster.x-k8s.io/set-name': SET } },
  spec: { clusterName: 'c1' },
});

async function nodeHealthy(status: 'True' | 'False'): Promise<void> {
  const condition = { type: 'NodeHealthy', status, reason: status === 'True' ? 'NodeReady' : 'NodeNotReady', lastTransitionTime: new Date().toISOString() };
  await patchStatus('machines.cluster.x-k8s.io', 'mu-a-data', { nodeRef: { name: DATA }, conditions: [condition] }, NS);
}

describe('a MachineSet scale-down reaches unhealthy Machines with a node', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(CLEAN);
    await createPodOnLocalVolume({ pod: 'db-0', node: DATA, namespace: NS, pv: 'mu-data-pv', claim: 'data-db-0' });
    await apply(machine('mu-a-data'), machine('mu-b-new'), machine('mu-c-clean'), {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'MachineSet',
      metadata: { name: SET, namespace: NS },
      spec: { clusterName: 'c1', replicas: 3 },
    });
    // mu-b-new has no node yet; mu-a-data's node is not healthy.
    await nodeHealthy('False');
    await patchStatus('machines.cluster.x-k8s.io', 'mu-c-clean', { nodeRef: { name: CLEAN } }, NS);
  }, 120_000);

  afterAll(async () => {
    for (const node of [DATA, CLEAN]) {
      await kubectl(['annotate', 'node', node, '--overwrite', 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=e2e cleanup', 'volume-guard.io/skip-by=admin']);
    }
    await eventually(() => kubectl(['delete', 'machines.cluster.x-k8s.io', '--all', '-n', NS]), (r) => r.code === 0);
    await deleteObjects(
      ['machinesets.cluster.x-k8s.io', '--all', '-n', NS],
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', 'mu-data-pv'],
      ['node', DATA, CLEAN],
    );
  });

  it('refused while the unhealthy Machine sorts first; allowed once it is healthy (the nodeless one goes)', async () => {
    const refused = await eventually(() => kubectl(['scale', 'machinesets.cluster.x-k8s.io', SET, '-n', NS, '--replicas=2', '--dry-run=server']), (r) => r.code !== 0);
    expect(refused.stderr).toContain('admission webhook "machine.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`scale-down of MachineSet ${NS}/${SET} from 3 to 2`);
    expect(refused.stderr).toContain(`mu-a-data on node ${DATA}`);
    expect(refused.stderr).toContain('mu-data-pv');
    await nodeHealthy('True');
    // Healthy, but updating in place (Cluster API v1.12): it still goes before the Machine without a node.
    await must(kubectl(['annotate', 'machines.cluster.x-k8s.io', 'mu-a-data', '-n', NS, 'in-place-updates.internal.cluster.x-k8s.io/update-in-progress=']), 'in-place');
    const updating = await eventually(
      () => kubectl(['scale', 'machinesets.cluster.x-k8s.io', SET, '-n', NS, '--replicas=2', '--dry-run=server']),
      (r) => r.stderr.includes('updating in place'),
    );
    expect(updating.stderr).toContain(`mu-a-data on node ${DATA}`);
    await must(kubectl(['annotate', 'machines.cluster.x-k8s.io', 'mu-a-data', '-n', NS, 'in-place-updates.internal.cluster.x-k8s.io/update-in-progress-']), 'in-place done');
    const scaled = await eventually(() => kubectl(['scale', 'machinesets.cluster.x-k8s.io', SET, '-n', NS, '--replicas=2']), (r) => r.code === 0);
    expect(scaled.code, scaled.stderr).toBe(0);
    const replicas = await must(kubectl(['get', 'machinesets.cluster.x-k8s.io', SET, '-n', NS, '-o', 'jsonpath={.spec.replicas}']), 'replicas');
    expect(replicas.stdout).toBe('2');
  });
});
