import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReferenceMarkdown } from '../../src/config.ts';
import { XL_MEMORY_LIMIT_BYTES } from '../bench/lib/children.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('carries the configuration reference generated from the config schema', () => {
    expect(readme).toContain(configReferenceMarkdown().trim());
  });
  it('names the test command CI runs', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    expect(readme).toContain('npm test');
    expect(ci).toContain('npm test');
  });
  it("sizes the xl pod at the memory limit the benchmark runs the xl server under", () => {
    const row = readme.split('\n').find((line) => line.startsWith("| Kubernetes' limits (`xl`)"));
    expect(row).toContain(`| ${XL_MEMORY_LIMIT_BYTES / 2 ** 20} Mi (`);
  });
});
