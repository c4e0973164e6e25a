// The API server refuses a whole ValidatingWebhookConfiguration when one CEL expression does not compile, so a
// stray parenthesis in one validator's matchCondition stops every webhook from registering. Only the e2e setup
// compiles them for real; this catches the commonest slip at unit speed: brackets and string literals that do not
// close, in every declaration the chart and the default config produce.
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import { selfConditions } from '../../../src/admission/webhooks.ts';
import { defaultConfig } from '../../../src/config.ts';
import { chartDefaultConfig } from '../../../scripts/generate-chart.ts';

const CLOSERS: Readonly<Record<string, string>> = { ')': '(', ']': '[', '}': '{' };

/** Where the expression's brackets or quotes fail to balance, or undefined when they balance. */
function bracketProblem(expression: string): string | undefined {
  const open: { char: string; at: number }[] = [];
  for (let at = 0; at < expression.length; at++) {
    const char = expression[at]!;
    if (char === "'" || char === '"') {
      const end = expression.indexOf(char, at + 1);
      if (end < 0) return `string opened at ${at} never closes`;
      at = end;
      continue;
    }
    if (char === '(' || char === '[' || char === '{') open.push({ char, at });
    const opener = CLOSERS[char];
    if (opener === undefined) continue;
    const last = open.pop();
    if (last?.char !== opener) return `'${char}' at ${at} closes ${last ? `'${last.char}' from ${last.at}` : 'nothing'}`;
  }
  const last = open.at(-1);
  return last ? `'${last.char}' at ${last.at} never closes (${open.length} open at the end)` : undefined;
}

describe('webhook matchConditions', () => {
  it('the scanner itself finds an unclosed or stray bracket and an unclosed string', () => {
    expect(bracketProblem("a && (b || c == ')')")).toBeUndefined();
    expect(bracketProblem('(a && (b)')).toContain('never closes');
    expect(bracketProblem('a)')).toContain('closes nothing');
    expect(bracketProblem("a == 'b")).toContain('never closes');
    expect(bracketProblem('[a)')).toContain("closes '['");
  });

  for (const [name, config] of [['default config', defaultConfig()], ["the chart's defaults", chartDefaultConfig()]] as const) {
    it(`balance in every validator's declaration (${name})`, () => {
      const problems: string[] = [];
      // With the conditions added for volume-guard itself (a dotted release, Flux's storage namespace, its objects).
      const ownObjects = [
        { namespace: 'vg-system', group: 'apps', resource: 'deployments', name: 'vg.x-volume-guard' },
        { namespace: '', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'vg.x-volume-guard' },
      ];
      const self = { namespace: 'vg-system', deployment: 'vg-volume-guard', release: 'vg.x', storageNamespaces: config.helm.storageNamespaces, ownObjects };
      for (const validator of createValidators(config)) {
        for (const condition of [...(validator.declaration.matchConditions ?? []), ...selfConditions(validator.declaration, self)]) {
          const problem = bracketProblem(condition.expression);
          if (problem) problems.push(`${validator.declaration.name} ${condition.name}: ${problem}`);
        }
      }
      expect(problems).toEqual([]);
    });
  }
});
