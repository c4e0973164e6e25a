// The admission port logged every `tlsClientError` of the admission port as "admission caller refused at the TLS handshake: no
// client certificate of admission.tls.clientCaFile". Node emits tlsClientError for any socket that errs before its
// handshake completes (tls.Server: ECONNRESET "Client network socket disconnected before secure TLS connection was
// established", handshake timeouts, non-TLS bytes), not only for a refused client certificate. A TCP check that
// connects and closes (a blackbox TCP probe, `nc -z`, a port scanner) then puts that client-certificate diagnosis in
// the log though no certificate was ever refused.
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../../../src/server/serve.ts';
import { writePem } from '../../support/tls-files.ts';
import { intermediateClientChain, issue, tempDir, writePlainPair } from '../../support/tls.ts';
import { captureLog, emptyDependencies, testConfig } from './server-fixtures.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

describe('a TCP connection closed before any TLS handshake', () => {
  it('is not logged as a caller refused for its client certificate', async () => {
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
    // A TCP-only probe: connect, write a byte that is no ClientHello, close.
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.end('x'));
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = captured.lines.filter((line) => /refused at the TLS handshake/i.test(String(line.msg)));
    expect(lines.map((line) => `${String(line.msg)} ${String(line.reason)}`)).toEqual([]);
  });
});
