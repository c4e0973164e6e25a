// volume-guard shipped the way users run it: its image (npm run image, from the Dockerfile) installed by its chart
// (`helm install`, chart-generated TLS), two real pods on the whole cluster's real node, called by the API server
// through the chart's Service (endpoint routing), reaching the API server at the `kubernetes` ClusterIP.
// The host-run volume-guard of the e2e setup is taken out of the path while this file runs (its registration is
// restored afterwards), so every answer here comes from the pods. Skipped unless the whole cluster runs.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, paths, run, tempFile } from '../harness/cluster.ts';
import { apply, eventually, must } from '../harness/scenario.ts';
import { busyboxContainer, createLocalPv, deleteNamespaceAndWait, freshNamespace, LOCAL_STORAGE_CLASS, waitJsonpath, waitPodRunning } from '../support/whole.ts';

const cluster = inject('cluster');
const whole = cluster.whole;
const RELEASE = 'volume-guard';
const VG_NS = 'volume-guard';
const NS = 'ship-app';
const PV = 'ship-data';
const chart = join(paths.root, 'charts', 'volume-guard');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function podNames(): Promise<string[]> {
  const r = await must(kubectl(['get', 'pods', '-n', VG_NS, '-l', 'app.kubernetes.io/name=volume-guard', '-o', 'jsonpath={.items[*].metadata.name}']), 'pods');
  return r.stdout.split(' ').filter(Boolean);
}

/** Sum of volume_guard_admission_requests_total{target} over the release's pods, scraped through the API server. */
async function podAdmissions(target: string): Promise<number> {
  let total = 0;
  for (const pod of await podNames()) {
    const r = await kubectl(['get', '--raw', `/api/v1/namespaces/${VG_NS}/pods/${pod}:8080/proxy/metrics`]);
    for (const line of r.stdout.split('\n')) {
      if (line.startsWith('volume_guard_admission_requests_total{') && line.includes(`target="${target}"`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

/** A server-side dry-run eviction of db-0 (what `kubectl drain` sends, without evicting): allowed, denied or an error. */
async function evictDryRun(): Promise<string> {
  const file = await tempFile(`ship-evict-${process.pid}.json`, JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'db-0', namespace: NS }, deleteOptions: { dryRun: ['All'] } }));
  const r = await kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/db-0/eviction`, '-f', file]);
  return r.code === 0 ? 'allowed' : /denied the request/.test(r.stderr) ? 'denied' : `error: ${r.stderr.trim()}`;
}

describe.skipIf(!whole)('volume-guard installed by its chart, serving from its image on the real node', () => {
  const w = whole!;
  let imageRef = '';
  const saved: unknown[] = [];
  const values = () => {
    const at = imageRef.lastIndexOf(':');
    return [
      '--set', `image.repository=${imageRef.slice(0, at)}`,
      '--set', `image.tag=${imageRef.slice(at + 1)}`,
      '--set', 'image.pullPolicy=Never',
      '--set', 'tls.certManager.enabled=false',
      // One real node: the default required anti-affinity would leave the second replica Pending.
      '--set', 'highAvailability.requiredAntiAffinity=false',
    ];
  };

  beforeAll(async () => {
    const built = await run('bash', [join(paths.root, 'scripts', 'image.sh')], { timeoutMs: 30 * 60_000 });
    if (built.code !== 0) throw new Error(`npm run image failed:\n${built.stderr.slice(-2000)}`);
    imageRef = built.stdout.trim().split('\n').at(-1) ?? '';
    // The host-run volume-guard out of the path (restored in afterAll).
    const listed = await must(kubectl(['get', 'validatingwebhookconfigurations', '-o', 'json']), 'list webhooks');
    for (const item of (JSON.parse(listed.stdout) as { items: { metadata: Record<string, unknown> }[] }).items) {
      // (volume-guard-test-<pid>: the e2e setup's; volume-guard-local: `npm run cluster:up`'s.)
      if (!/^volume-guard-(test-\d+|local)$/.test(String(item.metadata.name))) continue;
      for (const k of ['resourceVersion', 'uid', 'creationTimestamp', 'managedFields', 'generation']) delete item.metadata[k];
      saved.push(item);
      await must(kubectl(['delete', 'validatingwebhookconfiguration', String(item.metadata.name)]), 'unregister host guard');
    }
    await helm(['uninstall', RELEASE, '-n', VG_NS, '--wait']);
    // Its namespace from scratch: a cert-manager install before (cert-manager.e2e) leaves its Secrets, which a
    // chart-generated install cannot adopt.
    await deleteNamespaceAndWait(VG_NS);
    await freshNamespace(NS);
    // A run that was interrupted leaves its PV Released (bound to the deleted claim): start from a fresh one.
    await kubectl(['delete', 'pv', PV, '--ignore-not-found', '--timeout=60s'], { timeoutMs: 90_000 });
  }, 40 * 60_000);

  afterAll(async () => {
    if (!whole) return;
    await kubectl(['annotate', 'node', w.nodeName, 'volume-guard.io/skip-', 'volume-guard.io/skip-reason-', 'volume-guard.io/skip-by-']);
    await kubectl(['uncordon', w.nodeName]);
    await helm(['uninstall', RELEASE, '-n', VG_NS, '--wait']);
    await deleteNamespaceAndWait(NS).catch(() => undefined);
    await kubectl(['delete', 'pv', PV, '--ignore-not-found', '--wait=false']);
    if (saved.length) {
      const file = await tempFile(`ship-restore-${process.pid}.json`, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: saved }));
      await kubectl(['create', '-f', file]);
    }
  }, 300_000);

  it('helm install: two ready pods from the local image on the real node, endpoints only for ready pods', async () => {
    const installed = await helm(['install', RELEASE, chart, '-n', VG_NS, '--create-namespace', ...values(), '--wait', '--timeout', '240s'], { timeoutMs: 300_000 });
    expect(installed.code, installed.stderr).toBe(0);
    const pods = await podNames();
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      const facts = (await kubectl(['get', 'pod', pod, '-n', VG_NS, '-o', 'jsonpath={.spec.nodeName} {.spec.containers[0].image} {.status.conditions[?(@.type=="Ready")].status}'])).stdout;
      expect(facts).toBe(`${w.nodeName} ${imageRef} True`);
      // Ready means the model synced: the pod reached the API server at the kubernetes ClusterIP.
      expect((await kubectl(['get', '--raw', `/api/v1/namespaces/${VG_NS}/pods/${pod}:8080/proxy/readyz`])).code).toBe(0);
      expect((await kubectl(['get', 'pod', pod, '-n', VG_NS, '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'])).stdout).toBe('0');
    }
    const ips = (await kubectl(['get', 'pods', '-n', VG_NS, '-l', 'app.kubernetes.io/name=volume-guard', '-o', 'jsonpath={.items[*].status.podIP}'])).stdout.split(' ').sort();
    const ready = await waitJsonpath(['endpointslices', '-n', VG_NS, '-l', `kubernetes.io/service-name=${RELEASE}`], '{.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}', (v) => v.split(' ').filter(Boolean).length === 2);
    expect(ready.split(' ').sort()).toEqual(ips);
    // Readiness gates the endpoints: a pod whose readiness probe fails drops out of the ready addresses.
    // (The probe is /readyz on the ops port; a fresh pod is not ready until its model has synced.)
    const nonReady = (await kubectl(['get', 'endpointslices', '-n', VG_NS, '-l', `kubernetes.io/service-name=${RELEASE}`, '-o', 'jsonpath={.items[*].endpoints[?(@.conditions.ready==false)].addresses[0]}'])).stdout.trim();
    expect(nonReady).toBe('');
  }, 360_000);

  it('the drain eviction of a StatefulSet pod whose local PV is on the node is refused by the pods; an admin override is allowed', async () => {
    await createLocalPv(w, PV);
    await apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: NS },
      spec: {
        serviceName: 'db',
        replicas: 1,
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: { terminationGracePeriodSeconds: 1, containers: [busyboxContainer(w, 'db', 'exec sleep 3600', [{ name: 'data', mountPath: '/data' }])] },
        },
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: LOCAL_STORAGE_CLASS, resources: { requests: { storage: '1Gi' } } } },
        ],
      },
    });
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
      const r = await must(kubectl(['get', '--raw', `/api/v1/namespaces/${VG_NS}/pods/${pod}:8080/proxy/metrics`]), `metrics of ${pod}`);
      expect(r.stdout).toMatch(/^# TYPE volume_guard_admission_requests_total counter$/m);
      expect(r.stdout).toMatch(/^volume_guard_model_objects\{resource="pods"\} [1-9]/m);
      expect(r.stdout).toMatch(/^process_resident_memory_bytes /m);
    }
  });

  it('helm upgrade of volume-guard itself rolls the pods with every admission answered meanwhile', async () => {
    const oldPods = await podNames();
    let stop = false;
    const outcomes: string[] = [];
    const probe = (async () => {
      while (!stop) {
        outcomes.push(await evictDryRun());
        await sleep(200);
      }
    })();
    const upgraded = await helm(['upgrade', RELEASE, chart, '-n', VG_NS, ...values(), '--set-string', 'podAnnotations.rollout=2', '--wait', '--timeout', '240s'], { timeoutMs: 300_000 });
    // Until the old pods are gone for good.
    await waitJsonpath(['pods', '-n', VG_NS, '-l', 'app.kubernetes.io/name=volume-guard'], '{.items[*].metadata.name}', (v) => v.split(' ').filter(Boolean).length === 2 && !oldPods.some((p) => v.includes(p)), 180_000);
    await sleep(2000);
    stop = true;
    await probe;
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(outcomes.length).toBeGreaterThan(10);
    // db-0's local PV is still in use: every answer is the same denial, none failed to call the webhook.
    expect(outcomes.filter((o) => o !== 'denied')).toEqual([]);
  }, 420_000);

  it('a drain of the node hosting its pods: own namespace not judged, the PDB keeps one serving, admissions answered throughout', async () => {
    // The drain's cordon needs the node override (db-0's local PV is on it); only volume-guard's pods are drained.
    await must(kubectl(['annotate', 'node', w.nodeName, '--overwrite', 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=ship e2e: drain volume-guard', 'volume-guard.io/skip-by=admin']), 'override');
    let stop = false;
    const outcomes: string[] = [];
    const readyCounts: number[] = [];
    const probe = (async () => {
      while (!stop) {
        outcomes.push(await evictDryRun());
        const ready = await kubectl(['get', 'pods', '-n', VG_NS, '-l', 'app.kubernetes.io/name=volume-guard', '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}']);
        readyCounts.push(ready.stdout.split(' ').filter((v) => v === 'True').length);
        await sleep(200);
      }
    })();
    const drained = await kubectl(['drain', w.nodeName, '--pod-selector=app.kubernetes.io/name=volume-guard', '--delete-emptydir-data', '--timeout=25s'], { timeoutMs: 90_000 });
    stop = true;
    await probe;
    // One replica was evicted (its namespace is excluded from the webhooks, only the PDB decides); the replacement
    // cannot be scheduled on the cordoned node, so the PDB refuses the second eviction and the drain waits.
    expect(drained.code).not.toBe(0);
    expect(drained.stderr).toContain("disruption budget");
    expect(drained.stderr).not.toContain('volume-guard.io" denied');
    expect(outcomes.length).toBeGreaterThan(10);
    expect(outcomes.filter((o) => o.startsWith('error'))).toEqual([]);
    expect(Math.min(...readyCounts)).toBeGreaterThanOrEqual(1);
    expect(await waitJsonpath(['pods', '-n', VG_NS, '-l', 'app.kubernetes.io/name=volume-guard', '--field-selector=status.phase=Pending'], '{.items[*].metadata.name}', (v) => v.split(' ').filter(Boolean).length === 1)).not.toBe('');
    await must(kubectl(['uncordon', w.nodeName]), 'uncordon');
    await must(kubectl(['annotate', 'node', w.nodeName, 'volume-guard.io/skip-', 'volume-guard.io/skip-reason-', 'volume-guard.io/skip-by-']), 'remove override');
    await waitJsonpath(['deployment', RELEASE, '-n', VG_NS], '{.status.readyReplicas}', (v) => v === '2', 120_000);
    expect(await eventually(evictDryRun, (r) => r === 'denied', 30_000)).toBe('denied');
  }, 240_000);

  it('both replicas down with the default failurePolicy (Fail): guarded operations are refused until one is back', async () => {
    await kubectl(['uncordon', w.nodeName]);
    expect((await kubectl(['get', 'validatingwebhookconfiguration', RELEASE, '-o', 'jsonpath={.webhooks[?(@.name=="pod-eviction.volume-guard.io")].failurePolicy}'])).stdout).toBe('Fail');
    await must(kubectl(['scale', 'deployment', RELEASE, '-n', VG_NS, '--replicas=0']), 'scale to 0');
    await waitJsonpath(['pods', '-n', VG_NS, '-l', 'app.kubernetes.io/name=volume-guard'], '{.items[*].metadata.name}', (v) => v.trim() === '', 120_000);
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
    expect(await evictDryRun()).toBe('allowed');
  }, 240_000);
});
