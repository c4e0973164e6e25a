// TLS material on disk for tests: certificate/key pairs and CA bundles written as PEM files (keys 0600), and
// replaced the two ways a server can see them change: atomically (written beside, renamed over: readers see the
// whole old or the whole new file) or in place (readers may see halves). No vitest import: the e2e global setup
// and the soak use it too.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface PairFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A fresh directory under the OS temp dir; `remove()` deletes it with everything in it. */
export async function tlsTempDir(prefix = 'vg-tls-'): Promise<{ readonly dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes one PEM file (a certificate, a CA bundle); `private` files (keys) are 0600. Returns its path. */
export async function writePem(file: string, pem: string, options: { private?: boolean } = {}): Promise<string> {
  await writeFile(file, pem, options.private ? { mode: 0o600 } : {});
  return file;
}

/** Writes `<name>.crt` and `<name>.key` (0600) in `dir`, in place. */
export async function writePairFiles(dir: string, pair: PemPair, name = 'tls'): Promise<PairFiles> {
  const certFile = await writePem(join(dir, `${name}.crt`), pair.certPem);
  const keyFile = await writePem(join(dir, `${name}.key`), pair.keyPem, { private: true });
  return { certFile, keyFile };
}

/** Replaces a PEM file atomically: written beside it, then renamed over it. */
export async function replacePem(file: string, pem: string, options: { private?: boolean } = {}): Promise<void> {
  await writePem(`${file}.tmp`, pem, options);
  await rename(`${file}.tmp`, file);
}

/**
 * Writes a new pair over existing files: atomically (both written beside, then renamed over, key first) or in place
 * (certificate first; readers may see halves).
 */
export async function replacePairFiles(files: PairFiles, pair: PemPair, mode: 'rename' | 'in place'): Promise<void> {
  if (mode === 'rename') {
    await writePem(`${files.keyFile}.tmp`, pair.keyPem, { private: true });
    await writePem(`${files.certFile}.tmp`, pair.certPem);
    await rename(`${files.keyFile}.tmp`, files.keyFile);
    await rename(`${files.certFile}.tmp`, files.certFile);
  } else {
    await writePem(files.certFile, pair.certPem);
    await writePem(files.keyFile, pair.keyPem, { private: true });
  }
}
