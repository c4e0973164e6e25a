// Issue 16 on the real API server, through the volume-guard instance the e2e setup registered: the risk gauges
// follow what the informers see (a node-local PV appearing, a skip annotation, the PV going), and a denied cordon
// or eviction leaves a Warning Event on the Node or Pod that `kubectl describe` shows. Files run one after another
// against one API server: the gauges are compared before and after this file's own changes.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { metricValue } from '../harness/guard.ts';
import { createBoundLocalVolume, createNode, createPod, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const guard = inject('guard');
const NS = 'obs-events';
const NODE = 'obs-ev-node';
const POD = 'obs-ev-db-0';

async function gauge(series: string): Promise<number> {
  return metricValue(guard, series);
}

interface EventItem {
  metadata: { name: string; namespace: string };
  reason: string;
  type: string;
  note?: string;
  action?: string;
  reportingController?: string;
  regarding?: { kind: string; name: string; namespace?: string; uid?: string };
}

/** This run's events about the object: earlier runs leave events about an earlier object of the same name. */
async function eventsAbout(kind: string, name: string, uid: string): Promise<EventItem[]> {
  const result = await must(kubectl(['get', 'events.v1.events.k8s.io', '-A', '-o', 'json']), 'list events');
  const items = (JSON.parse(result.stdout) as { items: EventItem[] }).items;
  return items.filter((event) => event.reason === 'DataLossRisk' && event.regarding?.kind === kind && event.regarding.name === name && event.regarding.uid === uid);
}

beforeAll(async () => {
  await ensureNamespace(NS);
});

afterAll(async () => {
  await deleteObjects(['pod', POD, '-n', NS, '--force', '--grace-period=0'], ['pvc', 'obs-ev-data', '-n', NS], ['pv', 'obs-ev-pv'], ['node', NODE]);
});

describe('risk gauges follow the cluster', { timeout: 120_000 }, () => {
  const atRisk = 'volume_guard_at_risk_volumes{check="node-local-volume"}';
  const blocked = 'volume_guard_nodes_blocked{check="node-local-volume"}';
  const overrides = 'volume_guard_active_overrides{kind="Node",check="node-local-volume"}';
  let before = { atRisk: 0, blocked: 0, overrides: 0 };

  it('count a node-local PV and the node it blocks, and an override', async () => {
    before = { atRisk: await gauge(atRisk), blocked: await gauge(blocked), overrides: await gauge(overrides) };
    await createNode(NODE);
    await createBoundLocalVolume({ pv: 'obs-ev-pv', node: NODE, namespace: NS, claim: 'obs-ev-data' });
    await createPod({ name: POD, namespace: NS, node: NODE, claims: ['obs-ev-data'] });
    expect(await eventually(() => gauge(atRisk), (value) => value === before.atRisk + 1)).toBe(before.atRisk + 1);
    expect(await eventually(() => gauge(blocked), (value) => value === before.blocked + 1)).toBe(before.blocked + 1);

    // A skip annotation on the node: the cordon would pass, the risk stays.
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=e2e', 'volume-guard.io/skip-by=admin']), 'annotate');
    expect(await eventually(() => gauge(blocked), (value) => value === before.blocked)).toBe(before.blocked);
    expect(await eventually(() => gauge(overrides), (value) => value === before.overrides + 1)).toBe(before.overrides + 1);
    expect(await gauge(atRisk)).toBe(before.atRisk + 1);
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip-', 'volume-guard.io/skip-reason-']), 'remove the annotation');
    expect(await eventually(() => gauge(blocked), (value) => value === before.blocked + 1)).toBe(before.blocked + 1);
    expect(await eventually(() => gauge(overrides), (value) => value === before.overrides)).toBe(before.overrides);
    expect(await gauge('volume_guard_risk_pending_evaluations')).toBeGreaterThanOrEqual(0);
  });
});

describe('Events for denied requests', { timeout: 120_000 }, () => {
  it('a refused cordon leaves a Warning on the Node that kubectl describe shows, once for repeats', async () => {
    const uid = (await must(kubectl(['get', 'node', NODE, '-o', 'jsonpath={.metadata.uid}']), 'node uid')).stdout.trim();
    // kubectl cordon prints the refusal and exits 0 (upstream behaviour); the node stays schedulable.
    const cordon = await kubectl(['cordon', NODE]);
    expect(cordon.stderr + cordon.stdout).toMatch(/denied the request/);
    const events = await eventually(() => eventsAbout('Node', NODE, uid), (found) => found.length > 0);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'Warning',
      reason: 'DataLossRisk',
      action: 'Cordon',
      reportingController: 'volume-guard.io/admission',
      metadata: { namespace: 'default' },
      regarding: { kind: 'Node', name: NODE, uid },
    });
    expect(events[0]?.note).toMatch(/^cordon by .+ denied: .*node-local-volume/);
    const describe = await must(kubectl(['describe', 'node', NODE]), 'describe node');
    expect(describe.stdout).toMatch(/Warning\s+DataLossRisk\s+.*volume-guard\.io\/admission/);

    // Repeats are counted into the same event, not new ones; a dry run records nothing.
    await kubectl(['cordon', NODE]);
    await kubectl(['cordon', NODE, '--dry-run=server']);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await eventsAbout('Node', NODE, uid)).toHaveLength(1);
    expect(await gauge('volume_guard_events_total{outcome="aggregated"}')).toBeGreaterThanOrEqual(1);
  });

  it("a dry-run eviction (kubectl drain --dry-run=server puts it in deleteOptions) is refused but records nothing", async () => {
    const uid = (await must(kubectl(['get', 'pod', POD, '-n', NS, '-o', 'jsonpath={.metadata.uid}']), 'pod uid')).stdout.trim();
    const body = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: POD, namespace: NS }, deleteOptions: { dryRun: ['All'] } };
    const eviction = await tempFile('obs-eviction-dry.json', JSON.stringify(body));
    const evicted = await kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${POD}/eviction`, '-f', eviction]);
    expect(evicted.code).not.toBe(0);
    expect(evicted.stderr).toMatch(/node-local-volume/);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await eventsAbout('Pod', POD, uid)).toHaveLength(0);
  });

  it('a refused eviction leaves a Warning on the Pod, with its uid, in its namespace', async () => {
    const uid = (await must(kubectl(['get', 'pod', POD, '-n', NS, '-o', 'jsonpath={.metadata.uid}']), 'pod uid')).stdout.trim();
    const eviction = await tempFile('obs-eviction.json', JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: POD, namespace: NS } }));
    const evicted = await kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${POD}/eviction`, '-f', eviction]);
    expect(evicted.code).not.toBe(0);
    expect(evicted.stderr).toMatch(/node-local-volume/);
    const events = await eventually(() => eventsAbout('Pod', POD, uid), (found) => found.length > 0);
    expect(events[0]).toMatchObject({ action: 'Evict', metadata: { namespace: NS }, regarding: { kind: 'Pod', name: POD, namespace: NS, uid } });
    const describe = await must(kubectl(['describe', 'pod', POD, '-n', NS]), 'describe pod');
    expect(describe.stdout).toMatch(/Warning\s+DataLossRisk/);
  });
});

describe('risk gauges when the risk goes away', { timeout: 120_000 }, () => {
  it('drop the PV and the node it blocked', async () => {
    const atRisk = 'volume_guard_at_risk_volumes{check="node-local-volume"}';
    const blocked = 'volume_guard_nodes_blocked{check="node-local-volume"}';
    const risk = await gauge(atRisk);
    const nodes = await gauge(blocked);
    // The pv-protection finalizer keeps a PV while a claim is bound to it: the claim goes too (after its pod).
    // Deleted by another person than the one whose cordon of the node was refused above: the admin's own pod DELETEs
    // there count as that drain going on for a while (kubectl drain --disable-eviction), another user's are restarts.
    const other = ['--as=obs-cleanup', '--as-group=system:masters'];
    await deleteObjects(['pod', POD, '-n', NS, '--force', '--grace-period=0', ...other], ['pvc', 'obs-ev-data', '-n', NS, ...other], ['pv', 'obs-ev-pv', ...other]);
    expect(await eventually(() => gauge(atRisk), (value) => value === risk - 1)).toBe(risk - 1);
    expect(await eventually(() => gauge(blocked), (value) => value === nodes - 1)).toBe(nodes - 1);
  });
});
