// Test helpers for serving certificates: temp directories laid out like a Kubernetes Secret volume, atomic
// swaps, a raw TLS client that reports which certificate a server presents, and an HTTPS POST that reports the
// status or the TLS error.

import { request as httpsRequest, type Agent } from 'node:https';
import { mkdtemp, mkdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { onTestFinished } from 'vitest';
import { createCertificateAuthority } from '../../src/server/selfsigned.ts';
import type { CertificateAuthority, IssueOptions, IssuedCertificate } from '../../src/server/selfsigned.ts';
import { writePairFiles, type PairFiles } from './tls-files.ts';

export type { CertificateAuthority, IssuedCertificate } from '../../src/server/selfsigned.ts';

let sharedCa: Promise<CertificateAuthority> | undefined;

/** One CA per test process: issuing is cheap, creating CAs is not needed per test. */
export function testCa(): Promise<CertificateAuthority> {
  sharedCa ??= createCertificateAuthority({ commonName: 'volume-guard test CA' });
  return sharedCa;
}

export async function issue(options: IssueOptions = {}): Promise<IssuedCertificate> {
  return (await testCa()).issue(options);
}

/** A fresh directory, removed when the current test finishes (call it inside a test). */
export async function tempDir(prefix = 'vg-tls-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Plain files tls.crt / tls.key in `dir`, written in place (not atomically). */
export function writePlainPair(dir: string, pair: Pick<IssuedCertificate, 'certPem' | 'keyPem'>): Promise<PairFiles> {
  return writePairFiles(dir, pair);
}

let generation = 0;

/**
 * A directory laid out as the kubelet lays out a Secret volume: `tls.crt -> ..data/tls.crt`,
 * `..data -> ..<timestamp>/`. Updates write a new timestamped directory and rename a new `..data` over the old
 * one, so readers see either the whole old pair or the whole new one.
 */
export class SecretVolume {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.certFile = join(dir, 'tls.crt');
    this.keyFile = join(dir, 'tls.key');
  }

  static async create(pair: Pick<IssuedCertificate, 'certPem' | 'keyPem'>): Promise<SecretVolume> {
    const volume = new SecretVolume(await tempDir('vg-secret-'));
    await volume.update(pair);
    await symlink(join('..data', 'tls.crt'), volume.certFile);
    await symlink(join('..data', 'tls.key'), volume.keyFile);
    return volume;
  }

  async update(pair: Pick<IssuedCertificate, 'certPem' | 'keyPem'>): Promise<void> {
    const versionDir = `..${new Date().toISOString().replace(/[-:.]/g, '_')}.${process.pid}.${++generation}`;
    await mkdir(join(this.dir, versionDir));
    await writeFile(join(this.dir, versionDir, 'tls.crt'), pair.certPem);
    await writeFile(join(this.dir, versionDir, 'tls.key'), pair.keyPem);
    let previous: string | undefined;
    try {
      previous = await readlink(join(this.dir, '..data'));
    } catch {
      previous = undefined;
    }
    await symlink(versionDir, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    if (previous) await rm(join(this.dir, previous), { recursive: true, force: true });
  }
}

export interface PeerCertificateInfo {
  readonly serialNumber: string;
  readonly authorized: boolean;
  readonly protocol: string | null;
}

/** Handshake with a server and report the certificate it presents (upper-case hex serial). */
export function peerCertificate(port: number, options: ConnectionOptions = {}): Promise<PeerCertificateInfo> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, ...options });
    socket.once('secureConnect', () => {
      const certificate = socket.getPeerCertificate();
      const info = {
        serialNumber: certificate.serialNumber.toUpperCase(),
        authorized: socket.authorized,
        protocol: socket.getProtocol(),
      };
      socket.end();
      resolve(info);
    });
    socket.once('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS handshake timed out')));
  });
}

export interface PostOptions {
  /** https://HOST:PORT/PATH */
  readonly url: string;
  readonly body: string;
  /** The CA the server's certificate must chain to. */
  readonly ca: string;
  /** A client certificate to present. */
  readonly client?: Pick<IssuedCertificate, 'certPem' | 'keyPem'>;
  /** Default: a new connection (no agent). */
  readonly agent?: Agent;
  readonly servername?: string;
}

/** POSTs a JSON body over HTTPS; resolves to the HTTP status, or to the TLS/socket error code when the server refuses us. */
export function postStatus(options: PostOptions): Promise<number | string> {
  const url = new URL(options.url);
  return new Promise((resolve) => {
    const request = httpsRequest(
      {
        host: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        method: 'POST',
        ca: options.ca,
        ...(options.servername ? { servername: options.servername } : {}),
        agent: options.agent ?? false,
        ...(options.client ? { cert: options.client.certPem, key: options.client.keyPem } : {}),
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(options.body)) },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    request.end(options.body);
  });
}

/** Poll `probe` until it returns a value that is not undefined, or fail after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  { timeoutMs = 10_000, intervalMs = 25 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * A client certificate issued by an intermediate CA under a root (as cert-manager's CA issuers often set it up):
 * `rootPem` for the client CA bundle, `certPem` the leaf followed by the intermediate, as a client presents them.
 */
export async function intermediateClientChain(commonName: string): Promise<{ rootPem: string; certPem: string; keyPem: string }> {
  const x509 = await import('@peculiar/x509');
  const crypto = globalThis.crypto;
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = () => crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  const rootKeys = await keys();
  const root = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: 'CN=test root CA',
      notBefore,
      notAfter,
      keys: rootKeys,
      signingAlgorithm: algorithm,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true), await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey, false, crypto)],
    },
    crypto,
  );
  const intermediateKeys = await keys();
  const intermediate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: '02',
      subject: 'CN=test intermediate CA',
      issuer: root.subject,
      notBefore,
      notAfter,
      publicKey: intermediateKeys.publicKey,
      signingKey: rootKeys.privateKey,
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
        await x509.SubjectKeyIdentifierExtension.create(intermediateKeys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(root, false, crypto),
      ],
    },
    crypto,
  );
  const leafKeys = await keys();
  const leaf = await x509.X509CertificateGenerator.create(
    {
      serialNumber: '03',
      subject: `CN=${commonName}`,
      issuer: intermediate.subject,
      notBefore,
      notAfter,
      publicKey: leafKeys.publicKey,
      signingKey: intermediateKeys.privateKey,
      signingAlgorithm: algorithm,
      extensions: [
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: commonName }]),
        await x509.AuthorityKeyIdentifierExtension.create(intermediate, false, crypto),
      ],
    },
    crypto,
  );
  const keyPem = x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', leafKeys.privateKey), 'PRIVATE KEY');
  return { rootPem: `${root.toString('pem')}\n`, certPem: `${leaf.toString('pem')}\n${intermediate.toString('pem')}\n`, keyPem };
}
