// The chart's default TLS path with cert-manager for real: cert-manager's controller and cainjector built from its Go
// module (test/harness/build.sh cert-manager) run as host processes against the whole cluster, its CRDs installed
// from the module's own source. `helm install` with the default values (tls.certManager.enabled=true) then has to
// work unaided: self-signed Issuer -> CA Certificate -> CA Issuer -> serving Certificate -> caBundle injected into
// the ValidatingWebhookConfiguration, the API server calling volume-guard's pods through the Service. A renewal
// triggered the way `cmctl renew` does it (the Certificate's Issuing condition) is picked up by the running pods
// without a restart while admissions keep being answered, and so is a new CA followed by a renewal (the cainjector
// keeps the old CA in the caBundle beside the new). Skipped unless the whole cluster runs.
import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, paths, run, tempFile } from '../harness/cluster.ts';
import { apply, eventually, must, sampleUntilStopped } from '../harness/scenario.ts';
import { buildImage, CHART, chartValues, evictDryRun as evict, GUARD_SELECTOR, podAdmissions, podIps, podNames, RELEASE, shippedStage, VG_NS } from '../support/shipped.ts';
import { busyboxContainer, waitJsonpath, waitPodRunning } from '../support/whole.ts';

const cluster = inject('cluster');
const whole = cluster.whole;
const NS = 'cm-app';
const certManagerDir = join(paths.root, 'test', 'harness', 'cert-manager');
/** The dry-run eviction of the app pod: judged by the webhook (failurePolicy Fail), so an error means no answer. */
const evictDryRun = () => evict(NS, 'app');

/** The serial of the certificate a pod serves on its webhook port (from the host, over the node's pod bridge). */
function servedSerial(ip: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: ip, port: 8443, servername: `${RELEASE}.${VG_NS}.svc`, rejectUnauthorized: false, timeout: 5000 }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
    socket.on('timeout', () => socket.destroy(new Error(`TLS to ${ip}:8443 timed out`)));
  });
}

async function secretCert(name: string, key: 'tls.crt' | 'ca.crt'): Promise<X509Certificate> {
  const r = await must(kubectl(['get', 'secret', name, '-n', VG_NS, '-o', `jsonpath={.data.${key.replace('.', '\\.')}}`]), `secret ${name}`);
  return new X509Certificate(Buffer.from(r.stdout, 'base64'));
}

/**
 * The CAs in a webhook's caBundle (base64 of PEM), by SHA-256 fingerprint. cert-manager's cainjector adds a new CA
 * to the bundle and drops only expired ones (its CAInjectorMerging, on by default), so a bundle can hold several.
 */
function bundleCas(base64: string): string[] {
  const pem = Buffer.from(base64, 'base64').toString('utf8');
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block).fingerprint256);
}

/** Every webhook's caBundle in the release's configuration, as bundleCas. */
async function injectedBundles(): Promise<string[][]> {
  const r = await kubectl(['get', 'validatingwebhookconfiguration', RELEASE, '-o', 'jsonpath={.webhooks[*].clientConfig.caBundle}']);
  return r.code === 0 ? r.stdout.split(' ').filter(Boolean).map(bundleCas) : [];
}

/** Sets the Issuing condition on a Certificate's status, as `cmctl renew` does: cert-manager issues it anew. */
async function renew(certificate: string): Promise<void> {
  const cert = JSON.parse((await must(kubectl(['get', 'certificate', certificate, '-n', VG_NS, '-o', 'json']), 'certificate')).stdout) as {
    metadata: { generation: number };
  };
  const condition = {
    type: 'Issuing',
    status: 'True',
    reason: 'ManuallyTriggered',
    message: 'Certificate re-issuance manually triggered',
    lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    observedGeneration: cert.metadata.generation,
  };
  const patch = await tempFile(`cm-renew-${process.pid}-${certificate}.json`, JSON.stringify([{ op: 'add', path: '/status/conditions/-', value: condition }]));
  await must(kubectl(['patch', 'certificate', certificate, '-n', VG_NS, '--subresource=status', '--type=json', '--patch-file', patch]), `renew ${certificate}`);
}

describe.skipIf(!whole)('the chart on its default TLS path with cert-manager (controller + cainjector from its Go module)', () => {
  const w = whole!;
  let imageRef = '';
  const procs: ChildProcess[] = [];
  const stage = shippedStage('cm', { namespace: NS });
  let crdDir = '';
  // The chart's default TLS path: cert-manager issues the certificates.
  const values = () => chartValues(imageRef, { certManager: true });

  beforeAll(async () => {
    const built = await run('bash', [join(paths.root, 'test', 'harness', 'build.sh'), 'cert-manager'], {
      env: { ...process.env, CLUSTER_BIN_DIR: paths.binDir },
      timeoutMs: 30 * 60_000,
    });
    if (built.code !== 0) throw new Error(`build.sh cert-manager failed:\n${built.stderr.slice(-2000)}`);
    // The CRDs from the module's source, at the version its go.mod pins.
    const mod = await run('go', ['list', '-m', '-f', '{{.Dir}}', 'github.com/cert-manager/cert-manager'], { cwd: certManagerDir });
    if (mod.code !== 0) throw new Error(`go list: ${mod.stderr}`);
    crdDir = join(mod.stdout.trim(), 'deploy', 'crds');
    await must(kubectl(['apply', '--server-side', '-f', crdDir], { timeoutMs: 60_000 }), 'cert-manager CRDs');
    await must(kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', crdDir], { timeoutMs: 90_000 }), 'CRDs established');
    await kubectl(['create', 'namespace', 'cert-manager']);
    for (const mode of ['controller', 'cainjector']) {
      const log = openSync(join(paths.dir, `cert-manager-${mode}.log`), 'a');
      procs.push(spawn(join(paths.binDir, 'cert-manager'), [mode, '--kubeconfig', cluster.kubeconfig], { stdio: ['ignore', log, log] }));
    }
    imageRef = await buildImage();
    // The host-run volume-guard of the e2e setup out of the path (restored in afterAll): answers come from the pods.
    await stage.setUp();
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app', namespace: NS },
      spec: { terminationGracePeriodSeconds: 1, nodeSelector: { 'kubernetes.io/hostname': w.nodeName }, containers: [busyboxContainer(w, 'app', 'exec sleep 3600')] },
    });
    await waitPodRunning(NS, 'app');
  }, 40 * 60_000);

  afterAll(async () => {
    if (!whole) return;
    // cert-manager keeps the Secrets it issued (no owner references by default): the namespace goes with them.
    await stage.tearDown({ releaseNamespace: true });
    for (const p of procs) p.kill('SIGTERM');
    if (crdDir) await kubectl(['delete', '-f', crdDir, '--ignore-not-found', '--wait=false']);
    await kubectl(['delete', 'namespace', 'cert-manager', '--ignore-not-found', '--wait=false']);
  }, 300_000);

  it('helm install with the default values: cert-manager issues the CA and serving certificate, the cainjector fills the caBundle, the pods answer', async () => {
    const installed = await helm(['install', RELEASE, CHART, '-n', VG_NS, '--create-namespace', ...values(), '--wait', '--timeout', '300s'], { timeoutMs: 360_000 });
    expect(installed.code, installed.stderr).toBe(0);
    for (const cert of [`${RELEASE}-ca`, `${RELEASE}-serving`]) {
      expect(await waitJsonpath(['certificate', cert, '-n', VG_NS], '{.status.conditions[?(@.type=="Ready")].status}', (v) => v === 'True', 60_000)).toBe('True');
    }
    for (const issuer of [`${RELEASE}-selfsigned`, `${RELEASE}-ca`]) {
      expect((await kubectl(['get', 'issuer', issuer, '-n', VG_NS, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout).toBe('True');
    }
    // The chain: the serving certificate is signed by the release's CA (the ca.crt cert-manager stores beside it),
    // for the Service's DNS names.
    const serving = await secretCert(`${RELEASE}-tls`, 'tls.crt');
    const signer = await secretCert(`${RELEASE}-tls`, 'ca.crt');
    expect(signer.ca).toBe(true);
    expect(signer.subject).toBe(signer.issuer); // self-signed
    expect(signer.subject).toContain(`CN=${RELEASE}-ca`);
    expect(serving.verify(signer.publicKey)).toBe(true);
    expect(serving.subjectAltName).toContain(`DNS:${RELEASE}.${VG_NS}.svc`);
    // That CA is the one in the CA Certificate's Secret, unless cert-manager issued the CA Certificate a second time
    // right after the first (once in CI under load; likely its trigger reading a Secret cache behind its own write,
    // so the Secret looked missing). The serving certificate then stays signed by the first CA until its renewal; the
    // caBundle follows it (injected from the serving Certificate's Secret), so the webhook keeps working. Anything
    // else is a broken chain.
    const ca = await secretCert(`${RELEASE}-ca`, 'tls.crt');
    expect(ca.ca).toBe(true);
    if (ca.fingerprint256 !== signer.fingerprint256) {
      // The second issuance's status may land just after its Secret.
      const revision = await eventually(
        async () => (await kubectl(['get', 'certificate', `${RELEASE}-ca`, '-n', VG_NS, '-o', 'jsonpath={.status.revision}'])).stdout,
        (r) => Number(r) > 1,
        30_000,
      );
      const requests = (await kubectl(['get', 'certificaterequests', '-n', VG_NS, '-o', 'wide'])).stdout;
      expect(Number(revision), `the serving certificate's CA is not the one in ${RELEASE}-ca, which was issued once:\n${requests}`).toBeGreaterThan(1);
    }
    // The cainjector put that CA into every webhook of the configuration (the chart leaves caBundle empty).
    const webhookCount = (await kubectl(['get', 'validatingwebhookconfiguration', RELEASE, '-o', 'jsonpath={.webhooks[*].name}'])).stdout.split(' ').filter(Boolean).length;
    expect(webhookCount).toBeGreaterThan(0);
    const trusts = (bundles: string[][]) => bundles.length === webhookCount && bundles.every((cas) => cas.includes(signer.fingerprint256));
    expect(trusts(await eventually(injectedBundles, trusts, 60_000))).toBe(true);
    // The pods serve that certificate, and the API server (failurePolicy Fail) gets answers from them.
    for (const ip of await podIps()) expect(await servedSerial(ip)).toBe(serving.serialNumber);
    const before = await podAdmissions('pod-eviction');
    expect(await eventually(evictDryRun, (r) => r === 'allowed', 30_000)).toBe('allowed');
    expect(await podAdmissions('pod-eviction')).toBeGreaterThan(before);
  }, 420_000);

  it('a renewal by cert-manager (cmctl renew: the Issuing condition) is served by the running pods, admissions answered throughout', async () => {
    const pods = await podNames();
    const oldSerial = (await secretCert(`${RELEASE}-tls`, 'tls.crt')).serialNumber;
    const probe = sampleUntilStopped(evictDryRun, 300);
    let outcomes: string[] = [];
    try {
      await renew(`${RELEASE}-serving`);
      // cert-manager reissues (a new key too: rotationPolicy Always) and the Secret changes...
      const renewed = await eventually(async () => (await secretCert(`${RELEASE}-tls`, 'tls.crt')).serialNumber, (s) => s !== oldSerial, 60_000);
      expect(renewed).not.toBe(oldSerial);
      // Signed by the CA now in the release's CA Secret (after a second issuance of the CA, this is where the chain moves to it).
      expect((await secretCert(`${RELEASE}-tls`, 'tls.crt')).verify((await secretCert(`${RELEASE}-ca`, 'tls.crt')).publicKey)).toBe(true);
      expect(await waitJsonpath(['certificate', `${RELEASE}-serving`, '-n', VG_NS], '{.status.conditions[?(@.type=="Ready")].status}', (v) => v === 'True', 60_000)).toBe('True');
      // ...the kubelet updates the mounted Secret and each pod's certificate reloader serves the new one.
      for (const ip of await podIps()) expect(await eventually(() => servedSerial(ip), (s) => s === renewed, 180_000)).toBe(renewed);
      // A quick renewal leaves few probes: keep probing on the new certificate until there are enough to judge.
      await eventually(async () => probe.count(), (n) => n > 10, 30_000);
    } finally {
      outcomes = await probe.stop();
    }
    // No restart: the same pods, no container restarts; every admission meanwhile was answered.
    expect(await podNames()).toEqual(pods);
    expect((await kubectl(['get', 'pods', '-n', VG_NS, '-l', GUARD_SELECTOR, '-o', 'jsonpath={.items[*].status.containerStatuses[0].restartCount}'])).stdout).toBe('0 0');
    expect(outcomes.length).toBeGreaterThan(10);
    expect(outcomes.filter((o) => o !== 'allowed')).toEqual([]);
  }, 300_000);

  it('a new CA (the CA Certificate issued anew, as at the end of caDuration), then a renewal: the caBundle trusts both CAs, admissions answered throughout', async () => {
    const oldCa = (await secretCert(`${RELEASE}-ca`, 'tls.crt')).fingerprint256;
    const caRevision = async () => Number((await kubectl(['get', 'certificate', `${RELEASE}-ca`, '-n', VG_NS, '-o', 'jsonpath={.status.revision}'])).stdout);
    const oldRevision = await caRevision();
    const oldSerial = (await secretCert(`${RELEASE}-tls`, 'tls.crt')).serialNumber;
    const probe = sampleUntilStopped(evictDryRun, 300);
    let outcomes: string[] = [];
    try {
      await renew(`${RELEASE}-ca`);
      const newCa = await eventually(async () => (await secretCert(`${RELEASE}-ca`, 'tls.crt')).fingerprint256, (f) => f !== oldCa, 60_000);
      expect(newCa).not.toBe(oldCa);
      // Its status is written after its Secret: by then the CA Issuer's cache (same process) has the new CA.
      expect(await eventually(caRevision, (r) => r > oldRevision, 60_000)).toBeGreaterThan(oldRevision);
      // Nothing else moves with the CA: the pods go on serving the certificate the old CA signed, which the caBundle
      // trusts. The CA Issuer signs the next certificate with the new CA (once its cache has the new CA Secret).
      await renew(`${RELEASE}-serving`);
      const renewed = await eventually(
        async () => {
          const [leaf, signer] = [await secretCert(`${RELEASE}-tls`, 'tls.crt'), await secretCert(`${RELEASE}-tls`, 'ca.crt')];
          return { serial: leaf.serialNumber, signer: signer.fingerprint256, verifies: leaf.verify(signer.publicKey) };
        },
        (r) => r.serial !== oldSerial,
        60_000,
      );
      expect(renewed.serial).not.toBe(oldSerial);
      expect(renewed.signer).toBe(newCa);
      expect(renewed.verifies).toBe(true);
      // The cainjector adds the new CA beside the old one: the API server trusts the old certificate, still served
      // until the kubelet refreshes the pods' copy of the Secret, and the new one alike.
      const both = (bundles: string[][]) => bundles.length > 0 && bundles.every((cas) => cas.includes(oldCa) && cas.includes(newCa));
      expect(both(await eventually(injectedBundles, both, 60_000))).toBe(true);
      for (const ip of await podIps()) expect(await eventually(() => servedSerial(ip), (s) => s === renewed.serial, 180_000)).toBe(renewed.serial);
      await eventually(async () => probe.count(), (n) => n > 10, 30_000);
    } finally {
      outcomes = await probe.stop();
    }
    expect(outcomes.length).toBeGreaterThan(10);
    expect(outcomes.filter((o) => o !== 'allowed')).toEqual([]);
  }, 400_000);

  it('helm uninstall leaves no webhook; the Secrets cert-manager issued stay (no owner references), as the chart README says', async () => {
    const un = await helm(['uninstall', RELEASE, '-n', VG_NS, '--wait'], { timeoutMs: 180_000 });
    expect(un.code, un.stderr).toBe(0);
    expect((await kubectl(['get', 'validatingwebhookconfiguration', RELEASE])).code).not.toBe(0);
    expect((await kubectl(['get', 'certificates', '-n', VG_NS, '-o', 'name'])).stdout.trim()).toBe('');
    for (const secret of [`${RELEASE}-tls`, `${RELEASE}-ca`]) expect((await kubectl(['get', 'secret', secret, '-n', VG_NS])).code).toBe(0);
  }, 240_000);
});
