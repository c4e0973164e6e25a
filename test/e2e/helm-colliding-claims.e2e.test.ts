// PVC names that collide across StatefulSets: `data-x-db-0` is template `data-x` of StatefulSet `db` and template
// `data` of StatefulSet `x-db`. The StatefulSet controller mounts whatever PVC bears the name, so a StatefulSet `x-db`
// would mount `db`'s volume while `db`'s pod still uses it. Real helm, kubectl, API server and kube-controller-manager
// (its StatefulSet controller creates db's pod and PVC; the test binds the PVC as a provisioner would): `helm install`
// of a release whose StatefulSet is `x-db` is refused at its record, naming the PVC and `db`; so is the same
// StatefulSet applied with kubectl.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, paths, tempFile } from '../harness/cluster.ts';
import { apply, changeAndWait, createStatefulSetClaims, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const guard = inject('guard');
const NS = 'e2e-helm-collide';
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'retained-db');
const CLAIM = 'data-x-db-0';
const PV = `pv-${NS}-${CLAIM}`;

function statefulSet(name: string, template: string): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: NS },
    spec: {
      replicas: 1,
      serviceName: name,
      selector: { matchLabels: { app: `e2e-collide-${name}` } },
      template: { metadata: { labels: { app: `e2e-collide-${name}` } }, spec: { containers: [{ name: 'c', image: 'registry.invalid/db:1' }] } },
      volumeClaimTemplates: [{ metadata: { name: template }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  };
}

describe('a StatefulSet whose PVC name another live StatefulSet claims', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', 'x', '-n', NS]);
    await apply(statefulSet('db', 'data-x'));
    expect(await createStatefulSetClaims(NS, 'db')).toEqual([CLAIM]);
    await eventually(() => kubectl(['get', 'pod', 'db-0', '-n', NS, '-o', 'name']), (r) => r.code === 0, 60_000);
    // The model has caught up with the pod and the PVC once it counts as many as the API server lists.
    await changeAndWait(guard.opsUrl, 'pods', async () => undefined);
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => undefined);
    await changeAndWait(guard.opsUrl, 'statefulsets.apps', async () => undefined);
  }, 180_000);

  afterAll(async () => {
    await helm(['uninstall', 'x', '-n', NS]);
    await deleteObjects(['statefulset', '--all', '-n', NS], ['pvc', '--all', '-n', NS], ['pv', PV]);
  });

  it('refuses helm install of a release whose StatefulSet x-db would mount db\'s PVC, though db-0 mounts it', async () => {
    const installed = await helm(['install', 'x', CHART, '-n', NS, '--set', 'db.replicas=1']);
    expect(installed.code).not.toBe(0);
    expect(installed.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(installed.stderr).toContain('[orphan-pvc]');
    const text = installed.stderr.replace(/\n\s+/g, ' ');
    expect(text).toContain(`${NS}/${CLAIM}`);
    expect(text).toContain('also the claim of live StatefulSet db (the names collide)');
    expect(text).toContain("rename the StatefulSet or its claim template: its PVC names collide with another live StatefulSet's");
    expect((await kubectl(['get', 'statefulset', 'x-db', '-n', NS])).code).not.toBe(0);
  });

  it('refuses the same StatefulSet created with kubectl', async () => {
    const file = await tempFile('collide-x-db.json', JSON.stringify(statefulSet('x-db', 'data')));
    const created = await kubectl(['create', '-f', file, '--dry-run=server']);
    expect(created.code).not.toBe(0);
    expect(created.stderr).toContain('admission webhook "statefulset.volume-guard.io" denied the request');
    expect(created.stderr.replace(/\n\s+/g, ' ')).toContain('also the claim of live StatefulSet db');
    // Renamed so that its claims are its own, it passes.
    const renamed = await tempFile('collide-x-db2.json', JSON.stringify(statefulSet('x-db', 'own')));
    await must(kubectl(['create', '-f', renamed, '--dry-run=server']), 'create x-db with its own claim template');
  });
});
