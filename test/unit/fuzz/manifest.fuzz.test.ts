// Fuzzing the Helm manifest parser on its own: every manifest is either read (with well-typed results) or
// refused with a ManifestError; bombs and extreme nesting get the error they were built to trigger; nothing else
// is thrown, no input hangs, and the heap comes back down.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManifestError, parseManifest } from '../../../src/helm/manifest.ts';
import { manifestCase } from './manifests.ts';
import { FuzzRun, fuzzParameters, testTimeout } from './support.ts';

const run = new FuzzRun('manifest');
const counter = run.counter;

describe('fuzz: Helm manifests', () => {
  it('reads or refuses every manifest with a ManifestError, and refuses bombs for the right reason', { timeout: testTimeout(90_000) }, () => {
    fc.assert(
      fc.property(manifestCase, fc.constantFrom('default', 'apps'), (item, namespace) => {
        counter.count(item.kind);
        let parsed;
        try {
          parsed = parseManifest(item.text, namespace);
        } catch (error) {
          expect(error, item.kind).toBeInstanceOf(ManifestError);
          if (item.expected) expect((error as ManifestError).code, item.kind).toBe(item.expected);
          expect((error as ManifestError).message).toMatch(/^[^\n]{1,300}$/);
          return;
        }
        expect(item.expected, `${item.kind} was read`).toBeUndefined();
        expect(parsed.parsedDocuments).toBeLessThanOrEqual(parsed.documents);
        for (const sts of parsed.statefulSets) {
          expect(typeof sts.name).toBe('string');
          expect(sts.name.length).toBeGreaterThan(0);
          expect(typeof sts.namespace).toBe('string');
          expect(Number.isSafeInteger(sts.replicas) && sts.replicas >= 0).toBe(true);
          expect(Number.isSafeInteger(sts.ordinalsStart) && sts.ordinalsStart >= 0).toBe(true);
          for (const template of sts.claimTemplates) expect(typeof template).toBe('string');
          for (const value of Object.values(sts.selector)) expect(typeof value).toBe('string');
        }
        for (const claim of parsed.persistentVolumeClaims) {
          expect(typeof claim.name).toBe('string');
          expect(typeof claim.keep).toBe('boolean');
        }
      }),
      fuzzParameters(24_000, 90_000),
    );
  });
});

run.afterwards(24_000);
