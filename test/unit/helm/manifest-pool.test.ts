// Release records read in worker threads with a deadline: a hostile manifest costs its own request a denial with a
// reason, within the deadline, while the event loop and the other workers keep answering.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { MANIFEST_WORKER_NICE, ManifestPool } from '../../../src/helm/manifest-pool.ts';
import { ELIDED_PREFIX } from '../../../src/json-bytes.ts';
import { context, request } from '../../support/admission.ts';
import { devlakeManifest, releaseSecret } from './helm-fixtures.ts';
import { COLLECT_MS } from './scripted-worker.ts';

const SCRIPTED_WORKER = new URL('./scripted-worker.ts', import.meta.url);

const NS = 'devlake';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The thread that read a record (the scripted worker's answer). */
function threadOf(outcome: Awaited<ReturnType<ManifestPool['read']>>): number {
  return outcome.ok ? -1 : (JSON.parse(outcome.reason) as { threadId: number }).threadId;
}

/** A StatefulSet document within every size and nesting limit whose flow collections take the YAML reader seconds. */
function hostileManifest(): string {
  const unit = `${'['.repeat(90)}${']'.repeat(90)},`;
  const body = unit.repeat(Math.floor(900_000 / unit.length));
  return `---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec: {a: [${body}]}\n`;
}

function secretFor(manifest: string, name = 'devlake'): unknown {
  return releaseSecret({ name, namespace: NS, version: 1, status: 'pending-install', manifest });
}

const pools: ManifestPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
});

describe('ManifestPool', () => {
  it('answers a record nested too deeply to hand to a worker as unreadable, and keeps the worker for the next', async () => {
    const pool = new ManifestPool({ workers: 1, deadlineMs: 10_000, queue: 4 });
    pools.push(pool);
    let deep: unknown = 1;
    for (let level = 0; level < 200_000; level++) deep = [deep];
    const secret = { ...(secretFor(devlakeManifest()) as Record<string, unknown>), apiVersion: deep };
    const refused = await pool.read({ object: secret, namespace: NS });
    expect(refused).toMatchObject({ ok: false, failure: 'decode' });
    if (!refused.ok) expect(refused.reason).toMatch(/^release record not readable: /);
    const next = await pool.read({ object: secretFor(devlakeManifest()), namespace: NS });
    expect(next.ok).toBe(true);
  });

  it.runIf(existsSync('/proc/self/task'))('runs its workers at a lower CPU priority than the event loop', async () => {
    const niceOf = (tid: string): number => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    };
    const before = new Set(readdirSync('/proc/self/task'));
    const pool = new ManifestPool({ workers: 1, deadlineMs: 10_000, queue: 4 });
    pools.push(pool);
    expect((await pool.read({ object: secretFor(devlakeManifest()), namespace: NS })).ok).toBe(true);
    const started = readdirSync('/proc/self/task').filter((tid) => !before.has(tid));
    // The worker's own thread is niced; this thread (the one that created it) is not.
    expect(started.map(niceOf)).toContain(MANIFEST_WORKER_NICE);
    expect(niceOf(readlinkSync('/proc/thread-self').split('/').at(-1)!)).toBe(0);
  });

  it('lets a worker go after idleMs without a record, and starts one again for the next', async () => {
    const pool = new ManifestPool({ workers: 2, deadlineMs: 10_000, queue: 4, idleMs: 150 });
    pools.push(pool);
    // Two namespaces: one namespace's records hold one of two workers at most.
    const reads = [
      pool.read({ object: secretFor(devlakeManifest()), namespace: NS }),
      pool.read({ object: secretFor(devlakeManifest(), 'other'), namespace: 'other' }),
    ];
    // Read while both are at work: once one is done it may go before the other (a slow start on a loaded machine).
    expect(pool.size).toBe(2);
    const [first, second] = await Promise.all(reads);
    expect(first!.ok && second!.ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(pool.size).toBe(0);
    expect((await pool.read({ object: secretFor(devlakeManifest()), namespace: NS })).ok).toBe(true);
    expect(pool.size).toBe(1);
  });

  it('keeps a worker that gets its next record before idleMs', async () => {
    const pool = new ManifestPool({ workers: 1, deadlineMs: 10_000, queue: 4, idleMs: 400 });
    pools.push(pool);
    for (let i = 0; i < 4; i++) {
      expect((await pool.read({ object: secretFor(devlakeManifest()), namespace: NS })).ok).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const [heap] = await pool.heapStatistics();
    expect(pool.size).toBe(1);
    expect(heap?.usedBytes).toBeGreaterThan(0);
  });

  it('gives no record to a worker while it collects: the next goes to another worker, or waits for the first done', async () => {
    const pool = new ManifestPool({ workers: 2, deadlineMs: 10_000, queue: 4, workerUrl: SCRIPTED_WORKER, compactAfterIdleMs: 60_000 });
    pools.push(pool);
    const read = async () => {
      const started = performance.now();
      const outcome = await pool.read({ object: {}, namespace: NS });
      const ended = performance.now();
      return { thread: outcome.ok ? -1 : (JSON.parse(outcome.reason) as { threadId: number }).threadId, ms: ended - started, ended };
    };
    // Both workers started and done collecting first: a thread's start-up (slow on a loaded machine) must not
    // outlast the scripted collection and blur what is measured below.
    await read();
    await read();
    expect(pool.size).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, COLLECT_MS + 200));
    const first = await read();
    const second = await read();
    // The first worker announced a collection with its answer: the second record went to the other worker.
    expect(second.thread).not.toBe(first.thread);
    expect(pool.size).toBe(2);
    // Both collecting: the third record waits for the first of them to be done (COLLECT_MS after its answer,
    // however long the second took), and is answered then.
    const third = await read();
    expect([first.thread, second.thread]).toContain(third.thread);
    expect(third.ended - first.ended).toBeGreaterThanOrEqual(COLLECT_MS * 0.9);
    expect(third.ms).toBeLessThan(COLLECT_MS + 2_000);
  });

  it('has a record wait for a worker ending a short collection, not for a thread started for it, and starts one', async () => {
    process.env.VOLUME_GUARD_TEST_COLLECT_MS = '1';
    try {
      const pool = new ManifestPool({ workers: 2, deadlineMs: 10_000, queue: 4, workerUrl: SCRIPTED_WORKER, compactAfterIdleMs: 60_000 });
      pools.push(pool);
      const threadOf = (outcome: Awaited<ReturnType<ManifestPool['read']>>) => (outcome.ok ? -1 : (JSON.parse(outcome.reason) as { threadId: number }).threadId);
      const first = threadOf(await pool.read({ object: {}, namespace: NS }));
      expect(pool.size).toBe(1);
      // The only worker collects (1 ms): the record waits for it, and a second worker starts meanwhile.
      const second = threadOf(await pool.read({ object: {}, namespace: NS }));
      expect(second).toBe(first);
      expect(pool.size).toBe(2);
    } finally {
      delete process.env.VOLUME_GUARD_TEST_COLLECT_MS;
    }
  });

  it('with its queue full, hands a record to a worker that is only collecting rather than refusing it as busy', async () => {
    const pool = new ManifestPool({ workers: 1, deadlineMs: 10_000, queue: 0, workerUrl: SCRIPTED_WORKER, compactAfterIdleMs: 60_000 });
    pools.push(pool);
    expect((await pool.read({ object: {}, namespace: NS })).ok).toBe(false);
    const started = performance.now();
    const second = await pool.read({ object: {}, namespace: NS });
    expect(!second.ok && second.failure).toBe('decode');
    expect(performance.now() - started).toBeGreaterThanOrEqual(COLLECT_MS / 2);
    // A record beyond that (the worker now holds one) is refused as busy.
    const third = pool.read({ object: {}, namespace: NS });
    const fourth = await pool.read({ object: {}, namespace: NS });
    expect(!fourth.ok && fourth.failure).toBe('busy');
    expect(!(await third).ok && (await third as { failure: string }).failure).toBe('decode');
  });

  it('has an idle worker shrink its heap once per idle spell, not again while it stays idle', async () => {
    const pool = new ManifestPool({ workers: 1, deadlineMs: 10_000, queue: 4, workerUrl: SCRIPTED_WORKER, compactAfterIdleMs: 50 });
    pools.push(pool);
    const compactions = async () => {
      const outcome = await pool.read({ object: {}, namespace: NS });
      return outcome.ok ? -1 : (JSON.parse(outcome.reason) as { compactions: number }).compactions;
    };
    expect(await compactions()).toBe(0);
    // Idle for many compaction periods (after the record's collection): one compaction.
    await new Promise((resolve) => setTimeout(resolve, COLLECT_MS + 500));
    expect(await compactions()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, COLLECT_MS + 500));
    expect(await compactions()).toBe(2);
  });

  it('reads a record in a worker as the calling thread would', async () => {
    const pool = new ManifestPool({ workers: 1, deadlineMs: 10_000, queue: 4 });
    pools.push(pool);
    const outcome = await pool.read({ object: secretFor(devlakeManifest()), namespace: NS });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.decoded.release.name).toBe('devlake');
    expect(outcome.decoded.release.manifest).toBe('');
    expect(outcome.manifest.statefulSets.map((s) => s.name)).toEqual(['devlake-mysql', 'devlake-lake']);
    const broken = await pool.read({ object: { kind: 'Secret', type: 'helm.sh/release.v1', data: { release: '!!' } }, namespace: NS });
    expect(broken).toEqual({ ok: false, failure: 'decode', reason: 'release data is not valid base64' });
  });

  it('takes over the buffer of a record set aside in a request body, or copies it when the record waits', async () => {
    const pool = new ManifestPool({ workers: 1, deadlineMs: 10_000, queue: 4 });
    pools.push(pool);
    const secret = secretFor(devlakeManifest()) as { data: { release: string } };
    // The record as the decoder leaves it: a placeholder in the object, its token a view into the body.
    const token = JSON.stringify(secret.data.release);
    const job = () => {
      const body = new Uint8Array(Buffer.from(`{"x":1,"release":${token},"y":2}`));
      const start = '{"x":1,"release":'.length;
      const releaseToken = body.subarray(start, start + token.length);
      return { body, read: pool.read({ object: { ...secret, data: { release: `${ELIDED_PREFIX}0` } }, releaseToken, namespace: NS }) };
    };
    const first = job();
    // Sent at once: the worker has the body now, the caller no longer.
    expect(first.body.byteLength).toBe(0);
    const second = job();
    // Waiting for the worker: the token was copied, so the caller may give its body back meanwhile.
    expect(second.body.byteLength).toBeGreaterThan(0);
    second.body.buffer.transfer(0);
    for (const outcome of [await first.read, await second.read]) {
      expect(outcome.ok).toBe(true);
      if (outcome.ok) expect(outcome.manifest.statefulSets.map((s) => s.name)).toEqual(['devlake-mysql', 'devlake-lake']);
    }
  });

  it('a hostile manifest times out alone: a reason within the deadline, the event loop free, others answered fast', async () => {
    const deadlineMs = 1500;
    const pool = new ManifestPool({ workers: 2, deadlineMs, queue: 4 });
    pools.push(pool);
    // Warm both workers so the measurement is about reading, not starting threads (two namespaces: one namespace's
    // records hold one of the two workers at most).
    await Promise.all([pool.read({ object: secretFor(''), namespace: NS }), pool.read({ object: secretFor(''), namespace: 'shop' })]);

    const started = performance.now();
    let maxTimerLag = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      maxTimerLag = Math.max(maxTimerLag, now - last - 10);
      last = now;
    }, 10);
    const hostile = pool.read({ object: secretFor(hostileManifest()), namespace: NS });
    // Meanwhile an ordinary release of another namespace is read by the other worker.
    const normalStarted = performance.now();
    const normal = await pool.read({ object: secretFor(devlakeManifest(), 'shop'), namespace: 'shop' });
    const normalMs = performance.now() - normalStarted;
    const outcome = await hostile;
    const hostileMs = performance.now() - started;
    clearInterval(ticker);

    expect(normal).toMatchObject({ ok: true });
    expect(normalMs).toBeLessThan(deadlineMs);
    // Refused with its reason: at the deadline, or earlier when its worker runs out of memory first (on a loaded
    // machine the deadline's timer can fire late while the worker thread goes on parsing).
    expect([
      { ok: false, failure: 'timeout', reason: `release record not read within ${deadlineMs} ms (its manifest is too costly to read)` },
      { ok: false, failure: 'worker', reason: 'reading the release record failed (it may need more than 256 MiB)' },
    ]).toContainEqual(outcome);
    if (!outcome.ok && outcome.failure === 'timeout') expect(hostileMs).toBeGreaterThanOrEqual(deadlineMs - 5);
    expect(hostileMs).toBeLessThan(deadlineMs + 1500);
    // The event loop never waited on the parse (generous bound: the machine is shared).
    expect(maxTimerLag).toBeLessThan(250);
    // The stuck worker was replaced: the pool still reads.
    expect((await pool.read({ object: secretFor(devlakeManifest()), namespace: NS })).ok).toBe(true);
  }, 30_000);

  it('caps a namespace at one of two workers once a record of it timed out: its hostile records leave the other worker', async () => {
    const deadlineMs = 2000;
    const pool = new ManifestPool({ workers: 2, deadlineMs, queue: 16 });
    pools.push(pool);
    const from = (namespace: string, manifest: string, name = 'app') => ({
      object: releaseSecret({ name, namespace, version: 1, status: 'pending-install', manifest }),
      namespace,
    });
    // Both workers started (records of two namespaces: one namespace alone would start one).
    await Promise.all([pool.read(from('warm-a', '')), pool.read(from('warm-b', ''))]);
    expect(pool.size).toBe(2);
    // Someone allowed to create Secrets in tenant-a sends a costly record: it holds a worker for the whole deadline,
    // and tenant-a is suspect from then on.
    // (Refused at the deadline, or sooner when its worker runs out of memory first: both make tenant-a suspect.)
    const refusedHostile = (outcome: unknown) => expect(['timeout', 'worker']).toContain((outcome as { failure?: string }).failure);
    refusedHostile(await pool.read(from('tenant-a', hostileManifest(), 'bad0')));
    // Then costly records faster than they are read.
    const hostile = [1, 2, 3, 4].map((n) => pool.read(from('tenant-a', hostileManifest(), `bad${n}`)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    const ordinary = await pool.read(from('tenant-b', devlakeManifest(), 'devlake'));
    const ordinaryMs = performance.now() - started;
    expect(ordinary).toMatchObject({ ok: true });
    expect(ordinaryMs).toBeLessThan(deadlineMs);
    const outcomes = await Promise.all(hostile);
    for (const outcome of outcomes) refusedHostile(outcome);
    // None waited for a worker another namespace held (the reason of those waiting behind their own namespace's share
    // is tested with the scripted worker, whose timing does not depend on the machine).
    const reasons = outcomes.map((outcome) => (outcome.ok ? '' : outcome.reason));
    expect(reasons.filter((reason) => reason.includes('waiting for a worker'))).toEqual([]);
  }, 30_000);

  it('hands a record that waited to a replacement thread with what is left of its deadline, not a new one', async () => {
    const deadlineMs = 1500;
    const pool = new ManifestPool({ workers: 1, deadlineMs, queue: 4, workerUrl: SCRIPTED_WORKER, compactAfterIdleMs: 60_000 });
    pools.push(pool);
    await pool.read({ object: { readMs: 0 }, namespace: 'warm' });
    // The only worker is stuck in a costly record; the next one waits behind it (most of its deadline), then goes to
    // the thread that replaces the stuck one, and is as costly.
    const first = pool.read({ object: { readMs: 60_000 }, namespace: 'tenant-a' });
    await sleep(200);
    const started = performance.now();
    const second = await pool.read({ object: { readMs: 60_000 }, namespace: 'tenant-a' });
    const secondMs = performance.now() - started;
    expect(await first).toEqual({ ok: false, failure: 'timeout', reason: `release record not read within ${deadlineMs} ms (its manifest is too costly to read)` });
    // Answered within its own deadline and the new thread's start-up (generous: the machine is shared), not after
    // a second deadline; its reason says where its time went.
    expect(secondMs).toBeLessThan(deadlineMs + 1000);
    expect(second).toMatchObject({ ok: false, failure: 'timeout' });
    expect(second.ok ? '' : second.reason).toMatch(new RegExp(`^release record not read within ${deadlineMs} ms \\(it waited 1[23]\\d\\d ms of them for a worker\\)$`));
  }, 20_000);

  it('lets one namespace\'s burst use every worker while no other namespace has records waiting', async () => {
    const deadlineMs = 2000;
    const pool = new ManifestPool({ workers: 2, deadlineMs, queue: 16, workerUrl: SCRIPTED_WORKER, compactAfterIdleMs: 60_000 });
    pools.push(pool);
    await Promise.all([pool.read({ object: { readMs: 0 }, namespace: 'warm-a' }), pool.read({ object: { readMs: 0 }, namespace: 'warm-b' })]);
    expect(pool.size).toBe(2);
    // Six releases of flux-system at once, half a second each to read: three rounds on two workers.
    const started = performance.now();
    const outcomes = await Promise.all([1, 2, 3, 4, 5, 6].map(() => pool.read({ object: { readMs: 500 }, namespace: 'flux-system' })));
    expect(outcomes.map((outcome) => !outcome.ok && outcome.failure)).toEqual(Array(6).fill('decode'));
    expect(new Set(outcomes.map(threadOf)).size).toBe(2);
    expect(performance.now() - started).toBeLessThan(deadlineMs);
  }, 20_000);

  it('lets a namespace take every worker until one of its records timed out, then caps it: another namespace is read in time', async () => {
    const deadlineMs = 1000;
    const pool = new ManifestPool({ workers: 2, deadlineMs, queue: 16, workerUrl: SCRIPTED_WORKER, compactAfterIdleMs: 60_000 });
    pools.push(pool);
    const costly = () => pool.read({ object: { readMs: 60_000 }, namespace: 'tenant-a' });
    await Promise.all([pool.read({ object: { readMs: 0 }, namespace: 'warm-a' }), pool.read({ object: { readMs: 0 }, namespace: 'warm-b' })]);
    // Not suspect yet: its first two take both workers (the one deadline it may cost the others), and time out.
    const tooCostly = `release record not read within ${deadlineMs} ms (its manifest is too costly to read)`;
    expect(await Promise.all([costly(), costly()])).toEqual(Array(2).fill({ ok: false, failure: 'timeout', reason: tooCostly }));
    // Suspect now: its records are read one at a time, and the other worker is left to tenant-b.
    const hostile = [1, 2, 3, 4].map(costly);
    await sleep(50);
    const ordinary = await pool.read({ object: { readMs: 0 }, namespace: 'tenant-b' });
    expect(ordinary).toMatchObject({ ok: false, failure: 'decode' });
    const reasons = (await Promise.all(hostile)).map((outcome) => (outcome.ok ? '' : outcome.reason));
    expect(reasons.sort()).toEqual([
      tooCostly,
      ...Array(3).fill(`release record not read within ${deadlineMs} ms (waiting behind other release records of namespace tenant-a)`),
    ].sort());
  }, 20_000);

  it('hands the record waiting behind a timed-out one to a started worker left free, not to the thread replacing it', async () => {
    const deadlineMs = 1000;
    const pool = new ManifestPool({ workers: 2, deadlineMs, queue: 16, workerUrl: SCRIPTED_WORKER, compactAfterIdleMs: 60_000 });
    pools.push(pool);
    const started = await Promise.all([pool.read({ object: { readMs: 0 }, namespace: 'warm-a' }), pool.read({ object: { readMs: 0 }, namespace: 'warm-b' })]);
    const threads = started.map(threadOf);
    // A record read for more than half the deadline makes tenant-a suspect: one worker for its records.
    expect(await pool.read({ object: { readMs: 600 }, namespace: 'tenant-a' })).toMatchObject({ ok: false, failure: 'decode' });
    const stuck = pool.read({ object: { readMs: 60_000 }, namespace: 'tenant-a' });
    await sleep(100);
    const next = pool.read({ object: { readMs: 0 }, namespace: 'tenant-a' });
    expect(await stuck).toMatchObject({ ok: false, failure: 'timeout' });
    const outcome = await next;
    expect(outcome).toMatchObject({ ok: false, failure: 'decode' });
    expect(threads).toContain(threadOf(outcome));
  }, 20_000);

  it('caps a namespace whose record crashed a worker, for suspectMs', async () => {
    const pool = new ManifestPool({ workers: 2, deadlineMs: 5_000, queue: 16, workerUrl: SCRIPTED_WORKER, compactAfterIdleMs: 60_000, suspectMs: 1_000 });
    pools.push(pool);
    const burst = () => Promise.all([1, 2].map(() => pool.read({ object: { readMs: 100 }, namespace: 'tenant-a' })));
    expect(new Set((await burst()).map(threadOf)).size).toBe(2);
    expect(await pool.read({ object: { crash: true }, namespace: 'tenant-a' })).toMatchObject({ ok: false, failure: 'worker' });
    // Suspect: one worker for its records, the other left free.
    expect(new Set((await burst()).map(threadOf)).size).toBe(1);
    await sleep(1_100);
    expect(new Set((await burst()).map(threadOf)).size).toBe(2);
  }, 20_000);

  it('takes waiting records namespace by namespace, the one served longest ago first', async () => {
    process.env.VOLUME_GUARD_TEST_COLLECT_MS = '1';
    try {
      const pool = new ManifestPool({ workers: 1, deadlineMs: 10_000, queue: 16, workerUrl: SCRIPTED_WORKER, compactAfterIdleMs: 60_000 });
      pools.push(pool);
      const order: string[] = [];
      const read = (namespace: string, label: string) => pool.read({ object: {}, namespace }).then((outcome) => order.push(label) && outcome);
      await Promise.all([read('tenant-a', 'a1'), read('tenant-a', 'a2'), read('tenant-a', 'a3'), read('tenant-b', 'b1'), read('tenant-c', 'c1'), read('tenant-b', 'b2')]);
      expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
    } finally {
      delete process.env.VOLUME_GUARD_TEST_COLLECT_MS;
    }
  });

  it('with its queue full of one namespace, refuses that namespace\'s newest record instead of another\'s', async () => {
    const pool = new ManifestPool({ workers: 1, deadlineMs: 10_000, queue: 3, workerUrl: SCRIPTED_WORKER, compactAfterIdleMs: 60_000 });
    pools.push(pool);
    // The worker answers and then collects (COLLECT_MS): meanwhile three records wait and a fourth goes to the
    // collecting worker's port.
    await pool.read({ object: {}, namespace: 'warm' });
    const a = [1, 2, 3, 4].map(() => pool.read({ object: {}, namespace: 'tenant-a' }));
    const b = await pool.read({ object: {}, namespace: 'tenant-b' });
    expect(b).toMatchObject({ ok: false, failure: 'decode' });
    const outcomes = await Promise.all(a);
    expect(outcomes.map((outcome) => !outcome.ok && outcome.failure)).toEqual(['decode', 'decode', 'busy', 'decode']);
    expect(outcomes[2]).toMatchObject({ reason: 'volume-guard is busy: namespace tenant-a has 2 other release records waiting to be read; retry' });
    // A namespace with as many waiting as the others is refused itself.
    await pool.read({ object: {}, namespace: 'warm' });
    const c = [1, 2, 3, 4].map((n) => pool.read({ object: {}, namespace: `tenant-${n}` }));
    const d = await pool.read({ object: {}, namespace: 'tenant-d' });
    expect(d).toMatchObject({ ok: false, failure: 'busy' });
    for (const outcome of await Promise.all(c)) expect(outcome).toMatchObject({ ok: false, failure: 'decode' });
  });

  it('refuses as busy beyond its queue instead of making everyone wait', async () => {
    const pool = new ManifestPool({ workers: 1, deadlineMs: 500, queue: 0 });
    pools.push(pool);
    const first = pool.read({ object: secretFor(hostileManifest()), namespace: NS });
    const second = await pool.read({ object: secretFor(devlakeManifest()), namespace: NS });
    expect(second.ok).toBe(false);
    expect(!second.ok && second.failure).toBe('busy');
    expect((await first).ok).toBe(false);
  }, 30_000);
});

describe('helm-release validator through the pool', () => {
  it('denies the hostile release with the reason; an ordinary one meanwhile is judged normally', async () => {
    const base = defaultConfig();
    const config: Config = { ...base, helm: { ...base.helm, manifestDeadlineMs: 1500 } };
    const validator = helmReleaseValidator(config);
    const model = new ClusterModel(VOLUME_SETS);
    const create = (object: unknown) =>
      request({
        kind: { group: '', version: 'v1', kind: 'Secret' },
        resource: { group: '', version: 'v1', resource: 'secrets' },
        operation: 'CREATE',
        namespace: NS,
        name: 'sh.helm.release.v1.devlake.v1',
        object,
      });
    try {
      // Started workers, as in a running server (a cold start is paid once).
      await Promise.all([1, 2].map(() => validator.handleAsync!(create(secretFor('')), context(model, { config }))));
      const started = performance.now();
      const hostile = validator.handleAsync!(create(secretFor(hostileManifest())), context(model, { config }));
      const normal = await validator.handleAsync!(create(secretFor(devlakeManifest(), 'shop')), context(model, { config }));
      expect(normal.allowed).toBe(true);
      const decision = await hostile;
      expect(performance.now() - started).toBeLessThan(1500 + 1500);
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toContain('cannot check Helm release Secret devlake/sh.helm.release.v1.devlake.v1');
      // At the deadline, or earlier when the worker runs out of memory first (a late timer on a loaded machine).
      expect(decision.status!.message).toMatch(/not read within 1500 ms|reading the release record failed \(it may need more than 256 MiB\)/);
    } finally {
      await validator.close?.();
    }
  }, 30_000);
});
