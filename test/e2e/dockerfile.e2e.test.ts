// No container engine runs here, so the image is checked by replaying the Dockerfile's steps in a clean directory
// (test/support/dockerfile-steps.sh): a clean `git archive` of HEAD, `npm ci` + build, `npm ci --omit=dev` in a
// separate runtime directory, then the CLI runs as uid 10001 from a directory it cannot write, with only the
// production dependencies and no npm. Slow-ish (two npm installs from the local cache).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const pinnedNode = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies.node as string;

describe('Dockerfile', () => {
  it("builds on the project's pinned Node major, in three stages, and runs non-root", () => {
    const major = pinnedNode.split('.')[0];
    // The base is pinned by digest (the tag kept for readers), so a re-pushed tag cannot change what is built.
    expect(dockerfile).toMatch(new RegExp(`^ARG NODE_IMAGE=node:${major}-bookworm-slim@sha256:[0-9a-f]{64}$`, 'm'));
    expect(dockerfile.match(/^FROM \$\{NODE_IMAGE\} AS (\w+)$/gm)).toEqual([
      'FROM ${NODE_IMAGE} AS build',
      'FROM ${NODE_IMAGE} AS deps',
      'FROM ${NODE_IMAGE} AS runtime',
    ]);
    // No dependency's install script runs in the build.
    expect(dockerfile).toMatch(/^RUN npm ci --ignore-scripts\b/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev --ignore-scripts\b/m);
    expect(dockerfile).toMatch(/^USER 10001:10001$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/cli\.js"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["serve"\]$/m);
    // The runtime stage copies only the compiled code, the production node_modules and package.json.
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime.match(/^COPY .*$/gm)).toEqual([
      'COPY package.json ./',
      'COPY --from=deps /app/node_modules ./node_modules',
      'COPY --from=build /app/dist ./dist',
    ]);
  });

  it('its steps, replayed in a clean directory, give a runtime that works with production dependencies only', () => {
    const result = spawnSync('bash', [join(root, 'test', 'support', 'dockerfile-steps.sh')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 9 * 60_000,
    });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.status, output).toBe(0);
    expect(result.stdout).toContain('dockerfile-steps: OK');
    expect(result.stderr).toMatch(/imported \d+ modules/);
    expect(result.stderr).toContain('no devDependencies');
  }, 10 * 60_000);
});
