// The plans' `overrides` column is what the validators read: each reads its overrides through `readOverrides`,
// one reader per place of its plan, and the type checker holds the readers equal to the column. This test runs
// that type check over the validators, so a place added to or dropped from a plan (or a reader added to or dropped
// from a validator) fails here, not only under `npm run typecheck`; and it checks that the plan decides what is read.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import type { OverrideSource } from '../../../src/admission/overrides.ts';
import { PLANS, readOverrides, type OverridePlace, type OverrideReaders } from '../../../src/admission/plans.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const validatorsDir = `${root}src/admission/validators/`;

const source = (where: string): OverrideSource => ({ where, checks: ['orphan-pvc'], reason: '' });

describe('readOverrides', () => {
  it('reads the places of the plan, in its order, and only those', () => {
    const read: string[] = [];
    const reader = (place: OverridePlace) => () => {
      read.push(place);
      return place === 'namespace' ? undefined : source(place);
    };
    const readers = {
      'release-label': reader('release-label'),
      namespace: reader('namespace'),
      'pvc-reuse': reader('pvc-reuse'),
      'pvc-delete': reader('pvc-delete'),
    };
    expect(readOverrides(PLANS['helm-release'], readers).map((found) => found.where)).toEqual(['release-label', 'pvc-reuse', 'pvc-delete']);
    expect(read).toEqual([...PLANS['helm-release'].overrides]);
    // A reader for a place the plan does not name (only possible around the types) is never called.
    read.length = 0;
    const extra = { ...readers, node: reader('node') } as unknown as OverrideReaders<'release-label' | 'namespace' | 'pvc-reuse' | 'pvc-delete'>;
    readOverrides(PLANS['helm-release'], extra);
    expect(read).not.toContain('node');
  });
});

describe('the validators read the overrides their plans name', () => {
  it('type-checks the validators against the plan table', () => {
    const config = ts.getParsedCommandLineOfConfigFile(`${root}tsconfig.json`, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
    if (!config) throw new Error('tsconfig.json not readable');
    const files = readdirSync(validatorsDir)
      .filter((name) => name.endsWith('.ts'))
      .map((name) => `${validatorsDir}${name}`);
    const program = ts.createProgram({ rootNames: files, options: { ...config.options, noEmit: true } });
    const problems = files.flatMap((file) =>
      program.getSemanticDiagnostics(program.getSourceFile(file)).map(
        (diagnostic) => `${file.slice(root.length)}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`,
      ),
    );
    expect(problems).toEqual([]);
    // Every validator that judges a plan reads its overrides through readOverrides (directly or via judgeNodeRemoval).
    for (const file of files) {
      const text = ts.sys.readFile(file) ?? '';
      if (/judgeByPlan\(/.test(text)) expect(/readOverrides\(/.test(text), file.slice(root.length)).toBe(true);
    }
  }, 120_000);
});
