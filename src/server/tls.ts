// The serving certificate: read from files (a cert-manager Secret volume in production), validated as a pair,
// and swapped into the running server when the files change, without a restart. A bad or half-written pair
// never replaces a good one. With a client CA file, the admission port also authenticates its callers: only a
// client certificate issued by that CA (the API server's, through its admission configuration) completes the
// TLS handshake; the CA bundle is hot-reloaded with the pair.

import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { SecureContextOptions, SecureVersion } from 'node:tls';
import type { Gauge } from 'prom-client';
import type { Logger } from 'pino';

export const TLS_MIN_VERSION: SecureVersion = 'TLSv1.2';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** Extra PEM intermediates appended to the served chain; '' or undefined for none. */
  readonly caFile?: string;
  /** PEM CA bundle that client certificates must chain to; '' or undefined: no client authentication. */
  readonly clientCaFile?: string;
}

/** A validated certificate and key, ready for setSecureContext. */
export interface ServingPair {
  /** The certificate file, plus the extra chain when configured. */
  readonly certPem: string;
  readonly keyPem: string;
  /** Upper-case hex, as node:tls reports it. */
  readonly serialNumber: string;
  readonly subject: string;
  readonly notAfter: Date;
  /** sha256 of the files' bytes: a change in any of them means a new pair. */
  readonly contentHash: string;
  /** The client CA bundle, when client certificates are required. */
  readonly clientCaPem?: string;
  /** Subjects of the client CA bundle's certificates, for the log. */
  readonly clientCaSubjects?: readonly string[];
  /** The client CA bundle's certificates, to re-check connections opened under an earlier bundle. */
  readonly clientCas?: readonly X509Certificate[];
  /** The served (leaf) certificate, to compare the names of the next one with. */
  readonly leaf: X509Certificate;
}

export class TlsConfigError extends Error {
  override readonly name: string = 'TlsConfigError';
}

/** A readable pair the API server would refuse; the message says what to do (no file hint needed). */
export class TlsCertificateUnusableError extends TlsConfigError {
  override readonly name: string = 'TlsCertificateUnusableError';
}

/** A certificate whose validity has not begun: worth trying again once it has. */
export class TlsCertificateNotYetValidError extends TlsCertificateUnusableError {
  override readonly name: string = 'TlsCertificateNotYetValidError';
}

/**
 * How far ahead of this clock a certificate's notBefore may be and still be served: the issuer's, this node's and the
 * API server's clocks differ by seconds, at worst minutes. Past it the API server refuses the certificate ("x509:
 * certificate has expired or is not yet valid"), so the reloader keeps the old pair and tries the new one again.
 */
export const NOT_BEFORE_SKEW_MS = 5 * 60_000;

/**
 * Extended key usages Go's certificate verification takes for a server (crypto/x509 checkChainForKeyUsage): serverAuth,
 * any, and the two old "server gated crypto" ones. A leaf whose extended key usages are listed but none of these is
 * refused by the API server ("x509: certificate specifies an incompatible key usage"); a leaf without the extension
 * (or with it empty) is good for any use.
 */
const SERVER_USAGE_OIDS: ReadonlySet<string> = new Set(['1.3.6.1.5.5.7.3.1', '2.5.29.37.0', '2.16.840.1.113730.4.1', '1.3.6.1.4.1.311.10.3.3']);
const USAGE_NAMES: Readonly<Record<string, string>> = {
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};

const STARTUP_HINT =
  'mount the serving certificate Secret (tls.crt, tls.key) there, point admission.tls.certFile/keyFile ' +
  '(VOLUME_GUARD_ADMISSION_TLS_CERT_FILE / _KEY_FILE) at the right files, or use `volume-guard serve --self-signed` ' +
  'for a local try-out';

interface RawPair {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  readonly clientCa: Buffer | undefined;
}

async function readOne(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : String(code);
    throw new TlsConfigError(`TLS ${what} file ${path} ${why}`);
  }
}

async function readRawPair(files: TlsFiles): Promise<RawPair> {
  // Read together, but report a failure in a fixed order (certificate, key, chain), whichever read failed first.
  const [cert, key, ca, clientCa] = await Promise.allSettled([
    readOne(files.certFile, 'certificate'),
    readOne(files.keyFile, 'key'),
    files.caFile ? readOne(files.caFile, 'extra CA chain') : Promise.resolve(undefined),
    files.clientCaFile ? readOne(files.clientCaFile, 'client CA') : Promise.resolve(undefined),
  ]);
  for (const result of [cert, key, ca, clientCa]) if (result.status === 'rejected') throw result.reason;
  if (cert.status !== 'fulfilled' || key.status !== 'fulfilled' || ca.status !== 'fulfilled' || clientCa.status !== 'fulfilled') {
    throw new Error('unreachable');
  }
  return { cert: cert.value, key: key.value, ca: ca.value, clientCa: clientCa.value };
}

function hashOf(raw: RawPair): string {
  const hash = createHash('sha256');
  for (const part of [raw.cert, raw.key, raw.ca ?? Buffer.alloc(0), raw.clientCa ?? Buffer.alloc(0)]) {
    hash.update(String(part.length)).update(':').update(part);
  }
  return hash.digest('hex');
}

/**
 * A certificate's subject on one line. cert-manager issues serving certificates without a subject (a Certificate
 * without commonName: names only in subjectAltName), and X509Certificate#subject is then undefined, whatever its
 * type says: those are described by their alternative names.
 */
export function describeSubject(certificate: X509Certificate): string {
  const subject = certificate.subject as string | undefined;
  if (subject) return subject.replace(/\n/g, ', ');
  return certificate.subjectAltName ? `(no subject) ${certificate.subjectAltName}` : '(no subject)';
}

function validatePair(raw: RawPair, files: TlsFiles, now: number): ServingPair {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(raw.cert);
  } catch {
    throw new TlsConfigError(`TLS certificate file ${files.certFile} does not hold a PEM certificate`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(raw.key);
  } catch {
    throw new TlsConfigError(`TLS key file ${files.keyFile} does not hold a PEM private key`);
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new TlsConfigError(`TLS key in ${files.keyFile} does not match the certificate in ${files.certFile}`);
  }
  const notAfter = new Date(certificate.validTo);
  if (notAfter.getTime() <= now) {
    throw new TlsConfigError(`TLS certificate in ${files.certFile} expired at ${notAfter.toISOString()}`);
  }
  const notBefore = new Date(certificate.validFrom);
  if (notBefore.getTime() > now + NOT_BEFORE_SKEW_MS) {
    throw new TlsCertificateNotYetValidError(
      `TLS certificate in ${files.certFile} is not valid before ${notBefore.toISOString()}, over ${NOT_BEFORE_SKEW_MS / 60_000} minutes ` +
        "ahead of this node's clock: the API server would refuse it until then; check the issuer's and the nodes' clocks",
    );
  }
  const usages = certificate.keyUsage as string[] | undefined;
  if (usages !== undefined && usages.length > 0 && !usages.some((oid) => SERVER_USAGE_OIDS.has(oid))) {
    throw new TlsCertificateUnusableError(
      `TLS certificate in ${files.certFile} is not for a server: its extended key usages (${usages.map((oid) => USAGE_NAMES[oid] ?? oid).join(', ')}) ` +
        'lack serverAuth, so the API server would refuse it ("incompatible key usage"); reissue it with the "server auth" usage',
    );
  }
  if (alternativeNames(certificate).length === 0) {
    // Go's crypto/x509 (verify.go: VerifyHostname, HostnameError) matches the host the API server dials only against
    // these names since Go 1.17, never the subject CN: every admission call would fail the handshake.
    throw new TlsCertificateUnusableError(
      `TLS certificate in ${files.certFile} names no DNS name or IP address in subjectAltName (subject ${describeSubject(certificate)}): ` +
        'the API server matches only those, never the CN ("relies on legacy Common Name field"); ' +
        "reissue it with the webhook Service's DNS names (<service>.<namespace>.svc)",
    );
  }
  if (raw.ca) {
    try {
      new X509Certificate(raw.ca);
    } catch {
      throw new TlsConfigError(`TLS extra CA chain file ${files.caFile} does not hold a PEM certificate`);
    }
  }
  let clientCaPem: string | undefined;
  let clientCas: X509Certificate[] | undefined;
  if (raw.clientCa) {
    clientCaPem = raw.clientCa.toString('utf8');
    clientCas = clientCaCertificates(clientCaPem, files.clientCaFile ?? '');
  }
  const certPem = raw.ca ? `${raw.cert.toString('utf8').trimEnd()}\n${raw.ca.toString('utf8')}` : raw.cert.toString();
  const keyPem = raw.key.toString('utf8');
  try {
    // Exactly what setSecureContext will do: catches what the checks above cannot (e.g. unsupported keys).
    createSecureContext(secureContextOptions({ certPem, keyPem, ...(clientCaPem ? { clientCaPem } : {}) }));
  } catch (error) {
    throw new TlsConfigError(`TLS pair ${files.certFile} / ${files.keyFile} is unusable: ${(error as Error).message}`);
  }
  return {
    certPem,
    keyPem,
    serialNumber: certificate.serialNumber.toUpperCase(),
    subject: describeSubject(certificate),
    notAfter,
    contentHash: hashOf(raw),
    leaf: certificate,
    ...(clientCaPem && clientCas
      ? { clientCaPem, clientCas, clientCaSubjects: clientCas.map(describeSubject) }
      : {}),
  };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate of a client CA bundle; an empty bundle or one that is not PEM is an error. */
function clientCaCertificates(pem: string, file: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new TlsConfigError(`TLS client CA file ${file} does not hold a PEM certificate`);
  return blocks.map((block) => {
    try {
      const certificate = new X509Certificate(block);
      if (!certificate.ca) throw new TlsConfigError(`TLS client CA file ${file} holds a certificate that is not a CA: ${describeSubject(certificate)}`);
      return certificate;
    } catch (error) {
      if (error instanceof TlsConfigError) throw error;
      throw new TlsConfigError(`TLS client CA file ${file} holds an unreadable certificate`);
    }
  });
}

/** The options every secure context gets: the pair, TLS >= 1.2, and the client CA when callers must present one. */
export function secureContextOptions(pair: Pick<ServingPair, 'certPem' | 'keyPem' | 'clientCaPem'>): SecureContextOptions {
  // One entry per certificate: a concatenated bundle as one string is not taken whole by setSecureContext.
  return { cert: pair.certPem, key: pair.keyPem, minVersion: TLS_MIN_VERSION, ...(pair.clientCaPem ? { ca: pemBlocks(pair.clientCaPem) } : {}) };
}

function pemBlocks(pem: string): string[] {
  return pem.match(PEM_CERTIFICATE) ?? [];
}

/**
 * Whether a TLS peer's chain (leaf first) ends in one of `cas`: the handshake checked it against the bundle of
 * its time; a keep-alive connection outlives a bundle change, so each request is checked against the current one.
 */
export function chainsTo(chain: readonly X509Certificate[], cas: readonly X509Certificate[]): boolean {
  return chain.some((certificate) =>
    cas.some(
      (ca) =>
        certificate.fingerprint256 === ca.fingerprint256 ||
        (certificate.checkIssued(ca) && certificate.verify(ca.publicKey)),
    ),
  );
}

/**
 * The server options for client authentication: the handshake fails unless the caller presents a certificate
 * that chains to the client CA. Set once at startup; the CA itself lives in the (hot-swapped) secure context.
 */
export function clientAuthServerOptions(pair: Pick<ServingPair, 'clientCaPem'>): { requestCert: boolean; rejectUnauthorized: boolean; ca?: string[] } {
  return pair.clientCaPem ? { requestCert: true, rejectUnauthorized: true, ca: pemBlocks(pair.clientCaPem) } : { requestCert: false, rejectUnauthorized: false };
}

/** Read and validate the pair at startup; the error says which file is wrong and what to do. */
export async function loadServingPair(files: TlsFiles, now: number = Date.now()): Promise<ServingPair> {
  try {
    return validatePair(await readRawPair(files), files, now);
  } catch (error) {
    if (error instanceof TlsCertificateUnusableError) throw error;
    if (error instanceof TlsConfigError) throw new TlsConfigError(`${error.message}: ${STARTUP_HINT}`);
    throw error;
  }
}

/** Anything whose certificate can be swapped: an https/tls Server. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export type ReloadResult = 'unchanged' | 'reloaded' | 'rejected';

export interface CertificateReloaderOptions {
  readonly files: TlsFiles;
  readonly target: SecureContextTarget;
  /** The pair the server was started with. */
  readonly initial: ServingPair;
  readonly pollIntervalMs: number;
  readonly log: Logger;
  readonly notAfterGauge?: Gauge;
  /** Delay between a file event and the re-read, to let multi-file writes finish. */
  readonly debounceMs?: number;
  readonly clock?: () => number;
}

/**
 * Watches the certificate files' directories (inotify sees the Secret volume's `..data` symlink swap) and polls
 * them, like controller-runtime's certwatcher; swaps the server's secure context when the bytes change and the
 * new pair is valid.
 */
export class CertificateReloader {
  readonly #options: CertificateReloaderOptions;
  #current: ServingPair;
  #lastRejectedHash: string | undefined;
  #lastProblem: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #watchers = new Map<string, FSWatcher>();
  #poll: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #stopped = true;

  constructor(options: CertificateReloaderOptions) {
    this.#options = options;
    this.#current = options.initial;
    options.notAfterGauge?.set(options.initial.notAfter.getTime() / 1000);
  }

  get current(): ServingPair {
    return this.#current;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#ensureWatchers();
    this.#poll = setInterval(() => {
      this.#ensureWatchers();
      void this.check();
    }, this.#options.pollIntervalMs);
    this.#poll.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#poll) clearInterval(this.#poll);
    if (this.#debounce) clearTimeout(this.#debounce);
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }

  /** Re-read the files now; checks run one at a time. */
  check(): Promise<ReloadResult> {
    const run = this.#queue.then(() => this.#checkOnce());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #ensureWatchers(): void {
    const { certFile, keyFile, caFile, clientCaFile } = this.#options.files;
    const directories = new Set([certFile, keyFile, ...(caFile ? [caFile] : []), ...(clientCaFile ? [clientCaFile] : [])].map((file) => dirname(file)));
    for (const directory of directories) {
      if (this.#watchers.has(directory)) continue;
      try {
        const watcher = watch(directory, { persistent: false }, () => this.#scheduleCheck());
        watcher.on('error', () => {
          // The directory went away (or the watch broke): polling carries on and re-creates the watch.
          watcher.close();
          this.#watchers.delete(directory);
        });
        this.#watchers.set(directory, watcher);
      } catch {
        // Directory missing right now: the poll will try again.
      }
    }
  }

  #scheduleCheck(): void {
    if (this.#stopped) return;
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.check(), this.#options.debounceMs ?? 100);
    this.#debounce.unref();
  }

  async #checkOnce(): Promise<ReloadResult> {
    const { files, log } = this.#options;
    let raw: RawPair;
    try {
      raw = await readRawPair(files);
    } catch (error) {
      this.#reportProblem(String((error as Error).message), undefined);
      return 'rejected';
    }
    const contentHash = hashOf(raw);
    if (contentHash === this.#current.contentHash) {
      this.#lastProblem = undefined;
      return 'unchanged';
    }
    if (contentHash === this.#lastRejectedHash) return 'rejected';

    let pair: ServingPair;
    try {
      pair = validatePair(raw, files, (this.#options.clock ?? Date.now)());
      this.#options.target.setSecureContext(secureContextOptions(pair));
    } catch (error) {
      // A pair not valid yet is read again at every check (the files may not change again), and taken once it is.
      if (error instanceof TlsCertificateNotYetValidError) this.#reportProblem(`${error.message} (tried again at every check)`, undefined);
      else this.#reportProblem(String((error as Error).message), contentHash);
      return 'rejected';
    }
    const previous = this.#current;
    // The same client CA bundle keeps its identity: connections verified at their handshake against it stay admitted
    // (the app re-judges a connection only when the bundle in force is another array).
    if (pair.clientCaPem !== undefined && pair.clientCaPem === previous.clientCaPem && previous.clientCas !== undefined) {
      pair = { ...pair, clientCas: previous.clientCas };
    }
    this.#current = pair;
    this.#lastRejectedHash = undefined;
    this.#lastProblem = undefined;
    this.#options.notAfterGauge?.set(pair.notAfter.getTime() / 1000);
    log.info(
      {
        serialNumber: pair.serialNumber,
        subject: pair.subject,
        notAfter: pair.notAfter.toISOString(),
        previousSerialNumber: previous.serialNumber,
        ...(pair.clientCaSubjects ? { clientCa: pair.clientCaSubjects } : {}),
      },
      'serving certificate reloaded',
    );
    const dropped = namesNotCovered(previous.leaf, pair.leaf);
    if (dropped.length > 0) {
      // Served all the same: names may be dropped on purpose (a renamed Service).
      log.warn(
        { droppedNames: dropped.slice(0, 10), serialNumber: pair.serialNumber, previousSerialNumber: previous.serialNumber },
        'the new serving certificate does not cover every name of the previous one: an API server calling volume-guard by ' +
          'one of those names fails to verify it; unless they were dropped on purpose, reissue it with them',
      );
    }
    return 'reloaded';
  }

  /** Log each distinct problem once, not on every poll. */
  #reportProblem(problem: string, contentHash: string | undefined): void {
    if (contentHash !== undefined) this.#lastRejectedHash = contentHash;
    if (problem === this.#lastProblem) return;
    this.#lastProblem = problem;
    this.#options.log.error(
      { problem, servingSerialNumber: this.#current.serialNumber },
      'new serving certificate rejected; still serving the previous one',
    );
  }
}

/** A certificate's DNS and IP subject alternative names, as `DNS:name` / `IP Address:ip`. */
function alternativeNames(certificate: X509Certificate): string[] {
  const text = certificate.subjectAltName ?? '';
  if (text === '') return [];
  return text.split(', ').filter((entry) => entry.startsWith('DNS:') || entry.startsWith('IP Address:'));
}

/**
 * The DNS and IP names of `previous` that `next` does not cover (as a TLS client matches a name: wildcards count,
 * the subject's CN does not, as in Go).
 */
export function namesNotCovered(previous: X509Certificate, next: X509Certificate): string[] {
  const nextNames = new Set(alternativeNames(next).map((entry) => entry.toLowerCase()));
  return alternativeNames(previous).filter((entry) => {
    if (nextNames.has(entry.toLowerCase())) return false;
    if (entry.startsWith('DNS:')) return next.checkHost(entry.slice(4), { subject: 'never' }) === undefined;
    return next.checkIP(entry.slice('IP Address:'.length)) === undefined;
  });
}
