// Reading a release record in full: decode the stored object (Secret or ConfigMap driver), then parse the
// manifest's storage documents. Pure and synchronous; the manifest pool runs it in worker threads so that a hostile
// record costs its own request, not the event loop every other request needs.
import { ManifestError, parseHookClaims, parseManifest, type ManifestLimits, type ParsedManifest } from './manifest.ts';
import { isObject } from '../json.ts';
import { stringOfToken } from '../json-bytes.ts';
import { decodeReleaseObject, ReleaseDecodeError, type DecodedReleaseSecret } from './release.ts';

export interface ReadReleaseJob {
  /** request.object: the release Secret or ConfigMap. */
  readonly object: unknown;
  /**
   * The record's `data.release` as its JSON token, when the decoder set it aside (`object` then holds a placeholder
   * there): it becomes a string only here, in the worker. A view into the request's body, or a copy; whichever buffer
   * holds it is this record's alone and is handed over to the worker, not copied (ManifestPool).
   */
  readonly releaseToken?: Uint8Array<ArrayBuffer>;
  /** The request's namespace: the storage object's namespace. */
  readonly namespace: string;
  /**
   * Take the namespace the record names as the release's. Otherwise (the default) the release is judged in the
   * namespace of the object it is stored in, whatever its payload says.
   */
  readonly trustRecordNamespace?: boolean;
  readonly limits?: ManifestLimits;
}

export type ReadFailure = 'decode' | 'manifest' | 'timeout' | 'busy' | 'worker';

export type ReadOutcome =
  | {
      readonly ok: true;
      /**
       * The decoded record; `release.manifest` and `release.hooks` are emptied (the parsed form is what the checks read) and
       * `release.namespace` is the namespace it is judged in (see trustRecordNamespace).
       */
      readonly decoded: DecodedReleaseSecret;
      /** The namespace the record's payload names ('' when none). */
      readonly recordNamespace: string;
      readonly manifest: ParsedManifest;
    }
  | {
      readonly ok: false;
      readonly failure: ReadFailure;
      readonly reason: string;
      /**
       * The namespace the release would be judged in, when the record decoded but its manifest did not parse: its
       * namespace's override may then waive the refusal (with trustRecordNamespace, nothing else says which it is).
       */
      readonly namespace?: string;
    };

/** Decodes and parses; every expected failure is an outcome with a one-line reason that quotes no payload. */
export function readRelease(job: ReadReleaseJob): ReadOutcome {
  let decoded: DecodedReleaseSecret;
  try {
    const object = job.releaseToken === undefined ? job.object : withRelease(job.object, stringOfToken(job.releaseToken));
    decoded = decodeReleaseObject(object, { namespace: job.namespace });
  } catch (error) {
    if (error instanceof ReleaseDecodeError) return { ok: false, failure: 'decode', reason: error.message };
    throw error;
  }
  const recordNamespace = decoded.release.namespace;
  const namespace = job.trustRecordNamespace ? recordNamespace : decoded.secretNamespace || job.namespace;
  let manifest: ParsedManifest;
  try {
    manifest = parseManifest(decoded.release.manifest, namespace, job.limits);
    // Hooks are rendered apart from the manifest; their PVCs are what the checks need of them.
    manifest = { ...manifest, hookClaims: parseHookClaims(decoded.release.hooks ?? [], namespace, job.limits) };
  } catch (error) {
    if (error instanceof ManifestError) return { ok: false, failure: 'manifest', reason: error.message, namespace };
    throw error;
  }
  return { ok: true, decoded: { ...decoded, release: { ...decoded.release, manifest: '', hooks: [], namespace } }, manifest, recordNamespace };
}

/** The storage object with `data.release` as the string set aside for it (the object itself is left as it is). */
function withRelease(object: unknown, release: string): unknown {
  if (!isObject(object) || !isObject(object.data)) return object;
  return { ...object, data: { ...object.data, release } };
}
