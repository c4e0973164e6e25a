// Through the real API server and kubectl: evictions on cordoned nodes, where the node-wide checks find the data of
// every namespace on the node. Namespace A carries `volume-guard.io/skip-evictions: "*"` (written by an allowed
// writer, through the override guard); it waives the risks to A's own data, never to namespace B's: evicting A's pod
// from a node holding B's local PV stays refused, and the refusal names nothing of B. On a node holding only A's
// data, A's override lets the eviction through.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { apply, createBoundLocalVolume, createPod, deleteObjects, ensureNamespace, eventually } from '../harness/scenario.ts';

const A = 'e2e-evns-a';
const B = 'e2e-evns-b';
const MIXED = 'evns-mixed'; // cordoned: A's local PV and B's local PV
const OWN = 'evns-own'; // cordoned: A's local PV only

async function evictDryRun(namespace: string, pod: string) {
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace }, deleteOptions: { dryRun: ['All'] } };
  const file = await tempFile(`evns-${pod}-${process.pid}.json`, JSON.stringify(eviction));
  return kubectl(['create', '--raw', `/api/v1/namespaces/${namespace}/pods/${pod}/eviction`, '-f', file]);
}

describe("a namespace's skip-evictions reaches its own data only, and an eviction names nothing of another namespace", () => {
  beforeAll(async () => {
    await ensureNamespace(A);
    await ensureNamespace(B);
    await kubectl(['annotate', 'namespace', A, '--overwrite', 'volume-guard.io/skip-evictions=*', 'volume-guard.io/skip-reason=team A backed up', 'volume-guard.io/skip-by=admin']);
    for (const node of [MIXED, OWN]) {
      await apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: node, labels: { 'kubernetes.io/hostname': node } }, spec: { unschedulable: true } });
    }
    await createBoundLocalVolume({ pv: 'evns-a-pv', node: MIXED, namespace: A, claim: 'data-a' });
    await createPod({ name: 'a-db', namespace: A, node: MIXED, claims: ['data-a'] });
    await createPod({ name: 'a-web', namespace: A, node: MIXED });
    await createBoundLocalVolume({ pv: 'evns-b-pv', node: MIXED, namespace: B, claim: 'secret-ledger' });
    await createPod({ name: 'ledger-0', namespace: B, node: MIXED, claims: ['secret-ledger'] });
    await createBoundLocalVolume({ pv: 'evns-own-pv', node: OWN, namespace: A, claim: 'data-own' });
    await createPod({ name: 'a-own-db', namespace: A, node: OWN, claims: ['data-own'] });
    await createPod({ name: 'a-own-web', namespace: A, node: OWN });
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(
      ['pod', '--all', '-n', A, '--grace-period=0', '--force'],
      ['pod', '--all', '-n', B, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', A],
      ['pvc', '--all', '-n', B],
      ['pv', 'evns-a-pv', 'evns-b-pv', 'evns-own-pv'],
      ['node', MIXED, OWN],
    );
    await kubectl(['annotate', 'namespace', A, 'volume-guard.io/skip-evictions-', 'volume-guard.io/skip-reason-', 'volume-guard.io/skip-by-']);
  });

  it("evicting A's pod from the node holding B's local PV is refused, without naming B's objects", async () => {
    const refused = await eventually(() => evictDryRun(A, 'a-web'), (r) => r.stderr.includes('of another namespace'));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('[node-local-volume]');
    expect(refused.stderr).toContain('PV of another namespace: keeps data on node evns-mixed only (names withheld: volume-guard audit --node evns-mixed)');
    for (const name of [B, 'evns-b-pv', 'secret-ledger', 'ledger-0']) expect(refused.stderr).not.toContain(name);
    // A's own PV was waived by A's override: not among the refusal's objects.
    expect(refused.stderr).not.toContain('evns-a-pv');
    expect(refused.stderr).toContain('1 risk of data loss');
  });

  it("evicting B's pod there names B's PV and withholds A's (A's override does not reach B's eviction either)", async () => {
    const refused = await evictDryRun(B, 'ledger-0');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('evns-b-pv');
    expect(refused.stderr).not.toContain('evns-a-pv');
    expect(refused.stderr).not.toContain(A);
  });

  it("on a node holding only A's data, A's override lets A's evictions through", async () => {
    const allowed = await eventually(() => evictDryRun(A, 'a-own-web'), (r) => r.code === 0);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stderr).toContain(`overridden by namespace ${A}`);
  });
});
