// The V8 flags `volume-guard serve` sets at start (src/server/v8-flags.ts) exist in this Node's V8 and take effect
// when set at run time: a workload that makes V8 pretenure (nested literals all kept alive) gets V8's pretenuring
// decisions with its defaults, and none after applyServeV8Flags().
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SERVE_V8_FLAGS } from '../../../src/server/v8-flags.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const MODULE = pathToFileURL(join(ROOT, 'src/server/v8-flags.ts')).href;

/** V8's pretenuring decisions (`--trace-pretenuring-statistics`) while 1,000,000 nested literals are kept alive. */
async function tenureDecisions(applyFlags: boolean): Promise<number> {
  const script = [
    applyFlags ? `(await import(${JSON.stringify(MODULE)})).applyServeV8Flags();` : '',
    'const make = (i) => ({ a: i, b: [i], c: { d: i } });',
    'const keep = [];',
    'for (let i = 0; i < 1000000; i++) keep.push(make(i));',
    'console.log(`kept ${keep.length}`);',
  ].join('\n');
  const { stdout } = await promisify(execFile)(NODE, ['--trace-pretenuring-statistics', '--max-semi-space-size=8', '--input-type=module', '-e', script], {
    cwd: ROOT,
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  expect(stdout).toContain('kept 1000000');
  return stdout.split('\n').filter((line) => / => (maybe )?tenure$/.test(line)).length;
}

describe('the V8 flags serve sets', () => {
  it('are known to this Node', async () => {
    for (const flag of SERVE_V8_FLAGS) {
      const { stderr } = await promisify(execFile)(NODE, [flag, '-e', '0'], { cwd: ROOT, timeout: 30_000 });
      expect(stderr).toBe('');
    }
  });

  it('stop V8 from pretenuring when set at run time', async () => {
    expect(await tenureDecisions(false)).toBeGreaterThan(0);
    expect(await tenureDecisions(true)).toBe(0);
  });
});
