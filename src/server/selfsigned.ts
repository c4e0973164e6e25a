// In-memory certificate authority for `serve --self-signed` (local try-outs) and for tests, which register
// webhooks with this CA as caBundle. Production certificates come from files (cert-manager).

import { randomBytes, webcrypto } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  PemConverter,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';
import type { JsonGeneralName } from '@peculiar/x509';

const crypto = webcrypto;
const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  /** Upper-case hex, as node:tls and X509Certificate report it. */
  readonly serialNumber: string;
  readonly notAfter: Date;
}

export interface IssueOptions {
  readonly commonName?: string;
  /** No subject at all, names only in subjectAltName (what cert-manager issues for a Certificate without commonName). */
  readonly emptySubject?: boolean;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Default serverAuth; clientAuth for a client certificate (e.g. the API server's webhook client). */
  readonly usages?: readonly ('serverAuth' | 'clientAuth')[];
}

export interface CertificateAuthority {
  readonly certPem: string;
  /** A serving certificate (serverAuth) signed by this CA; 127.0.0.1 and localhost by default. */
  issue(options?: IssueOptions): Promise<IssuedCertificate>;
}

/** 16 random bytes, first byte in 0x10..0x7f: positive and always 32 hex digits. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = 0x10 + (bytes[0]! % 0x70);
  return bytes.toString('hex').toUpperCase();
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

export async function createCertificateAuthority(
  options: { readonly commonName?: string; readonly notAfter?: Date } = {},
): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const now = Date.now();
  const caCert = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: `CN=${options.commonName ?? 'volume-guard self-signed CA'}`,
      notBefore: new Date(now - 60_000),
      notAfter: options.notAfter ?? new Date(now + 365 * DAY_MS),
      signingAlgorithm: SIGNING_ALGORITHM,
      keys,
      extensions: [
        new BasicConstraintsExtension(true, 0, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
        await SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const certPem = caCert.toString('pem');

  return {
    certPem,
    async issue(issue: IssueOptions = {}): Promise<IssuedCertificate> {
      const leafKeys = await generateKeys();
      const serialNumber = randomSerial();
      const dnsNames = issue.dnsNames ?? ['localhost'];
      const ipAddresses = issue.ipAddresses ?? ['127.0.0.1'];
      const names: JsonGeneralName[] = [
        ...dnsNames.map((value): JsonGeneralName => ({ type: 'dns', value })),
        ...ipAddresses.map((value): JsonGeneralName => ({ type: 'ip', value })),
      ];
      const notAfter = issue.notAfter ?? new Date(Date.now() + 90 * DAY_MS);
      const leaf = await X509CertificateGenerator.create(
        {
          serialNumber,
          subject: issue.emptySubject ? '' : `CN=${issue.commonName ?? dnsNames[0] ?? ipAddresses[0] ?? 'volume-guard'}`,
          issuer: caCert.subject,
          notBefore: issue.notBefore ?? new Date(Date.now() - 60_000),
          notAfter,
          signingAlgorithm: SIGNING_ALGORITHM,
          publicKey: leafKeys.publicKey,
          signingKey: keys.privateKey,
          extensions: [
            new BasicConstraintsExtension(false, undefined, true),
            new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment, true),
            new ExtendedKeyUsageExtension((issue.usages ?? ['serverAuth']).map((usage) => ExtendedKeyUsage[usage])),
            // RFC 5280 4.2.1.6: a subjectAltName extension holds at least one name; with none it is left out.
            ...(names.length > 0 ? [new SubjectAlternativeNameExtension(names)] : []),
            await SubjectKeyIdentifierExtension.create(leafKeys.publicKey, false, crypto),
            await AuthorityKeyIdentifierExtension.create(caCert, false, crypto),
          ],
        },
        crypto,
      );
      return { certPem: leaf.toString('pem'), keyPem: await privateKeyPem(leafKeys.privateKey), serialNumber, notAfter };
    },
  };
}

export interface SelfSignedFiles {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caPem: string;
  readonly serialNumber: string;
}

/** A fresh CA and serving certificate written to a new private temp directory (mode 0700 dir, 0600 key). */
export async function writeSelfSignedTls(options: IssueOptions = {}): Promise<SelfSignedFiles> {
  const ca = await createCertificateAuthority();
  const leaf = await ca.issue(options);
  const dir = await mkdtemp(join(tmpdir(), 'volume-guard-tls-'));
  const caFile = join(dir, 'ca.crt');
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  await writeFile(caFile, ca.certPem, { mode: 0o644 });
  await writeFile(certFile, leaf.certPem, { mode: 0o644 });
  await writeFile(keyFile, leaf.keyPem, { mode: 0o600 });
  return { dir, caFile, certFile, keyFile, caPem: ca.certPem, serialNumber: leaf.serialNumber };
}
