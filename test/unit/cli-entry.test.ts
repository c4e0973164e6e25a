// The command npm installs (bin/volume-guard.cjs): runs from source when nothing was built, prints its version,
// and refuses an unsupported Node with one line before loading anything that Node cannot run.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const BIN = join(ROOT, 'bin/volume-guard.cjs');
const SYSTEM_NODE = '/usr/bin/node';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(file: string, args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, { cwd: ROOT, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const version = async () => (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const temporary: string[] = [];
afterAll(async () => {
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});

describe('bin/volume-guard.cjs', () => {
  it('is what package.json installs as the volume-guard command', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[] };
    expect(pkg.bin['volume-guard']).toBe('bin/volume-guard.cjs');
    expect(pkg.files).toContain('bin');
  });

  it('runs from source when there is no dist/ (what npm ci leaves) and prints its version', async () => {
    // A copy of the package without dist/: its own bin, package.json, and the sources and dependencies linked.
    const dir = await mkdtemp(join(tmpdir(), 'vg-bin-'));
    temporary.push(dir);
    await cp(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
    await cp(join(ROOT, 'package.json'), join(dir, 'package.json'));
    await symlink(join(ROOT, 'src'), join(dir, 'src'));
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const result = await run(NODE, [join(dir, 'bin/volume-guard.cjs'), '--version']);
    expect(result).toMatchObject({ code: 0, stdout: `volume-guard ${await version()}\n` });
    const help = await run(NODE, [join(dir, 'bin/volume-guard.cjs'), 'audit', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--release');
  });

  it('refuses an older Node in one line, exit 2, before loading the CLI', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vg-old-'));
    temporary.push(dir);
    const preload = join(dir, 'old-node.cjs');
    await writeFile(preload, "Object.defineProperty(process.versions, 'node', { value: '20.11.1' });\n");
    const result = await run(NODE, ['--require', preload, BIN, 'audit']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^volume-guard: needs Node >= 24\.11, found 20\.11\.1 /);
  });

  it("on this machine's own Node, when it is too old, says so instead of failing with a TypeError", async (context) => {
    const system = await run(SYSTEM_NODE, ['--version']);
    const major = Number(/^v(\d+)/.exec(system.stdout)?.[1] ?? 'NaN');
    if (system.code !== 0 || !(major < 24)) {
      context.skip(`no Node older than 24 at ${SYSTEM_NODE}`);
      return;
    }
    const result = await run(SYSTEM_NODE, [BIN, '--version']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`volume-guard: needs Node >= 24.11, found ${system.stdout.trim().slice(1)}`);
    expect(result.stderr).not.toMatch(/TypeError|SyntaxError/);
  });
});
