// The layers point one way: request → decode → validator → checks → model. A module may import its own layer and
// the layers below it, never one above, and no chain of imports may come back to where it started. The scripts
// import test code from test/harness only. Imports are read with the TypeScript compiler's own pre-processor
// (static, type-only and dynamic imports, re-exports), so the walk sees what the compiler sees.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Lowest first. A module of one layer may import modules of its own layer and of the layers before it. Leaf modules
 * are the vocabulary every layer shares (JSON narrowing, Kubernetes and Helm names, override keys, wording).
 */
const LAYERS: readonly { readonly name: string; readonly paths: readonly string[] }[] = [
  {
    name: 'leaf',
    paths: ['src/json.ts', 'src/json-bytes.ts', 'src/kube.ts', 'src/text.ts', 'src/override-keys.ts', 'src/schema-errors.ts', 'src/logging.ts', 'src/cli-types.ts'],
  },
  { name: 'cluster', paths: ['src/cluster/'] },
  { name: 'helm', paths: ['src/helm/'] },
  { name: 'checks', paths: ['src/checks/'] },
  { name: 'config', paths: ['src/config.ts', 'src/config/'] },
  { name: 'admission', paths: ['src/admission/'] },
  { name: 'audit', paths: ['src/audit/'] },
  { name: 'observe', paths: ['src/observe/'] },
  { name: 'server', paths: ['src/server/'] },
  { name: 'cli', paths: ['src/cli.ts'] },
];

export type Edge = readonly [from: string, to: string];

function layerOf(file: string): number {
  return LAYERS.findIndex((layer) => layer.paths.some((path) => (path.endsWith('/') ? file.startsWith(path) : file === path)));
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The repository-relative files a file imports (relative specifiers only: packages are no layer). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  return info.importedFiles
    .map((imported) => imported.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(ROOT, resolve(ROOT, dirname(file), specifier)));
}

function edgesOf(files: readonly string[]): Edge[] {
  return files.flatMap((file) => importsOf(file).map((target) => [file, target] as const));
}

/** `from → to (layer → layer)` for every import that points to a higher layer or out of src/. */
export function upwardImports(edges: readonly Edge[]): string[] {
  return edges
    .filter(([from, to]) => {
      const [source, target] = [layerOf(from), layerOf(to)];
      return target < 0 || source < target;
    })
    .map(([from, to]) => `${from} → ${to} (${LAYERS[layerOf(from)]?.name} → ${LAYERS[layerOf(to)]?.name ?? 'outside src'})`);
}

/** Every import cycle, each as the files along it (strongly connected components with more than one file, or a self-import). */
export function importCycles(edges: readonly Edge[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const [from, to] of edges) {
    graph.set(from, [...(graph.get(from) ?? []), to]);
    if (!graph.has(to)) graph.set(to, []);
  }
  // Tarjan's algorithm.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

describe('the import graph walk', () => {
  it('finds an upward import, an import out of src and a cycle', () => {
    expect(upwardImports([['src/checks/a.ts', 'src/admission/b.ts']])).toEqual(['src/checks/a.ts → src/admission/b.ts (checks → admission)']);
    expect(upwardImports([['src/json.ts', 'test/support/x.ts']])).toHaveLength(1);
    expect(upwardImports([['src/admission/b.ts', 'src/checks/a.ts'], ['src/cluster/a.ts', 'src/json.ts']])).toEqual([]);
    expect(importCycles([['a', 'b'], ['b', 'c'], ['c', 'a'], ['c', 'd']])).toEqual([['a', 'b', 'c']]);
    expect(importCycles([['a', 'a']])).toEqual([['a']]);
    expect(importCycles([['a', 'b'], ['a', 'c'], ['b', 'c']])).toEqual([]);
  });

  it('reads type-only, dynamic and re-export imports', () => {
    const edges = edgesOf(['src/cli.ts', 'src/admission/types.ts']);
    expect(edges).toContainEqual(['src/cli.ts', 'src/audit/command.ts']); // await import(...)
    expect(edges).toContainEqual(['src/admission/types.ts', 'src/kube.ts']); // import type / export type
  });
});

describe('layering', () => {
  const sources = tsFiles('src');

  it('places every source file in a layer', () => {
    expect(sources.filter((file) => layerOf(file) < 0)).toEqual([]);
  });

  it('imports only from its own layer or below (checks and config never from admission)', () => {
    expect(upwardImports(edgesOf(sources))).toEqual([]);
  });

  it('has no import cycle in src/ or scripts/', () => {
    expect(importCycles(edgesOf([...sources, ...tsFiles('scripts')]))).toEqual([]);
  });

  it('lets the scripts import test code from test/harness only', () => {
    const outside = edgesOf(tsFiles('scripts')).filter(
      ([, to]) => !to.startsWith('src/') && !to.startsWith('scripts/') && !to.startsWith('test/harness/'),
    );
    expect(outside).toEqual([]);
  });

  it('keeps test-only code out of src/', () => {
    expect(edgesOf(sources).filter(([, to]) => !to.startsWith('src/'))).toEqual([]);
  });
});
