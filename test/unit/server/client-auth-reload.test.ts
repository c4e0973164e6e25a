// A renewal of the SERVING certificate (cert-manager every 60 days, rotationPolicy Always) must not
// refuse the API server's kept-alive connections whose client certificate an intermediate CA issued: the client CA
// bundle did not change.
import { Agent } from 'node:https';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../../../src/server/serve.ts';
import { replacePairFiles, writePem } from '../../support/tls-files.ts';
import { intermediateClientChain, issue, postStatus, tempDir, testCa, writePlainPair } from '../../support/tls.ts';
import { captureLog, emptyDependencies, sampleReview, testConfig } from './server-fixtures.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

describe('client authentication across a serving-certificate renewal', () => {
  it('keeps admitting a kept-alive connection of an intermediate-issued client certificate when only the serving pair is renewed', async () => {
    const chain = await intermediateClientChain('kube-apiserver');
    const dir = await tempDir();
    const caFile = await writePem(join(dir, 'client-ca.crt'), chain.rootPem);
    const files = await writePlainPair(dir, await issue());
    const captured = captureLog();
    const server = await startServer({
      config: testConfig({
        VOLUME_GUARD_ADMISSION_TLS_CERT_FILE: files.certFile,
        VOLUME_GUARD_ADMISSION_TLS_KEY_FILE: files.keyFile,
        VOLUME_GUARD_ADMISSION_TLS_CLIENT_CA_FILE: caFile,
        VOLUME_GUARD_ADMISSION_TLS_CLIENT_NAMES: 'kube-apiserver',
        VOLUME_GUARD_ADMISSION_TLS_POLL_INTERVAL_MS: '100',
        VOLUME_GUARD_ADMISSION_ALLOW_ALL: 'true',
      }),
      log: captured.log,
      dependencies: emptyDependencies(),
      certificateDebounceMs: 10,
    });
    cleanups.push(() => server.stop('test done'));
    const port = server.admissionAddress.port;
    const ca = (await testCa()).certPem;
    const agent = new Agent({ keepAlive: true, maxSockets: 1, cert: chain.certPem, key: chain.keyPem });
    cleanups.push(async () => agent.destroy());
    const post = () => postStatus({ url: `https://127.0.0.1:${port}/validate/allow-all`, body: JSON.stringify(sampleReview()), ca, servername: 'localhost', agent });
    expect(await post()).toBe(200);
    expect(await post()).toBe(200);
    // cert-manager renews the serving certificate (new key, rotationPolicy Always); the client CA file is untouched.
    await replacePairFiles(files, await issue(), 'rename');
    await server.reloader.check();
    expect(server.reloader.current.clientCaSubjects).toHaveLength(1);
    // The API server's kept-alive connection: its client certificate and the client CA are what they were.
    expect(await post()).toBe(200);
    expect(captured.lines.filter((line) => String(line.msg).includes('admission caller refused'))).toEqual([]);
  });
});

describe('a caller refused at the TLS handshake', () => {
  it('is logged (rate-limited), so an API server without the client certificate is diagnosable from volume-guard', async () => {
    const chain = await intermediateClientChain('kube-apiserver');
    const dir = await tempDir();
    const caFile = await writePem(join(dir, 'client-ca.crt'), chain.rootPem);
    const files = await writePlainPair(dir, await issue());
    const captured = captureLog();
    const server = await startServer({
      config: testConfig({
        VOLUME_GUARD_ADMISSION_TLS_CERT_FILE: files.certFile,
        VOLUME_GUARD_ADMISSION_TLS_KEY_FILE: files.keyFile,
        VOLUME_GUARD_ADMISSION_TLS_CLIENT_CA_FILE: caFile,
        VOLUME_GUARD_ADMISSION_ALLOW_ALL: 'true',
      }),
      log: captured.log,
      dependencies: emptyDependencies(),
    });
    cleanups.push(() => server.stop('test done'));
    const port = server.admissionAddress.port;
    // The API server's admission configuration lacks the webhook client certificate (README, step 2 missed).
    const outcome = await postStatus({ url: `https://127.0.0.1:${port}/validate/allow-all`, body: JSON.stringify(sampleReview()), ca: (await testCa()).certPem, servername: 'localhost' });
    expect(typeof outcome).toBe('string');
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Every admission call of that API server fails like this; volume-guard's log should say why.
    expect(captured.lines.some((line) => line.level === 'warn' && /handshake|client certificate/i.test(String(line.msg)))).toBe(true);
  });
});
