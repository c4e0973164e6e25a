// volume-guard's image, built from the project's Dockerfile by `npm run image` (scripts/image.sh: Debian's Docker
// Engine, a locally assembled base, no registry) and imported into the whole cluster's node, runs as a pod the way
// the chart runs it: non-root, read-only root filesystem, no privilege escalation. Its content: the compiled code
// and production dependencies only, no npm. Skipped unless the whole cluster runs.
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { kubectl, paths, run } from '../harness/cluster.ts';
import { apply } from '../harness/scenario.ts';
import { deleteNamespaceAndWait, freshNamespace, waitJsonpath } from '../support/whole.ts';

const cluster = inject('cluster');
const whole = cluster.whole;
const NS = 'vg-image';

describe.skipIf(!whole)('the volume-guard image (npm run image)', () => {
  afterAll(async () => {
    if (whole) await deleteNamespaceAndWait(NS).catch(() => undefined);
  }, 180_000);

  it('is built from the Dockerfile, imported into the node, and runs non-root on a read-only root filesystem', async () => {
    const built = await run('bash', [join(paths.root, 'scripts', 'image.sh')], { timeoutMs: 30 * 60_000 });
    expect(built.code, built.stderr.slice(-2000)).toBe(0);
    const ref = built.stdout.trim().split('\n').at(-1) ?? '';
    expect(ref).toMatch(/^docker\.io\/library\/volume-guard:\d+\.\d+\.\d+-[0-9a-f]{12}$/);
    expect(built.stderr).toContain("imported into the test node's containerd");

    await freshNamespace(NS);
    const pod = (name: string, command: string[] | undefined, args: string[]) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS },
      spec: {
        restartPolicy: 'Never',
        nodeSelector: { 'kubernetes.io/hostname': whole!.nodeName },
        securityContext: { runAsNonRoot: true },
        containers: [
          {
            name: 'vg',
            image: ref,
            imagePullPolicy: 'Never',
            ...(command ? { command } : {}),
            args,
            securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    });
    // The image's own ENTRYPOINT: the CLI answers.
    await apply(pod('help', undefined, ['--help']));
    await waitJsonpath(['pod', 'help', '-n', NS], '{.status.phase}', (v) => v === 'Succeeded' || v === 'Failed', 120_000);
    expect((await kubectl(['get', 'pod', 'help', '-n', NS, '-o', 'jsonpath={.status.phase}'])).stdout).toBe('Succeeded');
    expect((await kubectl(['logs', 'help', '-n', NS])).stdout).toContain('Usage: volume-guard');
    // What is inside: uid 10001, no npm/npx, no dev dependencies, the root filesystem not writable.
    const probe = [
      'id -u',
      'command -v npm || echo no-npm',
      'command -v npx || echo no-npx',
      'test -e /app/node_modules/typescript && echo has-typescript || echo no-typescript',
      'test -e /app/node_modules/vitest && echo has-vitest || echo no-vitest',
      'test -f /app/dist/cli.js && echo has-cli',
      'touch /app/x 2>/dev/null && echo root-writable || echo root-read-only',
    ].join('; ');
    await apply(pod('inside', ['sh', '-c'], [probe]));
    await waitJsonpath(['pod', 'inside', '-n', NS], '{.status.phase}', (v) => v === 'Succeeded' || v === 'Failed', 120_000);
    const out = (await kubectl(['logs', 'inside', '-n', NS])).stdout.trim().split('\n');
    expect(out).toEqual(['10001', 'no-npm', 'no-npx', 'no-typescript', 'no-vitest', 'has-cli', 'root-read-only']);
  }, 40 * 60_000);
});
