import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  documentKind,
  goYamlNumber,
  ManifestError,
  mayDeclareStorage,
  nestingExceeds,
  parseHookClaims,
  parseManifest,
  prunePodTemplate,
  splitManifest,
  type ManifestErrorCode,
  type ManifestLimits,
} from '../../../src/helm/manifest.ts';
import { devlakeManifest } from './helm-fixtures.ts';

function manifestError(manifest: string, limits?: ManifestLimits): ManifestError {
  try {
    parseManifest(manifest, 'apps', limits);
  } catch (error) {
    if (error instanceof ManifestError) return error;
    throw error;
  }
  throw new Error('expected a ManifestError');
}

const statefulSet = (body: string, source = 'chart/templates/sts.yaml'): string =>
  `---\n# Source: ${source}\napiVersion: apps/v1\nkind: StatefulSet\n${body}`;

describe('parseManifest', () => {
  it('reads a Helm multi-document manifest with Source comments (DevLake)', () => {
    const parsed = parseManifest(devlakeManifest(), 'devlake');
    expect(parsed.documents).toBe(6);
    // Secret, ConfigMap and Service never reach the YAML parser.
    expect(parsed.parsedDocuments).toBe(3);
    expect(parsed.statefulSets).toEqual([
      {
        namespace: 'devlake',
        name: 'devlake-mysql',
        replicas: 1,
        replicasDeclared: true,
        ordinalsStart: 0,
        ordinalsDeclared: false,
        claimTemplates: ['devlake-mysql-data'],
        selector: { 'app.kubernetes.io/name': 'devlake', 'app.kubernetes.io/instance': 'devlake' },
        retentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        whenScaledDeclared: false,
        keep: false,
        source: 'devlake/templates/statefulsets.yaml',
      },
      expect.objectContaining({ name: 'devlake-lake', claimTemplates: ['devlake-lake-config'] }),
    ]);
    expect(parsed.persistentVolumeClaims).toEqual([
      { namespace: 'devlake', name: 'devlake-grafana', keep: true, source: 'devlake/templates/grafana/pvc.yaml' },
    ]);
  });

  it('marks what helm uninstall leaves: any helm.sh/resource-policy (Helm deletes only documents without one)', () => {
    const claim = (annotations: string) =>
      parseManifest(`apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n${annotations}`, 'apps').persistentVolumeClaims[0]?.keep;
    expect(claim('')).toBe(false);
    expect(claim('  annotations:\n    team: db\n')).toBe(false);
    for (const value of ['keep', '" Keep "', 'prefer-existing', '"delete"', '""']) {
      expect(claim(`  annotations:\n    helm.sh/resource-policy: ${value}\n`)).toBe(true);
    }
  });

  it('reads two claim templates, replicas, ordinals, namespace and retention policy', () => {
    const manifest = statefulSet(`metadata:
  name: kafka
  namespace: streaming
  annotations:
    helm.sh/resource-policy: " Keep "
spec:
  replicas: 3
  ordinals:
    start: 5
  persistentVolumeClaimRetentionPolicy:
    whenDeleted: Delete
    whenScaled: Retain
  selector:
    matchLabels: {app: kafka, release: kafka}
  volumeClaimTemplates:
    - metadata: {name: data}
    - metadata:
        name: logs
    - metadata: {name: data}
    - spec: {}
`);
    expect(parseManifest(manifest, 'apps').statefulSets).toEqual([
      {
        namespace: 'streaming',
        name: 'kafka',
        replicas: 3,
        replicasDeclared: true,
        ordinalsStart: 5,
        ordinalsDeclared: true,
        claimTemplates: ['data', 'logs'],
        selector: { app: 'kafka', release: 'kafka' },
        retentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
        whenScaledDeclared: true,
        keep: true,
        source: 'chart/templates/sts.yaml',
      },
    ]);
  });

  it.each([
    ['absent', '', 1],
    ['null (an empty template value)', 'replicas:\n  ', 1],
    ['zero', 'replicas: 0\n  ', 0],
    ['seven', 'replicas: 7\n  ', 7],
    ['not a number', 'replicas: "3"\n  ', 1],
  ])('defaults replicas when %s', (_label, replicas, expected) => {
    const manifest = statefulSet(`metadata:\n  name: db\nspec:\n  ${replicas}serviceName: db\n`);
    expect(parseManifest(manifest, 'apps').statefulSets[0]?.replicas).toBe(expected);
  });

  it('ignores StatefulSets of other API groups and PVCs of other versions', () => {
    const manifest = `---
apiVersion: apps.kruise.io/v1beta1
kind: StatefulSet
metadata: {name: advanced}
spec: {volumeClaimTemplates: [{metadata: {name: data}}]}
---
apiVersion: example.com/v1
kind: PersistentVolumeClaim
metadata: {name: fake}
`;
    const parsed = parseManifest(manifest, 'apps');
    expect(parsed.statefulSets).toEqual([]);
    expect(parsed.persistentVolumeClaims).toEqual([]);
    expect(parsed.parsedDocuments).toBe(2);
  });

  it('flattens List documents like the Kubernetes client does', () => {
    const manifest = `---
# Source: chart/templates/list.yaml
apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: in-list}
    spec: {replicas: 2, volumeClaimTemplates: [{metadata: {name: data}}]}
  - apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {name: listed-claim, namespace: other}
`;
    const parsed = parseManifest(manifest, 'apps');
    expect(parsed.statefulSets.map((s) => [s.name, s.replicas, s.claimTemplates])).toEqual([['in-list', 2, ['data']]]);
    expect(parsed.persistentVolumeClaims.map((p) => `${p.namespace}/${p.name}`)).toEqual(['other/listed-claim']);
  });

  it("reads helm.sh/resource-policy of a List's items from the List, as uninstall reads each document's head", () => {
    // filterManifestsToKeep reads the document's own metadata: a List's, never its items'. So a keep on an item does
    // not keep it, and a keep on the List keeps every item.
    const list = (listAnnotations: string, itemAnnotations: string): string => `---
# Source: chart/templates/list.yaml
apiVersion: v1
kind: List
metadata: {annotations: {${listAnnotations}}}
items:
  - apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: db, annotations: {${itemAnnotations}}}
    spec: {volumeClaimTemplates: [{metadata: {name: data}}]}
  - apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {name: files, annotations: {${itemAnnotations}}}
`;
    const itemsKept = parseManifest(list('', 'helm.sh/resource-policy: keep'), 'apps');
    expect([...itemsKept.statefulSets, ...itemsKept.persistentVolumeClaims].map((o) => [o.name, o.keep])).toEqual([
      ['db', false],
      ['files', false],
    ]);
    const listKept = parseManifest(list('helm.sh/resource-policy: keep', ''), 'apps');
    expect([...listKept.statefulSets, ...listKept.persistentVolumeClaims].map((o) => [o.name, o.keep])).toEqual([
      ['db', true],
      ['files', true],
    ]);
  });

  it('tolerates empty documents, scalars, sequences and objects without a name', () => {
    const manifest = [
      '---\n# Source: chart/templates/empty.yaml\n',
      '---\n# Source: chart/templates/scalar.yaml\nStatefulSet\n',
      '---\n- kind: StatefulSet\n- PersistentVolumeClaim\n',
      '---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {}\n',
      '---\napiVersion: v1\nkind: PersistentVolumeClaim\n',
      '---\n\n\n',
    ].join('');
    const parsed = parseManifest(manifest, 'apps');
    expect(parsed.statefulSets).toEqual([]);
    expect(parsed.persistentVolumeClaims).toEqual([]);
    expect(parsed.documents).toBe(4);
  });

  it('skips a document of a certain other kind that only mentions the kinds; parses one whose kind is uncertain when it could be one', () => {
    const manifest = '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata:\n  text: "scale the StatefulSet"\n';
    const parsed = parseManifest(manifest, 'apps');
    expect(parsed.parsedDocuments).toBe(0);
    // Not certain (a quoted key), but no `kind` key there has a storage kind as its value: the word in a string is no kind.
    const uncertain = '---\n"kind": ConfigMap\napiVersion: v1\nmetadata: {name: notes}\ndata:\n  text: "scale the StatefulSet"\n';
    expect(parseManifest(uncertain, 'apps').parsedDocuments).toBe(0);
    const uncertainStatefulSet = '---\n"kind": StatefulSet\napiVersion: apps/v1\nmetadata: {name: db}\n';
    expect(parseManifest(uncertainStatefulSet, 'apps').statefulSets.map((s) => s.name)).toEqual(['db']);
  });

  it('finds a kind spelled with a double-quoted escape', () => {
    const manifest = '---\napiVersion: apps/v1\nkind: "Stateful\\u0053et"\nmetadata: {name: escaped}\n';
    expect(mayDeclareStorage(manifest)).toBe(true);
    expect(parseManifest(manifest, 'apps').statefulSets.map((s) => s.name)).toEqual(['escaped']);
  });

  it('resolves anchors, aliases and merge keys within the alias budget', () => {
    const manifest = statefulSet(`metadata:
  name: web
  labels: &labels {app: web}
spec:
  base: &base
    replicas: 2
  <<: *base
  selector:
    matchLabels: *labels
  volumeClaimTemplates: [{metadata: {name: www}}]
`);
    expect(parseManifest(manifest, 'apps').statefulSets[0]).toMatchObject({ replicas: 2, selector: { app: 'web' } });
  });

  it('reads merge keys the way the Kubernetes client does (go-yaml v2): in document order, a merge overriding keys before it', () => {
    // sigs.k8s.io/yaml decodes with go-yaml v2, whose mapping() applies `<<` where it stands: keys before it are
    // overwritten by the merged map, keys after it overwrite the merged ones. (The YAML merge spec would keep the
    // explicit keys either way; what Helm creates is what the client decodes.)
    const manifest = statefulSet(`metadata:
  name: web
base: &base
  replicas: 3
  persistentVolumeClaimRetentionPolicy: {whenScaled: Delete}
spec:
  replicas: 1
  <<: *base
  volumeClaimTemplates: [{metadata: {name: www}}]
`);
    expect(parseManifest(manifest, 'apps').statefulSets[0]).toMatchObject({ replicas: 3, retentionPolicy: { whenScaled: 'Delete' } });
    const after = statefulSet(`metadata:
  name: web
base: &base
  replicas: 3
spec:
  <<: *base
  replicas: 1
  volumeClaimTemplates: [{metadata: {name: www}}]
`);
    expect(parseManifest(after, 'apps').statefulSets[0]).toMatchObject({ replicas: 1 });
    const list = statefulSet(`metadata:
  name: web
a: &a {replicas: 2}
b: &b {replicas: 5, minReadySeconds: 1}
spec:
  <<: [*a, *b]
  volumeClaimTemplates: [{metadata: {name: www}}]
`);
    expect(parseManifest(list, 'apps').statefulSets[0]).toMatchObject({ replicas: 2 });
  });

  it('splits on separators with comments, CRLF line endings and a first document without a separator', () => {
    const manifest =
      'apiVersion: v1\r\nkind: PersistentVolumeClaim\r\nmetadata:\r\n  name: first\r\n' +
      '--- # second\r\napiVersion: v1\r\nkind: PersistentVolumeClaim\r\nmetadata:\r\n  name: second\r\n' +
      '---\r\napiVersion: v1\r\nkind: PersistentVolumeClaim\r\nmetadata:\r\n  name: "---not-a-separator"\r\n';
    expect(parseManifest(manifest, 'apps').persistentVolumeClaims.map((p) => p.name)).toEqual([
      'first',
      'second',
      '---not-a-separator',
    ]);
  });

  it('keeps a block scalar line starting with dashes inside its document', () => {
    const manifest = statefulSet(`metadata:
  name: banner
  annotations:
    note: |
      ----- not a separator
spec: {volumeClaimTemplates: [{metadata: {name: data}}]}
`);
    expect(splitManifest(manifest)).toHaveLength(1);
    expect(parseManifest(manifest, 'apps').statefulSets[0]?.claimTemplates).toEqual(['data']);
  });

  it('reads several documents separated by a document end marker', () => {
    const manifest =
      '---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: a}\n...\n' +
      '%YAML 1.2\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: b}\n';
    expect(parseManifest(manifest, 'apps').persistentVolumeClaims.map((p) => p.name)).toEqual(['a', 'b']);
  });

  const billionLaughs = (): string => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let level = 1; level < 10; level += 1) {
      const previous = String.fromCharCode(96 + level);
      const current = String.fromCharCode(97 + level);
      lines.push(`${current}: &${current} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    return statefulSet(`metadata: {name: lol}\n${lines.join('\n')}\n`, 'evil/templates/lol.yaml');
  };

  const refusals: [string, () => string, ManifestLimits | undefined, ManifestErrorCode, string][] = [
    [
      'a billion-laughs alias bomb',
      billionLaughs,
      undefined,
      'yaml-bomb',
      'manifest document evil/templates/lol.yaml expands too many YAML aliases',
    ],
    [
      'deep flow nesting',
      () => `---\nkind: StatefulSet\nx: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`,
      undefined,
      'yaml-bomb',
      'manifest document #1 nests deeper than 100 levels',
    ],
    [
      'deep block nesting by indentation',
      () => `kind: StatefulSet\nx:\n${Array.from({ length: 150 }, (_, i) => `${' '.repeat(i)}- `).join('\n')}\n`,
      undefined,
      'yaml-bomb',
      'manifest document #1 nests deeper than 100 levels',
    ],
    [
      'deep compact block nesting on one line',
      () => `kind: StatefulSet\nx:\n${'- '.repeat(100_000)}x\n`,
      undefined,
      'yaml-bomb',
      'manifest document #1 nests deeper than 100 levels',
    ],
    [
      'an oversized document',
      () => statefulSet(`metadata: {name: big}\ndata: "${'x'.repeat(4096)}"\n`, 'big/templates/sts.yaml'),
      { maxDocumentBytes: 4096 },
      'document-too-large',
      'manifest document big/templates/sts.yaml is larger than 4 KiB',
    ],
    [
      'too much workload YAML in total',
      () => Array.from({ length: 5 }, (_, i) => statefulSet(`metadata: {name: s${i}}\npad: "${'x'.repeat(900)}"\n`)).join(''),
      { maxParsedBytes: 4096 },
      'manifest-too-large',
      'manifest declares more than 4 KiB of workload YAML',
    ],
    [
      'invalid YAML in a StatefulSet',
      () => statefulSet('metadata: {name: broken\nspec: [\n', 'broken/templates/sts.yaml'),
      undefined,
      'invalid-yaml',
      'manifest document broken/templates/sts.yaml is not valid YAML',
    ],
  ];

  it.each(refusals)('refuses %s', (_label, build, limits, code, message) => {
    const error = manifestError(build(), limits);
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });


  it('names a document by a bounded Source: a hostile comment line does not grow the refusal, its log line or Event', () => {
    // The manifest is gzipped in the record: a megabyte Source line costs the writer a few bytes.
    const source = `evil/templates/${'a'.repeat(1_000_000)}.yaml`;
    for (const [manifest, limits] of [
      [statefulSet('metadata: {name: x}\nspec: [unclosed\n', source), undefined],
      [statefulSet(`metadata: {name: big}\ndata: "${'x'.repeat(4096)}"\n`, source), { maxDocumentBytes: 4096 }],
    ] as const) {
      const error = manifestError(manifest, limits);
      expect(error.message.length).toBeLessThan(300);
      expect(error.message).toMatch(/^manifest document evil\/templates\/a+… /);
    }
  });
  it('does not parse, and so cannot fail on, documents that declare no storage', () => {
    const manifest = `---\nkind: ConfigMap\ndata: {broken: [\n---\n${'['.repeat(10_000)}\n` + devlakeManifest();
    expect(parseManifest(manifest, 'devlake').statefulSets).toHaveLength(2);
  });

  it('accepts a few aliases and an ordinary nesting depth', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `${' '.repeat(i * 2)}level${i}:`).join('\n');
    const manifest = statefulSet(`metadata: {name: deep}\nspec:\n  volumeClaimTemplates: [{metadata: {name: d}}]\nextra:\n${lines} end\n`);
    expect(parseManifest(manifest, 'apps').statefulSets[0]?.claimTemplates).toEqual(['d']);
  });
});

describe('nestingExceeds', () => {
  it.each([
    ['flat mapping', 'a: 1\nb: 2\n', 1, false],
    ['one level', 'a:\n  b: 1\n', 1, true],
    ['comments do not nest', 'a: 1\n        # indented comment\nb: 2\n', 1, false],
    ['siblings at one depth', 'a:\n  b: 1\n  c: 2\nd:\n  e: 3\n', 2, false],
    ['compact sequences', '- - - x\n', 2, true],
    ['brackets are counted', 'a: [[[1]]]\n', 2, true],
    ['closing brackets release depth', 'a: [[1]]\nb: [[2]]\n', 3, false],
  ])('%s', (_label, text, limit, expected) => {
    expect(nestingExceeds(text, limit)).toBe(expected);
  });
});

describe('pod template pruning', () => {
  // A comment naming the marker turns pruning off without changing the YAML: the reference full parse.
  const fullParse = (text: string) => parseManifest(`${text}\n# volume-guard.io/pruned-pod-template\n`, 'apps');

  const typical = statefulSet(`metadata:
  name: db
spec:
  replicas: 3
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
        - name: db
          args:
            - |
              echo "template:"
# a comment at column 0 inside the template
          env: [{name: A, value: "1"}]
  volumeClaimTemplates:
    - metadata: {name: data}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete}
`);

  it('cuts the pod template out of a typical StatefulSet and keeps what follows it', () => {
    const pruned = prunePodTemplate(typical);
    expect(pruned).toBeDefined();
    expect(pruned).toContain('  template: "volume-guard.io/pruned-pod-template"\n');
    expect(pruned).not.toContain('containers');
    expect(pruned).toContain('volumeClaimTemplates');
    expect(parseManifest(typical, 'apps')).toEqual(fullParse(typical));
    expect(parseManifest(typical, 'apps').statefulSets[0]).toMatchObject({
      replicas: 3,
      claimTemplates: ['data'],
      retentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
    });
  });

  it.each([
    [
      'a flow-style spec whose template line hides a sibling key',
      `metadata: {name: db}\nspec: {\n  template:\n    {a: 1}, replicas: 5\n  , volumeClaimTemplates: [{metadata: {name: data}}]}\n`,
    ],
    [
      'a template line inside a multi-line double-quoted string',
      `metadata: {name: db}\nspec:\n  note: "a\n    template:\n     b"\n  replicas: 4\n  volumeClaimTemplates: [{metadata: {name: data}}]\n`,
    ],
    [
      'an anchor inside the template used after it',
      `metadata: {name: db}\nspec:\n  template:\n    x: &n 6\n  replicas: *n\n  volumeClaimTemplates: [{metadata: {name: data}}]\n`,
    ],
    [
      'a template value written as a same-indent sequence',
      `metadata: {name: db}\nspec:\n  template:\n  - a\n  replicas: 2\n  volumeClaimTemplates: [{metadata: {name: data}}]\n`,
    ],
    [
      'two template lines',
      `metadata:\n  name: db\n  annotations:\n    note: |\n      template:\n        x\nspec:\n  template:\n    spec: {}\n  replicas: 7\n  volumeClaimTemplates: [{metadata: {name: data}}]\n`,
    ],
    [
      'a template key that is not spec.template',
      `metadata:\n  name: db\n  template:\n    replicas: 9\nspec:\n  replicas: 8\n  volumeClaimTemplates: [{metadata: {name: data}}]\n`,
    ],
    [
      'CRLF line endings',
      `metadata:\r\n  name: db\r\nspec:\r\n  template:\r\n    spec: {}\r\n  replicas: 3\r\n  volumeClaimTemplates:\r\n    - metadata: {name: data}\r\n`,
    ],
  ])('reads the same as a full parse with %s', (_label, body) => {
    const text = statefulSet(body);
    const parsed = parseManifest(text, 'apps');
    expect(parsed).toEqual(fullParse(text));
    expect(parsed.statefulSets[0]?.claimTemplates).toEqual(['data']);
  });

  // Valid YAML by construction: a random nested block value for the template, with the tricky bits (block
  // scalars holding `template:` and `replicas:` lines, multi-line quoted strings, flow collections, comments at
  // any column, an anchor), followed by siblings of spec that the pruning must not swallow.
  const scalar = fc.constantFrom('1', 'plain text', '"quoted: x"', "'single'", '[a, {b: c}]', '{}', 'null');
  const blockScalar = fc.constantFrom('template:', 'replicas: 99', '  deeper', '# not a comment', '- x');
  const key = fc.constantFrom('a', 'b', 'spec', 'template2', 'replicas', 'metadata');
  type Value = { kind: 'scalar'; text: string } | { kind: 'block'; lines: string[] } | { kind: 'map'; entries: [string, Value][] } | { kind: 'seq'; items: Value[] } | { kind: 'quoted' };
  const { value } = fc.letrec<{ value: Value }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      scalar.map((text): Value => ({ kind: 'scalar', text })),
      fc.array(blockScalar, { minLength: 1, maxLength: 3 }).map((lines): Value => ({ kind: 'block', lines })),
      fc.constant<Value>({ kind: 'quoted' }),
      fc.array(fc.tuple(key, tie('value')), { minLength: 1, maxLength: 3 }).map((entries): Value => ({ kind: 'map', entries })),
      fc.array(tie('value'), { minLength: 1, maxLength: 3 }).map((items): Value => ({ kind: 'seq', items })),
    ),
  }));
  const render = (v: Value, indent: number, comments: boolean[]): string => {
    const pad = ' '.repeat(indent);
    const comment = (): string => (comments.shift() ? `\n# comment at column 0` : '');
    switch (v.kind) {
      case 'scalar':
        return ` ${v.text}`;
      case 'quoted':
        return ` "first line\n${pad}  template:\n${pad}  last"`;
      case 'block':
        return ` |2\n${v.lines.map((l) => `${pad}  ${l}`).join('\n')}`;
      case 'map':
        return v.entries.map(([k, child]) => `\n${pad}${k}:${render(child, indent + 2, comments)}${comment()}`).join('');
      case 'seq':
        return v.items.map((child) => `\n${pad}-${child.kind === 'map' || child.kind === 'seq' ? ` x:${render(child, indent + 4, comments)}` : render(child, indent + 2, comments)}`).join('');
    }
  };
  const sibling = fc.constantFrom('replicas: 11', 'ordinals: {start: 3}', 'serviceName: s', '# sibling comment', 'x: &late 4', '');

  it('matches a full parse on generated documents (property)', () => {
    let pruned = 0;
    fc.assert(
      fc.property(value, fc.array(fc.boolean(), { maxLength: 8 }), fc.array(sibling, { maxLength: 4 }), (template, comments, siblings) => {
        const body = template.kind === 'map' || template.kind === 'seq' ? render(template, 4, [...comments]) : ` {}`;
        const text = statefulSet(
          `metadata:\n  name: gen\nspec:\n  replicas: 2\n  template:${body}\n${siblings.map((l) => `  ${l}`).join('\n')}\n  volumeClaimTemplates: [{metadata: {name: data}}]\n`,
        );
        const expected = fullParse(text);
        if (prunePodTemplate(text) !== undefined) pruned += 1;
        expect(parseManifest(text, 'apps')).toEqual(expected);
      }),
      { numRuns: 400 },
    );
    // The property must exercise the pruning, not only the fallback.
    expect(pruned).toBeGreaterThan(40);
  });
});

describe('documentKind: the kind read without parsing', () => {
  const doc = (...lines: string[]): string => `${lines.join('\n')}\n`;

  it('reads the plain kind of a plain block mapping, wherever the key is', () => {
    expect(documentKind(doc('---', '# Source: x/templates/crd.yaml', 'apiVersion: apiextensions.k8s.io/v1', 'kind: CustomResourceDefinition', 'spec:', '  description: a PersistentVolumeClaim'))).toBe('CustomResourceDefinition');
    expect(documentKind(doc('metadata:', '  name: a', 'kind: StatefulSet  # the db'))).toBe('StatefulSet');
    expect(documentKind(doc('kind: ClusterRole', 'rules:', '- apiGroups: [""]', '  resources: [pods]'))).toBe('ClusterRole');
  });

  it('is uncertain whenever the YAML reader could resolve another kind', () => {
    const uncertain = [
      doc('kind: ConfigMap', 'kind: StatefulSet'), // duplicate keys
      doc('"kind": StatefulSet'),
      doc('kind: "StatefulSet"'),
      doc('kind: !!str StatefulSet'),
      doc('kind: *k'),
      doc('<<: *base', 'kind: ConfigMap'),
      doc('? kind', ': StatefulSet'),
      doc('kind :  StatefulSet'),
      doc('--- {kind: StatefulSet}'),
      doc('--- !!map', 'kind: ConfigMap'),
      doc('%YAML 1.2', '---', 'kind: ConfigMap'),
      doc('  a: "x', 'kind: ConfigMap', '  "', '  kind: StatefulSet'), // indented root, a quoted line in column 0
      doc('- kind: StatefulSet'),
      doc('{kind: ConfigMap,', 'x: 1}'),
      doc('&a kind: ConfigMap'),
      doc('kind:', '  StatefulSet'),
      doc('apiVersion: v1'), // no kind at all
    ];
    for (const text of uncertain) expect(documentKind(text), text).toBeUndefined();
  });

  it('a fake kind line inside a multi-line scalar makes a second kind line: uncertain, so parsed', () => {
    const text = doc('apiVersion: apps/v1', 'description: "x', 'kind: ConfigMap', '"', 'kind: StatefulSet', 'metadata:', '  name: db');
    expect(documentKind(text)).toBeUndefined();
    expect(mayDeclareStorage(text)).toBe(true);
    // (The YAML reader refuses a quoted line in column 0 there: parsed, so refused, never skipped.)
    expect(manifestError(`---\n${text}`).code).toBe('invalid-yaml');
  });

  it('Lists are parsed when an item could be of a storage kind; other certain kinds never are', () => {
    // Helm flattens a List into its items, so it is read like a document whose kind is not certain.
    expect(mayDeclareStorage(doc('apiVersion: v1', 'kind: List', 'items: []'))).toBe(false);
    expect(mayDeclareStorage(doc('apiVersion: v1', 'kind: List', 'items:', '- apiVersion: apps/v1', '  kind: StatefulSet'))).toBe(true);
    expect(mayDeclareStorage(doc('apiVersion: v1', 'kind: ConfigMapList', 'items:', '- kind: ConfigMap', '  data: {a: "PersistentVolumeClaim usage"}'))).toBe(false);
    expect(mayDeclareStorage(doc('apiVersion: v1', 'kind: PersistentVolumeClaim'))).toBe(true);
    expect(mayDeclareStorage(doc('apiVersion: v1', 'kind: Secret', 'stringData:', '  a: "Stateful\\u0053et"'))).toBe(false);
  });

  it('a multi-MB CRD manifest costs no parse budget and finds the StatefulSet next to it', () => {
    const description = 'PersistentVolumeClaim StatefulSet '.repeat(3000);
    const crd = (i: number): string =>
      doc('---', `# Source: crds/templates/crd-${i}.yaml`, 'apiVersion: apiextensions.k8s.io/v1', 'kind: CustomResourceDefinition', `metadata:`, `  name: r${i}.example.com`, 'spec:', `  description: "${description}"`);
    const manifest = Array.from({ length: 30 }, (_, i) => crd(i)).join('') + doc('---', 'apiVersion: apps/v1', 'kind: StatefulSet', 'metadata:', '  name: db', 'spec:', '  volumeClaimTemplates:', '  - metadata:', '      name: data');
    expect(manifest.length).toBeGreaterThan(3 * 1000 * 1000);
    const started = performance.now();
    const parsed = parseManifest(manifest, 'ns');
    expect(performance.now() - started).toBeLessThan(2000);
    expect(parsed.documents).toBe(31);
    expect(parsed.parsedDocuments).toBe(1);
    expect(parsed.statefulSets.map((s) => [s.name, s.claimTemplates])).toEqual([['db', ['data']]]);
  });
});

describe('Lists: read for the kinds their items could have', () => {
  // Helm builds a release's objects with the Kubernetes resource builder, which flattens every `kind: *List` document
  // into its items (kubectl does the same): a List may hold a StatefulSet or a PVC, so a certain List kind alone says
  // nothing. Its text is looked at like that of a document whose kind is not certain: only a `kind` key whose value
  // could be StatefulSet, PersistentVolumeClaim or Namespace (or an escape or alias that could spell one) gets it parsed.
  const dashboards = (count: number, extraItem = ''): string => {
    const items = Array.from({ length: count }, (_, i) => {
      // What Grafana dashboards say: namespaces everywhere, StatefulSets in titles, a PersistentVolumeClaim variable.
      const json = JSON.stringify({
        title: `Kubernetes / Namespace ${i} / StatefulSets`,
        templating: { list: [{ name: 'volume', label: 'PersistentVolumeClaim' }, { name: 'namespace', label: 'Namespace' }] },
        panels: [{ description: 'x'.repeat(30_000), targets: [{ expr: 'sum(kube_pod_info{namespace="$namespace"}) * 100' }] }],
      });
      return `- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: dash-${i}\n    labels: {grafana_dashboard: "1"}\n  data:\n    dash-${i}.json: |-\n      ${json}\n`;
    }).join('');
    return `---\n# Source: kps/templates/grafana/configmap-dashboards.yaml\napiVersion: v1\nkind: ConfigMapList\nitems:\n${items}${extraItem}`;
  };

  it('skips a storage-free ConfigMapList of dashboards over 1 MiB, however often it says Namespace or StatefulSet', () => {
    const manifest = dashboards(40);
    expect(manifest.length).toBeGreaterThan(1024 * 1024);
    const parsed = parseManifest(manifest, 'monitoring');
    expect(parsed.parsedDocuments).toBe(0);
    expect(parsed.statefulSets).toEqual([]);
  });

  it('still parses one that holds a StatefulSet, under the same limits', () => {
    const statefulSetItem = '- apiVersion: apps/v1\n  kind: StatefulSet\n  metadata: {name: db}\n  spec: {volumeClaimTemplates: [{metadata: {name: data}}]}\n';
    expect(manifestError(dashboards(40, statefulSetItem)).code).toBe('document-too-large');
    expect(parseManifest(dashboards(2, statefulSetItem), 'monitoring').statefulSets.map((s) => s.name)).toEqual(['db']);
  });

  // Every way an item's kind can be written that the YAML reader resolves to the kind's name.
  const spellings: readonly ((kind: string) => string)[] = [
    (kind) => `- kind: ${kind}\n  apiVersion: v1\n  metadata: {name: x}\n`,
    (kind) => `- "kind": "${kind}"\n  apiVersion: v1\n  metadata: {name: x}\n`,
    (kind) => `- 'kind': '${kind}'\n  apiVersion: v1\n  metadata: {name: x}\n`,
    (kind) => `- {"apiVersion":"v1","kind":"${kind}","metadata":{"name":"x"}}\n`,
    (kind) => `- {apiVersion: v1, kind : ${kind}, metadata: {name: x}}\n`,
    (kind) => `- kind:\n    ${kind}\n  apiVersion: v1\n  metadata: {name: x}\n`,
    (kind) => `- kind: # the kind\n    ${kind}\n  apiVersion: v1\n  metadata: {name: x}\n`,
    (kind) => `- kind: !!str ${kind}\n  apiVersion: v1\n  metadata: {name: x}\n`,
    (kind) => `- kind: &k ${kind}\n  apiVersion: v1\n  metadata: {name: x}\n`,
    (kind) => `- kind: |-\n    ${kind}\n  apiVersion: v1\n  metadata: {name: x}\n`,
    (kind) => `- kind: >-\n    ${kind}\n  apiVersion: v1\n  metadata: {name: x}\n`,
    (kind) => `- ? kind\n  : ${kind}\n  apiVersion: v1\n  metadata: {name: x}\n`,
    (kind) => `- metadata: {name: x, labels: {k: &k ${kind}}}\n  apiVersion: v1\n  kind: *k\n`,
    (kind) => `- metadata: {name: x, labels: {k: &key kind}}\n  apiVersion: v1\n  *key : ${kind}\n`,
    (kind) => `- &base {apiVersion: v1, kind: ${kind}, metadata: {name: x}}\n- <<: *base\n`,
    (kind) => `- kind: "${kind.slice(0, 3)}\\u${kind.charCodeAt(3).toString(16).padStart(4, '0')}${kind.slice(4)}"\n  apiVersion: v1\n  metadata: {name: x}\n`,
    (kind) => `- kind: ${kind}\r\n  apiVersion: v1\r\n  metadata: {name: x}\r\n`,
  ];

  it('parses a List whose item is a StatefulSet, PVC or Namespace however the kind is written', () => {
    const list = (item: string): string => `---\napiVersion: v1\nkind: List\nitems:\n${item.replaceAll('apiVersion: v1', 'apiVersion: apps/v1').replaceAll('"apiVersion":"v1"', '"apiVersion":"apps/v1"')}`;
    for (const spell of spellings) {
      const statefulSetList = list(spell('StatefulSet'));
      expect(mayDeclareStorage(statefulSetList), statefulSetList).toBe(true);
      expect(parseManifest(statefulSetList, 'apps').statefulSets.length, statefulSetList).toBeGreaterThan(0);
      const claimList = `---\napiVersion: v1\nkind: List\nitems:\n${spell('PersistentVolumeClaim')}`;
      expect(parseManifest(claimList, 'apps').persistentVolumeClaims.length, claimList).toBeGreaterThan(0);
      const namespaceList = `---\napiVersion: v1\nkind: List\nitems:\n${spell('Namespace')}`;
      expect(parseManifest(namespaceList, 'apps').namespaces?.length, namespaceList).toBeGreaterThan(0);
    }
  });

  it('never skips text the YAML reader resolves to a StatefulSet or PVC anywhere in it', () => {
    // A `kind` key and a value, each in one of its spellings, amid what may precede or follow them (anchors an alias
    // may name, comments), so that many cases resolve to a kind and the rest exercise the near misses.
    const before = ['', 'a: 1\n  ', 'a: &v StatefulSet\n  ', 'a: &a kind\n  ', 'a: &v "Stateful\\u0053et"\n  ', '# kind: StatefulSet\n  ', 'b: "kind: x"\n  '];
    const keys = ['kind', '"kind"', "'kind'", '? kind\n  ', '*a ', '!!str kind', '{kind', 'xkind'];
    const leads = [':', ': ', ':\n    ', ' : ', ': # c\n    ', ': !!str ', ': &w ', ': |-\n    ', ': >\n    ', ':\n    # c\n    '];
    const values = ['StatefulSet', '"StatefulSet"', "'StatefulSet'", '"Stateful\\u0053et"', '"Stateful\\\n    Set"', 'PersistentVolumeClaim', '*v', 'ConfigMap', 'Stateful Set'];
    const after = ['', '}', '\n  apiVersion: v1', ' # c', '\n  c: &v StatefulSet'];
    const kindsIn = (value: unknown, found: Set<string>): void => {
      if (Array.isArray(value)) for (const item of value) kindsIn(item, found);
      else if (value !== null && typeof value === 'object') {
        for (const [key, item] of Object.entries(value)) {
          if (key === 'kind' && typeof item === 'string') found.add(item);
          kindsIn(item, found);
        }
      }
    };
    let resolved = 0;
    const judge = (text: string): void => {
      const found = new Set<string>();
      try {
        for (const doc of parseAllDocuments(text, { merge: true, uniqueKeys: false })) {
          if (doc.errors.length > 0) return; // the reader refuses it: nothing to skip
          kindsIn(doc.toJS({ maxAliasCount: 100 }), found);
        }
      } catch {
        return;
      }
      if (!found.has('StatefulSet') && !found.has('PersistentVolumeClaim')) return;
      resolved += 1;
      expect(mayDeclareStorage(text), text).toBe(true);
    };
    // Every combination (a few tens of thousands, each a small parse).
    for (const head of before) {
      for (const key of keys) {
        for (const lead of leads) {
          for (const value of values) {
            for (const tail of after) judge(`apiVersion: v1\nkind: List\nitems:\n- ${head}${key}${lead}${value}${tail}\n`);
          }
        }
      }
    }
    // The property must meet text that does resolve to a storage kind, not only text the reader refuses.
    expect(resolved).toBeGreaterThan(1000);
  });
});

// What Helm makes of a document is what its builder makes of it: k8s.io/cli-runtime's `.Unstructured().Flatten()`,
// reading YAML with go-yaml v2 (YAML 1.1) and decoding it with apimachinery's unstructured JSON scheme. The Go
// results quoted below are that builder's (cli-runtime v0.36.3) on the very text of each case.
describe("Go's YAML line breaks: CR, NEL, LS and PS end a line as LF does", () => {
  const BREAKS: readonly (readonly [string, string])[] = [
    ['CR', '\r'],
    ['NEL', '\u0085'],
    ['LS', '\u2028'],
    ['PS', '\u2029'],
  ];
  const ALL_BREAKS: readonly (readonly [string, string])[] = [...BREAKS, ['LF', '\n'], ['CRLF', '\r\n']];
  const listItem = (kind: string): string =>
    `---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  metadata: {name: db}\n  spec: {volumeClaimTemplates: [{metadata: {name: data}}]}\n  kind: ${kind}\n`;

  it.each(ALL_BREAKS)('a backslash before %s joins a double-quoted kind: StatefulSet', (_name, lineBreak) => {
    // Go: an escaped line break (a backslash, then any YAML 1.1 line break) joins the lines, and the white space
    // opening the next one is dropped: `"Stateful\<break>    Set"` is StatefulSet.
    const text = listItem(`"Stateful\\${lineBreak}    Set"`);
    expect(mayDeclareStorage(text)).toBe(true);
    expect(parseManifest(text, 'apps').statefulSets.map((s) => s.name)).toEqual(['db']);
    // Go reads `Set"` in column 0 as the same StatefulSet; the yaml package refuses it (under-indented): refused as
    // unreadable, never skipped.
    const unindented = listItem(`"Stateful\\${lineBreak}Set"`);
    expect(mayDeclareStorage(unindented)).toBe(true);
    expect(manifestError(unindented).code).toBe('invalid-yaml');
  });

  it.each(ALL_BREAKS)('a scalar folded over %s reads "Stateful Set": no kind is joined without a backslash', (_name, lineBreak) => {
    // Go: plain, single-quoted and double-quoted scalars and folded block scalars fold a line break into a space
    // (`Stateful Set`; with LS or PS, Go keeps that character instead): never StatefulSet.
    for (const kind of [`Stateful${lineBreak}    Set`, `'Stateful${lineBreak}    Set'`, `"Stateful${lineBreak}    Set"`, `>-${lineBreak}    Stateful${lineBreak}    Set`]) {
      const text = listItem(kind);
      expect(mayDeclareStorage(text), JSON.stringify(text)).toBe(false);
      expect(parseManifest(text, 'apps').statefulSets, JSON.stringify(text)).toEqual([]);
    }
  });

  it.each(BREAKS)('%s ends a comment, a plain or block scalar line and a root key line, as in Go', (_name, lineBreak) => {
    // Each of these is a ConfigMap to a YAML 1.2 reader (the break is a character of a comment or a scalar there) and a
    // StatefulSet `db` to Go, whose last `kind` key wins. They used to be skipped as certain ConfigMaps.
    const head = 'apiVersion: apps/v1\nkind: ConfigMap\n';
    const cases = [
      `${head}metadata: {name: db} # note${lineBreak}kind: StatefulSet\n`,
      `${head}metadata: {name: db}\ndata: |\n  text${lineBreak}kind: StatefulSet\n`,
      `${head}metadata:\n  name: db${lineBreak}kind: StatefulSet\n`,
      `${head}metadata:\n  name: "db"${lineBreak}kind: StatefulSet\n`,
      `apiVersion: apps/v1\nkind: ConfigMap${lineBreak}kind: StatefulSet\nmetadata: {name: db}\n`,
      `apiVersion: apps/v1${lineBreak}kind: StatefulSet${lineBreak}metadata:${lineBreak}  name: db${lineBreak}`,
      `apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  metadata: {name: db}\n  kind:${lineBreak}    StatefulSet\n`,
    ];
    for (const text of cases) {
      expect(documentKind(text), JSON.stringify(text)).not.toBe('ConfigMap');
      expect(mayDeclareStorage(text), JSON.stringify(text)).toBe(true);
      expect(parseManifest(text, 'apps').statefulSets.map((s) => s.name), JSON.stringify(text)).toEqual(['db']);
    }
  });

  it('reads every base document the same with any of its line breaks written as CR, NEL, LS, PS or CRLF (property)', () => {
    // Go's reader reads a line break as a line break whichever it is, so each variant must be read like its base: not
    // skipped when the base declares storage, and read the same.
    const bases = [
      'apiVersion: apps/v1\nkind: ConfigMap\nmetadata: {name: db} # c\nkind: StatefulSet\n',
      'apiVersion: apps/v1\nkind: ConfigMap\nmetadata: {name: db}\ndata: |\n  foo\nkind: StatefulSet\n',
      'apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  metadata: {name: db}\n  kind: "Stateful\\\n    Set"\n',
      'apiVersion: apps/v1\nkind: StatefulSetList\nitems:\n- metadata: {name: db}\n',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\nitems:\n- {apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db}}\n',
      'apiVersion: v1\nkind: PersistentVolumeClaimList\nitems:\n- metadata: {name: data}\n',
      'apiVersion: v1\nkind: ConfigMap # c\nkind: PersistentVolumeClaim\nmetadata: {name: data}\n',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n  a: "x"\n# kind: StatefulSet\n',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  a: "x\\\n  y"\n',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n  k: >-\n    Stateful\n    Set\n',
    ];
    const read = (text: string): unknown => {
      try {
        const parsed = parseManifest(text, 'apps');
        return { statefulSets: parsed.statefulSets.map((s) => s.name), claims: parsed.persistentVolumeClaims.map((c) => c.name) };
      } catch (error) {
        return error instanceof ManifestError ? error.code : error;
      }
    };
    let variants = 0;
    for (const base of bases) {
      const expected = read(base);
      const declares = mayDeclareStorage(base);
      const breaks = [...base.matchAll(/\n/g)].map((match) => match.index);
      for (const lineBreak of ['\r', '\u0085', '\u2028', '\u2029', '\r\n']) {
        // Each break alone, then all of them (a CR before another LF would make the two one CRLF: not that break).
        const choices = [...breaks.map((index) => [index]), breaks];
        for (const chosen of choices) {
          const usable = chosen.filter((index) => lineBreak !== '\r' || base[index + 1] !== '\n');
          const variant = [...base].map((char, index) => (usable.includes(index) ? lineBreak : char)).join('');
          variants += 1;
          if (declares) expect(mayDeclareStorage(variant), JSON.stringify(variant)).toBe(true);
          expect(read(variant), JSON.stringify(variant)).toEqual(expected);
        }
      }
    }
    expect(variants).toBeGreaterThan(200);
  });

  it('splits hooks and documents at separators after those line breaks (more documents than Helm reads, never fewer)', () => {
    // Go's reader splits only at LF and reads the first document of what it is handed (`cm` alone here); reading both
    // can only find more.
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\u0085---\u0085apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\n`;
    expect(splitManifest(text)).toHaveLength(2);
    expect(parseManifest(text, 'apps').persistentVolumeClaims.map((c) => c.name)).toEqual(['data']);
    expect(parseHookClaims([{ name: 'h', kind: 'PersistentVolumeClaim', manifest: text, events: ['pre-install'], deletePolicies: [] }], 'apps').map((c) => c.name)).toEqual(['data']);
  });

  it('classifies a hostile 2 MiB document in linear time', () => {
    const size = 2 * 1024 * 1024;
    const hostile = [
      'kind '.repeat(size / 5),
      'kind:\r'.repeat(size / 6),
      '\\\u0085'.repeat(size / 2),
      'items:\u2028'.repeat(size / 7),
      `apiVersion: v1\nkind: ConfigMap\ndata:\n  a: "${'- , [ { : '.repeat(size / 10)}"\n`,
      `apiVersion: v1\nkind: ConfigMapList\nitems:\n${'- kind: StatefulSe\n'.repeat(size / 19)}`,
      `${' '.repeat(size / 2)}\r${'\t'.repeat(size / 2)}`,
    ];
    for (const text of hostile) {
      const started = performance.now();
      mayDeclareStorage(text);
      documentKind(text);
      try {
        parseManifest(`---\n${text}`, 'apps', { maxDocumentBytes: 1 });
      } catch (error) {
        if (!(error instanceof ManifestError)) throw error;
      }
      expect(performance.now() - started, text.slice(0, 40)).toBeLessThan(1000);
    }
  });
});

describe('Lists as apimachinery decodes them: any `items` key, and items that take the List kind', () => {
  const names = (text: string): Record<string, string[]> => {
    const parsed = parseManifest(text, 'apps');
    return {
      statefulSets: parsed.statefulSets.map((s) => s.name),
      claims: parsed.persistentVolumeClaims.map((c) => c.name),
      namespaces: (parsed.namespaces ?? []).map((n) => n.name),
      managers: parsed.longhornManagers.map((m) => m.kind),
    };
  };
  const none = { statefulSets: [], claims: [], namespaces: [], managers: [] };

  it('gives an item with neither kind nor apiVersion the List kind less `List` and the List apiVersion', () => {
    // apimachinery's decodeToList: `if len(GetKind()) == 0 && len(GetAPIVersion()) == 0 { SetKind(strings.TrimSuffix(
    // listKind, "List")); SetAPIVersion(listAPIVersion) }`, GetKind being "" for an absent, empty or non-string kind.
    // Go: apps/v1 StatefulSetList → StatefulSet db, and likewise for the others.
    const statefulSets = 'apiVersion: apps/v1\nkind: StatefulSetList\nitems:\n- metadata: {name: db}\n  spec: {volumeClaimTemplates: [{metadata: {name: data}}]}\n';
    expect(mayDeclareStorage(statefulSets)).toBe(true);
    expect(parseManifest(statefulSets, 'apps').statefulSets).toEqual([expect.objectContaining({ name: 'db', namespace: 'apps', claimTemplates: ['data'] })]);
    expect(mayDeclareStorage('apiVersion: v1\nkind: PersistentVolumeClaimList\nitems:\n- metadata: {name: data}\n')).toBe(true);
    expect(names('apiVersion: v1\nkind: PersistentVolumeClaimList\nitems:\n- metadata: {name: data}\n')).toEqual({ ...none, claims: ['data'] });
    expect(names('apiVersion: v1\nkind: NamespaceList\nitems:\n- metadata: {name: team}\n')).toEqual({ ...none, namespaces: ['team'] });
    expect(names('apiVersion: apps/v1\nkind: DaemonSetList\nitems:\n- metadata: {name: longhorn-manager}\n')).toEqual({ ...none, managers: ['DaemonSet'] });
    // Go: an empty or non-string kind counts as none (`{kind: '', apiVersion: ''}`, `{kind: 5}` → StatefulSet).
    expect(names('apiVersion: apps/v1\nkind: "StatefulSetList"\nitems:\n- {kind: "", apiVersion: "", metadata: {name: a}}\n- {kind: 5, metadata: {name: b}}\n')).toEqual({ ...none, statefulSets: ['a', 'b'] });
  });

  it('leaves an item with a kind or an apiVersion as it is, and strips one `List` only', () => {
    // Go: `{apiVersion: apps/v1}` alone is refused (no kind), `{kind: StatefulSet}` alone too (no apiVersion); a
    // StatefulSetListList's kindless item is a StatefulSetList; a `kind: List` one has kind "" (refused).
    expect(names('apiVersion: apps/v1\nkind: StatefulSetList\nitems:\n- {apiVersion: apps/v1, metadata: {name: a}}\n- {kind: StatefulSet, metadata: {name: b}}\n')).toEqual(none);
    expect(names('apiVersion: apps/v1\nkind: StatefulSetListList\nitems:\n- {metadata: {name: a}}\n')).toEqual(none);
    expect(names('apiVersion: apps/v1\nkind: List\nitems:\n- {metadata: {name: a}}\n')).toEqual(none);
    expect(names('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\nitems:\n- {metadata: {name: a}}\n')).toEqual(none);
  });

  it('reads any document with an `items` key as a List, whatever its kind and however the key is written', () => {
    // unstructuredJSONScheme.decode decodes an object as an UnstructuredList when it has an `items` field (matched
    // case-sensitively), whatever its kind; Helm's builder then creates its items and not the object itself.
    // Go: each → StatefulSet db.
    const item = '{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db}}';
    const documents = [
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\nitems:\n- ${item}\n`,
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"items": [${item}]\n`,
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n? items\n: [${item}]\n`,
      `{apiVersion: v1, kind: ConfigMap, metadata: {name: cm}, items: [${item}]}\n`,
      `apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: cm}\nitems:\n- ${item}\n`,
      `apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: root}\nitems:\n- {metadata: {name: db}}\n`,
    ];
    for (const text of documents) {
      expect(documentKind(text), text).toBeUndefined();
      expect(mayDeclareStorage(text), text).toBe(true);
      expect(names(text), text).toEqual({ ...none, statefulSets: ['db'] });
    }
    // A kindless item of a ConfigMap with `items` is a ConfigMap: nothing to parse for.
    expect(mayDeclareStorage('apiVersion: v1\nkind: ConfigMap\nitems:\n- metadata: {name: a}\n  data: {a: "StatefulSet"}\n')).toBe(false);
  });

  it('creates nothing of a document whose `items` is null, empty or not a list; an item with such `items` is itself', () => {
    // Go: `kind: StatefulSet` with `items: null`, `items:` or `items: []` → nothing; `items: {}` or `items: 5` → a
    // decoding error; `Items:` is another key → StatefulSet root. A List's item with `items: {}` or `items: null` is
    // not a list (Unstructured.IsList wants an array) → StatefulSet k.
    for (const value of ['null', '', '[]', '{}', '5']) {
      expect(names(`apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: root}\nitems: ${value}\n`), value).toEqual(none);
    }
    expect(names('apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: root}\nItems: [{metadata: {name: c}}]\n')).toEqual({ ...none, statefulSets: ['root'] });
    for (const value of ['{}', 'null']) {
      expect(names(`apiVersion: v1\nkind: List\nitems:\n- {apiVersion: apps/v1, kind: StatefulSet, metadata: {name: k}, items: ${value}}\n`)).toEqual({ ...none, statefulSets: ['k'] });
    }
  });

  it('never skips a List whose items a storage kind reaches, by its own kind or the List kind (property)', () => {
    // A model of what Helm creates, as checked against its builder above: the text read with Go's line breaks, any
    // root with an `items` key a list, a kindless and versionless item taking the list kind less `List`.
    const goLines = (text: string): string => text.replace(/\r(?!\n)|[\u0085\u2028\u2029]/g, '\n');
    const createdKinds = (text: string): string[] | undefined => {
      const kinds: string[] = [];
      for (const doc of parseAllDocuments(goLines(text), { merge: true, uniqueKeys: false })) {
        if (doc.errors.length > 0) return undefined;
        const root: unknown = doc.toJS({ maxAliasCount: 100 });
        if (root === null || typeof root !== 'object' || Array.isArray(root)) continue;
        const list = root as Record<string, unknown>;
        if (!Object.hasOwn(list, 'items')) {
          kinds.push(String(list.kind));
          continue;
        }
        for (const item of Array.isArray(list.items) ? (list.items as unknown[]) : []) {
          const fields = (item ?? {}) as Record<string, unknown>;
          const named = (value: unknown): boolean => typeof value === 'string' && value !== '';
          const listKind = typeof list.kind === 'string' ? list.kind : '';
          kinds.push(named(fields.kind) || named(fields.apiVersion) ? String(fields.kind) : listKind.replace(/List$/, ''));
        }
      }
      return kinds;
    };
    const rootKinds = ['StatefulSetList', '"StatefulSetList"', 'StatefulSet', 'ConfigMap', 'List', "'PersistentVolumeClaimList'", '!!str StatefulSetList', '&k StatefulSetList', '|-\n  StatefulSetList', '"StatefulSet\\x4cist"', '"Stateful\\\n  SetList"', 'ConfigMap # StatefulSetList'];
    const itemsKeys = ['items:', '"items":', "'items':", '? items\n:', 'Items:'];
    const itemLists = ['\n- metadata: {name: db}', '\n- {kind: StatefulSet, apiVersion: apps/v1, metadata: {name: db}}', '\n- {apiVersion: "", kind: "", metadata: {name: db}}', '\n- {kind: ConfigMap, metadata: {name: db}}', ' []', ' null'];
    let reached = 0;
    for (const rootKind of rootKinds) {
      for (const itemsKey of itemsKeys) {
        for (const items of itemLists) {
          for (const kindFirst of [true, false]) {
            for (const lineBreak of ['\n', '\r', '\u2028']) {
              const kindLine = `kind: ${rootKind}\n`;
              const itemsLines = `${itemsKey}${items}\n`;
              const text = `apiVersion: apps/v1\nmetadata: {name: list}\n${kindFirst ? kindLine + itemsLines : itemsLines + kindLine}`.replaceAll('\n', lineBreak);
              const kinds = createdKinds(text);
              if (kinds === undefined || !kinds.some((kind) => kind === 'StatefulSet' || kind === 'PersistentVolumeClaim')) continue;
              reached += 1;
              expect(mayDeclareStorage(text), JSON.stringify(text)).toBe(true);
            }
          }
        }
      }
    }
    expect(reached).toBeGreaterThan(300);
  });

  it('still skips a workload whose `items` keys are nested (configMap volume items), without parsing it', () => {
    const deployment =
      '---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      volumes:\n' +
      '      - name: cfg\n        configMap:\n          name: web\n          items:\n          - {key: a, path: a}\n';
    expect(documentKind(deployment)).toBe('Deployment');
    expect(parseManifest(deployment, 'apps').parsedDocuments).toBe(0);
  });
});

describe("goYamlNumber: a plain scalar's number as go-yaml v2 reads it", () => {
  it.each([
    ['1', 1], ['1_', 1], ['1__000', 1000], ['0b1', 1], ['0B11', 3], ['-0b11', -3], ['010', 8], ['00', 0], ['0', 0],
    ['08', 8], ['0x1F', 31], ['0x_2', 2], ['0o17', 15], ['+3', 3], ['-1', -1], ['1.0', 1], ['-.5', -0.5], ['1e+3', 1000],
    ['1e3', 1000], ['1E0', 1], ['3.', 3], ['1.e3', 1000], ['0.1e1', 1],
  ] as const)('%s is %d', (text, value) => {
    expect(goYamlNumber(text)).toBe(value);
  });

  it.each(['1_a', 'abc', '.5', '0x', '_1', 'x1', '', '1e', 'e3'])('%s is a string to Go (undefined; a dot-first float is read apart)', (text) => {
    expect(goYamlNumber(text)).toBeUndefined();
  });

  it('a manifest reads its counts that way; quoted text stays a string', () => {
    const statefulSet = (replicas: string, name = 'db') =>
      parseManifest(`apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: ${name}\nspec:\n  replicas: ${replicas}\n`, 'ns').statefulSets[0];
    expect(statefulSet('010')).toMatchObject({ replicas: 8, replicasDeclared: true });
    expect(statefulSet('0b10')).toMatchObject({ replicas: 2, replicasDeclared: true });
    expect(statefulSet('1e0')).toMatchObject({ replicas: 1, replicasDeclared: true });
    expect(statefulSet('!!float 3')).toMatchObject({ replicas: 3, replicasDeclared: true });
    expect(statefulSet('1_a')).toMatchObject({ replicas: 1, replicasDeclared: false });
    expect(statefulSet('.inf')).toMatchObject({ replicasDeclared: false });
    expect(statefulSet('2', '"010"')).toMatchObject({ name: '010', replicas: 2 });
  });
});
