// Supply chain: what runs at install time, which Node runs the build and tests, which base image the Docker build
// starts from. Each check reads the project's own files; a dependency that gains an install script, an allowance
// that is not pinned to a version, a Node binary that differs from its pin, or an image referenced by tag only fails.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface LockPackage {
  readonly version?: string;
  readonly integrity?: string;
  readonly hasInstallScript?: boolean;
  readonly link?: boolean;
}
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, LockPackage> };
const manifest = JSON.parse(read('package.json')) as {
  devDependencies: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};

/** `node_modules/a/node_modules/@b/c` -> `@b/c` */
function packageName(path: string): string {
  return path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

describe('install scripts', () => {
  const withScripts = Object.entries(lock.packages)
    .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
    .map(([path, entry]) => `${packageName(path)}@${entry.version ?? '?'}`)
    .sort();

  it('run for exactly the packages and versions package.json allows (allowScripts)', () => {
    const allowed = Object.entries(manifest.allowScripts ?? {})
      .filter(([, allow]) => allow)
      .map(([key]) => key)
      .sort();
    // A new entry here means a dependency gained an install script: review it, then pin it in allowScripts.
    expect(withScripts).toEqual(allowed);
    expect(withScripts).toEqual(['node@24.21.0']);
  });

  it('are allowed per version, never for a whole package name', () => {
    for (const key of Object.keys(manifest.allowScripts ?? {})) expect(key).toMatch(/^(@[^/]+\/)?[^@]+@\d+\.\d+\.\d+$/);
  });

  it('every registry package in the lockfile carries an integrity hash', () => {
    const missing = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && !entry.link && !entry.integrity)
      .map(([path]) => path);
    expect(missing).toEqual([]);
  });
});

describe('the pinned Node', () => {
  it('is an exact version, the one allowed to run its install script and the one pinned by checksum', () => {
    const version = manifest.devDependencies['node'];
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(lock.packages['node_modules/node']?.version).toBe(version);
    expect(manifest.allowScripts?.[`node@${version}`]).toBe(true);
    const pins = read('scripts/node-pin.txt')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .map((line) => line.split(/\s+/));
    expect(pins.length).toBeGreaterThan(0);
    for (const [platform, pkg, integrity, sha256] of pins) {
      expect(pkg).toBe(`node-${platform}@${version}`);
      expect(integrity).toMatch(/^sha512-[A-Za-z0-9+/]+=*$/);
      expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('installed here matches its pin (scripts/verify-node.sh)', () => {
    const out = execFileSync('bash', [join(ROOT, 'scripts', 'verify-node.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toMatch(/verified \(sha256 [0-9a-f]{64}\)/);
  });

  it('npm test verifies it first', () => {
    expect((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['pretest']).toBe('bash scripts/verify-node.sh');
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
  const args = new Map(
    instructions.flatMap((line) => {
      const match = /^ARG\s+([A-Za-z_]+)=(\S+)/.exec(line);
      return match ? [[match[1]!, match[2]!] as const] : [];
    }),
  );
  const expand = (text: string) => text.replace(/\$\{?([A-Za-z_]+)\}?/g, (_, name: string) => args.get(name) ?? '');

  it('pins every base image by digest, with its tag', () => {
    const images = instructions
      .filter((line) => /^FROM\s/.test(line))
      .map((line) => expand(line.split(/\s+/)[1]!))
      .filter((image) => !/^[a-z]+$/.test(image)); // FROM <earlier stage>
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image).toMatch(/^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/);
  });

  // The digest cannot be re-fetched here (no registry): when the pinned base's Node is not the project's pin, both
  // the Dockerfile and the README must say so, and what was tested instead (scripts/image.sh's local base).
  it("names the Node its pinned base carries, and says so where it is not the project's pin", () => {
    const pinned = /Node (\d+\.\d+\.\d+) when pinned/.exec(dockerfile)?.[1];
    expect(pinned, 'the Dockerfile names the Node version of its pinned base').toBeDefined();
    const project = (JSON.parse(read('package.json')) as { devDependencies: Record<string, string> }).devDependencies['node']!;
    if (pinned === project) return;
    const readme = read('README.md').replace(/\s+/g, ' ');
    expect(dockerfile.replace(/\n# ?/g, ' ')).toContain(`Not the project's pin: the project pins Node ${project}`);
    expect(dockerfile).toContain('scripts/image.sh builds');
    expect(readme).toContain(`Node ${pinned}, not the project's pin: the project pins Node ${project}`);
  });

  it('runs npm ci with --ignore-scripts in every stage', () => {
    const installs = instructions.filter((line) => /^RUN\s.*\bnpm\s+(ci|install|i)\b/.test(line));
    expect(installs.length).toBeGreaterThan(0);
    for (const line of installs) {
      expect(line).toMatch(/\bnpm ci\b/);
      expect(line).toContain('--ignore-scripts');
    }
  });
});
