import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  decodeHelmReleaseData,
  decodeReleaseSecret,
  formatBytes,
  isHelmReleaseSecret,
  readReleaseSecretLabels,
  releaseOperation,
  ReleaseDecodeError,
  type ReleaseDecodeErrorCode,
} from '../../../src/helm/release.ts';
import { devlakeManifest, helmEncode, releaseJson, releaseSecret, secretApiEncode, type ReleaseFixture } from './helm-fixtures.ts';

const devlake: ReleaseFixture = {
  name: 'devlake',
  namespace: 'devlake',
  version: 1,
  status: 'pending-install',
  manifest: devlakeManifest(),
};

function decodeError(run: () => unknown): ReleaseDecodeError {
  try {
    run();
  } catch (error) {
    if (error instanceof ReleaseDecodeError) return error;
    throw error;
  }
  throw new Error('expected a ReleaseDecodeError');
}

describe('decodeReleaseSecret', () => {
  it('round-trips a release Secret encoded as Helm and the Secret API encode it', () => {
    const secret = releaseSecret(devlake, { extraLabels: { 'volume-guard.io/skip': 'orphan-pvc', team: 'data' } });
    const decoded = decodeReleaseSecret(secret);
    expect(decoded.release).toEqual({
      name: 'devlake',
      namespace: 'devlake',
      version: 1,
      status: 'pending-install',
      manifest: devlake.manifest,
      chartName: 'devlake',
      chartVersion: '1.0.1-beta9',
      labels: { 'volume-guard.io/skip': 'orphan-pvc', team: 'data' },
      hooks: [],
      firstDeployed: '2026-01-10T10:00:00.000000000Z',
    });
    expect(decoded.secretName).toBe('sh.helm.release.v1.devlake.v1');
    expect(decoded.secretNamespace).toBe('devlake');
    expect(decoded.secretLabels).toEqual({ owner: 'helm', name: 'devlake', status: 'pending-install', version: 1 });
  });

  it('reads info.first_deployed as written, as Go reads the key (ignoring case); absent when missing, empty or not a string', () => {
    const withInfo = (info: Record<string, unknown>): Record<string, unknown> =>
      releaseSecret(devlake, { data: secretApiEncode(helmEncode(JSON.stringify({ ...releaseJson(devlake), info: { status: 'pending-install', ...info } }))) });
    expect(decodeReleaseSecret(withInfo({ first_deployed: '2026-02-03T04:05:06.789+01:00' })).release.firstDeployed).toBe('2026-02-03T04:05:06.789+01:00');
    expect(decodeReleaseSecret(withInfo({ First_Deployed: '2026-02-03T04:05:06Z' })).release.firstDeployed).toBe('2026-02-03T04:05:06Z');
    // Helm writes a zero time as "" (helm.sh/helm/v3/pkg/time); older records may lack the field.
    for (const info of [{}, { first_deployed: '' }, { first_deployed: 20260203 }, { first_deployed: null }]) {
      expect(decodeReleaseSecret(withInfo(info)).release).not.toHaveProperty('firstDeployed');
    }
  });

  it("reads the record's hooks as Helm's Go types do (keys ignoring case, null as none), refusing hooks of other types", () => {
    const withHooks = (hooks: unknown): Record<string, unknown> =>
      releaseSecret(devlake, { data: secretApiEncode(helmEncode(JSON.stringify({ ...releaseJson(devlake), hooks }))) });
    const hook = { name: 'data', KIND: 'PersistentVolumeClaim', manifest: 'kind: PersistentVolumeClaim', events: ['pre-upgrade'], delete_policies: null };
    expect(decodeReleaseSecret(withHooks([hook])).release.hooks).toEqual([
      { name: 'data', kind: 'PersistentVolumeClaim', manifest: 'kind: PersistentVolumeClaim', events: ['pre-upgrade'], deletePolicies: [] },
    ]);
    expect(decodeReleaseSecret(withHooks(null)).release.hooks).toEqual([]);
    expect(() => decodeReleaseSecret(withHooks({ name: 'data' }))).toThrow(/hooks that are not a list/);
    expect(() => decodeReleaseSecret(withHooks([{ events: 'pre-upgrade' }]))).toThrow(/events is not a list/);
  });

  it.each([
    ['upgrade', { ...devlake, version: 4, status: 'pending-upgrade' }],
    ['rollback', { ...devlake, version: 7, status: 'pending-rollback' }],
    ['uninstalling', { ...devlake, version: 2, status: 'uninstalling' }],
  ])('decodes a %s revision', (_label, fixture) => {
    const decoded = decodeReleaseSecret(releaseSecret(fixture));
    expect(decoded.release.version).toBe(fixture.version);
    expect(decoded.release.status).toBe(fixture.status);
  });

  it('reads each record from its own bytes, whatever was decoded before it', () => {
    // Base64 of 32 KiB or less is decoded into one buffer reused from record to record.
    const big = { ...devlake, version: 9, manifest: devlake.manifest.repeat(4) };
    const small = { ...devlake, name: 'tiny', version: 2, manifest: '' };
    const large = { ...devlake, name: 'large', version: 3, manifest: Array.from({ length: 1500 }, (_, i) => `# ${createHash('sha256').update(String(i)).digest('hex')}`).join('\n') };
    const largeData = (releaseSecret(large).data as { release: string }).release;
    expect(largeData.length).toBeGreaterThan(64 * 1024);
    const legacy = secretApiEncode(Buffer.from(JSON.stringify(releaseJson(small))).toString('base64'));
    for (const [fixture, secret] of [
      [big, releaseSecret(big)],
      [small, releaseSecret(small)],
      [large, releaseSecret(large)],
      [small, releaseSecret(small, { data: legacy })],
      [big, releaseSecret(big)],
    ] as const) {
      const decoded = decodeReleaseSecret(secret);
      expect([decoded.release.name, decoded.release.version, decoded.release.manifest]).toEqual([fixture.name, fixture.version, fixture.manifest]);
    }
    const truncated = secretApiEncode(helmEncode(JSON.stringify(releaseJson(big))).slice(0, 40));
    expect(decodeError(() => decodeReleaseSecret(releaseSecret(small, { data: truncated }))).code).toBe('invalid-gzip');
    expect(decodeError(() => decodeReleaseSecret(releaseSecret(small, { data: 'not base64!' }))).code).toBe('invalid-base64');
    expect(decodeReleaseSecret(releaseSecret(small)).release.name).toBe('tiny');
  });

  it('accepts a legacy record holding plain JSON instead of gzip', () => {
    const helmEncoded = Buffer.from(JSON.stringify(releaseJson(devlake))).toString('base64');
    const decoded = decodeReleaseSecret(releaseSecret(devlake, { data: secretApiEncode(helmEncoded) }));
    expect(decoded.release.name).toBe('devlake');
    expect(decoded.release.manifest).toBe(devlake.manifest);
  });

  it('accepts base64 with non-zero padding bits and line breaks, which Go reads but does not write, as before', () => {
    // Both layers spelt non-canonically: the last character before '=' or '==' carries bits the decoder drops.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const loosen = (canonical: string): string => {
      const at = canonical.replace(/=+$/, '').length - 1;
      expect(canonical.endsWith('=')).toBe(true);
      const spare = alphabet[alphabet.indexOf(canonical[at]!) + 1]!;
      const loose = `${canonical.slice(0, at)}${spare}${canonical.slice(at + 1)}`;
      expect(Buffer.from(loose, 'base64')).toEqual(Buffer.from(canonical, 'base64'));
      expect(Buffer.from(loose, 'base64').toString('base64')).not.toBe(loose);
      return loose;
    };
    let json = JSON.stringify(releaseJson(devlake));
    while (json.length % 3 === 0) json += ' ';
    const helmEncoded = loosen(Buffer.from(json).toString('base64'));
    let outer = Buffer.from(helmEncoded, 'latin1');
    if (outer.length % 3 === 0) outer = Buffer.from(`${helmEncoded}\n`, 'latin1');
    const wrapped = loosen(outer.toString('base64')).replace(/(.{76})/g, '$1\n');
    const decoded = decodeReleaseSecret(releaseSecret(devlake, { data: wrapped }));
    expect(decoded.release.manifest).toBe(devlake.manifest);
  });

  it('takes the namespace from the request when neither the record nor the Secret carries one', () => {
    const json = releaseJson(devlake);
    delete json.namespace;
    const secret = releaseSecret(devlake, { data: secretApiEncode(helmEncode(JSON.stringify(json))) });
    delete (secret.metadata as Record<string, unknown>).namespace;
    expect(decodeReleaseSecret(secret, { namespace: 'from-request' }).release.namespace).toBe('from-request');
  });

  it('treats a missing manifest as empty (Helm omits empty fields)', () => {
    const json = releaseJson(devlake);
    delete json.manifest;
    const secret = releaseSecret(devlake, { data: secretApiEncode(helmEncode(JSON.stringify(json))) });
    expect(decodeReleaseSecret(secret).release.manifest).toBe('');
  });

  const gzipOf = (text: string): Buffer => gzipSync(text);
  const wrap = (inner: Buffer): string => secretApiEncode(inner.toString('base64'));
  const validGzip = gzipOf(JSON.stringify(releaseJson(devlake)));
  const withRecord = (mutate: (json: Record<string, unknown>) => void): string => {
    const json = releaseJson(devlake);
    mutate(json);
    return wrap(gzipOf(JSON.stringify(json)));
  };

  const failures: [string, string, ReleaseDecodeErrorCode, string][] = [
    ['outer layer with characters outside base64', '!!!not base64!!!', 'invalid-base64', 'release data is not valid base64'],
    ['outer layer in base64url', 'ab-_', 'invalid-base64', 'release data is not valid base64'],
    ['outer layer with bad length', 'abcde', 'invalid-base64', 'release data is not valid base64'],
    [
      'inner layer that is not base64',
      Buffer.from('{"name":"devlake"}').toString('base64'),
      'invalid-base64',
      'release data is not valid base64 (inner encoding)',
    ],
    ['bytes that are neither gzip nor JSON', wrap(Buffer.from('PK\u0003\u0004 a zip file')), 'not-gzip-or-json', 'release data is not gzip or JSON'],
    ['a JSON array', wrap(Buffer.from('[1,2,3]')), 'not-gzip-or-json', 'release data is not gzip or JSON'],
    ['truncated gzip', wrap(validGzip.subarray(0, validGzip.length - 40)), 'invalid-gzip', 'release data is not valid gzip (truncated or corrupt)'],
    [
      'corrupt gzip',
      wrap(Buffer.concat([validGzip.subarray(0, 10), Buffer.alloc(64, 0xff), validGzip.subarray(74)])),
      'invalid-gzip',
      'release data is not valid gzip (truncated or corrupt)',
    ],
    ['gzip of something that is not JSON', wrap(gzipOf('name: devlake')), 'invalid-json', 'release data is not valid JSON'],
    ['legacy JSON that does not parse', wrap(Buffer.from('{"name": "devlake",')), 'invalid-json', 'release data is not valid JSON'],
    ['a record without a name', withRecord((json) => delete json.name), 'invalid-release', 'release record has no name'],
    ['a version that is not a number', withRecord((json) => (json.version = '1')), 'invalid-release', 'release record has no valid version'],
    ['a version of 0', withRecord((json) => (json.version = 0)), 'invalid-release', 'release record has no valid version'],
    ['no info', withRecord((json) => delete json.info), 'invalid-release', 'release record has no info.status'],
    ['a manifest object', withRecord((json) => (json.manifest = { kind: 'StatefulSet' })), 'invalid-release', 'release record has a manifest that is not a string'],
    ['a JSON string', wrap(gzipOf('"devlake"')), 'invalid-release', 'release record is not a JSON object'],
  ];

  it.each(failures)('refuses %s with a one-line reason', (_label, data, code, message) => {
    const error = decodeError(() => decodeReleaseSecret(releaseSecret(devlake, { data })));
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });

  it('reads gzip whatever size its trailer states: understated (two members), overstated (refused as corrupt)', () => {
    const text = JSON.stringify(releaseJson(devlake));
    const half = Math.floor(text.length / 2);
    // Two gzip members (gunzip reads both): the trailer at the end states only the second member's length.
    const twoMembers = Buffer.concat([gzipOf(text.slice(0, half)), gzipOf(text.slice(half))]);
    expect(twoMembers.readUInt32LE(twoMembers.length - 4)).toBeLessThan(text.length);
    expect(decodeReleaseSecret(releaseSecret(devlake, { data: wrap(twoMembers) })).release).toEqual(decodeReleaseSecret(releaseSecret(devlake)).release);
    // A trailer claiming 4 GiB: zlib checks it against what it inflated.
    const overstated = Buffer.from(validGzip);
    overstated.writeUInt32LE(0xfffffff0, overstated.length - 4);
    const error = decodeError(() => decodeReleaseSecret(releaseSecret(devlake, { data: wrap(overstated) })));
    expect(error.code).toBe('invalid-gzip');
  });

  it('refuses a gzip bomb: a few KB expanding past the cap', () => {
    const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024, 0x20), { level: 9 });
    expect(bomb.length).toBeLessThan(8 * 1024);
    const error = decodeError(() =>
      decodeReleaseSecret(releaseSecret(devlake, { data: wrap(bomb) }), { maxReleaseBytes: 1024 * 1024 }),
    );
    expect(error.code).toBe('too-large');
    expect(error.message).toBe('release data expands beyond 1 MiB');
  });

  it('refuses a gzip bomb past the default 32 MiB cap', () => {
    const bomb = gzipSync(Buffer.alloc(34 * 1024 * 1024, 0x20), { level: 9 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    const error = decodeError(() => decodeReleaseSecret(releaseSecret(devlake, { data: wrap(bomb) })));
    expect(error.message).toBe('release data expands beyond 32 MiB');
  });

  it('reads a record of a few KB whose JSON holds millions of values without building them', () => {
    // 27 MiB of `0,` gunzip from 26 KB: JSON.parse would have built a 14-million-element array (~320 MB at once).
    const json = `{"name":"devlake","namespace":"devlake","version":1,"info":{"status":"pending-install"},"config":{"a":[${'0,'.repeat(14_000_000)}0]},"manifest":""}`;
    const bomb = gzipSync(json, { level: 9 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    const heapBefore = process.memoryUsage().heapUsed;
    const decoded = decodeReleaseSecret(releaseSecret(devlake, { data: wrap(bomb) }));
    expect(decoded.release).toMatchObject({ name: 'devlake', version: 1, status: 'pending-install', manifest: '' });
    // What is kept is the record's fields: nothing of the array (the 27 MiB of JSON itself is a Buffer, outside the heap).
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * 1024 * 1024);
  });

  it('refuses a record nested deeper than Go reads (10,000 levels), and reads one exactly that deep', () => {
    // Nesting counts every open object and array, the record's own object included, as Go's decoder counts it.
    const nested = (depth: number) =>
      `{"name":"devlake","namespace":"devlake","version":1,"info":{"status":"pending-install"},"config":{"a":${'['.repeat(depth)}${']'.repeat(depth)}},"manifest":""}`;
    expect(decodeReleaseSecret(releaseSecret(devlake, { data: wrap(gzipSync(nested(9_998))) })).release.name).toBe('devlake');
    const error = decodeError(() => decodeReleaseSecret(releaseSecret(devlake, { data: wrap(gzipSync(nested(9_999))) })));
    expect(error.code).toBe('invalid-json');
    expect(error.message).toBe('release data nests deeper than 10,000 levels, which Helm cannot read');
  });

  it('refuses a record whose JSON nests arrays millions deep, without building them', () => {
    // 10 MiB of `[` then `]` gunzip from a few KB: JSON.parse would have built 5 million nested arrays (~300 MB).
    const depth = 5_000_000;
    const json = `{"name":"devlake","namespace":"devlake","version":1,"info":{"status":"pending-install"},"config":{"a":${'['.repeat(depth)}${']'.repeat(depth)}},"manifest":""}`;
    const bomb = gzipSync(json, { level: 9 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    const error = decodeError(() => decodeReleaseSecret(releaseSecret(devlake, { data: wrap(bomb) })));
    expect(error.code).toBe('invalid-json');
    expect(error.message).toBe('release data nests deeper than 10,000 levels, which Helm cannot read');
  });

  it('reads a large record of long strings full of commas, colons and escaped quotes', () => {
    const noisy = 'key: "a, b: c", \\"d\\", e\n'.repeat(200_000);
    const manifest = `${devlake.manifest}\n---\n# Source: devlake/templates/notes.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata: {notes: ${JSON.stringify(noisy)}}\n`;
    const record = JSON.stringify(releaseJson({ ...devlake, manifest }));
    expect(record.length).toBeGreaterThan(4 * 1024 * 1024);
    const decoded = decodeReleaseSecret(releaseSecret(devlake, { data: wrap(gzipSync(record)) }));
    expect(decoded.release.manifest).toBe(manifest);
  });

  it.each([
    ['gzip', (json: Buffer) => wrap(gzipSync(json))],
    ['legacy JSON', (json: Buffer) => wrap(json)],
  ])('reads %s of exactly the cap and refuses one byte more', (_, encode) => {
    const cap = 4096;
    const record = (bytes: number) => {
      const base = JSON.stringify({ ...releaseJson(devlake), manifest: '', padding: '' });
      return Buffer.from(base.replace('"padding":""', `"padding":"${'x'.repeat(bytes - base.length)}"`));
    };
    expect(record(cap).length).toBe(cap);
    expect(decodeReleaseSecret(releaseSecret(devlake, { data: encode(record(cap)) }), { maxReleaseBytes: cap }).release.name).toBe('devlake');
    const error = decodeError(() => decodeReleaseSecret(releaseSecret(devlake, { data: encode(record(cap + 1)) }), { maxReleaseBytes: cap }));
    expect(error.code).toBe('too-large');
    expect(error.message).toBe('release data expands beyond 4 KiB');
  });

  it('applies the cap to legacy JSON too', () => {
    const big = Buffer.from(JSON.stringify({ ...releaseJson(devlake), padding: 'x'.repeat(2048) }));
    const error = decodeError(() =>
      decodeReleaseSecret(releaseSecret(devlake, { data: wrap(big) }), { maxReleaseBytes: 1024 }),
    );
    expect(error.message).toBe('release data expands beyond 1 KiB');
  });

  it.each([
    ['a missing data.release', { data: {} }, 'missing-data', 'release Secret has no data.release'],
    ['an empty data.release', { data: { release: '' } }, 'missing-data', 'release Secret has no data.release'],
    ['another Secret type', { type: 'Opaque' }, 'not-a-release-secret', 'Secret type is not helm.sh/release.v1'],
    ['another kind', { kind: 'ConfigMap' }, 'not-a-release-secret', 'object is not a Secret'],
  ] as const)('refuses %s', (_label, patch, code, message) => {
    const error = decodeError(() => decodeReleaseSecret({ ...releaseSecret(devlake), ...patch }));
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });

  it.each([null, 'a string', 42, []])('refuses a request object that is not an object: %j', (object) => {
    expect(decodeError(() => decodeReleaseSecret(object)).code).toBe('not-a-release-secret');
  });

  it.each([
    ['status', { status: 'deployed' }, 'release Secret label status disagrees with its data'],
    ['version', { version: '2' }, 'release Secret label version disagrees with its data'],
    ['name and version', { name: 'other', version: 'x' }, 'release Secret labels name, version disagree with its data'],
  ])('refuses labels that disagree with the record (%s)', (_label, override, message) => {
    const secret = releaseSecret(devlake, { extraLabels: override });
    const error = decodeError(() => decodeReleaseSecret(secret));
    expect(error.code).toBe('labels-mismatch');
    expect(error.message).toBe(message);
  });

  it('never puts payload content in an error message', () => {
    const json = { ...releaseJson(devlake), version: 'TOP-SECRET-VALUE' };
    const secret = releaseSecret(devlake, { data: wrap(gzipOf(JSON.stringify(json))) });
    const error = decodeError(() => decodeReleaseSecret(secret));
    expect(error.message).not.toContain('TOP-SECRET');
    const garbage = decodeError(() => decodeReleaseSecret(releaseSecret(devlake, { data: wrap(Buffer.from('TOP-SECRET-VALUE')) })));
    expect(garbage.message).not.toContain('TOP-SECRET');
  });
});

describe('Secret helpers', () => {
  it('reads Helm labels without decoding the payload', () => {
    const secret = releaseSecret({ ...devlake, version: 12, status: 'uninstalling' }, { data: 'garbage' });
    expect(readReleaseSecretLabels(secret)).toEqual({ owner: 'helm', name: 'devlake', status: 'uninstalling', version: 12 });
    expect(readReleaseSecretLabels({ kind: 'Secret', metadata: {} }).version).toBeNaN();
  });

  it('recognises release Secrets by type or owner label', () => {
    expect(isHelmReleaseSecret(releaseSecret(devlake))).toBe(true);
    expect(isHelmReleaseSecret({ type: 'Opaque', metadata: { labels: { owner: 'helm' } } })).toBe(true);
    expect(isHelmReleaseSecret({ type: 'Opaque', metadata: { labels: { owner: 'me' } } })).toBe(false);
    expect(isHelmReleaseSecret(null)).toBe(false);
  });

  it('maps pending statuses to operations', () => {
    expect(releaseOperation('pending-install')).toBe('install');
    expect(releaseOperation('pending-upgrade')).toBe('upgrade');
    expect(releaseOperation('pending-rollback')).toBe('rollback');
    expect(releaseOperation('deployed')).toBeUndefined();
  });

  it('decodes Helm encoding directly (ConfigMap driver, tools)', () => {
    expect(decodeHelmReleaseData(helmEncode(JSON.stringify(releaseJson(devlake)))).name).toBe('devlake');
  });

  it('formats limits for messages', () => {
    expect(formatBytes(32 * 1024 * 1024)).toBe('32 MiB');
    expect(formatBytes(512 * 1024)).toBe('512 KiB');
    expect(formatBytes(1000)).toBe('1000 bytes');
  });
});
