// The smoke path: a real `kubectl cordon` through the real API server reaches volume-guard, and what kubectl
// reports is volume-guard's answer.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { createBoundLocalVolume, createNode, createPod, deleteObjects, ensureNamespace } from '../harness/scenario.ts';
import { waitFor } from '../harness/guard.ts';

const guard = inject('guard');
const NS = 'smoke';
const RISKY = 'smoke-node-local';
const SAFE = 'smoke-node-empty';

async function cordonCount(): Promise<number> {
  const text = await (await fetch(`${guard.opsUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('volume_guard_admission_requests_total{') && line.includes('target="node-cordon"'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

async function modelSees(kind: string, minimum: number): Promise<boolean> {
  const text = await (await fetch(`${guard.opsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`volume_guard_model_objects{resource="${kind}"}`));
  return line !== undefined && Number(line.slice(line.lastIndexOf(' ') + 1)) >= minimum;
}

describe('smoke: kubectl cordon through the real API server', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(RISKY);
    await createNode(SAFE);
    await createBoundLocalVolume({ pv: 'smoke-local-pv', node: RISKY, namespace: NS, claim: 'data-db-0' });
    await createPod({ name: 'db-0', namespace: NS, node: RISKY, claims: ['data-db-0'] });
    await waitFor('the model to see the pod', 20_000, () => modelSees('pods', 1));
  });
  afterAll(async () => {
    await kubectl(['uncordon', RISKY]);
    await kubectl(['uncordon', SAFE]);
    await deleteObjects(['pod', 'db-0', '-n', NS, '--grace-period=0', '--force'], ['pvc', 'data-db-0', '-n', NS], ['pv', 'smoke-local-pv'], ['node', RISKY, SAFE]);
  });

  it('denies the cordon of a node holding a local PV in use, and kubectl prints why', async () => {
    const before = await cordonCount();
    const result = await kubectl(['cordon', RISKY]);
    // Upstream kubectl cordon prints the refusal and still exits 0: what it printed and the node's state tell.
    expect(result.stderr).toContain('admission webhook "node-cordon.volume-guard.io" denied the request');
    expect(result.stderr).toContain('[node-local-volume]');
    expect(result.stderr).toContain('smoke-local-pv');
    expect(result.stderr).toContain('smoke/db-0');
    expect(await cordonCount()).toBeGreaterThan(before);
    const node = await kubectl(['get', 'node', RISKY, '-o', 'jsonpath={.spec.unschedulable}']);
    expect(node.stdout).toBe('');
  });

  it('allows the cordon of a node with nothing at risk', async () => {
    const before = await cordonCount();
    const result = await kubectl(['cordon', SAFE]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await cordonCount()).toBeGreaterThan(before);
    const node = await kubectl(['get', 'node', SAFE, '-o', 'jsonpath={.spec.unschedulable}']);
    expect(node.stdout).toBe('true');
  });
});
