// The allocator settings the chart ships (values.yaml mallocEnv) are the ones the image sets (Dockerfile ENV), and
// the chart's Deployment passes each to the container.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { chartNodeSettings } from '../bench/lib/children.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

function dockerfileEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  const runtime = read('Dockerfile').split(/^FROM\s.*\bAS runtime$/m)[1] ?? '';
  for (const line of runtime.split('\n')) {
    const match = /^ENV\s+(.*)$/.exec(line.trim());
    if (!match) continue;
    for (const pair of match[1]!.split(/\s+/)) {
      const [name, value] = pair.split('=');
      if (name && value !== undefined) env[name] = value;
    }
  }
  return env;
}

describe('mallocEnv', () => {
  const values = parseYaml(read('charts/volume-guard/values.yaml')) as { mallocEnv: Record<string, string> };

  it('is what the runtime image sets', () => {
    const image = dockerfileEnv();
    expect(Object.keys(values.mallocEnv).length).toBeGreaterThan(0);
    for (const [name, value] of Object.entries(values.mallocEnv)) expect(image[name], name).toBe(value);
    for (const name of Object.keys(image).filter((key) => key.startsWith('MALLOC_'))) expect(values.mallocEnv[name], name).toBeDefined();
  });

  it('is passed to the container by the Deployment and to the benchmark server children', () => {
    expect(read('charts/volume-guard/templates/deployment.yaml')).toMatch(/range \$name, \$value := \.Values\.mallocEnv/);
    expect(chartNodeSettings().env).toEqual(values.mallocEnv);
  });
});
