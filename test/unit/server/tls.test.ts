import { X509Certificate } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { CertificateReloader, TlsConfigError, loadServingPair, namesNotCovered } from '../../../src/server/tls.ts';
import { startServer } from '../../../src/server/serve.ts';
import type { RunningServer } from '../../../src/server/serve.ts';
import { SecretVolume, issue, peerCertificate, tempDir, testCa, waitFor, writePlainPair } from '../../support/tls.ts';
import { sampleReview, captureLog, emptyDependencies, testConfig } from './server-fixtures.ts';

const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop('test done')));
});

async function start(files: { certFile: string; keyFile: string }, pollIntervalMs = 60_000) {
  const captured = captureLog();
  const server = await startServer({
    config: testConfig({
      VOLUME_GUARD_ADMISSION_TLS_CERT_FILE: files.certFile,
      VOLUME_GUARD_ADMISSION_TLS_KEY_FILE: files.keyFile,
      VOLUME_GUARD_ADMISSION_TLS_POLL_INTERVAL_MS: String(pollIntervalMs),
      VOLUME_GUARD_ADMISSION_ALLOW_ALL: 'true',
    }),
    log: captured.log,
    dependencies: emptyDependencies(),
    certificateDebounceMs: 20,
  });
  running.push(server);
  return { server, captured, port: server.admissionAddress.port };
}

async function notAfterGauge(server: RunningServer): Promise<number | undefined> {
  return (await server.metrics.tlsCertNotAfter.get()).values[0]?.value;
}

describe('loadServingPair at startup', () => {
  it('names the missing file and says what to do', async () => {
    const dir = await tempDir();
    const error = await loadServingPair({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TlsConfigError);
    expect((error as Error).message).toMatch(new RegExp(`^TLS certificate file ${join(dir, 'tls.crt')} does not exist: `));
    expect((error as Error).message).toContain('--self-signed');
    expect((error as Error).message).toContain('VOLUME_GUARD_ADMISSION_TLS_CERT_FILE');
  });

  it('rejects a file that is not PEM, a key of another certificate, and an expired certificate', async () => {
    const dir = await tempDir();
    const good = await issue();
    const other = await issue();
    const files = await writePlainPair(dir, good);
    expect((await loadServingPair(files)).serialNumber).toBe(good.serialNumber);

    await writeFile(files.certFile, 'not a certificate');
    await expect(loadServingPair(files)).rejects.toThrow(`TLS certificate file ${files.certFile} does not hold a PEM certificate`);

    await writePlainPair(dir, { certPem: good.certPem, keyPem: 'garbage' });
    await expect(loadServingPair(files)).rejects.toThrow(`TLS key file ${files.keyFile} does not hold a PEM private key`);

    await writePlainPair(dir, { certPem: good.certPem, keyPem: other.keyPem });
    await expect(loadServingPair(files)).rejects.toThrow(`TLS key in ${files.keyFile} does not match the certificate in ${files.certFile}`);

    const expired = await issue({ notBefore: new Date(Date.now() - 3 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    await writePlainPair(dir, expired);
    await expect(loadServingPair(files)).rejects.toThrow(/^TLS certificate in .* expired at /);
  });

  it('loads a certificate without a subject (cert-manager issues one for a Certificate without commonName)', async () => {
    const dir = await tempDir();
    const bare = await issue({ emptySubject: true, dnsNames: ['volume-guard.volume-guard.svc'], ipAddresses: [] });
    expect(new X509Certificate(bare.certPem).subject as string | undefined).toBeUndefined();
    const pair = await loadServingPair(await writePlainPair(dir, bare));
    expect(pair.serialNumber).toBe(bare.serialNumber);
    expect(pair.subject).toBe('(no subject) DNS:volume-guard.volume-guard.svc');
    // A server starts on it and serves it.
    const { port } = await start(await writePlainPair(dir, bare));
    expect((await peerCertificate(port)).serialNumber).toBe(bare.serialNumber);
  });
});

describe('extra CA chain', () => {
  it('appends the chain file to the served certificate and rejects a chain that is not PEM', async () => {
    const dir = await tempDir();
    const pair = await issue();
    const files = { ...(await writePlainPair(dir, pair)), caFile: join(dir, 'chain.pem') };
    await writeFile(files.caFile, (await testCa()).certPem);
    const loaded = await loadServingPair(files);
    expect(loaded.certPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(loaded.certPem.indexOf(pair.certPem.trim())).toBe(0);

    await writeFile(files.caFile, 'nope');
    await expect(loadServingPair(files)).rejects.toThrow(`TLS extra CA chain file ${files.caFile} does not hold a PEM certificate`);
  });
});

describe('HTTPS admission server', () => {
  it('serves AdmissionReviews over TLS with a certificate the CA verifies', async () => {
    const pair = await issue();
    const { port } = await start(await writePlainPair(await tempDir(), pair));
    const ca = (await testCa()).certPem;

    const peer = await peerCertificate(port, { ca, rejectUnauthorized: true });
    expect(peer).toMatchObject({ serialNumber: pair.serialNumber, authorized: true });

    const body = JSON.stringify(sampleReview({ uid: 'tls-1' }));
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpsRequest(
        { host: '127.0.0.1', port, path: '/validate/allow-all', method: 'POST', ca, servername: 'localhost', headers: { 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      request.on('error', reject);
      request.end(body);
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).response).toEqual({ uid: 'tls-1', allowed: true });
  });

  it('refuses TLS 1.1 (while the same client can speak TLS 1.1 to a server that allows it)', async () => {
    const pair = await issue();
    const { port } = await start(await writePlainPair(await tempDir(), pair));
    const tls11 = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;

    const refused = await peerCertificate(port, tls11).catch((error: NodeJS.ErrnoException) => error);
    expect((refused as NodeJS.ErrnoException).code).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    expect((await peerCertificate(port)).protocol).toMatch(/^TLSv1\.[23]$/);

    const permissive = createServer({ key: pair.keyPem, cert: pair.certPem, minVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }, (socket) => socket.end());
    await new Promise<void>((resolve) => permissive.listen(0, '127.0.0.1', resolve));
    try {
      expect((await peerCertificate((permissive.address() as AddressInfo).port, tls11)).protocol).toBe('TLSv1.1');
    } finally {
      permissive.close();
    }
  });

  it('never answers plain HTTP on the admission port', async () => {
    const { port } = await start(await writePlainPair(await tempDir(), await issue()));
    const outcome = await new Promise<string>((resolve) => {
      const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/validate/allow-all', headers: { 'content-type': 'application/json' } }, (res) =>
        resolve(`HTTP ${res.statusCode}`),
      );
      request.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code}`));
      request.setTimeout(10_000, () => request.destroy(new Error('timeout')));
      request.end(JSON.stringify(sampleReview()));
    });
    expect(outcome).toMatch(/^error (ECONNRESET|EPIPE)$/);
  });
});

describe('certificate hot reload', () => {
  it('serves a replaced certificate without a restart', async () => {
    const dir = await tempDir();
    const first = await issue();
    const { server, port, captured } = await start(await writePlainPair(dir, first));
    expect((await peerCertificate(port)).serialNumber).toBe(first.serialNumber);
    expect(await notAfterGauge(server)).toBe(Math.floor(first.notAfter.getTime() / 1000));

    const second = await issue({ notAfter: new Date(Date.now() + 30 * 86_400_000) });
    await writePlainPair(dir, second);
    await waitFor(async () => ((await peerCertificate(port)).serialNumber === second.serialNumber ? true : undefined), 'the new serial');
    expect(await notAfterGauge(server)).toBe(Math.floor(second.notAfter.getTime() / 1000));
    expect(captured.lines.find((line) => line.msg === 'serving certificate reloaded')).toMatchObject({
      serialNumber: second.serialNumber,
      previousSerialNumber: first.serialNumber,
    });
  });

  it('follows an atomic ..data symlink swap as on a Kubernetes Secret volume', async () => {
    const first = await issue();
    const volume = await SecretVolume.create(first);
    const { port } = await start(volume);
    expect((await peerCertificate(port)).serialNumber).toBe(first.serialNumber);

    for (let round = 0; round < 2; round += 1) {
      const next = await issue();
      await volume.update(next);
      await waitFor(async () => ((await peerCertificate(port)).serialNumber === next.serialNumber ? true : undefined), `rotation ${round + 1}`);
    }
  });

  it('refuses a bad pair and keeps serving the old one, then takes the next good pair', async () => {
    const dir = await tempDir();
    const first = await issue();
    const { server, port, captured } = await start(await writePlainPair(dir, first));

    const second = await issue();
    // A certificate with the wrong key: exactly what a half-finished rotation looks like.
    await writePlainPair(dir, { certPem: second.certPem, keyPem: first.keyPem });
    expect(await server.reloader.check()).toBe('rejected');
    expect((await peerCertificate(port)).serialNumber).toBe(first.serialNumber);
    const rejection = captured.lines.find((line) => line.msg === 'new serving certificate rejected; still serving the previous one');
    expect(rejection?.problem).toMatch(/does not match the certificate/);
    expect(rejection).toMatchObject({ level: 'error', servingSerialNumber: first.serialNumber });

    const expired = await issue({ notBefore: new Date(Date.now() - 3 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    await writePlainPair(dir, expired);
    expect(await server.reloader.check()).toBe('rejected');
    expect((await peerCertificate(port)).serialNumber).toBe(first.serialNumber);
    expect(await notAfterGauge(server)).toBe(Math.floor(first.notAfter.getTime() / 1000));

    await writePlainPair(dir, second);
    await waitFor(async () => ((await peerCertificate(port)).serialNumber === second.serialNumber ? true : undefined), 'the good pair');
  });

  it('picks changes up by polling when the directory cannot be watched, and watches it once it exists', async () => {
    const base = await tempDir();
    const dir = join(base, 'not-yet');
    const initial = await loadServingPair(await writePlainPair(base, await issue()));
    const applied: SecureContextOptions[] = [];
    const reloader = new CertificateReloader({
      files: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
      target: { setSecureContext: (options) => void applied.push(options) },
      initial,
      pollIntervalMs: 100,
      log: captureLog().log,
    });
    reloader.start();
    try {
      await mkdir(dir);
      const next = await issue();
      await writePlainPair(dir, next);
      await waitFor(() => (reloader.current.serialNumber === next.serialNumber ? true : undefined), 'the polled reload');
      expect(applied).toHaveLength(1);
      expect(new X509Certificate(String(applied[0]!.cert)).serialNumber).toBe(next.serialNumber);
      expect(applied[0]!.minVersion).toBe('TLSv1.2');
      expect(await reloader.check()).toBe('unchanged');
    } finally {
      reloader.stop();
    }
  });

  it('keeps TLS 1.2 as the minimum after a reload', async () => {
    const dir = await tempDir();
    const { port } = await start(await writePlainPair(dir, await issue()));
    const next = await issue();
    await writePlainPair(dir, next);
    await waitFor(async () => ((await peerCertificate(port)).serialNumber === next.serialNumber ? true : undefined), 'the reload');
    const refused = await peerCertificate(port, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }).catch(
      (error: NodeJS.ErrnoException) => error,
    );
    expect((refused as NodeJS.ErrnoException).code).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
  });
});

// What the API server's Go client verifies besides the chain: the validity period (with no leeway) and, when the
// leaf lists extended key usages, serverAuth among them. A pair failing either would be served and refused.
describe('certificates the API server would refuse', () => {
  const HOUR_MS = 3_600_000;

  it('refuses at startup a certificate not valid yet and one issued for clients only, saying what to do', async () => {
    const dir = await tempDir();
    const files = await writePlainPair(dir, await issue({ notBefore: new Date(Date.now() + HOUR_MS) }));
    const early = await loadServingPair(files).catch((error: unknown) => error);
    expect(early).toBeInstanceOf(TlsConfigError);
    expect((early as Error).message).toMatch(
      new RegExp(`^TLS certificate in ${files.certFile} is not valid before \\S+Z, over 5 minutes ahead of this node's clock: the API server would refuse it until then; check the issuer's and the nodes' clocks$`),
    );

    await writePlainPair(dir, await issue({ usages: ['clientAuth'] }));
    await expect(loadServingPair(files)).rejects.toThrow(
      `TLS certificate in ${files.certFile} is not for a server: its extended key usages (clientAuth) lack serverAuth, so the API server would refuse it ("incompatible key usage"); reissue it with the "server auth" usage`,
    );
  });

  it('takes a certificate a minute ahead of this clock, and one without extended key usages', async () => {
    const dir = await tempDir();
    const skewed = await issue({ notBefore: new Date(Date.now() + 60_000) });
    expect((await loadServingPair(await writePlainPair(dir, skewed))).serialNumber).toBe(skewed.serialNumber);
    const anyUse = await issue({ usages: [] });
    expect(new X509Certificate(anyUse.certPem).keyUsage).toEqual([]);
    expect((await loadServingPair(await writePlainPair(dir, anyUse))).serialNumber).toBe(anyUse.serialNumber);
    const both = await issue({ usages: ['clientAuth', 'serverAuth'] });
    expect((await loadServingPair(await writePlainPair(dir, both))).serialNumber).toBe(both.serialNumber);
  });

  it('keeps serving the old pair while the new one is for clients only', async () => {
    const dir = await tempDir();
    const first = await issue();
    const { server, port, captured } = await start(await writePlainPair(dir, first));
    await writePlainPair(dir, await issue({ usages: ['clientAuth'] }));
    expect(await server.reloader.check()).toBe('rejected');
    expect((await peerCertificate(port)).serialNumber).toBe(first.serialNumber);
    const rejection = captured.lines.find((line) => line.msg === 'new serving certificate rejected; still serving the previous one');
    expect(rejection?.problem).toMatch(/lack serverAuth.*reissue it with the "server auth" usage$/);
  });

  // Go's crypto/x509 (verify.go, HostnameError / VerifyHostname) matches a server's name only against the DNS and IP
  // subject alternative names since Go 1.17: a certificate naming its host in the subject CN alone fails every call
  // ("x509: certificate relies on legacy Common Name field, use SANs instead"), as `openssl req -x509 -subj /CN=...`
  // without -addext subjectAltName issues it.
  it('refuses at startup, and keeps the old pair at a reload, a certificate naming no DNS or IP address in subjectAltName', async () => {
    const dir = await tempDir();
    const cnOnly = await issue({ commonName: 'volume-guard.volume-guard.svc', dnsNames: [], ipAddresses: [] });
    expect(new X509Certificate(cnOnly.certPem).subjectAltName).toBeUndefined();
    const files = await writePlainPair(dir, cnOnly);
    const refused = await loadServingPair(files).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TlsConfigError);
    expect((refused as Error).message).toBe(
      `TLS certificate in ${files.certFile} names no DNS name or IP address in subjectAltName (subject CN=volume-guard.volume-guard.svc): ` +
        'the API server matches only those, never the CN ("relies on legacy Common Name field"); ' +
        'reissue it with the webhook Service\'s DNS names (<service>.<namespace>.svc)',
    );

    const first = await issue();
    const { server, port, captured } = await start(await writePlainPair(dir, first));
    await writePlainPair(dir, cnOnly);
    expect(await server.reloader.check()).toBe('rejected');
    expect((await peerCertificate(port)).serialNumber).toBe(first.serialNumber);
    const rejection = captured.lines.find((line) => line.msg === 'new serving certificate rejected; still serving the previous one');
    expect(rejection?.problem).toMatch(/names no DNS name or IP address in subjectAltName/);
  });

  it('keeps the old pair while the new one is not valid yet, tries it at every check, and takes it once it is valid', async () => {
    const dir = await tempDir();
    const first = await issue();
    let now = Date.now();
    const applied: SecureContextOptions[] = [];
    const captured = captureLog();
    const files = await writePlainPair(dir, first);
    const reloader = new CertificateReloader({
      files,
      target: { setSecureContext: (options) => void applied.push(options) },
      initial: await loadServingPair(files),
      pollIntervalMs: 60_000,
      log: captured.log,
      clock: () => now,
    });
    const early = await issue({ notBefore: new Date(now + HOUR_MS) });
    await writePlainPair(dir, early);
    expect(await reloader.check()).toBe('rejected');
    now += HOUR_MS / 2;
    expect(await reloader.check()).toBe('rejected');
    expect(reloader.current.serialNumber).toBe(first.serialNumber);
    expect(applied).toEqual([]);
    const rejections = captured.lines.filter((line) => line.msg === 'new serving certificate rejected; still serving the previous one');
    expect(rejections).toHaveLength(1);
    expect(rejections[0]?.problem).toMatch(/is not valid before .*\(tried again at every check\)$/);

    // Within the allowed skew of its notBefore: taken, though the files did not change.
    now += HOUR_MS / 2 - 60_000;
    expect(await reloader.check()).toBe('reloaded');
    expect(reloader.current.serialNumber).toBe(early.serialNumber);
    expect(new X509Certificate(String(applied[0]!.cert)).serialNumber).toBe(early.serialNumber);
  });

  it('warns when the new certificate drops a name of the old one, and serves it all the same', async () => {
    const dir = await tempDir();
    const first = await issue({ dnsNames: ['localhost', 'volume-guard.volume-guard.svc'], ipAddresses: ['127.0.0.1'] });
    const { server, port, captured } = await start(await writePlainPair(dir, first));
    const renamed = await issue({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    await writePlainPair(dir, renamed);
    expect(await server.reloader.check()).toBe('reloaded');
    expect((await peerCertificate(port)).serialNumber).toBe(renamed.serialNumber);
    const warning = captured.lines.find((line) => String(line.msg).startsWith('the new serving certificate does not cover every name'));
    expect(warning).toMatchObject({
      level: 'warn',
      droppedNames: ['DNS:volume-guard.volume-guard.svc'],
      serialNumber: renamed.serialNumber,
      previousSerialNumber: first.serialNumber,
    });

    // Names kept (or more of them): no warning.
    const kept = await issue({ dnsNames: ['localhost', 'more.example'], ipAddresses: ['127.0.0.1', '10.0.0.1'] });
    await writePlainPair(dir, kept);
    expect(await server.reloader.check()).toBe('reloaded');
    expect(captured.lines.filter((line) => String(line.msg).startsWith('the new serving certificate does not cover every name'))).toHaveLength(1);
  });

  it('counts a wildcard as covering a name, as a TLS client does, and an IP only by an IP name', async () => {
    const leaf = async (dnsNames: string[], ipAddresses: string[]) => new X509Certificate((await issue({ dnsNames, ipAddresses })).certPem);
    const previous = await leaf(['volume-guard.volume-guard.svc', 'Localhost'], ['127.0.0.1', '::1']);
    expect(namesNotCovered(previous, await leaf(['*.volume-guard.svc', 'localhost'], ['127.0.0.1', '::1']))).toEqual([]);
    expect(namesNotCovered(previous, await leaf(['*.svc', 'localhost', '127.0.0.1'], ['::1']))).toEqual([
      'DNS:volume-guard.volume-guard.svc',
      'IP Address:127.0.0.1',
    ]);
  });
});
