import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../src/admission/index.ts';
import { CHECK_IDS } from '../../src/checks/types.ts';
import { RESOURCE_KINDS } from '../../src/cluster/records.ts';
import { modelResourcesText } from '../../src/cluster/permissions.ts';
import { configReferenceMarkdown, defaultConfig } from '../../src/config.ts';
import { XL_MEMORY_LIMIT_BYTES } from '../bench/lib/children.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const chartReadme = readFileSync(new URL('../../charts/volume-guard/README.md', import.meta.url), 'utf8');
/** The text with every run of white space (line breaks included) as one space. */
const flat = (text: string) => text.replace(/\s+/g, ' ');
const occurrences = (text: string, part: string) => text.split(part).length - 1;

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
  it("documents the audit JSON's check ids and object kinds as the code has them", () => {
    const section = readme.slice(readme.indexOf('### JSON schema `volume-guard.io/audit/v1`'));
    const block = section.slice(section.indexOf('```yaml'), section.indexOf('```\n', section.indexOf('```yaml') + 1));
    // A flow mapping `key: {a: 1, b: 2,\n c: 3}` may span lines; its keys, in order.
    const keysOf = (key: string): string[] => {
      const start = block.indexOf(`  ${key}: {`);
      const body = block.slice(block.indexOf('{', start) + 1, block.indexOf('}', start));
      return [...body.matchAll(/([\w-]+): \d+/g)].map((match) => match[1] ?? '');
    };
    expect(keysOf('byCheck')).toEqual(CHECK_IDS);
    expect(keysOf('objects')).toEqual(RESOURCE_KINDS);
    const checkLine = block.split('\n').find((line) => line.startsWith('  - check: '));
    expect(checkLine?.slice(checkLine.indexOf('#') + 1).trim().split(' | ')).toEqual(CHECK_IDS);
    expect(section).toContain('[`schemas/audit-v1.schema.json`](schemas/audit-v1.schema.json)');
  });
  // A webhook with no namespace exclusion (not a workload one; not the mutating step, always Ignore) holds up what it
  // is called for in every namespace while volume-guard is down: the statefulset one, autoscalers' scale-ups.
  it('names every webhook called in every namespace where it says what failurePolicy: Fail reaches', () => {
    const start = readme.indexOf('- **What `failurePolicy: Fail` reaches.**');
    const bullet = flat(readme.slice(start, readme.indexOf('\n- **', start + 1)));
    const everywhere = createValidators(defaultConfig())
      .map((validator) => validator.declaration)
      .filter((declaration) => !declaration.workload && !declaration.mutating);
    expect(everywhere.length).toBeGreaterThan(5);
    for (const { target } of everywhere) expect(bullet, target).toContain(`\`${target}\``);
  });
  // "nothing else" must stay true: the lists are the ClusterRole's rules (src/cluster/permissions.ts), word for word.
  it("lists exactly what volume-guard's service account can read, where it says so", () => {
    const resources = modelResourcesText();
    // The architecture's "No Secrets", Security's "What volume-guard's service account can read", audit's Permissions.
    expect(occurrences(flat(readme), resources)).toBe(3);
    expect(occurrences(flat(chartReadme), resources)).toBe(1);
    for (const kind of ['`machinedeployments` (`cluster.x-k8s.io`)', '`kubeadmcontrolplanes` (`controlplane.cluster.x-k8s.io`)']) expect(resources).toContain(kind);
  });
});
