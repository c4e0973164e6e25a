// Helm's ConfigMap driver, StatefulSets created outside Helm, PVCs mounted by live pods, big CRD charts, release
// namespaces, revision-scoped release labels and pvc-delete: each through the real API server with real helm and
// kubectl.
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, paths, tempFile, type CommandResult } from '../harness/cluster.ts';
import {
  apply,
  boundClaim,
  changeAndWait,
  createPod,
  createStatefulSetClaims,
  removeLeftoverPv,
  deleteObjects,
  ensureNamespace,
  eventually,
  must,
  patchStatus,
} from '../harness/scenario.ts';

const guard = inject('guard');
const DEVLAKE = join(paths.root, 'test', 'e2e', 'charts', 'devlake');
const UPLOADS = join(paths.root, 'test', 'e2e', 'charts', 'uploads');
const PVC = 'devlake-mysql-data-devlake-mysql-0';

/** Retries a command the model may need a watch event or two to allow. */
async function until(attempt: () => Promise<CommandResult>, ok: (result: CommandResult) => boolean): Promise<CommandResult> {
  return eventually(attempt, ok, 20_000);
}

/** A PV with reclaim policy Delete, reported Bound to `namespace/claim` (the claim is created by a chart). */
async function boundPv(name: string, namespace: string, claim: string): Promise<void> {
  await removeLeftoverPv(name);
  await apply({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: 'standard',
      csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: name },
      claimRef: { namespace, name: claim },
    },
  });
  await patchStatus('pv', name, { phase: 'Bound' });
}

function statefulSet(namespace: string, name: string, template = 'data'): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'db', image: 'registry.invalid/db:1' }] } },
      volumeClaimTemplates: [{ metadata: { name: template }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  };
}

/** Removes what the tests leave: pods go with --force (no kubelet confirms a graceful delete). */
async function cleanNamespace(namespace: string): Promise<void> {
  await kubectl(['delete', 'pods', '--all', '-n', namespace, '--grace-period=0', '--force', '--ignore-not-found']);
  await deleteObjects(['statefulset', '--all', '-n', namespace], ['pvc', '--all', '-n', namespace]);
}

/**
 * `kubectl delete sts --cascade=orphan`. The API server parks the object behind the `orphan` finalizer, which the
 * garbage collector removes once it has released the dependents (their owner references).
 */
async function deleteOrphaning(namespace: string, name: string): Promise<void> {
  await must(kubectl(['delete', 'statefulset', name, '-n', namespace, '--cascade=orphan', '--wait=false']), 'delete --cascade=orphan');
  await must(kubectl(['wait', '--for=delete', `statefulset/${name}`, '-n', namespace, '--timeout=60s']), 'wait for the delete');
}

async function applyFile(name: string, object: unknown, extra: string[] = []): Promise<CommandResult> {
  const file = await tempFile(`helm-gitops-${process.pid}-${name}.json`, JSON.stringify(object));
  return kubectl(['apply', '-f', file, ...extra]);
}

describe('HELM_DRIVER=configmap is guarded like the Secret driver', () => {
  const NS = 'e2e-helm-cm';
  const env = { ...process.env, HELM_DRIVER: 'configmap' };
  const install = () => helm(['install', 'devlake', DEVLAKE, '-n', NS], { env });
  const uninstall = () => helm(['uninstall', 'devlake', '-n', NS], { env });

  beforeAll(async () => {
    await ensureNamespace(NS);
  });
  afterAll(async () => {
    await uninstall();
    await deleteObjects(['pvc', '--all', '-n', NS]);
  });

  it('install → uninstall (warned) → reinstall denied naming the PVC, with the record in a ConfigMap', async () => {
    // helm install creates the StatefulSet; its controller creates the claim (bound to a PV here).
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => {
      await must(install(), 'helm install (configmap driver)');
      await createStatefulSetClaims(NS, 'devlake-mysql');
    });
    const stored = await must(kubectl(['get', 'configmaps', '-n', NS, '-l', 'owner=helm,name=devlake', '-o', 'name']), 'list release configmaps');
    expect(stored.stdout).toContain('configmap/sh.helm.release.v1.devlake.v1');
    expect((await kubectl(['get', 'secrets', '-n', NS, '-l', 'owner=helm', '-o', 'name'])).stdout.trim()).toBe('');

    const removed = await uninstall();
    expect(removed.code).toBe(0);
    expect(removed.stderr).toContain(`volume-guard: uninstalling ${NS}/devlake leaves 1 PVC and data behind`);
    expect(removed.stderr).toContain(`PVC ${NS}/${PVC}`);

    const denied = await install();
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(denied.stderr).toContain(`${NS}/${PVC}`);
    expect((await kubectl(['get', 'statefulset', 'devlake-mysql', '-n', NS])).code).not.toBe(0);
  });
});

describe('StatefulSets created outside Helm (kubectl apply, Argo CD, Flux)', () => {
  const NS = 'e2e-sts-apply';
  beforeAll(async () => {
    await ensureNamespace(NS);
    await cleanNamespace(NS);
  });
  afterAll(async () => {
    await cleanNamespace(NS);
  });

  it('a StatefulSet that would re-attach a leftover PVC is denied naming it; reuse=true lets it through', async () => {
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(NS, 'data-db-0', 'Retain'));
    const denied = await applyFile('db', statefulSet(NS, 'db'));
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('admission webhook "statefulset.volume-guard.io" denied the request');
    expect(denied.stderr).toContain(`creation of StatefulSet ${NS}/db`);
    expect(denied.stderr).toContain(`${NS}/data-db-0`);
    // No Helm release is involved: the StatefulSet is what adopts the PVC.
    expect(denied.stderr).toContain('1 adopted with its old data by the StatefulSet');
    // Server-side dry-run is judged the same.
    const dry = await applyFile('db-dry', statefulSet(NS, 'db'), ['--dry-run=server']);
    expect(dry.code).not.toBe(0);
    expect(dry.stderr).toContain(`${NS}/data-db-0`);

    // An approval written "True" does not count; the refusal says so.
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => {
      await must(kubectl(['annotate', 'pvc', 'data-db-0', '-n', NS, 'volume-guard.io/reuse=True', 'volume-guard.io/skip-by=admin']), 'annotate reuse True');
      await boundClaim(NS, 'sentinel-reuse', 'Retain');
    });
    const capital = await applyFile('db', statefulSet(NS, 'db'));
    expect(capital.code).not.toBe(0);
    expect(capital.stderr).toContain('reuse: "True" ignored, only "true" counts');
    await must(kubectl(['annotate', '--overwrite', 'pvc', 'data-db-0', '-n', NS, 'volume-guard.io/reuse=true', 'volume-guard.io/skip-by=admin']), 'annotate reuse');
    const allowed = await until(() => applyFile('db', statefulSet(NS, 'db')), (r) => r.code === 0);
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toContain('orphan-pvc overridden by annotation volume-guard.io/reuse');
  });

  it('a PVC mounted by a live pod is never an orphan: delete --cascade=orphan, then re-create', async () => {
    // The StatefulSet controller creates the claim and the pod; the test binds the claim to a PV (no provisioner
    // here) and the pod to a node, running (no scheduler or kubelet in the default cluster).
    await changeAndWait(guard.opsUrl, 'pods', () =>
      changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => {
        await must(applyFile('web', statefulSet(NS, 'web')), 'create web (no PVC yet)');
        await createStatefulSetClaims(NS, 'web');
      }),
    );
    await createPod({ name: 'web-0', namespace: NS, node: 'node-resize', claims: ['data-web-0'] });
    await deleteOrphaning(NS, 'web');
    const recreated = await until(() => applyFile('web', statefulSet(NS, 'web')), (r) => r.code === 0);
    expect(recreated.stderr).not.toContain('denied');
    expect(recreated.code).toBe(0);

    // Once no pod mounts it, the same PVC is an orphan again.
    await deleteOrphaning(NS, 'web');
    await changeAndWait(guard.opsUrl, 'pods', () => must(kubectl(['delete', 'pod', 'web-0', '-n', NS, '--grace-period=0', '--force']), 'delete pod'));
    const denied = await until(() => applyFile('web', statefulSet(NS, 'web')), (r) => r.code !== 0);
    expect(denied.stderr).toContain(`${NS}/data-web-0`);
  });

  it('a StatefulSet Helm created for a release of its namespace is judged at the release record, not twice', async () => {
    const helmManaged = statefulSet(NS, 'cache');
    (helmManaged.metadata as Record<string, unknown>).annotations = { 'meta.helm.sh/release-name': 'cache', 'meta.helm.sh/release-namespace': NS };
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(NS, 'data-cache-0', 'Retain'));
    // As Helm creates it: its field manager is the name of its binary.
    const asHelm = ['--dry-run=server', '--field-manager=helm'];
    expect((await applyFile('cache-helm', helmManaged, asHelm)).code).toBe(0);
    // The same object applied with kubectl (a copy of Helm's, re-applied by hand) was judged at no release record.
    const byHand = await applyFile('cache-kubectl', helmManaged, ['--dry-run=server']);
    expect(byHand.code).not.toBe(0);
    expect(byHand.stderr).toContain(`${NS}/data-cache-0`);
    // Annotated for a release of another namespace: that release's record never looked here, so it is judged now.
    (helmManaged.metadata as Record<string, unknown>).annotations = { 'meta.helm.sh/release-name': 'cache', 'meta.helm.sh/release-namespace': 'elsewhere' };
    const foreign = await applyFile('cache-foreign', helmManaged, asHelm);
    expect(foreign.code).not.toBe(0);
    expect(foreign.stderr).toContain(`${NS}/data-cache-0`);
  });
});

describe('helm upgrade after kubectl delete sts --cascade=orphan (the PVC-resize workflow)', () => {
  const NS = 'e2e-helm-resize';
  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', 'devlake', '-n', NS]);
    await cleanNamespace(NS);
  });
  afterAll(async () => {
    await helm(['uninstall', 'devlake', '-n', NS]);
    await cleanNamespace(NS);
  });

  it('passes while the pod still mounts the PVC', async () => {
    // The StatefulSet controller creates the claim and the pod; the test binds the claim to a PV and the pod to a
    // node, running (no provisioner, scheduler or kubelet in the default cluster).
    await changeAndWait(guard.opsUrl, 'pods', () =>
      changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => {
        await changeAndWait(guard.opsUrl, 'statefulsets.apps', () => must(helm(['install', 'devlake', DEVLAKE, '-n', NS]), 'helm install'));
        await createStatefulSetClaims(NS, 'devlake-mysql');
      }),
    );
    await createPod({ name: 'devlake-mysql-0', namespace: NS, node: 'node-resize', claims: [PVC] });
    await changeAndWait(guard.opsUrl, 'statefulsets.apps', () => deleteOrphaning(NS, 'devlake-mysql'));
    const upgraded = await helm(['upgrade', 'devlake', DEVLAKE, '-n', NS, '--set', 'mysql.storage=2Gi']);
    expect(upgraded.stderr).not.toContain('denied');
    expect(upgraded.code).toBe(0);
  });
});

describe('nothing crosses namespaces', () => {
  const TEAM = 'e2e-ns-team';
  const VICTIM = 'e2e-ns-victim';
  beforeAll(async () => {
    await ensureNamespace(TEAM);
    await ensureNamespace(VICTIM);
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(VICTIM, PVC, 'Retain'));
  });
  afterAll(async () => {
    await deleteObjects(['secret', '-l', 'owner=helm', '-n', TEAM], ['pvc', '--all', '-n', VICTIM]);
  });

  /** A release record in TEAM as Helm would write it, whose payload says namespace VICTIM. */
  async function forgedRecord(dryRun: boolean): Promise<CommandResult> {
    const rendered = await must(helm(['template', 'devlake', DEVLAKE, '-n', VICTIM]), 'helm template');
    const json = JSON.stringify({ name: 'devlake', namespace: VICTIM, version: 1, info: { status: 'pending-install' }, manifest: rendered.stdout, chart: { metadata: { name: 'devlake', version: '1.0.0' } } });
    const { gzipSync } = await import('node:zlib');
    const helmEncoded = gzipSync(json).toString('base64');
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'helm.sh/release.v1',
      metadata: { name: 'sh.helm.release.v1.devlake.v1', namespace: TEAM, labels: { owner: 'helm', name: 'devlake', status: 'pending-install', version: '1' } },
      data: { release: Buffer.from(helmEncoded, 'latin1').toString('base64') },
    };
    const file = await tempFile(`forged-${process.pid}.json`, JSON.stringify(secret));
    return kubectl(['create', '-f', file, ...(dryRun ? ['--dry-run=server'] : [])]);
  }

  it('a record in one namespace claiming another is refused, naming nothing of the other namespace', async () => {
    for (const dryRun of [true, false]) {
      const result = await forgedRecord(dryRun);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
      expect(result.stderr).toContain(`names namespace ${VICTIM} but is stored in ${TEAM}`);
      expect(result.stderr).not.toContain(PVC);
    }
  });

  it('a real helm install in the team namespace is judged there only', async () => {
    const installed = await helm(['install', 'devlake', DEVLAKE, '-n', TEAM, '--dry-run=server']);
    expect(installed.stderr).not.toContain(PVC);
    expect(installed.code).toBe(0);
  });
});

describe('release-label overrides count in one revision only', () => {
  const NS = 'e2e-helm-labels';
  const pvName = 'pv-e2e-helm-labels-uploads';
  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', 'devlake', '-n', NS]);
    await helm(['uninstall', 'uploads', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS]);
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(NS, PVC, 'Retain'));
  });
  afterAll(async () => {
    await helm(['uninstall', 'devlake', '-n', NS]);
    await helm(['uninstall', 'uploads', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS]);
  });

  it('an install label from an allowed writer is honored', async () => {
    const installed = await helm(['install', 'devlake', DEVLAKE, '-n', NS, '--labels', 'volume-guard.io/skip=orphan-pvc']);
    expect(installed.stderr).toContain('orphan-pvc overridden by release label (revision 1)');
    expect(installed.code).toBe(0);
  });

  it('carried into an upgrade it is not honored, until scoped to that revision; a revision ahead is refused', async () => {
    await boundPv(pvName, NS, 'uploads-uploads');
    await must(helm(['install', 'uploads', UPLOADS, '-n', NS, '--set', `uploads.volumeName=${pvName}`, '--labels', 'volume-guard.io/skip=pvc-delete']), 'install');
    await patchStatus('pvc', 'uploads-uploads', { phase: 'Bound' }, NS);
    const drop = ['upgrade', 'uploads', UPLOADS, '-n', NS, '--set', 'uploads.enabled=false'];
    const carried = await until(() => helm(drop), (r) => r.stderr.includes('[pvc-delete]'));
    expect(carried.code).not.toBe(0);
    expect(carried.stderr).toContain('left from an earlier revision and not honored');
    expect(carried.stderr).toContain(`${NS}/uploads-uploads`);
    // The refused upgrade wrote no revision: the next one is 2 again.
    const armed = await helm([...drop, '--labels', 'volume-guard.io/skip-revision=3']);
    expect(armed.code).not.toBe(0);
    expect(armed.stderr).toContain('volume-guard.io/skip-revision=3 does not name this revision (2)');
    const scoped = await helm([...drop, '--labels', 'volume-guard.io/skip-revision=2']);
    expect(scoped.stderr).toContain('pvc-delete overridden by release label (revision 2)');
    expect(scoped.code).toBe(0);
    const labels = await must(kubectl(['get', 'secret', 'sh.helm.release.v1.uploads.v2', '-n', NS, '-o', 'jsonpath={.metadata.labels}']), 'labels');
    expect(labels.stdout).toContain('"volume-guard.io/skip-revision":"2"');
  });

  it('written onto a stored record, a release override label takes an override writer and never names a later revision', async () => {
    // Helm copies a stored record's labels into the next upgrade: planted there, they would count as its runner's.
    const record = 'sh.helm.release.v1.uploads.v2';
    await kubectl(['create', 'role', 'release-labeller', '-n', NS, '--verb=get,list,patch,update', '--resource=secrets']);
    await kubectl(['create', 'rolebinding', 'release-dev-labeller', '-n', NS, '--role=release-labeller', '--user=release-dev']);
    const planted = await kubectl(['label', 'secret', record, '-n', NS, 'volume-guard.io/skip=all', '--overwrite', '--as=release-dev']);
    expect(planted.code).not.toBe(0);
    expect(planted.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(planted.stderr).toContain('may not write label volume-guard.io/skip');
    const ahead = await kubectl(['label', 'secret', record, '-n', NS, 'volume-guard.io/skip-revision=3', '--overwrite']);
    expect(ahead.code).not.toBe(0);
    expect(ahead.stderr).toContain('names a later revision');
    // Removing one is stricter: anyone who may edit the record.
    const removed = await kubectl(['label', 'secret', record, '-n', NS, 'volume-guard.io/skip-', '--as=release-dev']);
    expect(removed.code, removed.stderr).toBe(0);
    const labels = await must(kubectl(['get', 'secret', record, '-n', NS, '-o', 'jsonpath={.metadata.labels}']), 'labels');
    expect(labels.stdout).not.toContain('"volume-guard.io/skip":');
    expect(labels.stdout).toContain('"volume-guard.io/skip-revision":"2"');
  });
});

describe('a release record Helm reads though it is not typed as Helm writes one', () => {
  // Helm's Secret driver lists records by their labels and decodes data.release whatever the Secret's type
  // (pkg/storage/driver/secrets.go Query), and `helm upgrade` copies the labels of the highest revision it decodes
  // (Storage.Last, mergeCustomLabels): an Opaque Secret holding a copy of the record one revision up, planted by
  // someone who may only create Secrets there, armed the next plain upgrade with its skip labels.
  const NS = 'e2e-helm-opaque-record';
  const pvName = 'pv-e2e-helm-opaque-uploads';
  const DEV = 'opaque-record-dev';
  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', 'uploads', '-n', NS]);
    await deleteObjects(['secret', '-l', 'owner=helm', '-n', NS], ['pvc', '--all', '-n', NS]);
    await kubectl(['create', 'role', 'record-writer', '-n', NS, '--verb=get,list,create', '--resource=secrets']);
    await kubectl(['create', 'rolebinding', 'record-writer-dev', '-n', NS, '--role=record-writer', `--user=${DEV}`]);
  });
  afterAll(async () => {
    await helm(['uninstall', 'uploads', '-n', NS]);
    await deleteObjects(['secret', '-l', 'owner=helm', '-n', NS], ['pvc', '--all', '-n', NS]);
  });

  /** Revision 1's record as an Opaque Secret claiming revision 2, with these extra labels. */
  async function opaqueCopy(name: string, labels: Record<string, string>): Promise<string> {
    const stored = JSON.parse((await must(kubectl(['get', 'secret', 'sh.helm.release.v1.uploads.v1', '-n', NS, '-o', 'json']), 'get record')).stdout) as {
      data: { release: string };
    };
    const record = JSON.parse(gunzipSync(Buffer.from(Buffer.from(stored.data.release, 'base64').toString(), 'base64')).toString()) as Record<string, unknown>;
    const release = Buffer.from(gzipSync(JSON.stringify({ ...record, version: 2 })).toString('base64')).toString('base64');
    return tempFile(
      `helm-gitops-${process.pid}-${name}.json`,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name, namespace: NS, labels: { owner: 'helm', name: 'uploads', status: 'deployed', version: '2', ...labels } },
        data: { release },
      }),
    );
  }

  it("planting its skip labels takes an override writer; without them the next upgrade is judged as before", async () => {
    await boundPv(pvName, NS, 'uploads-uploads');
    await must(helm(['install', 'uploads', UPLOADS, '-n', NS, '--set', `uploads.volumeName=${pvName}`]), 'install');
    await patchStatus('pvc', 'uploads-uploads', { phase: 'Bound' }, NS);
    const planted = await kubectl([
      'create', '-f', await opaqueCopy('sh.helm.release.v1.uploads.v2', { 'volume-guard.io/skip': 'all', 'volume-guard.io/skip-revision': '3' }), `--as=${DEV}`,
    ]);
    expect(planted.code).not.toBe(0);
    expect(planted.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(planted.stderr).toContain(`${DEV} may not write label volume-guard.io/skip, volume-guard.io/skip-revision`);
    // The same Secret without them passes (no Helm operation to judge), and Helm takes it as revision 2.
    await must(kubectl(['create', '-f', await opaqueCopy('sh.helm.release.v1.uploads.v2', {}), `--as=${DEV}`]), 'create the copy');
    const drop = await until(
      () => helm(['upgrade', 'uploads', UPLOADS, '-n', NS, '--set', 'uploads.enabled=false']),
      (r) => r.stderr.includes('[pvc-delete]'),
    );
    expect(drop.code).not.toBe(0);
    expect(drop.stderr).toContain('upgrade of Helm release e2e-helm-opaque-record/uploads (revision 3)');
    expect(drop.stderr).not.toContain('overridden by release label');
    await must(kubectl(['get', 'pvc', 'uploads-uploads', '-n', NS]), 'the PVC is kept');
  });
});

describe('an install over a PVC labelled for the release that another app mounts', () => {
  // Argo CD labels what it deploys app.kubernetes.io/instance=<app>: a claim another app uses, which nothing this
  // chart renders would claim, is no leftover of the release.
  const NS = 'e2e-helm-inuse';
  const FILES = 'shared-files';
  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', 'devlake', '-n', NS]);
    await cleanNamespace(NS);
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(NS, FILES, 'Delete'));
    await must(kubectl(['label', 'pvc', FILES, '-n', NS, 'app.kubernetes.io/instance=devlake']), 'label the claim');
  });
  afterAll(async () => {
    await helm(['uninstall', 'devlake', '-n', NS]);
    await cleanNamespace(NS);
  });

  it('is refused naming it while nothing mounts it; passes once a running pod of another app does', async () => {
    const install = ['install', 'devlake', DEVLAKE, '-n', NS];
    const refused = await until(() => helm(install), (r) => r.stderr.includes(`${NS}/${FILES}`));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('[orphan-pvc]');
    await changeAndWait(guard.opsUrl, 'pods', () => createPod({ name: 'files-7d9c-abcde', namespace: NS, node: 'e2e-helm-inuse-node', claims: [FILES] }));
    const installed = await until(() => helm(install), (r) => r.code === 0);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stderr).not.toContain(FILES);
  });
});

describe("an upgrade that stops rendering the release's Namespace", () => {
  // Helm deletes what the new revision no longer renders, the Namespace too (unless its live resource-policy is keep),
  // and the namespace controller every PVC in it.
  const NS = 'e2e-helm-ns-drop';
  const pvName = 'pv-e2e-helm-ns-drop-uploads';
  beforeAll(async () => {
    await ensureNamespace(NS);
    // Created first (Helm stores the record there before anything else), then adopted by the chart as Helm adopts.
    await must(kubectl(['label', 'namespace', NS, 'app.kubernetes.io/managed-by=Helm', '--overwrite']), 'label');
    await must(kubectl(['annotate', 'namespace', NS, 'meta.helm.sh/release-name=uploads', `meta.helm.sh/release-namespace=${NS}`, '--overwrite']), 'annotate');
    await boundPv(pvName, NS, 'uploads-uploads');
    await must(helm(['install', 'uploads', UPLOADS, '-n', NS, '--set', `uploads.volumeName=${pvName}`, '--set', 'namespace.render=true']), 'install');
    await patchStatus('pvc', 'uploads-uploads', { phase: 'Bound' }, NS);
  });
  afterAll(async () => {
    await kubectl(['annotate', 'namespace', NS, 'helm.sh/resource-policy=keep', '--overwrite']);
    await helm(['uninstall', 'uploads', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS], ['pv', pvName]);
  });

  it('is refused naming the PVC the namespace controller would delete; passes once the Namespace says keep', async () => {
    const drop = ['upgrade', 'uploads', UPLOADS, '-n', NS, '--set', `uploads.volumeName=${pvName}`, '--set', 'namespace.render=false'];
    const refused = await until(() => helm(drop), (r) => r.stderr.includes(`${NS}/uploads-uploads`));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('[pvc-delete]');
    expect(refused.stderr).toContain(`no longer declares Namespace ${NS}`);
    expect((await kubectl(['get', 'namespace', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}'])).stdout).toBe('');
    await must(kubectl(['annotate', 'namespace', NS, 'helm.sh/resource-policy=keep', '--overwrite']), 'keep');
    const passed = await until(() => helm(drop), (r) => r.code === 0);
    expect(passed.stderr).not.toContain('denied');
    expect(passed.code).toBe(0);
    expect((await kubectl(['get', 'namespace', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}'])).stdout).toBe('');
  });
});

describe('pvc-delete', () => {
  const NS = 'e2e-pvc-delete';
  const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', 'uploads', '-n', NS]);
    await kubectl(['delete', 'rolebindings,roles', '--all', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS]);
    await must(kubectl(['create', 'role', 'pvc-deleter', '-n', NS, '--verb=get,list,delete', '--resource=persistentvolumeclaims']), 'role');
    await must(kubectl(['create', 'rolebinding', 'argo-pvc-deleter', '-n', NS, '--role=pvc-deleter', `--user=${ARGO}`]), 'rolebinding');
  });
  afterAll(async () => {
    await helm(['uninstall', 'uploads', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS], ['rolebinding', 'argo-pvc-deleter', '-n', NS], ['role', 'pvc-deleter', '-n', NS]);
  });

  it('a helm upgrade that drops a Bound templated PVC is refused; helm uninstall warns what it deletes', async () => {
    const pvName = 'pv-e2e-pvc-delete-uploads';
    await boundPv(pvName, NS, 'uploads-uploads');
    await must(helm(['install', 'uploads', UPLOADS, '-n', NS, '--set', `uploads.volumeName=${pvName}`]), 'helm install uploads');
    await patchStatus('pvc', 'uploads-uploads', { phase: 'Bound' }, NS);
    const dropped = await until(
      () => helm(['upgrade', 'uploads', UPLOADS, '-n', NS, '--set', 'uploads.enabled=false']),
      (r) => r.code !== 0,
    );
    expect(dropped.stderr).toContain('UPGRADE FAILED');
    expect(dropped.stderr).toContain('[pvc-delete]');
    expect(dropped.stderr).toContain(`${NS}/uploads-uploads`);
    expect(dropped.stderr).toContain('reclaim policy Delete destroys the volume and its data');
    expect((await kubectl(['get', 'pvc', 'uploads-uploads', '-n', NS])).code).toBe(0);

    const removed = await helm(['uninstall', 'uploads', '-n', NS]);
    expect(removed.code).toBe(0);
    expect(removed.stderr).toContain(`volume-guard: uninstalling ${NS}/uploads deletes 1 templated PVC:`);
    expect(removed.stderr).toContain(`- PVC ${NS}/uploads-uploads (PV ${pvName}, reclaim Delete: data destroyed)`);
  });

  it("a DELETE of a Bound PVC by Argo CD's controller is refused unless marked volume-guard.io/delete=true", async () => {
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(NS, 'db-data', 'Delete'));
    const byArgo = await kubectl(['delete', 'pvc', 'db-data', '-n', NS, `--as=${ARGO}`, '--wait=false']);
    expect(byArgo.code).not.toBe(0);
    expect(byArgo.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(byArgo.stderr).toContain(`${NS}/db-data`);

    // alice may not write the approval (the override guard polices volume-guard.io/delete).
    await must(kubectl(['create', 'role', 'pvc-editor', '-n', NS, '--verb=get,patch,update', '--resource=persistentvolumeclaims']), 'role');
    await must(kubectl(['create', 'rolebinding', 'alice-pvc-editor', '-n', NS, '--role=pvc-editor', '--user=alice']), 'rolebinding');
    const byAlice = await kubectl(['annotate', 'pvc', 'db-data', '-n', NS, 'volume-guard.io/delete=true'], { kubeconfig: paths.kubeconfigUser });
    expect(byAlice.code).not.toBe(0);
    expect(byAlice.stderr).toContain('admission webhook "overrides.volume-guard.io" denied the request');

    // The approval records its writer: an admin's plain annotate gets volume-guard.io/skip-by=admin from
    // volume-guard's mutating step, which the override guard then holds equal to the requester.
    await must(kubectl(['annotate', 'pvc', 'db-data', '-n', NS, 'volume-guard.io/delete=true', 'volume-guard.io/skip-reason=app retired']), 'annotate');
    const recorded = await must(kubectl(['get', 'pvc', 'db-data', '-n', NS, '-o', 'jsonpath={.metadata.annotations}']), 'get pvc');
    expect((JSON.parse(recorded.stdout || '{}') as Record<string, string>)['volume-guard.io/skip-by']).toBe('admin');
    const approved = await until(() => kubectl(['delete', 'pvc', 'db-data', '-n', NS, `--as=${ARGO}`, '--wait=false']), (r) => r.code === 0);
    expect(approved.code).toBe(0);
    // kube-controller-manager's pvc-protection finishes the delete a moment later: wait, so the next test's model
    // count does not see it drop.
    await must(kubectl(['wait', '--for=delete', 'pvc/db-data', '-n', NS, '--timeout=60s']), 'wait for the PVC to go');
  });

  it('a person deleting a PVC by hand is not refused by default', async () => {
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(NS, 'scratch', 'Delete'));
    expect((await kubectl(['delete', 'pvc', 'scratch', '-n', NS, '--wait=false'])).code).toBe(0);
  });
});

// Last: 30 large CRDs make the API server rebuild its OpenAPI documents, which is slow on a small machine.
describe('a big CRD chart installs and upgrades', () => {
  const NS = 'e2e-helm-crds';
  const CRDS = 30;
  let chart = '';

  /**
   * A CRD of ~100 KB whose text mentions StatefulSet and PersistentVolumeClaim, as real CRDs' descriptions do. The
   * bulk is an annotation rather than schema descriptions: the API server rebuilds its OpenAPI documents from CRD
   * schemas, which for 3 MB of them takes this small machine long enough to time out other tests' kubectl
   * validation; what volume-guard reads is the manifest text either way.
   */
  function crd(index: number): string {
    const notes = Array.from({ length: 1100 }, (_, p) => `Field ${p} of widget ${index}: the PersistentVolumeClaim template the operator's StatefulSet uses.`).join(' ');
    return [
      '---',
      `# Source: widgets-crds/templates/crds.yaml`,
      'apiVersion: apiextensions.k8s.io/v1',
      'kind: CustomResourceDefinition',
      'metadata:',
      `  name: widget${index}s.e2e.volume-guard.io`,
      '  annotations:',
      `    e2e.volume-guard.io/field-notes: "${notes}"`,
      'spec:',
      '  group: e2e.volume-guard.io',
      '  scope: Namespaced',
      '  names:',
      `    kind: Widget${index}`,
      `    plural: widget${index}s`,
      `    singular: widget${index}`,
      `    listKind: Widget${index}List`,
      '  versions:',
      '  - name: v1',
      '    served: true',
      '    storage: true',
      '    schema:',
      '      openAPIV3Schema:',
      '        type: object',
      '        description: "A widget: kind StatefulSet-like storage through a PersistentVolumeClaim."',
      '        x-kubernetes-preserve-unknown-fields: true',
      '',
    ].join('\n');
  }

  beforeAll(async () => {
    await ensureNamespace(NS);
    const templates = Array.from({ length: CRDS }, (_, i) => crd(i)).join('');
    expect(templates.length).toBeGreaterThan(2_800_000);
    const dir = `crd-chart-${process.pid}`;
    await tempFile(`${dir}/Chart.yaml`, 'apiVersion: v2\nname: widgets-crds\nversion: 1.0.0\n');
    await tempFile(`${dir}/templates/crds.yaml`, templates);
    chart = join(paths.dir, 'tmp', dir);
  });
  afterAll(async () => {
    await helm(['uninstall', 'widgets', '-n', NS], { timeoutMs: 300_000 });
  });

  it('helm install and upgrade of ~3 MB of CRDs pass', async () => {
    const installed = await helm(['install', 'widgets', chart, '-n', NS], { timeoutMs: 300_000 });
    expect(installed.stderr).not.toContain('denied');
    expect(installed.code).toBe(0);
    const upgraded = await helm(['upgrade', 'widgets', chart, '-n', NS], { timeoutMs: 300_000 });
    expect(upgraded.stderr).not.toContain('denied');
    expect(upgraded.code).toBe(0);
  }, 600_000);
});
