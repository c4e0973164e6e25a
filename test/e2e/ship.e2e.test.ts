// volume-guard shipped the way users run it: its image (npm run image, from the Dockerfile) installed by its chart
// (`helm install`, chart-generated TLS), two real pods on the whole cluster's real node, called by the API server
// through the chart's Service (endpoint routing), reaching the API server at the `kubernetes` ClusterIP.
// The host-run volume-guard of the e2e setup is taken out of the path while this file runs (its registration is
// restored afterwards), so every answer here comes from the pods. Skipped unless the whole cluster runs.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl } from '../harness/cluster.ts';
import { apply, eventually, must, sampleUntilStopped } from '../harness/scenario.ts';
import { buildImage, CHART, chartValues, evictDryRun as evict, GUARD_SELECTOR, podAdmissions, podIps, podNames, podOps, RELEASE, shippedStage, VG_NS } from '../support/shipped.ts';
import { createLocalPv, localDbStatefulSet, waitJsonpath, waitPodRunning } from '../support/whole.ts';

const cluster = inject('cluster');
const whole = cluster.whole;
const NS = 'ship-app';
const PV = 'ship-data';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** The dry-run eviction of db-0 (what `kubectl drain` sends, without evicting): allowed, denied or an error. */
const evictDryRun = () => evict(NS, 'db-0');

describe.skipIf(!whole)('volume-guard installed by its chart, serving from its image on the real node', () => {
  const w = whole!;
  let imageRef = '';
  const stage = shippedStage('ship', { namespace: NS, pv: PV });
  const values = () => chartValues(imageRef);

  beforeAll(async () => {
    imageRef = await buildImage();
    // The host-run volume-guard out of the path (restored in afterAll); the release's namespace from scratch (a
    // cert-manager install before, cert-manager.e2e, leaves its Secrets); a fresh app namespace and PV.
    await stage.setUp();
  }, 40 * 60_000);

  afterAll(async () => {
    if (!whole) return;
    await kubectl(['annotate', 'node', w.nodeName, 'volume-guard.io/skip-', 'volume-guard.io/skip-reason-', 'volume-guard.io/skip-by-']);
    await kubectl(['uncordon', w.nodeName]);
    await stage.tearDown();
  }, 300_000);

  it('helm install: two ready pods from the local image on the real node, endpoints only for ready pods', async () => {
    const installed = await helm(['install', RELEASE, CHART, '-n', VG_NS, '--create-namespace', ...values(), '--wait', '--timeout', '240s'], { timeoutMs: 300_000 });
    expect(installed.code, installed.stderr).toBe(0);
    const pods = await podNames();
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      const facts = (await kubectl(['get', 'pod', pod, '-n', VG_NS, '-o', 'jsonpath={.spec.nodeName} {.spec.containers[0].image} {.status.conditions[?(@.type=="Ready")].status}'])).stdout;
      expect(facts).toBe(`${w.nodeName} ${imageRef} True`);
      // Ready means the model synced: the pod reached the API server at the kubernetes ClusterIP.
      expect((await podOps(pod, '/readyz')).code).toBe(0);
      expect((await kubectl(['get', 'pod', pod, '-n', VG_NS, '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'])).stdout).toBe('0');
    }
    const ips = (await podIps()).sort();
    const ready = await waitJsonpath(['endpointslices', '-n', VG_NS, '-l', `kubernetes.io/service-name=${RELEASE}`], '{.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}', (v) => v.split(' ').filter(Boolean).length === 2);
    expect(ready.split(' ').sort()).toEqual(ips);
    // Readiness gates the endpoints: a pod whose readiness probe fails drops out of the ready addresses.
    // (The probe is /readyz on the ops port; a fresh pod is not ready until its model has synced.)
    const nonReady = (await kubectl(['get', 'endpointslices', '-n', VG_NS, '-l', `kubernetes.io/service-name=${RELEASE}`, '-o', 'jsonpath={.items[*].endpoints[?(@.conditions.ready==false)].addresses[0]}'])).stdout.trim();
    expect(nonReady).toBe('');
  }, 360_000);

  it('the drain eviction of a StatefulSet pod whose local PV is on the node is refused by the pods; an admin override is allowed', async () => {
    await createLocalPv(w, PV);
    await apply(localDbStatefulSet(w, NS, 'exec sleep 3600'));
    await waitPodRunning(NS, 'db-0');
    // The eviction `kubectl drain` sends for db-0 (server-side dry run: a real drain here would also evict
    // volume-guard's own pods, see the availability notes in the chart README): refused, answered by the pods.
    const before = await podAdmissions('pod-eviction');
    const refused = await eventually(evictDryRun, (r) => r !== 'allowed', 30_000);
    expect(refused).toBe('denied');
    expect(await podAdmissions('pod-eviction')).toBeGreaterThan(before);

    // An admin override (system:masters, the default allowed group) on the node, as the refusal advises: the
    // eviction is allowed (once the pods' model has seen the annotation), and refused again once it is removed.
    await must(kubectl(['annotate', 'node', w.nodeName, '--overwrite', 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=ship e2e: disk kept', 'volume-guard.io/skip-by=admin']), 'override');
    expect(await eventually(evictDryRun, (r) => r === 'allowed', 30_000)).toBe('allowed');
    await must(kubectl(['annotate', 'node', w.nodeName, 'volume-guard.io/skip-', 'volume-guard.io/skip-reason-', 'volume-guard.io/skip-by-']), 'remove override');
    expect(await eventually(evictDryRun, (r) => r === 'denied', 30_000)).toBe('denied');
  }, 180_000);

  it('metrics are scraped from each pod', async () => {
    for (const pod of await podNames()) {
      const r = await must(podOps(pod, '/metrics'), `metrics of ${pod}`);
      expect(r.stdout).toMatch(/^# TYPE volume_guard_admission_requests_total counter$/m);
      expect(r.stdout).toMatch(/^volume_guard_model_objects\{resource="pods"\} [1-9]/m);
      expect(r.stdout).toMatch(/^process_resident_memory_bytes /m);
    }
  });

  it('helm upgrade of volume-guard itself rolls the pods with every admission answered meanwhile', async () => {
    const oldPods = await podNames();
    const probe = sampleUntilStopped(evictDryRun, 200);
    const upgraded = await helm(['upgrade', RELEASE, CHART, '-n', VG_NS, ...values(), '--set-string', 'podAnnotations.rollout=2', '--wait', '--timeout', '240s'], { timeoutMs: 300_000 });
    // Until the old pods are gone for good.
    await waitJsonpath(['pods', '-n', VG_NS, '-l', GUARD_SELECTOR], '{.items[*].metadata.name}', (v) => v.split(' ').filter(Boolean).length === 2 && !oldPods.some((p) => v.includes(p)), 180_000);
    await sleep(2000);
    const outcomes = await probe.stop();
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(outcomes.length).toBeGreaterThan(10);
    // db-0's local PV is still in use: every answer is the same denial, none failed to call the webhook.
    expect(outcomes.filter((o) => o !== 'denied')).toEqual([]);
  }, 420_000);

  it('a drain of the node hosting its pods: own namespace not judged, the PDB keeps one serving, admissions answered throughout', async () => {
    // The drain's cordon needs the node override (db-0's local PV is on it); only volume-guard's pods are drained.
    await must(kubectl(['annotate', 'node', w.nodeName, '--overwrite', 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=ship e2e: drain volume-guard', 'volume-guard.io/skip-by=admin']), 'override');
    const probe = sampleUntilStopped(async () => {
      const outcome = await evictDryRun();
      const ready = await kubectl(['get', 'pods', '-n', VG_NS, '-l', GUARD_SELECTOR, '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}']);
      return { outcome, ready: ready.stdout.split(' ').filter((v) => v === 'True').length };
    }, 200);
    const drained = await kubectl(['drain', w.nodeName, `--pod-selector=${GUARD_SELECTOR}`, '--delete-emptydir-data', '--timeout=25s'], { timeoutMs: 90_000 });
    const samples = await probe.stop();
    const outcomes = samples.map((s) => s.outcome);
    const readyCounts = samples.map((s) => s.ready);
    // One replica was evicted (its namespace is excluded from the webhooks, only the PDB decides); the replacement
    // cannot be scheduled on the cordoned node, so the PDB refuses the second eviction and the drain waits.
    expect(drained.code).not.toBe(0);
    expect(drained.stderr).toContain("disruption budget");
    expect(drained.stderr).not.toContain('volume-guard.io" denied');
    expect(outcomes.length).toBeGreaterThan(10);
    expect(outcomes.filter((o) => o.startsWith('error'))).toEqual([]);
    expect(Math.min(...readyCounts)).toBeGreaterThanOrEqual(1);
    expect(await waitJsonpath(['pods', '-n', VG_NS, '-l', GUARD_SELECTOR, '--field-selector=status.phase=Pending'], '{.items[*].metadata.name}', (v) => v.split(' ').filter(Boolean).length === 1)).not.toBe('');
    await must(kubectl(['uncordon', w.nodeName]), 'uncordon');
    await must(kubectl(['annotate', 'node', w.nodeName, 'volume-guard.io/skip-', 'volume-guard.io/skip-reason-', 'volume-guard.io/skip-by-']), 'remove override');
    await waitJsonpath(['deployment', RELEASE, '-n', VG_NS], '{.status.readyReplicas}', (v) => v === '2', 120_000);
    expect(await eventually(evictDryRun, (r) => r === 'denied', 30_000)).toBe('denied');
  }, 240_000);

  it('both replicas down with the default failurePolicy (Fail): guarded operations are refused until one is back', async () => {
    await kubectl(['uncordon', w.nodeName]);
    expect((await kubectl(['get', 'validatingwebhookconfiguration', RELEASE, '-o', 'jsonpath={.webhooks[?(@.name=="pod-eviction.volume-guard.io")].failurePolicy}'])).stdout).toBe('Fail');
    await must(kubectl(['scale', 'deployment', RELEASE, '-n', VG_NS, '--replicas=0']), 'scale to 0');
    await waitJsonpath(['pods', '-n', VG_NS, '-l', GUARD_SELECTOR], '{.items[*].metadata.name}', (v) => v.trim() === '', 120_000);
    const down = await evictDryRun();
    expect(down).toMatch(/^error: .*failed calling webhook "pod-eviction\.volume-guard\.io"/s);
    await must(kubectl(['scale', 'deployment', RELEASE, '-n', VG_NS, '--replicas=2']), 'scale to 2');
    await waitJsonpath(['deployment', RELEASE, '-n', VG_NS], '{.status.readyReplicas}', (v) => v === '2', 120_000);
    expect(await eventually(evictDryRun, (r) => r === 'denied', 30_000)).toBe('denied');
  }, 300_000);

  it('uninstall leaves no webhook behind; the eviction is then not judged', async () => {
    const un = await helm(['uninstall', RELEASE, '-n', VG_NS, '--wait'], { timeoutMs: 180_000 });
    expect(un.code, un.stderr).toBe(0);
    const left = (await kubectl(['get', 'validatingwebhookconfigurations', '-o', 'jsonpath={.items[*].metadata.name}'])).stdout.split(' ').filter(Boolean);
    expect(left).toEqual([]);
    expect((await kubectl(['get', 'mutatingwebhookconfigurations', '-o', 'jsonpath={.items[*].metadata.name}'])).stdout.trim()).toBe('');
    expect(await evictDryRun()).toBe('allowed');
  }, 240_000);
});
