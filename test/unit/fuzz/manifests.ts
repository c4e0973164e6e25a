// Adversarial Helm manifests: YAML token soup, billion-laughs alias bombs, merge-key chains, nesting thousands
// deep (flow, block and sequences), oversized documents and manifests, many tiny documents, and realistic
// manifests with random edits. Cases built to trip a specific limit say which ManifestError they must get.
import fc from 'fast-check';
import type { ManifestErrorCode } from '../../../src/helm/manifest.ts';
import { devlakeManifest } from '../helm/helm-fixtures.ts';

export interface ManifestCase {
  readonly kind: string;
  readonly text: string;
  /** The error the parser must report; undefined when the case may be readable. */
  readonly expected?: ManifestErrorCode;
}

const HEAD = 'apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: web\n';

const TOKENS = [
  '\n', '\n', '\n  ', '\n    ', '\r\n', ' ', ' ', '- ', ': ', ':', ',', '#', '# Source: x/templates/a.yaml\n',
  'kind: StatefulSet', 'kind: PersistentVolumeClaim', 'kind: List', 'kind: "Stateful\\x53et"', 'apiVersion: apps/v1', 'apiVersion: v1',
  'metadata:', 'name: data', 'namespace: ns', 'spec:', 'replicas: 3', 'replicas: -1', 'replicas: 1e9', 'items:',
  'volumeClaimTemplates:', 'template:', 'ordinals:', 'start: 5', 'selector:', 'matchLabels:', 'annotations:',
  'helm.sh/resource-policy: keep', 'persistentVolumeClaimRetentionPolicy:',
  '&a ', '*a', '&b ', '*b', '<<: *a', '<<: [*a, *b]', '*undefined',
  '[', ']', '{', '}', '"', "'", '|', '|-', '>', '? ', '---', '--- ', '...', '%YAML 1.2\n', '%TAG ! tag:x,2026:\n',
  '!!str ', '!!binary ', '!!map ', '!!seq ', '!!int ', '!custom ', '\t', '\\', '\\u0053', 'null', '~', 'true', '0x1F', '.inf', '-', 'é', '\u2028', '\u0000',
];

/** Random YAML-ish text, usually headed by a StatefulSet so the document is parsed in full. */
const tokenSoup: fc.Arbitrary<ManifestCase> = fc
  .tuple(fc.boolean(), fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }))
  .map(([headed, tokens]) => ({ kind: 'token soup', text: `${headed ? HEAD : ''}${tokens.join('')}` }));

/** Every alias level multiplies the expansion by `fanout`: fanout^levels nodes from a few hundred bytes. */
function billionLaughs(levels: number, fanout: number): ManifestCase {
  const lines = [`${HEAD}x0: &a0 "lol"`];
  for (let level = 1; level <= levels; level += 1) {
    lines.push(`x${level}: &a${level} [${Array.from({ length: fanout }, () => `*a${level - 1}`).join(', ')}]`);
  }
  lines.push(`spec:\n  volumeClaimTemplates: *a${levels}`);
  return { kind: 'billion laughs', text: lines.join('\n'), ...(fanout ** levels >= 10_000 ? { expected: 'yaml-bomb' as const } : {}) };
}

const aliasBomb = fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 2, max: 12 })).map(([levels, fanout]) => billionLaughs(levels, fanout));

/** Merge keys chained through anchors: each map merges the previous ones. */
const mergeChain = fc.integer({ min: 1, max: 12 }).map((count) => {
  const lines = [`${HEAD}base0: &m0 {a: 1}`];
  for (let i = 1; i <= count; i += 1) lines.push(`base${i}: &m${i}\n  <<: [${Array.from({ length: Math.min(i, 4) }, (_, k) => `*m${i - 1 - k}`).join(', ')}]\n  k${i}: ${i}`);
  lines.push(`spec: *m${count}`);
  return { kind: 'merge chain', text: lines.join('\n') };
});

type NestingShape = 'flow sequence' | 'flow map' | 'block map' | 'block sequence';

function nested(shape: NestingShape, depth: number): ManifestCase {
  let body: string;
  switch (shape) {
    case 'flow sequence':
      body = `spec: ${'['.repeat(depth)}1${']'.repeat(depth)}`;
      break;
    case 'flow map':
      body = `spec: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`;
      break;
    case 'block map':
      body = `spec:\n${Array.from({ length: depth }, (_, level) => `${' '.repeat(2 * (level + 1))}a:`).join('\n')} 1`;
      break;
    default:
      body = `spec:\n  ${'- '.repeat(depth)}1`;
  }
  return { kind: `nested ${shape}`, text: `${HEAD}${body}\n`, ...(depth > 150 ? { expected: 'yaml-bomb' as const } : {}) };
}

const deepNesting = fc
  .tuple(fc.constantFrom<NestingShape>('flow sequence', 'flow map', 'block map', 'block sequence'), fc.integer({ min: 1, max: 3_000 }))
  .map(([shape, depth]) => nested(shape, shape === 'block map' ? Math.min(depth, 600) : depth));

/** Over the per-document (1 MiB) or per-manifest (2 MiB of parsed YAML) limits. */
const oversized = fc.constantFrom<ManifestCase>(
  { kind: 'document over 1 MiB', text: `${HEAD}# ${'x'.repeat(1024 * 1024)}\n`, expected: 'document-too-large' },
  { kind: 'manifest over 2 MiB', text: Array.from({ length: 24 }, () => `---\n${HEAD}# ${'y'.repeat(100 * 1024)}\n`).join(''), expected: 'manifest-too-large' },
);

/** Thousands of tiny documents: skipped unparsed unless they mention a storage kind. */
const manyDocuments = fc.tuple(fc.integer({ min: 1, max: 3_000 }), fc.boolean()).map(([count, storage]) => ({
  kind: 'many documents',
  text: Array.from({ length: count }, (_, i) => `---\nkind: ${storage && i % 100 === 0 ? 'PersistentVolumeClaim' : 'ConfigMap'}\nmetadata: {name: c${i}}\n`).join(''),
}));

/** A realistic manifest with a few random edits: a slice deleted, a token inserted, lines swapped. */
const editedManifest = fc
  .tuple(
    fc.constantFrom(devlakeManifest(), devlakeManifest({ release: 'x', withLake: false })),
    fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 40 }), fc.constantFrom(...TOKENS)), { minLength: 1, maxLength: 4 }),
  )
  .map(([manifest, edits]) => {
    let text = manifest;
    for (const [at, remove, insert] of edits) {
      const index = Math.floor(text.length * at);
      text = `${text.slice(0, index)}${insert}${text.slice(index + remove)}`;
    }
    return { kind: 'edited manifest', text };
  });

const unicode = fc.string({ unit: 'grapheme', maxLength: 200 }).map((text) => ({ kind: 'unicode', text: `${HEAD}${text}` }));

/** Weighted towards cheap cases; the expensive ones (megabytes, thousands of documents) come rarely. */
export const manifestCase: fc.Arbitrary<ManifestCase> = fc.oneof(
  { weight: 30, arbitrary: tokenSoup },
  { weight: 6, arbitrary: editedManifest },
  { weight: 8, arbitrary: aliasBomb },
  { weight: 4, arbitrary: mergeChain },
  { weight: 8, arbitrary: deepNesting },
  { weight: 4, arbitrary: unicode },
  { weight: 1, arbitrary: manyDocuments },
  { weight: 1, arbitrary: oversized },
);

export const manifestText: fc.Arbitrary<string> = manifestCase.map((item) => item.text);
