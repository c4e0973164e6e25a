// Issue 20.1-20.3 through the real API server with the real kubectl and helm: tearing Longhorn down while it holds
// volumes (deleting-confirmation-flag, the uninstaller Job, its namespace or CRDs, its finalizers), weakening its
// drain safety, and upgrading it (its Helm chart, its manager's image) while volumes are faulted.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { helm, kubectl, paths, tempFile } from '../harness/cluster.ts';
import {
  apply,
  readyLonghornNodes,
  createLonghornVolume,
  deleteObjects,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  must,
  patchStatus,
} from '../harness/scenario.ts';

const NODES = ['st-n1', 'st-n2'];
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'longhorn');
const CHART_NS = 'st-storage';
const LONGHORN_SA = 'longhorn-service-account';

function setting(name: string, value: string) {
  return { apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: { name, namespace: LONGHORN_NS }, value };
}

/** kubectl patch of a setting's value, retried (dry run) until volume-guard's model gives the wanted verdict. */
async function setValue(name: string, value: string, denied: boolean) {
  const args = ['patch', 'settings.longhorn.io', name, '-n', LONGHORN_NS, '--type=merge', '-p', JSON.stringify({ value })];
  await eventually(() => kubectl([...args, '--dry-run=server']), (r) => (r.code !== 0) === denied);
  return kubectl(args);
}

const uninstallJob = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'longhorn-uninstall', namespace: LONGHORN_NS },
  spec: {
    template: {
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'longhorn-uninstall', image: 'longhornio/longhorn-manager:v1.7.2', command: ['longhorn-manager', 'uninstall', '--force'] }],
      },
    },
  },
};

async function createUninstallJob(dryRun: boolean) {
  const file = await tempFile('st-uninstall-job.json', JSON.stringify(uninstallJob));
  return kubectl(['create', '-f', file, ...(dryRun ? ['--dry-run=server'] : [])]);
}

/** Runs `attempt` (a dry run first) until its verdict is the wanted one. */
const CRD_COLLECTION = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

async function once(attempt: (dryRun: boolean) => Promise<{ code: number; stderr: string }>, denied: boolean) {
  await eventually(() => attempt(true), (r) => (r.code !== 0) === denied);
  return attempt(false);
}

async function removeVolumes(): Promise<void> {
  await deleteObjects(['replicas.longhorn.io', '-l', 'longhornvolume', '-n', LONGHORN_NS], ['volumes.longhorn.io', '--all', '-n', LONGHORN_NS]);
  await eventually(
    async () => (await kubectl(['create', '-f', await tempFile('st-probe.json', JSON.stringify(uninstallJob)), '--dry-run=server'])).code,
    (code) => code === 0,
  );
}

describe('storage-teardown: Longhorn cannot be torn down while it holds volumes', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await readyLonghornNodes(NODES);
  });
  afterEach(async () => {
    await deleteObjects(
      ['jobs.batch', 'longhorn-uninstall', '-n', LONGHORN_NS],
      ['settings.longhorn.io', '--all', '-n', LONGHORN_NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', '--all', '-n', LONGHORN_NS],
    );
  });
  afterAll(async () => {
    await deleteObjects(
      ['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS],
      ['node', ...NODES],
      ['clusterrolebinding', 'st-longhorn-sa'],
      ['clusterrole', 'st-longhorn-volumes'],
    );
  });

  it('refuses deleting-confirmation-flag=true and the uninstaller Job while volumes exist, naming volumes and PVCs', async () => {
    await createLonghornVolume({ name: 'st-db', replicas: NODES.map((node) => ({ node })), claim: { namespace: 'shop', name: 'db-data' } });
    await apply(setting('deleting-confirmation-flag', 'false'));
    const flag = await setValue('deleting-confirmation-flag', 'true', true);
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toContain('admission webhook "longhorn-settings.volume-guard.io" denied the request');
    expect(flag.stderr).toContain('[storage-teardown] 1 Longhorn volume would lose its data');
    expect(flag.stderr).toContain('longhorn-system/st-db (PVC shop/db-data)');
    // --overwrite when an earlier file left an override key on the namespace (the advice fits what it holds).
    expect(flag.stderr).toMatch(/kubectl annotate (--overwrite )?namespace longhorn-system volume-guard\.io\/skip=storage-teardown/);
    // Longhorn reads the flag with Go's strconv.ParseBool: "True" and "1" turn it on too.
    for (const spelling of ['True', '1']) {
      const other = await setValue('deleting-confirmation-flag', spelling, true);
      expect(other.code).not.toBe(0);
      expect(other.stderr).toContain('longhorn-system/st-db (PVC shop/db-data)');
    }

    const job = await once(createUninstallJob, true);
    expect(job.code).not.toBe(0);
    expect(job.stderr).toContain('admission webhook "storage-teardown.volume-guard.io" denied the request');
    expect(job.stderr).toContain("creation of Longhorn's uninstaller Job longhorn-system/longhorn-uninstall");
    expect(job.stderr).toContain('shop/db-data');
  });

  it("refuses an uninstaller Job made in another namespace without naming other namespaces' volumes", async () => {
    await createLonghornVolume({ name: 'st-ledger', replicas: NODES.map((node) => ({ node })), claim: { namespace: 'shop', name: 'ledger' } });
    await ensureNamespace('st-tenant');
    const job = { ...uninstallJob, metadata: { name: 'longhorn-uninstall', namespace: 'st-tenant' } };
    const file = await tempFile('st-tenant-job.json', JSON.stringify(job));
    const refused = await eventually(() => kubectl(['create', '-f', file, '--dry-run=server']), (r) => r.code !== 0);
    expect(refused.stderr).toContain('admission webhook "storage-teardown.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('names withheld: volume-guard audit');
    expect(refused.stderr).not.toContain('shop/ledger');
    expect(refused.stderr).not.toContain('st-ledger');
  });

  it('refuses deleting the Longhorn namespace or a Longhorn CRD while volumes exist (server-side dry runs)', async () => {
    await createLonghornVolume({ name: 'st-vm', replicas: NODES.map((node) => ({ node })) });
    const namespace = await once(() => kubectl(['delete', 'namespace', LONGHORN_NS, '--dry-run=server']), true);
    expect(namespace.stderr).toContain('deletion of namespace longhorn-system');
    expect(namespace.stderr).toContain('longhorn-system/st-vm');
    const crd = await once(() => kubectl(['delete', 'crd', 'replicas.longhorn.io', '--dry-run=server']), true);
    expect(crd.stderr).toContain('deletion of CRD replicas.longhorn.io');
    // A collection DELETE is admitted CRD by CRD with no name in the request (and the webhook's matchCondition
    // must let it through): refused the same.
    const collection = await kubectl(['delete', '--raw', `${CRD_COLLECTION}?fieldSelector=metadata.name%3Dreplicas.longhorn.io&dryRun=All`]);
    expect(collection.code).not.toBe(0);
    expect(collection.stderr).toContain('deletion of CRD replicas.longhorn.io');
    // Another namespace is none of volume-guard's business.
    await ensureNamespace('st-other');
    expect((await kubectl(['delete', 'namespace', 'st-other', '--dry-run=server'])).code).toBe(0);
  });

  it('passes a second DELETE of a Longhorn CRD already Terminating: it changes nothing, the first was judged', async () => {
    // A throwaway *.longhorn.io CRD whose one object holds a finalizer nobody removes (as Longhorn's `longhorn.io` does
    // while longhorn-manager is gone): its DELETE leaves it Terminating, as `kubectl delete -f longhorn.yaml` run twice.
    const group = 'longhorn.io';
    const crdName = `e2eholds.${group}`;
    await apply({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: crdName },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'e2eholds', singular: 'e2ehold', kind: 'E2eHold' },
        versions: [{ name: 'v1beta2', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    });
    await must(kubectl(['wait', '--for=condition=Established', `crd/${crdName}`, '--timeout=30s']), 'CRD established');
    await eventually(
      () => apply({ apiVersion: `${group}/v1beta2`, kind: 'E2eHold', metadata: { name: 'held', namespace: LONGHORN_NS, finalizers: ['e2e.volume-guard.io/hold'] } }).then(() => 0, () => 1),
      (code) => code === 0,
    );
    await createLonghornVolume({ name: 'st-held', replicas: NODES.map((node) => ({ node })) });
    const refused = await once(() => kubectl(['delete', 'crd', crdName, '--dry-run=server']), true);
    expect(refused.stderr).toContain(`deletion of CRD ${crdName}`);
    // The first DELETE, by an admin with the override on Longhorn's namespace; then the override is taken back.
    const skip = ['volume-guard.io/skip=storage-teardown', 'volume-guard.io/skip-by=admin', 'volume-guard.io/skip-reason=e2e'];
    await must(kubectl(['annotate', 'namespace', LONGHORN_NS, '--overwrite', ...skip]), 'override');
    try {
      await once(() => kubectl(['delete', 'crd', crdName, '--wait=false']), false);
    } finally {
      await must(kubectl(['annotate', 'namespace', LONGHORN_NS, 'volume-guard.io/skip-', 'volume-guard.io/skip-by-', 'volume-guard.io/skip-reason-']), 'override removed');
    }
    try {
      const terminating = await eventually(() => kubectl(['get', 'crd', crdName, '-o', 'jsonpath={.metadata.deletionTimestamp}']), (r) => r.stdout !== '');
      expect(terminating.stdout).not.toBe('');
      // The volume is still there and the override gone: Longhorn's namespace or another CRD is still refused ...
      await once(() => kubectl(['delete', 'crd', 'replicas.longhorn.io', '--dry-run=server']), true);
      // ... but deleting the Terminating CRD again changes nothing.
      const again = await kubectl(['delete', 'crd', crdName, '--wait=false']);
      expect(again.stderr).not.toContain('denied');
      expect(again.code).toBe(0);
    } finally {
      await kubectl(['patch', 'e2eholds.longhorn.io', 'held', '-n', LONGHORN_NS, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
      await kubectl(['wait', '--for=delete', `crd/${crdName}`, '--timeout=60s']);
    }
  });

  it('allows all of it once no volume is left', async () => {
    await removeVolumes();
    await apply(setting('deleting-confirmation-flag', 'false'));
    const flag = await setValue('deleting-confirmation-flag', 'true', false);
    expect(flag.code).toBe(0);
    expect((await createUninstallJob(false)).code).toBe(0);
    expect((await kubectl(['delete', 'namespace', LONGHORN_NS, '--dry-run=server'])).code).toBe(0);
    expect((await kubectl(['delete', 'crd', 'volumes.longhorn.io', '--dry-run=server'])).code).toBe(0);
    expect((await kubectl(['delete', '--raw', `${CRD_COLLECTION}?fieldSelector=metadata.name%3Dvolumes.longhorn.io&dryRun=All`])).code).toBe(0);
  });

  it("refuses stripping Longhorn's finalizer from a volume, except by Longhorn's own service account", async () => {
    await createLonghornVolume({ name: 'st-fin', replicas: NODES.map((node) => ({ node })), claim: { namespace: 'shop', name: 'files' } });
    await must(kubectl(['patch', 'volumes.longhorn.io', 'st-fin', '-n', LONGHORN_NS, '--type=merge', '-p', '{"metadata":{"finalizers":["longhorn.io"]}}']), 'add finalizer');
    const strip = ['patch', 'volumes.longhorn.io', 'st-fin', '-n', LONGHORN_NS, '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]'];
    const denied = await once((dryRun) => kubectl([...strip, ...(dryRun ? ['--dry-run=server'] : [])]), true);
    expect(denied.stderr).toContain('admission webhook "storage-teardown.volume-guard.io" denied the request');
    expect(denied.stderr).toContain("removal of Longhorn's finalizer from volume longhorn-system/st-fin");
    expect(denied.stderr).toContain('shop/files');

    // Longhorn's manager removes its own finalizer when it is done with a volume.
    await apply(
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: LONGHORN_SA, namespace: LONGHORN_NS } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'st-longhorn-volumes' },
        rules: [{ apiGroups: ['longhorn.io'], resources: ['volumes'], verbs: ['get', 'patch', 'update'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'st-longhorn-sa' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'st-longhorn-volumes' },
        subjects: [{ kind: 'ServiceAccount', name: LONGHORN_SA, namespace: LONGHORN_NS }],
      },
    );
    const byLonghorn = await kubectl([...strip, `--as=system:serviceaccount:${LONGHORN_NS}:${LONGHORN_SA}`]);
    expect(byLonghorn.stderr).toBe('');
    expect(byLonghorn.code).toBe(0);
  });

  it('refuses weakening node-drain-policy while a volume would lose its last copy, allows strengthening it', async () => {
    await createLonghornVolume({ name: 'st-single', numberOfReplicas: 1, replicas: [{ node: 'st-n1' }], claim: { namespace: 'shop', name: 'queue' } });
    await apply(setting('node-drain-policy', 'block-if-contains-last-replica'));
    const weaker = await setValue('node-drain-policy', 'always-allow', true);
    expect(weaker.code).not.toBe(0);
    expect(weaker.stderr).toContain('[storage-teardown]');
    expect(weaker.stderr).toContain('longhorn-system/st-single (PVC shop/queue): its only copy is on node st-n1');
    expect(weaker.stderr).toContain('node-drain-policy always-allow would let a drain of that node take it');
    // Attached on st-n1, where its copy is: a drain of st-n1 detaches it, and a stopped copy holds nothing there.
    const stopped = await setValue('node-drain-policy', 'allow-if-replica-is-stopped', true);
    expect(stopped.code).not.toBe(0);
    expect(stopped.stderr).toContain('node-drain-policy allow-if-replica-is-stopped would let a drain of that node take it');
    const stronger = await setValue('node-drain-policy', 'block-for-eviction', false);
    expect(stronger.code).toBe(0);
    // The default-setting ConfigMap (the chart's defaultSettings): longhorn-manager applies it as itself, so its write
    // is judged against the live Setting.
    const defaults = (policy: string) =>
      kubectl(['create', '-f', '-', '--dry-run=server'], {
        input: JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'longhorn-default-setting', namespace: LONGHORN_NS },
          data: { 'default-setting.yaml': `priority-class: longhorn-critical\nnode-drain-policy: ${policy}\n` },
        }),
      });
    const weakDefaults = await defaults('always-allow');
    expect(weakDefaults.code).not.toBe(0);
    expect(weakDefaults.stderr).toContain('admission webhook "longhorn-settings.volume-guard.io" denied the request');
    expect(weakDefaults.stderr).toContain('ConfigMap longhorn-system/longhorn-default-setting');
    expect(weakDefaults.stderr).toContain('longhorn-system/st-single');
    expect((await defaults('block-for-eviction')).code).toBe(0);

    await apply(setting('allow-node-drain-with-last-healthy-replica', 'false'));
    const legacy = await setValue('allow-node-drain-with-last-healthy-replica', 'true', true);
    expect(legacy.stderr).toContain('longhorn-system/st-single');
  });

  it('judges what a weaker drain policy exposes: from allow-if-replica-is-stopped, always-allow adds only volumes attached away from their copy', async () => {
    // Set while no volume exists: nothing to judge.
    await apply(setting('node-drain-policy', 'allow-if-replica-is-stopped'));
    await createLonghornVolume({ name: 'st-parked', numberOfReplicas: 1, state: 'detached', replicas: [{ node: 'st-n1' }], claim: { namespace: 'shop', name: 'parked' } });
    // Once volume-guard's model holds st-parked (the flag is refused for it), always-allow exposes nothing more:
    // allow-if-replica-is-stopped already lets a drain of st-n1 take its stopped copy.
    await apply(setting('deleting-confirmation-flag', 'false'));
    expect((await setValue('deleting-confirmation-flag', 'true', true)).code).not.toBe(0);
    const same = await kubectl(['patch', 'settings.longhorn.io', 'node-drain-policy', '-n', LONGHORN_NS, '--type=merge', '-p', '{"value":"always-allow"}', '--dry-run=server']);
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);
    // Attached on st-n2, away from its copy on st-n1: its running copy holds a drain of st-n1 until always-allow.
    await createLonghornVolume({ name: 'st-remote', numberOfReplicas: 1, attachedNode: 'st-n2', replicas: [{ node: 'st-n1' }], claim: { namespace: 'shop', name: 'remote' } });
    const exposed = await setValue('node-drain-policy', 'always-allow', true);
    expect(exposed.code).not.toBe(0);
    expect(exposed.stderr).toContain('[storage-teardown] 1 Longhorn volume would lose its data');
    expect(exposed.stderr).toContain('longhorn-system/st-remote (PVC shop/remote): its only copy is on node st-n1');
    expect(exposed.stderr).not.toContain('st-parked');
    expect(exposed.stderr).toContain('Fix: raise numberOfReplicas of those volumes to 2 or more');
    expect(exposed.stderr).toContain('block-for-eviction-if-contains-last-replica');
  });
});

describe('storage upgrades: Longhorn is not upgraded while volumes are faulted', () => {
  const upgrade = (tag: string) => helm(['upgrade', 'storage', CHART, '-n', CHART_NS, '--set', `image.tag=${tag}`]);

  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(CHART_NS);
    await readyLonghornNodes(NODES);
  });
  afterAll(async () => {
    // Without a Job controller here the uninstaller hook would never finish: skip it.
    await helm(['uninstall', 'storage', '-n', CHART_NS, '--no-hooks']);
    await deleteObjects(
      ['daemonset', 'longhorn-manager', '-n', LONGHORN_NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', '--all', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS],
      ['node', ...NODES],
    );
  });

  it('refuses a helm upgrade of the chart named longhorn (whatever the release name) while a volume is faulted', async () => {
    const installed = await helm(['install', 'storage', CHART, '-n', CHART_NS]);
    expect(installed.stderr).toBe('');
    expect(installed.code).toBe(0);
    // Claimed in the release's own namespace: named (another namespace's would be withheld, as below).
    await createLonghornVolume({ name: 'st-faulted', robustness: 'faulted', replicas: [{ node: 'st-n1', healthy: false }], claim: { namespace: CHART_NS, name: 'ledger' } });
    await eventually(() => upgrade('v1.8.0'), (r) => r.code !== 0);
    const denied = await upgrade('v1.8.0');
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(denied.stderr).toContain('[volume-health]');
    expect(denied.stderr).toContain(`longhorn-system/st-faulted (PVC ${CHART_NS}/ledger)`);
    expect(denied.stderr).toContain('a Longhorn upgrade may delete the replicas left');

    await deleteObjects(['replicas.longhorn.io', '-l', 'longhornvolume=st-faulted', '-n', LONGHORN_NS], ['volumes.longhorn.io', 'st-faulted', '-n', LONGHORN_NS]);
    const allowed = await eventually(() => upgrade('v1.8.0'), (r) => r.code === 0);
    expect(allowed.code).toBe(0);
  });

  it('stops `helm uninstall` of the Longhorn chart at its pre-delete hook while volumes exist, before anything is deleted', async () => {
    await createLonghornVolume({ name: 'st-kept', replicas: NODES.map((node) => ({ node })), claim: { namespace: 'shop', name: 'archive' } });
    await eventually(
      () => kubectl(['create', '-f', '-', '--dry-run=server'], { input: JSON.stringify(uninstallJob) }),
      (r) => r.code !== 0,
    );
    const uninstall = await helm(['uninstall', 'storage', '-n', CHART_NS]);
    expect(uninstall.code).not.toBe(0);
    expect(uninstall.stderr).toContain('admission webhook "storage-teardown.volume-guard.io" denied the request');
    // The hook Job runs in the release's namespace: another namespace's volume is counted, its names withheld.
    expect(uninstall.stderr).toContain('names withheld: volume-guard audit');
    expect(uninstall.stderr).not.toContain('shop/archive');
    // Nothing was deleted: Helm 3 marks the record `uninstalling` first, but its resources are all still there and
    // the uninstall can be run again once the volumes are dealt with.
    const status = await helm(['status', 'storage', '-n', CHART_NS, '-o', 'json']);
    expect(['deployed', 'uninstalling']).toContain((JSON.parse(status.stdout) as { info: { status: string } }).info.status);
    expect((await kubectl(['get', 'configmap', 'storage-manager-version', '-n', CHART_NS])).code).toBe(0);
    await deleteObjects(['replicas.longhorn.io', '-l', 'longhornvolume=st-kept', '-n', LONGHORN_NS], ['volumes.longhorn.io', 'st-kept', '-n', LONGHORN_NS]);
  });

  it('refuses a new longhorn-manager image set with kubectl while a volume has no copy on a node that is up', async () => {
    await apply({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'longhorn-manager', namespace: LONGHORN_NS },
      spec: {
        selector: { matchLabels: { app: 'longhorn-manager' } },
        template: {
          metadata: { labels: { app: 'longhorn-manager' } },
          spec: { containers: [{ name: 'longhorn-manager', image: 'longhornio/longhorn-manager:v1.7.2' }] },
        },
      },
    });
    // Its only healthy replica is on a node Longhorn reports gone.
    await createLonghornVolume({ name: 'st-nocopy', numberOfReplicas: 1, state: 'detached', replicas: [{ node: 'st-n2' }] });
    await patchStatus(
      'nodes.longhorn.io',
      'st-n2',
      { conditions: [{ type: 'Ready', status: 'False', reason: 'KubernetesNodeGone', message: 'node removed from the cluster' }] },
      LONGHORN_NS,
    );
    const setImage = (dryRun: boolean) =>
      kubectl(['set', 'image', 'daemonset/longhorn-manager', '-n', LONGHORN_NS, 'longhorn-manager=longhornio/longhorn-manager:v1.8.0', ...(dryRun ? ['--dry-run=server'] : [])]);
    const denied = await once(setImage, true);
    expect(denied.stderr).toContain('admission webhook "storage-upgrade.volume-guard.io" denied the request');
    expect(denied.stderr).toContain('longhorn-system/st-nocopy');
    // Other updates of the manager (a label) are no upgrade.
    expect((await kubectl(['label', 'daemonset', 'longhorn-manager', '-n', LONGHORN_NS, 'touched=yes'])).code).toBe(0);
  });

  it("refuses kubectl's new image on a manager Helm installed; Helm's own write was judged at its release record", async () => {
    // The DaemonSet and the volume without a copy from the test before.
    await must(
      kubectl(['annotate', 'daemonset', 'longhorn-manager', '-n', LONGHORN_NS, 'meta.helm.sh/release-name=longhorn', `meta.helm.sh/release-namespace=${LONGHORN_NS}`]),
      'annotate the manager as Helm does',
    );
    const setImage = (...flags: string[]) =>
      kubectl(['set', 'image', 'daemonset/longhorn-manager', '-n', LONGHORN_NS, 'longhorn-manager=longhornio/longhorn-manager:v1.8.0', '--dry-run=server', ...flags]);
    const denied = await setImage();
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('admission webhook "storage-upgrade.volume-guard.io" denied the request');
    expect(denied.stderr).toContain('longhorn-system/st-nocopy');
    const rolledBack = await kubectl(['patch', 'daemonset', 'longhorn-manager', '-n', LONGHORN_NS, '--type=json', '--dry-run=server', '-p',
      '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"longhornio/longhorn-manager:v1.6.0"}]']);
    expect(rolledBack.code).not.toBe(0);
    expect(rolledBack.stderr).toContain('storage-upgrade.volume-guard.io');
    const byHelm = await setImage('--field-manager=helm');
    expect(byHelm.stderr).not.toContain('denied');
    expect(byHelm.code).toBe(0);
  });
});
