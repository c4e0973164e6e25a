// The kubectl plugin: the name kubectl looks for, the usage lines under that name, package.json installing the CLI
// under it, the krew manifest's fields (krew's Plugin v1alpha2), and the archive scripts/package-kubectl-plugin.sh
// builds: only regular files and directories (what krew's tar extraction accepts), its launcher running the CLI
// through a link as krew installs it. kubectl itself discovering and running the plugin is tested in
// test/e2e/observe-audit.e2e.test.ts.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
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
const ROOT = new URL('.', root).pathname.replace(/\/$/, '');
/** Node 24 first on the PATH, as the plugin's `#!/usr/bin/env node` needs. */
const ENV = { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env['PATH'] ?? ''}` };
const exec = promisify(execFile);
const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vg-plugin-'));
  temporary.push(dir);
  return dir;
}

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

  it('has a launcher that is a regular file and runs the CLI under the plugin name through a link, as krew installs it', async () => {
    // The archive's layout: the launcher at the root, bin/volume-guard.cjs beside it, package.json saying "module".
    const store = tempDir();
    copyFileSync(join(ROOT, 'krew', KUBECTL_PLUGIN_BINARY), join(store, KUBECTL_PLUGIN_BINARY));
    expect(lstatSync(join(ROOT, 'krew', KUBECTL_PLUGIN_BINARY)).isFile()).toBe(true);
    mkdirSync(join(store, 'bin'));
    copyFileSync(join(ROOT, 'bin', 'volume-guard.cjs'), join(store, 'bin', 'volume-guard.cjs'));
    writeFileSync(join(store, 'package.json'), JSON.stringify({ type: 'module' }));
    mkdirSync(join(store, 'dist'));
    writeFileSync(join(store, 'dist', 'cli.js'), 'export async function main() { process.stdout.write(`ran as ${process.argv[1]}\\n`); return 0; }\n');
    const krewBin = tempDir();
    symlinkSync(join(store, KUBECTL_PLUGIN_BINARY), join(krewBin, KUBECTL_PLUGIN_BINARY));
    const { stdout } = await exec(join(krewBin, KUBECTL_PLUGIN_BINARY), [], { env: ENV, cwd: tempDir() });
    // Loaded from the store (the link's target), named after the link kubectl ran.
    expect(stdout).toBe(`ran as ${join(krewBin, KUBECTL_PLUGIN_BINARY)}\n`);
  });

  it(
    'packs an archive krew can unpack: regular files and directories only, no name with "..", a working plugin',
    async () => {
      const out = tempDir();
      const manifestCopy = join(out, 'volume-guard.yaml');
      copyFileSync(new URL('krew/volume-guard.yaml', root), manifestCopy);
      // Offline: the dependencies come from npm's cache, which `npm ci` of this checkout filled.
      const env = { ...ENV, KREW_MANIFEST: manifestCopy, npm_config_offline: 'true', LC_ALL: 'C' };
      await exec('bash', [join(ROOT, 'scripts', 'package-kubectl-plugin.sh'), 'v9.9.9', out], { env, cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
      const archive = join(out, `${KUBECTL_PLUGIN_BINARY}-v9.9.9.tar.gz`);

      const { stdout: listing } = await exec('tar', ['-tvzf', archive], { env, maxBuffer: 64 * 1024 * 1024 });
      const entries = listing.split('\n').filter((line) => line !== '');
      expect(entries.length).toBeGreaterThan(100);
      // GNU tar's verbose listing starts with the type: - regular file, d directory (l link, h hard link, ...).
      expect(entries.filter((line) => line[0] !== '-' && line[0] !== 'd')).toEqual([]);
      const { stdout: names } = await exec('tar', ['-tzf', archive], { env, maxBuffer: 64 * 1024 * 1024 });
      expect(names.split('\n').filter((name) => name.includes('..'))).toEqual([]);
      expect(names.split('\n')).toContain(`${KUBECTL_PLUGIN_BINARY}/${KUBECTL_PLUGIN_BINARY}`);

      const written = parseYaml(readFileSync(manifestCopy, 'utf8')) as KrewPlugin;
      expect(written.spec.version).toBe('v9.9.9');
      expect(written.spec.platforms[0]?.sha256).toBe(createHash('sha256').update(readFileSync(archive)).digest('hex'));

      // Unpacked as krew does (files from kubectl-volume_guard/*), run through krew's link in its bin directory.
      const store = tempDir();
      await exec('tar', ['-C', store, '-xzf', archive]);
      const krewBin = tempDir();
      symlinkSync(join(store, KUBECTL_PLUGIN_BINARY, KUBECTL_PLUGIN_BINARY), join(krewBin, KUBECTL_PLUGIN_BINARY));
      const { stdout: version } = await exec(join(krewBin, KUBECTL_PLUGIN_BINARY), ['--version'], { env: ENV, cwd: tempDir() });
      expect(version.trim()).toBe(`volume-guard ${pkg.version}`);
      const { stdout: help } = await exec(join(krewBin, KUBECTL_PLUGIN_BINARY), ['audit', '--help'], { env: ENV, cwd: tempDir() });
      expect(help).toMatch(/^Usage: kubectl volume-guard audit/);
    },
    180_000,
  );
});
