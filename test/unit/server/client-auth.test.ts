// Client-certificate authentication of the admission port (admission.tls.clientCaFile / clientNames): the real
// server from startServer, real TLS clients. Only a certificate of the configured CA completes the handshake; with
// names configured, only those names get an answer; the CA bundle is hot-reloaded like the serving pair.
import { once } from 'node:events';
import { Agent } from 'node:https';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCertificateAuthority, type CertificateAuthority } from '../../../src/server/selfsigned.ts';
import { startServer } from '../../../src/server/serve.ts';
import { loadServingPair } from '../../../src/server/tls.ts';
import { replacePem, writePem } from '../../support/tls-files.ts';
import { intermediateClientChain, postStatus, tempDir, testCa, issue, waitFor, writePlainPair } from '../../support/tls.ts';
import { sampleReview, captureLog, emptyDependencies, testConfig } from './server-fixtures.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

interface ClientPair {
  readonly certPem: string;
  readonly keyPem: string;
}

async function clientOf(ca: CertificateAuthority, commonName: string, usages: readonly ('serverAuth' | 'clientAuth')[] = ['clientAuth']): Promise<ClientPair> {
  return ca.issue({ commonName, dnsNames: [commonName], ipAddresses: [], usages });
}

/** POST an AdmissionReview; resolves to the HTTP status, or to the TLS/socket error code when the handshake fails. */
async function post(port: number, client?: ClientPair, agent?: Agent): Promise<number | string> {
  const ca = (await testCa()).certPem;
  return postStatus({ url: `https://127.0.0.1:${port}/validate/allow-all`, body: JSON.stringify(sampleReview()), ca, servername: 'localhost', client, agent });
}

async function start(clientCaFile: string, names: readonly string[] = []) {
  const dir = await tempDir();
  const files = await writePlainPair(dir, await issue());
  const captured = captureLog();
  const server = await startServer({
    config: testConfig({
      VOLUME_GUARD_ADMISSION_TLS_CERT_FILE: files.certFile,
      VOLUME_GUARD_ADMISSION_TLS_KEY_FILE: files.keyFile,
      VOLUME_GUARD_ADMISSION_TLS_CLIENT_CA_FILE: clientCaFile,
      VOLUME_GUARD_ADMISSION_TLS_CLIENT_NAMES: names.join(','),
      VOLUME_GUARD_ADMISSION_TLS_POLL_INTERVAL_MS: '100',
      VOLUME_GUARD_ADMISSION_ALLOW_ALL: 'true',
    }),
    log: captured.log,
    dependencies: emptyDependencies(),
    certificateDebounceMs: 10,
  });
  cleanups.push(() => server.stop('test done'));
  return { server, captured, port: server.admissionAddress.port };
}

const refused = (outcome: number | string) => typeof outcome === 'string';

describe('admission client certificates', () => {
  it('admit only certificates of the client CA', async () => {
    const apiServerCa = await createCertificateAuthority({ commonName: 'webhook client CA' });
    const otherCa = await createCertificateAuthority({ commonName: 'some other CA' });
    const dir = await tempDir();
    const caFile = await writePem(join(dir, 'client-ca.crt'), apiServerCa.certPem);
    const { port, captured } = await start(caFile);

    expect(await post(port, await clientOf(apiServerCa, 'kube-apiserver'))).toBe(200);
    expect(refused(await post(port))).toBe(true);
    expect(refused(await post(port, await clientOf(otherCa, 'kube-apiserver')))).toBe(true);
    // The serving CA is not a client CA: its server certificates do not get in either.
    expect(refused(await post(port, await issue({ commonName: 'kube-apiserver' })))).toBe(true);
    expect(captured.text()).toContain('admission callers must present a client certificate');
  });

  it('with clientNames, refuse other certificates of the same CA (a cluster CA signs many)', async () => {
    const ca = await createCertificateAuthority({ commonName: 'cluster CA' });
    const dir = await tempDir();
    const caFile = await writePem(join(dir, 'client-ca.crt'), ca.certPem);
    const { port, captured } = await start(caFile, ['kube-apiserver-webhook-client']);
    expect(await post(port, await clientOf(ca, 'kube-apiserver-webhook-client'))).toBe(200);
    expect(await post(port, await clientOf(ca, 'system:node:worker-1'))).toBe(403);
    expect(captured.text()).toContain('client certificate name not allowed');
  });

  it('reloads the client CA bundle when its file changes, and keeps the old one when the new is not a CA', async () => {
    const first = await createCertificateAuthority({ commonName: 'first client CA' });
    const second = await createCertificateAuthority({ commonName: 'second client CA' });
    const dir = await tempDir();
    const caFile = await writePem(join(dir, 'client-ca.crt'), first.certPem);
    const { port, server } = await start(caFile);
    const byFirst = await clientOf(first, 'kube-apiserver');
    const bySecond = await clientOf(second, 'kube-apiserver');
    expect(await post(port, byFirst)).toBe(200);
    expect(refused(await post(port, bySecond))).toBe(true);

    // A bundle of both (rotation), then only the second.
    await replacePem(caFile, `${first.certPem}${second.certPem}`);
    await waitFor(async () => ((await post(port, bySecond)) === 200 ? true : undefined), 'the bundle to be reloaded');
    expect(await post(port, byFirst)).toBe(200);
    await replacePem(caFile, second.certPem);
    await waitFor(async () => (refused(await post(port, byFirst)) ? true : undefined), 'the first CA to be dropped');
    expect(await post(port, bySecond)).toBe(200);

    // Not a CA: rejected, the second CA stays in force.
    const leaf = await issue();
    await replacePem(caFile, leaf.certPem);
    expect(await server.reloader.check()).toBe('rejected');
    expect(await post(port, bySecond)).toBe(200);
  });

  it('refuses requests on a kept-alive connection once its certificate\'s CA left the bundle', async () => {
    const first = await createCertificateAuthority({ commonName: 'first client CA' });
    const second = await createCertificateAuthority({ commonName: 'second client CA' });
    const dir = await tempDir();
    const caFile = await writePem(join(dir, 'client-ca.crt'), first.certPem);
    const { port, server } = await start(caFile);
    const byFirst = await clientOf(first, 'kube-apiserver');
    const agent = new Agent({ keepAlive: true, maxSockets: 1, cert: byFirst.certPem, key: byFirst.keyPem });
    cleanups.push(async () => agent.destroy());
    expect(await post(port, byFirst, agent)).toBe(200);
    await replacePem(caFile, second.certPem);
    await server.reloader.check(); // the file watcher may have been first
    expect(server.reloader.current.clientCaSubjects).toEqual(['CN=second client CA']);
    // Same connection (handshake done under the first CA): refused now.
    expect(await post(port, byFirst, agent)).toBe(403);
  });

  it('admits a certificate an intermediate CA issued (the chain sent by the client), until the bundle changes', async () => {
    const chain = await intermediateClientChain('kube-apiserver');
    const other = await createCertificateAuthority({ commonName: 'next client CA' });
    const dir = await tempDir();
    const caFile = await writePem(join(dir, 'client-ca.crt'), chain.rootPem);
    const { port, server } = await start(caFile, ['kube-apiserver']);
    const client = { certPem: chain.certPem, keyPem: chain.keyPem };
    expect(await post(port, client)).toBe(200);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, cert: chain.certPem, key: chain.keyPem });
    cleanups.push(async () => agent.destroy());
    expect(await post(port, client, agent)).toBe(200);
    expect(await post(port, client, agent)).toBe(200);
    // The root leaves the bundle: the kept-alive connection is refused (and closed), a new one fails its handshake.
    await replacePem(caFile, other.certPem);
    await server.reloader.check();
    expect(await post(port, client, agent)).toBe(403);
    expect(refused(await post(port, client))).toBe(true);
  });

  it('refuses a TLS 1.2 renegotiation, which could change the certificate a connection was admitted with', async () => {
    const ca = await createCertificateAuthority({ commonName: 'webhook client CA' });
    const dir = await tempDir();
    const caFile = await writePem(join(dir, 'client-ca.crt'), ca.certPem);
    const { port } = await start(caFile);
    const client = await clientOf(ca, 'kube-apiserver');
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: (await testCa()).certPem, cert: client.certPem, key: client.keyPem, maxVersion: 'TLSv1.2' });
    cleanups.push(async () => socket.destroy());
    await once(socket, 'secureConnect');
    const body = JSON.stringify(sampleReview());
    const answered = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('"response"')) resolve(text);
      });
    });
    socket.write(`POST /validate/allow-all HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    expect(await answered).toMatch(/^HTTP\/1\.1 200/);
    // The server drops the connection instead of handshaking again.
    const closed = once(socket, 'close');
    socket.on('error', () => undefined);
    socket.renegotiate({ rejectUnauthorized: false }, () => undefined);
    await closed;
    expect(socket.destroyed).toBe(true);
  });

    it('logs at startup when callers are not authenticated, and when override writers are (nearly) everyone', async () => {
    const files = await writePlainPair(await tempDir(), await issue());
    const captured = captureLog();
    const server = await startServer({
      config: testConfig({
        VOLUME_GUARD_ADMISSION_TLS_CERT_FILE: files.certFile,
        VOLUME_GUARD_ADMISSION_TLS_KEY_FILE: files.keyFile,
        VOLUME_GUARD_OVERRIDES_ALLOWED_GROUPS: 'system:masters,system:authenticated',
      }),
      log: captured.log,
      dependencies: emptyDependencies(),
    });
    cleanups.push(() => server.stop('test done'));
    const warnings = captured.lines.filter((line) => line['level'] === 'warn').map((line) => String(line['msg']));
    expect(warnings).toContainEqual(expect.stringContaining('admission.tls.clientCaFile is not set'));
    expect(warnings).toContainEqual(expect.stringContaining('overrides.allowedGroups includes system:authenticated'));
  });

    it('refuses to start with a client CA file that holds no CA certificate', async () => {
    const dir = await tempDir();
    const files = await writePlainPair(dir, await issue());
    const caFile = await writePem(join(dir, 'client-ca.crt'), 'not a certificate\n');
    await expect(loadServingPair({ ...files, clientCaFile: caFile })).rejects.toThrow(`TLS client CA file ${caFile} does not hold a PEM certificate`);
    await writePem(caFile, (await issue()).certPem);
    await expect(loadServingPair({ ...files, clientCaFile: caFile })).rejects.toThrow('holds a certificate that is not a CA');
  });
});
