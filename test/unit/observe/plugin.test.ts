// The kubectl plugin: the name kubectl looks for, the usage lines under that name, package.json installing the CLI
// under it, and the krew manifest's fields (krew's Plugin v1alpha2). kubectl itself discovering and running the
// plugin is tested in test/e2e/observe-audit.e2e.test.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { KUBECTL_PLUGIN_BINARY, programName } from '../../../src/cli.ts';

const root = new URL('../../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string; bin: Record<string, string> };
interface KrewPlugin {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    version: string;
    homepage: string;
    shortDescription: string;
    description: string;
    platforms: { selector: { matchExpressions?: { key: string; operator: string; values: string[] }[] }; uri: string; sha256: string; files: { from: string; to: string }[]; bin: string }[];
  };
}
const manifest = parseYaml(readFileSync(new URL('krew/volume-guard.yaml', root), 'utf8')) as KrewPlugin;

describe('kubectl plugin', () => {
  it('is the file name kubectl maps `kubectl volume-guard` to', () => {
    // kubectl replaces dashes of the command with underscores in the file name it looks for.
    expect(KUBECTL_PLUGIN_BINARY).toBe(`kubectl-${'volume-guard'.replaceAll('-', '_')}`);
  });

  it('names itself after the way it was run', () => {
    expect(programName('/usr/local/bin/kubectl-volume_guard')).toBe('kubectl volume-guard');
    expect(programName('/home/me/.krew/bin/kubectl-volume_guard')).toBe('kubectl volume-guard');
    expect(programName('/usr/local/lib/node_modules/volume-guard/dist/cli.js')).toBe('volume-guard');
    expect(programName('/usr/local/bin/volume-guard')).toBe('volume-guard');
    expect(programName(undefined)).toBe('volume-guard');
  });

  it('is installed by npm under both names, from the same entry point', () => {
    expect(pkg.bin[KUBECTL_PLUGIN_BINARY]).toBe(pkg.bin['volume-guard']);
  });

  it('has a krew manifest krew accepts: name, semver, platforms with sha256 and the plugin binary', () => {
    expect(manifest.apiVersion).toBe('krew.googlecontainertools.github.com/v1alpha2');
    expect(manifest.kind).toBe('Plugin');
    expect(manifest.metadata.name).toBe('volume-guard');
    expect(manifest.spec.version).toBe(`v${pkg.version}`);
    expect(manifest.spec.shortDescription.length).toBeLessThanOrEqual(70);
    expect(manifest.spec.description).toContain('kubectl volume-guard audit');
    expect(manifest.spec.homepage).toMatch(/^https:\/\//);
    expect(manifest.spec.platforms.length).toBeGreaterThan(0);
    for (const platform of manifest.spec.platforms) {
      expect(platform.bin).toBe(KUBECTL_PLUGIN_BINARY);
      expect(platform.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(platform.uri).toMatch(new RegExp(`^https://.+/${manifest.spec.version}/${KUBECTL_PLUGIN_BINARY}-${manifest.spec.version}\\.tar\\.gz$`));
      expect(platform.files).toEqual([{ from: `${KUBECTL_PLUGIN_BINARY}/*`, to: '.' }]);
      for (const expression of platform.selector.matchExpressions ?? []) {
        expect(expression.key).toBe('os');
        expect(expression.values.every((os) => ['linux', 'darwin'].includes(os))).toBe(true);
      }
    }
  });
});
