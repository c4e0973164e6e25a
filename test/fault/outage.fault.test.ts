// API server outage under load: a volume-guard with a 5 s staleness bound serves a steady cordon load (autocannon
// plus an accounting client) while the harness API server is stopped for 30 s and started again.
// - volume-guard never crashes and answers every request (no errors, no 5xx);
// - once the model is older than model.maxStalenessSeconds, a cordon is denied by the stale policy ("stale");
// - after the restart the model reconverges: objects deleted and created right after the API server returns
//   (before the informers have reconnected) show in decisions, and the staleness clears.
// It stops the shared API server for ~40 s: run it sparingly while others use the cluster.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { restartApiServer } from '../harness/cluster.ts';
import { startGuard, waitFor, type GuardInstance } from '../harness/guard.ts';
import { createNode, createPodOnLocalVolume, deleteObjects, ensureNamespace } from '../harness/scenario.ts';
import { RequestLoop, cordonReview, postReview, round, startAutocannon, type AdmissionAnswer } from './lib/admission-load.ts';

const cluster = inject('cluster');
const sharedGuard = inject('guard');
const NS = 'fault-outage';
/** Holds a local PV in use before the outage; deleted as soon as the API server is back. */
const NODE_BEFORE = 'fault-outage-before';
/** Gets a local PV in use as soon as the API server is back. */
const NODE_AFTER = 'fault-outage-after';
/** Nothing on it: its cordon is allowed while the model is fresh, and denied as "stale" while it is not. */
const PROBE = 'fault-outage-probe';
const MAX_STALENESS_SECONDS = 5;
const DOWN_SECONDS = 30;

let guard: GuardInstance;
let port: number;

function postCordon(node: string): Promise<AdmissionAnswer> {
  return postReview({ port, ca: guard.caPem, path: '/validate/node-cordon', body: cordonReview(node, `probe-${node}`) });
}

async function modelAges(opsUrl = guard.opsUrl): Promise<Record<string, number>> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  const ages: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^volume_guard_model_age_seconds\{resource="([^"]+)"\} (\S+)$/.exec(line);
    if (match) ages[match[1]!] = Number(match[2]);
  }
  return ages;
}

describe('API server outage under load', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE_BEFORE);
    await createNode(NODE_AFTER);
    await createPodOnLocalVolume({ pod: 'db-before', node: NODE_BEFORE, namespace: NS, pv: 'fault-outage-pv-before', claim: 'data-before' });
    guard = await startGuard(cluster, { name: `fault-outage-${process.pid}`, config: { model: { maxStalenessSeconds: MAX_STALENESS_SECONDS } } });
    port = Number(new URL(guard.url).port);
    await waitFor('the model to see the local PV in use', 30_000, async () => !(await postCordon(NODE_BEFORE)).allowed);
  });

  afterAll(async () => {
    await guard?.stop();
    await deleteObjects(
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', 'fault-outage-pv-before', 'fault-outage-pv-after'],
      ['node', NODE_BEFORE, NODE_AFTER],
    );
  });

  it('keeps answering, applies the stale policy past the bound, and reconverges after the restart', { timeout: 300_000 }, async () => {
    expect((await postCordon(PROBE)).allowed).toBe(true);
    const cannon = startAutocannon({ url: `${guard.url}/validate/node-cordon`, body: cordonReview(PROBE), connections: 4, overallRate: 100 });
    const timeline: { at: number; allowed: boolean; message: string }[] = [];
    const probe = new RequestLoop({
      port,
      path: '/validate/node-cordon',
      body: cordonReview(PROBE, 'outage-probe'),
      ca: guard.caPem,
      concurrency: 1,
      keepAlive: true,
      pauseMs: 200,
      onAnswer: (answer, at) => timeline.push({ at, allowed: answer.allowed, message: answer.message }),
    }).start();

    await waitFor('the probe to be answered while the API server is up', 20_000, async () => timeline.length >= 3, 100);
    const log = (line: string) => process.stderr.write(`[outage] ${line}\n`);
    let downAt = 0;
    // Watches break as the stop begins: staleness counts from here, not from when the process has exited.
    const stopRequestedAt = Date.now();
    await restartApiServer({ downSeconds: DOWN_SECONDS, log, onDown: () => void (downAt = Date.now()) });
    const upAt = Date.now();

    // Right away, as the informers reconnect: a deletion and a creation to catch up on.
    await deleteObjects(['pod', 'db-before', '-n', NS, '--grace-period=0', '--force'], ['pvc', 'data-before', '-n', NS], ['pv', 'fault-outage-pv-before']);
    await createPodOnLocalVolume({ pod: 'db-after', node: NODE_AFTER, namespace: NS, pv: 'fault-outage-pv-after', claim: 'data-after' });
    const changedAt = Date.now();

    await waitFor('the stale policy to lift', 120_000, async () => timeline.some((entry) => entry.at > upAt && entry.allowed), 250);
    const recoveredAt = timeline.find((entry) => entry.at > upAt && entry.allowed)!.at;
    await waitFor('the deletion to show', 120_000, async () => (await postCordon(NODE_BEFORE)).allowed, 500);
    const deletionSeenAt = Date.now();
    let afterAnswer: AdmissionAnswer | undefined;
    await waitFor('the creation to show', 120_000, async () => !(afterAnswer = await postCordon(NODE_AFTER)).allowed, 500);
    const creationSeenAt = Date.now();
    await waitFor('every informer to be fresh again', 60_000, async () => Object.values(await modelAges()).every((age) => age <= MAX_STALENESS_SECONDS), 500);
    const ages = await modelAges();
    // The suite's shared instance went through the same outage: the files after this one need it fresh.
    await waitFor('the shared volume-guard to be fresh again', 90_000, async () => Object.values(await modelAges(sharedGuard.opsUrl)).every((age) => age <= 5), 500);

    cannon.stop();
    const [load, stats] = await Promise.all([cannon.result, probe.stop()]);
    const during = timeline.filter((entry) => entry.at >= stopRequestedAt && entry.at <= upAt);
    const stale = during.filter((entry) => !entry.allowed && entry.message.includes('stale'));
    const firstStale = stale[0]?.at;
    const before = timeline.filter((entry) => entry.at < stopRequestedAt);

    console.log(
      `[fault] API server outage under load: ${JSON.stringify({
        downSeconds: round((upAt - downAt) / 1000),
        maxStalenessSeconds: MAX_STALENESS_SECONDS,
        staleDenialAfterStopSeconds: firstStale === undefined ? null : round((firstStale - stopRequestedAt) / 1000),
        answersDuringOutage: during.length,
        staleDenialsDuringOutage: stale.length,
        recoveredAfterApiReadySeconds: round((recoveredAt - upAt) / 1000),
        deletionSeenAfterSeconds: round((deletionSeenAt - changedAt) / 1000),
        creationSeenAfterSeconds: round((creationSeenAt - changedAt) / 1000),
        autocannon: { requests: load['2xx'], errors: load.errors, timeouts: load.timeouts, non2xx: load.non2xx, p99Ms: load.latency.p99 },
        probeFailures: stats.failures.length,
      })}`,
    );

    // No crash, every request answered.
    expect(guard.process.exitCode).toBeNull();
    expect((await fetch(`${guard.opsUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${sharedGuard.opsUrl}/healthz`)).status).toBe(200);
    expect(stats.failures).toEqual([]);
    expect(load.errors).toBe(0);
    expect(load.timeouts).toBe(0);
    expect(load.non2xx).toBe(0);
    // Fresh before, stale (deny, the default policy) once the bound passed, with the reason in the message.
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((entry) => entry.allowed)).toBe(true);
    expect(stale.length).toBeGreaterThan(0);
    expect(firstStale! - stopRequestedAt).toBeGreaterThanOrEqual(MAX_STALENESS_SECONDS * 1000 - 500);
    expect(stale[0]!.message).toMatch(/cannot judge the cordon of node fault-outage-probe: volume-guard's view of the cluster is stale/);
    // Reconverged: the PV deleted and the one created after the restart decide the cordons; nothing is stale.
    expect(afterAnswer?.message).toContain('fault-outage-pv-after');
    expect(Object.values(ages).every((age) => age <= MAX_STALENESS_SECONDS)).toBe(true);
  });
});
