// A StatefulSet created outside Helm at 1 replica where an earlier StatefulSet of that name left a PVC at ordinal 1:
// its CREATE passes (it claims ordinal 0 only), and scaling it up would make the StatefulSet controller re-attach
// the old PVC. Real API server, real kubectl, kube-controller-manager beside it: `kubectl scale` (the scale
// subresource) and a patch of spec.replicas are refused naming the PVC; once it is marked for reuse the scale-up
// passes and the real controller creates the pod on that very PVC.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, boundClaim, changeAndWait, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const guard = inject('guard');
const NS = 'e2e-sts-scale-up';
const LEFT = 'data-web-1';

describe('orphan-pvc at a StatefulSet scale-up outside Helm', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await deleteObjects(['statefulset', 'web', '-n', NS], ['pvc', '--all', '-n', NS]);
    await boundClaim(NS, LEFT, 'Retain');
    // creationTimestamps count whole seconds: the StatefulSet comes strictly later than the leftover.
    await sleep(1100);
    await changeAndWait(guard.opsUrl, 'statefulsets.apps', () =>
      apply({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'web', namespace: NS },
        spec: {
          replicas: 1,
          serviceName: 'web',
          podManagementPolicy: 'Parallel',
          selector: { matchLabels: { app: 'e2e-sts-scale-up' } },
          template: { metadata: { labels: { app: 'e2e-sts-scale-up' } }, spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1' }] } },
          volumeClaimTemplates: [
            { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'standard', resources: { requests: { storage: '1Gi' } } } },
          ],
        },
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(['statefulset', 'web', '-n', NS], ['pvc', '--all', '-n', NS], ['pv', `pv-${NS}-${LEFT}`]);
  });

  it('refuses kubectl scale and a replicas patch that would re-attach the old PVC, naming it', async () => {
    const scaled = await kubectl(['scale', 'statefulset', 'web', '-n', NS, '--replicas=2', '--dry-run=server']);
    expect(scaled.code).not.toBe(0);
    expect(scaled.stderr).toContain('admission webhook "statefulset.volume-guard.io" denied the request');
    expect(scaled.stderr).toContain(`scale-up of StatefulSet ${NS}/web to 2 replicas`);
    expect(scaled.stderr).toContain(`${NS}/${LEFT}`);
    expect(scaled.stderr).toContain('left by an earlier StatefulSet web');
    const patched = await kubectl(['patch', 'statefulset', 'web', '-n', NS, '--type=merge', '-p', '{"spec":{"replicas":2}}', '--dry-run=server']);
    expect(patched.code).not.toBe(0);
    expect(patched.stderr).toContain(`${NS}/${LEFT}`);
  });

  it('passes once the PVC is marked for reuse, and the controller puts the new pod on it', async () => {
    await must(kubectl(['annotate', 'pvc', LEFT, '-n', NS, 'volume-guard.io/reuse=true', 'volume-guard.io/skip-by=admin']), 'reuse');
    const scaled = await eventually(() => kubectl(['scale', 'statefulset', 'web', '-n', NS, '--replicas=2']), (r) => r.code === 0, 30_000);
    expect(scaled.stderr).not.toContain('denied');
    expect(scaled.code).toBe(0);
    const pod = await eventually(
      () => kubectl(['get', 'pod', 'web-1', '-n', NS, '-o', 'jsonpath={.spec.volumes[?(@.name=="data")].persistentVolumeClaim.claimName}']),
      (r) => r.stdout === LEFT,
      60_000,
    );
    expect(pod.stdout).toBe(LEFT);
  });
});

describe('a StatefulSet being deleted: its controller only writes status, so raising its replicas claims nothing', () => {
  const HELD_NS = 'e2e-sts-scale-up-held';
  const HOLD = 'e2e.volume-guard.io/hold';
  beforeAll(async () => {
    await ensureNamespace(HELD_NS);
    await boundClaim(HELD_NS, 'data-held-1', 'Retain');
    await sleep(1100);
    await changeAndWait(guard.opsUrl, 'statefulsets.apps', () =>
      apply({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        // Held by a finalizer of the test's own: deleted, it stays with its deletionTimestamp set.
        metadata: { name: 'held', namespace: HELD_NS, finalizers: [HOLD] },
        spec: {
          replicas: 1,
          serviceName: 'held',
          selector: { matchLabels: { app: 'e2e-sts-held' } },
          template: { metadata: { labels: { app: 'e2e-sts-held' } }, spec: { containers: [{ name: 'db', image: 'registry.invalid/db:1' }] } },
          volumeClaimTemplates: [
            { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'standard', resources: { requests: { storage: '1Gi' } } } },
          ],
        },
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await kubectl(['patch', 'statefulset', 'held', '-n', HELD_NS, '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    await deleteObjects(['statefulset', 'held', '-n', HELD_NS], ['pvc', '--all', '-n', HELD_NS], ['pv', `pv-${HELD_NS}-data-held-1`]);
  });

  it('refuses the patch while it lives; passes it once the StatefulSet is being deleted', async () => {
    const patch = () => kubectl(['patch', 'statefulset', 'held', '-n', HELD_NS, '--type=merge', '-p', '{"spec":{"replicas":2}}', '--dry-run=server']);
    const refused = await patch();
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`${HELD_NS}/data-held-1`);
    await must(kubectl(['delete', 'statefulset', 'held', '-n', HELD_NS, '--cascade=foreground', '--wait=false']), 'delete, held by its finalizer');
    const passed = await eventually(patch, (r) => r.code === 0, 20_000);
    expect(passed.stderr).not.toContain('denied');
    expect(passed.code).toBe(0);
  });
});
