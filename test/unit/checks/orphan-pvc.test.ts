import { describe, expect, it } from 'vitest';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type {
  PersistentVolumeClaimRecord,
  PersistentVolumeRecord,
  PodRecord,
  StatefulSetRecord,
} from '../../../src/cluster/records.ts';
import {
  collectOrphanPvc,
  collectScaleUpAdoption,
  collectStatefulSetAdoption,
  orphanPvcCheck,
  pvcsLeftBehind,
  REUSE_APPROVED_TAG,
  type OrphanPvcTarget,
} from '../../../src/checks/orphan-pvc.ts';
import { objectRef } from '../../../src/checks/types.ts';
import { parseManifest } from '../../../src/helm/manifest.ts';
import { decodeReleaseSecret, releaseOperation, type HelmRelease } from '../../../src/helm/release.ts';
import { pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { devlakeManifest, releaseSecret } from '../helm/helm-fixtures.ts';

const NS = 'devlake';
const MYSQL_CLAIM = 'devlake-mysql-data-devlake-mysql-0';
const LAKE_CLAIM = 'devlake-lake-config-devlake-lake-0';

interface Cluster {
  pvcs?: PersistentVolumeClaimRecord[];
  pvs?: PersistentVolumeRecord[];
  statefulSets?: StatefulSetRecord[];
  pods?: PodRecord[];
}

function clusterOf(records: Cluster): ClusterModel {
  const model = new ClusterModel();
  model.replaceAll('persistentVolumeClaim', records.pvcs ?? []);
  model.replaceAll('persistentVolume', records.pvs ?? []);
  model.replaceAll('statefulSet', records.statefulSets ?? []);
  model.replaceAll('pod', records.pods ?? []);
  return model;
}

/** A PVC the StatefulSet controller created for release devlake: selector labels, no Helm annotations. */
function claim(name: string, fields: Partial<PersistentVolumeClaimRecord> = {}): PersistentVolumeClaimRecord {
  return pvc({ namespace: NS, name, volumeName: `pvc-${name}`, labels: { 'app.kubernetes.io/instance': 'devlake' }, ...fields });
}

/** A live StatefulSet Helm installed for release devlake. */
function liveStatefulSet(name: string, claimTemplates: string[], fields: Partial<StatefulSetRecord> = {}): StatefulSetRecord {
  return statefulSet({
    namespace: NS,
    name,
    claimTemplates,
    helmReleaseName: 'devlake',
    helmReleaseNamespace: NS,
    ...fields,
  });
}

const devlakeMysql = (): StatefulSetRecord => liveStatefulSet('devlake-mysql', ['devlake-mysql-data']);
const devlakeLake = (): StatefulSetRecord => liveStatefulSet('devlake-lake', ['devlake-lake-config']);

function release(manifest: string, fields: Partial<HelmRelease> = {}): HelmRelease {
  return {
    name: 'devlake',
    namespace: NS,
    version: 1,
    status: 'pending-install',
    manifest,
    chartName: 'devlake',
    chartVersion: '1.0.1-beta9',
    labels: {},
    ...fields,
  };
}

function target(operation: OrphanPvcTarget['operation'], manifest = devlakeManifest()): OrphanPvcTarget {
  const status = `pending-${operation}`;
  const rel = release(manifest, { status, version: operation === 'install' ? 1 : 2 });
  return { release: rel, operation, manifest: parseManifest(manifest, NS) };
}

const refs = (snapshot: ClusterModel, t: OrphanPvcTarget): string[] =>
  orphanPvcCheck(snapshot, t).map((f) => `${f.object.kind} ${objectRef(f.object)}`);

const statefulSetDoc = (name: string, body: string, namespace = ''): string =>
  `---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}spec:\n${body}`;

describe('orphan-pvc: the DevLake incident (seed 000)', () => {
  it('denies the reinstall from a decoded release Secret, naming the leftover MySQL PVC and its PV', () => {
    const decoded = decodeReleaseSecret(
      releaseSecret({ name: 'devlake', namespace: NS, version: 1, status: 'pending-install', manifest: devlakeManifest() }),
    );
    const operation = releaseOperation(decoded.release.status);
    expect(operation).toBe('install');
    const snapshot = clusterOf({
      pvcs: [claim(MYSQL_CLAIM, { volumeName: 'pvc-7f3a' })],
      pvs: [pv({ name: 'pvc-7f3a', claimNamespace: NS, claimName: MYSQL_CLAIM, reclaimPolicy: 'Delete' })],
    });
    const findings = orphanPvcCheck(snapshot, {
      release: decoded.release,
      operation: operation ?? 'install',
      manifest: parseManifest(decoded.release.manifest, decoded.release.namespace),
    });
    expect(findings).toEqual([
      {
        check: 'orphan-pvc',
        severity: 'critical',
        object: { kind: 'PersistentVolumeClaim', namespace: NS, name: MYSQL_CLAIM },
        reason: 'left by an earlier release; the StatefulSet devlake-mysql would re-attach its old data',
        tags: ['statefulset-claim', 'release-labelled'],
        related: [
          { kind: 'PersistentVolume', name: 'pvc-7f3a' },
          { kind: 'StatefulSet', namespace: NS, name: 'devlake-mysql' },
        ],
      },
    ]);
  });

  it('reports every leftover of the uninstalled release, each once', () => {
    const snapshot = clusterOf({
      pvcs: [
        claim(MYSQL_CLAIM),
        claim(LAKE_CLAIM),
        // Kept by helm.sh/resource-policy: keep, still annotated for the release: Helm would adopt it.
        claim('devlake-grafana', {
          annotations: { 'meta.helm.sh/release-name': 'devlake', 'meta.helm.sh/release-namespace': NS, 'helm.sh/resource-policy': 'keep' },
        }),
        claim('devlake-cache', { labels: { release: 'devlake' } }),
        claim('other-app-data', { labels: { 'app.kubernetes.io/instance': 'other' } }),
      ],
    });
    expect(refs(snapshot, target('install'))).toEqual([
      `PersistentVolumeClaim ${NS}/${MYSQL_CLAIM}`,
      `PersistentVolumeClaim ${NS}/${LAKE_CLAIM}`,
      `PersistentVolumeClaim ${NS}/devlake-grafana`,
      `PersistentVolumeClaim ${NS}/devlake-cache`,
    ]);
    const grafana = orphanPvcCheck(snapshot, target('install')).find((f) => f.object.name === 'devlake-grafana');
    expect(grafana?.tags).toEqual(['adopted-by-helm', 'release-labelled']);
    expect(grafana?.reason).toBe('kept from an earlier install of release devlake; Helm would adopt it with its old data');
  });

  it('passes a fresh install into an empty namespace', () => {
    expect(orphanPvcCheck(clusterOf({}), target('install'))).toEqual([]);
  });

  it('passes a plain helm upgrade: the live StatefulSets own their PVCs', () => {
    const snapshot = clusterOf({
      pvcs: [claim(MYSQL_CLAIM), claim(LAKE_CLAIM), claim('devlake-cache', { labels: { release: 'devlake' } })],
      statefulSets: [devlakeMysql(), devlakeLake()],
    });
    expect(orphanPvcCheck(snapshot, target('upgrade'))).toEqual([]);
    expect(orphanPvcCheck(snapshot, target('rollback'))).toEqual([]);
  });

  it('never reports a PVC its own live StatefulSet pod mounts (StatefulSet deleted with --cascade=orphan, pods still running)', () => {
    const mounted = [pod({ namespace: NS, name: 'devlake-mysql-0', claimNames: [MYSQL_CLAIM] })];
    const snapshot = clusterOf({ pvcs: [claim(MYSQL_CLAIM)], pods: mounted });
    expect(orphanPvcCheck(snapshot, target('install'))).toEqual([]);
    expect(orphanPvcCheck(snapshot, target('upgrade'))).toEqual([]);
    // Once a pod that is not the claim's own StatefulSet pod finished, it mounts nothing: the PVC is an orphan again.
    const finished = clusterOf({ pvcs: [claim(MYSQL_CLAIM)], pods: [{ ...mounted[0]!, name: 'devlake-backup-x7k2p', controllerKind: 'Job', phase: 'Failed' }] });
    expect(refs(finished, target('install'))).toEqual([`PersistentVolumeClaim ${NS}/${MYSQL_CLAIM}`]);
    // Its own StatefulSet pod, orphaned and then evicted (Failed), is adopted by the StatefulSet of that name and
    // replaced on the same claim: still the data in use, as while it ran.
    const evicted = clusterOf({ pvcs: [claim(MYSQL_CLAIM)], pods: [{ ...mounted[0]!, phase: 'Failed' }] });
    expect(orphanPvcCheck(evicted, target('install'))).toEqual([]);
  });

  it('reports a PVC whose pod is terminating with its deleted StatefulSet (helm uninstall, then install at once)', () => {
    // helm uninstall deletes the StatefulSet with background propagation: the garbage collector deletes its pods, which
    // keep their owner reference while they terminate; the new StatefulSet re-attaches the PVC once they are gone.
    const terminating = pod({ namespace: NS, name: 'devlake-mysql-0', claimNames: [MYSQL_CLAIM], controllerKind: 'StatefulSet', deleting: true });
    const snapshot = clusterOf({ pvcs: [claim(MYSQL_CLAIM)], pods: [terminating] });
    expect(refs(snapshot, target('install'))).toEqual([`PersistentVolumeClaim ${NS}/${MYSQL_CLAIM}`]);
    const created = parseManifest(statefulSetDoc('devlake-mysql', '  replicas: 1\n  volumeClaimTemplates:\n  - metadata:\n      name: devlake-mysql-data\n'), NS)
      .statefulSets[0]!;
    expect(collectStatefulSetAdoption(snapshot, created).findings.map((f) => f.object.name)).toEqual([MYSQL_CLAIM]);
    // Orphaned by --cascade=orphan (no controller any more), evicted (Failed): the re-created StatefulSet adopts the pod and
    // replaces it on the same claim. A finished pod of another name (a Job's) leaves the PVC an orphan.
    const evicted = clusterOf({ pvcs: [claim(MYSQL_CLAIM)], pods: [{ ...terminating, controllerKind: '', deleting: false, phase: 'Failed' }] });
    expect(collectStatefulSetAdoption(evicted, created).findings).toEqual([]);
    const job = clusterOf({ pvcs: [claim(MYSQL_CLAIM)], pods: [pod({ namespace: NS, name: 'backup-0', claimNames: [MYSQL_CLAIM], phase: 'Succeeded' })] });
    expect(collectStatefulSetAdoption(job, created).findings.map((f) => f.object.name)).toEqual([MYSQL_CLAIM]);
    // Orphaned by --cascade=orphan (no controller any more), then deleted by hand: still the data in use.
    const orphaned = clusterOf({ pvcs: [claim(MYSQL_CLAIM)], pods: [{ ...terminating, controllerKind: '' }] });
    expect(orphanPvcCheck(orphaned, target('install'))).toEqual([]);
    expect(collectStatefulSetAdoption(orphaned, created).findings).toEqual([]);
  });

  it('still reports the PVCs of a dropped StatefulSet whose pods run (they go with it)', () => {
    const snapshot = clusterOf({
      pvcs: [claim(MYSQL_CLAIM), claim(LAKE_CLAIM)],
      statefulSets: [devlakeMysql(), devlakeLake()],
      pods: [pod({ namespace: NS, name: 'devlake-lake-0', claimNames: [LAKE_CLAIM] })],
    });
    expect(refs(snapshot, target('upgrade', devlakeManifest({ withLake: false })))).toEqual([`PersistentVolumeClaim ${NS}/${LAKE_CLAIM}`]);
  });

  it('reports a manifest PVC no release owns as taken over with --take-ownership, the only way Helm installs over it', () => {
    // Without --take-ownership Helm fails the install over an object without its ownership metadata before it writes
    // the record (install.go: existingResourceConflict; with the flag, requireAdoption takes whatever exists).
    const snapshot = clusterOf({ pvcs: [claim('devlake-grafana', { labels: {} })] });
    const findings = orphanPvcCheck(snapshot, target('install'));
    expect(findings.map((f) => [f.object.name, f.severity, f.tags, f.reason])).toEqual([
      ['devlake-grafana', 'critical', ['adopted-by-helm'], "exists, not Helm's: this install takes it over (--take-ownership) with its old data"],
    ]);
    // Approved for reuse: tagged so, as any adoption.
    const approved = clusterOf({
      pvcs: [claim('devlake-grafana', { labels: {}, annotations: { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin' } })],
    });
    expect(orphanPvcCheck(approved, target('install'))[0]?.tags).toEqual(['adopted-by-helm', REUSE_APPROVED_TAG]);
  });

  it('takes over with --take-ownership: not reported unbound, being deleted, another release\'s; said while in use or since the first install', () => {
    const none = (pvcs: PersistentVolumeClaimRecord[], operation: OrphanPvcTarget['operation'] = 'install'): void => {
      expect(orphanPvcCheck(clusterOf({ pvcs }), target(operation))).toEqual([]);
    };
    // No PV bound: no data to take over.
    none([claim('devlake-grafana', { labels: {}, volumeName: '' })]);
    none([claim('devlake-grafana', { labels: {}, deleting: true })]);
    // Another release's (the validator warns of the take-over; another uninstalled release's kept PVC included).
    none([claim('devlake-grafana', { labels: {}, annotations: { 'meta.helm.sh/release-name': 'old', 'meta.helm.sh/release-namespace': NS } })]);
    // An upgrade adding it fails over it without the flag too; with it, the upgrade takes it over. A PVC a Helm older
    // than 3.2 rendered for the release has no annotations either, but was created after its first install: a warning.
    const upgrade = target('upgrade');
    const since = { ...upgrade, release: { ...upgrade.release, firstDeployed: '2024-01-01T00:00:00Z' } };
    const snapshot = clusterOf({ pvcs: [claim('devlake-grafana', { labels: {} })] });
    expect(orphanPvcCheck(snapshot, upgrade).map((f) => [f.object.name, f.severity])).toEqual([['devlake-grafana', 'critical']]);
    expect(orphanPvcCheck(snapshot, since).map((f) => [f.object.name, f.severity])).toEqual([['devlake-grafana', 'warning']]);
    // Created in the second of first_deployed (the API server keeps whole seconds): since it too.
    const sameSecond = clusterOf({ pvcs: [claim('devlake-grafana', { labels: {}, creationTimestamp: '2024-01-01T00:00:00Z' })] });
    const later = { ...upgrade, release: { ...upgrade.release, firstDeployed: '2024-01-01T00:00:00.734Z' } };
    expect(orphanPvcCheck(sameSecond, later).map((f) => [f.object.name, f.severity])).toEqual([['devlake-grafana', 'warning']]);
    // Mounted by a running pod (an app applied with kubectl, moved under Helm): a warning naming the pod.
    const running = pod({ namespace: NS, name: 'grafana-5d8f-x2x', claimNames: ['devlake-grafana'], controllerKind: 'ReplicaSet' });
    const inUse = orphanPvcCheck(clusterOf({ pvcs: [claim('devlake-grafana', { labels: {} })], pods: [running] }), target('install'));
    expect(inUse.map((f) => [f.severity, f.reason])).toEqual([
      [
        'warning',
        "exists, not Helm's, in use: this install takes it over (--take-ownership), data and all; pod grafana-5d8f-x2x mounts it too (both would share the volume)",
      ],
    ]);
  });
});

describe('orphan-pvc: whose leftover a claim is said to be', () => {
  const reasonOf = (fields: Partial<PersistentVolumeClaimRecord>): string | undefined =>
    orphanPvcCheck(clusterOf({ pvcs: [claim(MYSQL_CLAIM, fields)] }), target('install')).find((f) => f.object.name === MYSQL_CLAIM)?.reason;

  it('left by an earlier release only when labelled or annotated for it; else it exists with no owner', () => {
    expect(reasonOf({})).toBe('left by an earlier release; the StatefulSet devlake-mysql would re-attach its old data');
    expect(reasonOf({ labels: {}, annotations: { 'meta.helm.sh/release-name': 'devlake' } })).toMatch(/^left by an earlier release; /);
    // A StatefulSet's claim carries its selector labels, not necessarily the release's: nothing ties it to a release.
    expect(reasonOf({ labels: { app: 'mysql' } })).toBe('exists with no owner; the StatefulSet devlake-mysql would re-attach its old data');
    expect(reasonOf({ labels: {}, volumeName: '' })).toBe('exists with no owner, not yet bound; the StatefulSet devlake-mysql would take it over');
  });
});

describe('orphan-pvc: upgrades and rollbacks', () => {
  it('flags the PVC of a renamed claim template, and a leftover PVC the new template would adopt', () => {
    const snapshot = clusterOf({
      pvcs: [claim('data-devlake-mysql-0'), claim(MYSQL_CLAIM, { labels: {} }), claim(LAKE_CLAIM)],
      // The live StatefulSet still uses template `data`; the new manifest renames it to devlake-mysql-data.
      statefulSets: [liveStatefulSet('devlake-mysql', ['data']), devlakeLake()],
    });
    const findings = orphanPvcCheck(snapshot, target('upgrade'));
    expect(findings.map((f) => [f.object.name, f.tags, f.reason])).toEqual([
      [
        MYSQL_CLAIM,
        ['statefulset-claim'],
        // Not labelled for the release: nothing says an earlier one left it.
        'exists with no owner; the StatefulSet devlake-mysql would re-attach its old data',
      ],
      [
        'data-devlake-mysql-0',
        ['renamed-claim-template'],
        'this upgrade removes claim template data from StatefulSet devlake-mysql (immutable: the API server refuses the change, ' +
          'and re-creating the StatefulSet to force it leaves this PVC behind)',
      ],
    ]);
  });

  it('flags the PVCs of a StatefulSet the new manifest drops, every ordinal', () => {
    const snapshot = clusterOf({
      pvcs: [claim(MYSQL_CLAIM), claim(LAKE_CLAIM), claim('devlake-lake-config-devlake-lake-3')],
      statefulSets: [devlakeMysql(), devlakeLake()],
    });
    const findings = orphanPvcCheck(snapshot, target('upgrade', devlakeManifest({ withLake: false })));
    expect(findings.map((f) => [objectRef(f.object), f.tags])).toEqual([
      [`${NS}/${LAKE_CLAIM}`, ['dropped-statefulset']],
      [`${NS}/devlake-lake-config-devlake-lake-3`, ['dropped-statefulset']],
    ]);
    expect(findings[0]?.reason).toBe('this upgrade drops StatefulSet devlake-lake; its PVC and data would be left behind');
    expect(findings[0]?.related).toContainEqual({ kind: 'StatefulSet', namespace: NS, name: 'devlake-lake' });
  });

  it('a rollback restoring a StatefulSet re-attaches the release PVCs: said as a warning; unlabelled ones stay critical', () => {
    // helm uninstall --keep-history, then helm rollback: nothing of the release is live, its PVCs are.
    const snapshot = clusterOf({ pvcs: [claim(MYSQL_CLAIM), claim(LAKE_CLAIM, { labels: {} })] });
    const findings = orphanPvcCheck(snapshot, target('rollback'));
    expect(findings.map((f) => [f.object.name, f.severity, f.reason])).toEqual([
      [MYSQL_CLAIM, 'warning', "this rollback restores StatefulSet devlake-mysql, which re-attaches this release's earlier data"],
      [LAKE_CLAIM, 'critical', 'exists with no owner; the StatefulSet devlake-lake would re-attach its old data'],
    ]);
    // The same PVCs at an install or an upgrade: a fresh StatefulSet silently adopting them, critical.
    for (const operation of ['install', 'upgrade'] as const) {
      expect(orphanPvcCheck(snapshot, target(operation)).find((f) => f.object.name === MYSQL_CLAIM)?.severity, operation).toBe('critical');
    }
  });

  it('reports the dropped StatefulSet itself, as a warning, when none of its PVCs exists', () => {
    const snapshot = clusterOf({ statefulSets: [devlakeMysql(), devlakeLake()], pvcs: [claim(MYSQL_CLAIM)] });
    const findings = orphanPvcCheck(snapshot, target('rollback', devlakeManifest({ withLake: false })));
    expect(findings).toEqual([
      {
        check: 'orphan-pvc',
        severity: 'warning',
        object: { kind: 'StatefulSet', namespace: NS, name: 'devlake-lake' },
        reason: 'dropped by this rollback; PVCs it created would be left behind',
        tags: ['dropped-statefulset'],
      },
    ]);
  });

  it('ignores dropped StatefulSets of other releases, without claim templates, or whose PVCs it deletes itself', () => {
    const snapshot = clusterOf({
      statefulSets: [
        devlakeMysql(),
        liveStatefulSet('devlake-lake', ['devlake-lake-config'], { uid: 'uid-lake' }),
        liveStatefulSet('web', []),
        liveStatefulSet('foreign', ['data'], { helmReleaseName: 'other' }),
      ],
      pvcs: [
        claim(MYSQL_CLAIM),
        // whenDeleted: Delete: the controller made the StatefulSet its owner, the garbage collector deletes it.
        claim(LAKE_CLAIM, { ownerReferences: [{ kind: 'StatefulSet', name: 'devlake-lake', uid: 'uid-lake' }] }),
        claim('data-foreign-0'),
      ],
    });
    expect(orphanPvcCheck(snapshot, target('upgrade', devlakeManifest({ withLake: false })))).toEqual([]);
  });

  it('does not apply the install-only rules to an upgrade', () => {
    const snapshot = clusterOf({
      statefulSets: [devlakeMysql(), devlakeLake()],
      pvcs: [
        claim('devlake-cache', { labels: { release: 'devlake' } }),
        claim('devlake-grafana', { annotations: { 'meta.helm.sh/release-name': 'devlake' } }),
      ],
    });
    expect(orphanPvcCheck(snapshot, target('upgrade'))).toEqual([]);
  });
});

describe('orphan-pvc: claims and owners', () => {
  const kafka = statefulSetDoc(
    'kafka',
    '  replicas: 3\n  volumeClaimTemplates:\n    - metadata: {name: data}\n    - metadata: {name: logs}\n',
  );

  it('computes every claim of two templates × three replicas, and no ordinal beyond', () => {
    const names = ['data', 'logs'].flatMap((t) => [0, 1, 2, 3].map((o) => `${t}-kafka-${o}`));
    const snapshot = clusterOf({ pvcs: names.map((name) => claim(name, { labels: {} })) });
    expect(refs(snapshot, target('install', kafka))).toEqual(
      names.filter((n) => !n.endsWith('-3')).map((n) => `PersistentVolumeClaim ${NS}/${n}`),
    );
  });

  it('starts at spec.ordinals.start', () => {
    const manifest = statefulSetDoc('db', '  replicas: 2\n  ordinals: {start: 5}\n  volumeClaimTemplates: [{metadata: {name: pg}}]\n');
    const snapshot = clusterOf({ pvcs: ['pg-db-0', 'pg-db-5', 'pg-db-6', 'pg-db-7'].map((n) => claim(n, { labels: {} })) });
    expect(orphanPvcCheck(snapshot, target('install', manifest)).map((f) => f.object.name)).toEqual(['pg-db-5', 'pg-db-6']);
  });

  it('scans the namespace instead of enumerating a huge replica count', () => {
    const manifest = statefulSetDoc('big', '  replicas: 1000000\n  volumeClaimTemplates: [{metadata: {name: data}}]\n');
    const snapshot = clusterOf({
      pvcs: ['data-big-999999', 'data-big-1000000', 'data-big-007'].map((n) => claim(n, { labels: {} })),
    });
    expect(orphanPvcCheck(snapshot, target('install', manifest)).map((f) => f.object.name)).toEqual(['data-big-999999']);
  });

  it('looks in the namespace the StatefulSet declares', () => {
    const manifest = statefulSetDoc('db', '  volumeClaimTemplates: [{metadata: {name: pg}}]\n', 'databases');
    const snapshot = clusterOf({ pvcs: [claim('pg-db-0'), { ...claim('pg-db-0'), namespace: 'databases', labels: {} }] });
    expect(refs(snapshot, target('install', manifest))).toEqual([
      'PersistentVolumeClaim databases/pg-db-0',
      `PersistentVolumeClaim ${NS}/pg-db-0`,
    ]);
  });

  it.each([
    ['a live StatefulSet of the same name with that template', { statefulSets: [devlakeMysql()] }, {}],
    [
      'an owner reference to a live StatefulSet (same uid)',
      { statefulSets: [liveStatefulSet('mysql-operator-set', [], { uid: 'uid-live' })] },
      { ownerReferences: [{ kind: 'StatefulSet', name: 'mysql-operator-set', uid: 'uid-live' }] },
    ],
    [
      'an owner reference to a live Pod',
      { pods: [pod({ namespace: NS, name: 'devlake-mysql-0' })] },
      { ownerReferences: [{ kind: 'Pod', name: 'devlake-mysql-0', uid: 'uid-pod' }] },
    ],
    [
      'an owner reference to a kind the model does not hold',
      {},
      { ownerReferences: [{ kind: 'MysqlCluster', name: 'devlake', uid: 'uid-cr' }] },
    ],
    ['deletion in progress', {}, { deleting: true }],
  ] as const)('does not flag a PVC with %s', (_label, cluster, fields) => {
    const snapshot = clusterOf({ ...cluster, pvcs: [claim(MYSQL_CLAIM, fields)] } as Cluster);
    expect(orphanPvcCheck(snapshot, target('install', devlakeManifest({ withLake: false })))).toEqual([]);
  });

  it.each([
    [
      'an owner reference to a StatefulSet that is gone (uid differs)',
      { statefulSets: [liveStatefulSet('devlake-mysql-old', [], { uid: 'uid-new' })] },
      { ownerReferences: [{ kind: 'StatefulSet', name: 'devlake-mysql-old', uid: 'uid-old' }] },
    ],
    ['an owner reference to a Pod that is gone', {}, { ownerReferences: [{ kind: 'Pod', name: 'devlake-mysql-0', uid: 'u' }] }],
    [
      'a live StatefulSet of the same name without that template',
      { statefulSets: [liveStatefulSet('devlake-mysql', ['other'])] },
      {},
    ],
  ] as const)('flags a PVC with %s', (_label, cluster, fields) => {
    const snapshot = clusterOf({ ...cluster, pvcs: [claim(MYSQL_CLAIM, fields)] } as Cluster);
    const found = orphanPvcCheck(snapshot, target('install', devlakeManifest({ withLake: false })));
    expect(found.map((f) => f.object.name)).toEqual([MYSQL_CLAIM]);
  });

  it('flags a release-labelled PVC that existed before the first install, unless it has a live owner', () => {
    const snapshot = clusterOf({
      pvcs: [
        claim('devlake-uploads', { labels: { 'app.kubernetes.io/instance': 'devlake' } }),
        claim('devlake-old-style', { labels: { release: 'devlake' } }),
        claim('devlake-owned', { ownerReferences: [{ kind: 'Custom', name: 'x', uid: 'y' }] }),
      ],
    });
    const findings = orphanPvcCheck(snapshot, target('install'));
    expect(findings.map((f) => [f.object.name, f.tags])).toEqual([
      ['devlake-uploads', ['release-labelled']],
      ['devlake-old-style', ['release-labelled']],
    ]);
    expect(findings[0]?.reason).toBe(
      'labelled for release devlake but owned by nothing live; this install may reuse its old data',
    );
  });
});

describe('orphan-pvc: reuse approval and caps', () => {
  const approved = (): ClusterModel =>
    clusterOf({
      pvcs: [claim(MYSQL_CLAIM, { annotations: { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin' } }), claim(LAKE_CLAIM)],
    });

  it('still reports a PVC the admin marked for reuse, tagged so the validator can honor it', () => {
    const findings = orphanPvcCheck(approved(), target('install'));
    expect(findings.map((f) => [f.object.name, f.tags.includes(REUSE_APPROVED_TAG)])).toEqual([
      [MYSQL_CLAIM, true],
      [LAKE_CLAIM, false],
    ]);
  });

  it('accepts only "true" as approval, with its writer recorded and before its expiry', () => {
    const snapshot = clusterOf({ pvcs: [claim(MYSQL_CLAIM, { annotations: { 'volume-guard.io/reuse': 'yes', 'volume-guard.io/skip-by': 'admin' } })] });
    expect(orphanPvcCheck(snapshot, target('install'))[0]?.tags).not.toContain(REUSE_APPROVED_TAG);
    const unsigned = clusterOf({ pvcs: [claim(MYSQL_CLAIM, { annotations: { 'volume-guard.io/reuse': 'true' } })] });
    expect(orphanPvcCheck(unsigned, target('install'))[0]?.tags).not.toContain(REUSE_APPROVED_TAG);
    const expired = { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-until': '2020-01-01T00:00:00Z' };
    expect(orphanPvcCheck(clusterOf({ pvcs: [claim(MYSQL_CLAIM, { annotations: expired })] }), target('install'))[0]?.tags).not.toContain(REUSE_APPROVED_TAG);
  });

  it('waives approved PVCs when asked to skip the tag, and caps what it builds', () => {
    expect(collectOrphanPvc(approved(), target('install'), { skipTags: [REUSE_APPROVED_TAG] }).findings.map((f) => f.object.name)).toEqual([
      LAKE_CLAIM,
    ]);
    const capped = collectOrphanPvc(approved(), target('install'), { limit: 1 });
    expect(capped.findings).toHaveLength(1);
    expect(capped.total).toBe(2);
    expect(orphanPvcCheck(approved(), { ...target('install'), limit: 1 })).toHaveLength(1);
  });
});

describe('pvcsLeftBehind (uninstall warning)', () => {
  it('lists the StatefulSet claims, kept and release-labelled PVCs with their PV reclaim policy', () => {
    const snapshot = clusterOf({
      statefulSets: [devlakeMysql(), liveStatefulSet('devlake-lake', ['devlake-lake-config'], { uid: 'uid-lake' })],
      pvcs: [
        claim(MYSQL_CLAIM, { volumeName: 'pv-mysql' }),
        claim('devlake-mysql-data-devlake-mysql-2', { volumeName: '' }),
        claim(LAKE_CLAIM, { ownerReferences: [{ kind: 'StatefulSet', name: 'devlake-lake', uid: 'uid-lake' }] }),
        claim('devlake-grafana', { volumeName: 'pv-grafana' }),
        claim('devlake-cache', { labels: { release: 'devlake' }, volumeName: 'pv-unknown' }),
        claim('devlake-going', { deleting: true }),
        claim('unrelated', { labels: {} }),
      ],
      pvs: [
        pv({ name: 'pv-mysql', reclaimPolicy: 'Retain' }),
        pv({ name: 'pv-grafana', reclaimPolicy: 'Delete' }),
      ],
    });
    expect(pvcsLeftBehind(snapshot, release(devlakeManifest(), { status: 'uninstalling' }))).toEqual([
      { namespace: NS, name: MYSQL_CLAIM, volumeName: 'pv-mysql', reclaimPolicy: 'Retain', why: 'statefulset-claim', statefulSet: 'devlake-mysql' },
      { namespace: NS, name: 'devlake-mysql-data-devlake-mysql-2', volumeName: '', reclaimPolicy: '', why: 'statefulset-claim', statefulSet: 'devlake-mysql' },
      { namespace: NS, name: 'devlake-grafana', volumeName: 'pv-grafana', reclaimPolicy: 'Delete', why: 'resource-policy-keep' },
      { namespace: NS, name: 'devlake-cache', volumeName: 'pv-unknown', reclaimPolicy: '', why: 'release-labelled' },
    ]);
  });

  it('leaves out manifest PVCs Helm deletes on uninstall', () => {
    const manifest = '---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: devlake-grafana\n';
    const snapshot = clusterOf({ pvcs: [claim('devlake-grafana')] });
    expect(pvcsLeftBehind(snapshot, release(manifest))).toEqual([]);
  });

  it('includes live StatefulSets of the release that the stored manifest no longer lists', () => {
    const snapshot = clusterOf({ statefulSets: [devlakeLake()], pvcs: [claim(LAKE_CLAIM, { labels: {} })] });
    expect(pvcsLeftBehind(snapshot, release(devlakeManifest({ withLake: false }))).map((p) => [p.name, p.why])).toEqual([
      [LAKE_CLAIM, 'statefulset-claim'],
    ]);
  });
});

describe('orphan-pvc: claims still Pending are judged like bound ones', () => {
  // Pending with no volumeName (a WaitForFirstConsumer claim whose pod never ran, no provisioner): a PV made for it may
  // bind it at any moment, and the claim adopted keeps the old one's class, size and selected node. The admin decides.
  const pending = (name: string, fields: Partial<PersistentVolumeClaimRecord> = {}): PersistentVolumeClaimRecord =>
    claim(name, { phase: 'Pending', volumeName: '', ...fields });

  it('refuses an install that would adopt them (statefulset-claim, release-labelled), as bound ones', () => {
    const snapshot = clusterOf({
      pvcs: [pending(MYSQL_CLAIM), pending('devlake-cache', { labels: { release: 'devlake' } }), claim(LAKE_CLAIM)],
    });
    expect(refs(snapshot, target('install'))).toEqual(
      expect.arrayContaining([`PersistentVolumeClaim ${NS}/${MYSQL_CLAIM}`, `PersistentVolumeClaim ${NS}/devlake-cache`, `PersistentVolumeClaim ${NS}/${LAKE_CLAIM}`]),
    );
  });

  it('counts them as stranded by an upgrade dropping their StatefulSet', () => {
    const snapshot = clusterOf({ statefulSets: [devlakeMysql(), devlakeLake()], pvcs: [claim(MYSQL_CLAIM), pending(LAKE_CLAIM)] });
    const findings = orphanPvcCheck(snapshot, target('upgrade', devlakeManifest({ withLake: false })));
    expect(findings.map((f) => [f.object.kind, f.object.name, f.severity])).toEqual([['PersistentVolumeClaim', LAKE_CLAIM, 'critical']]);
  });

  it('lists them among what helm uninstall leaves behind', () => {
    const snapshot = clusterOf({ statefulSets: [devlakeMysql()], pvcs: [claim(MYSQL_CLAIM), pending('devlake-mysql-data-devlake-mysql-1')] });
    const rel = release(devlakeManifest(), { status: 'uninstalling' });
    expect(pvcsLeftBehind(snapshot, rel).map((left) => left.name)).toEqual([MYSQL_CLAIM, 'devlake-mysql-data-devlake-mysql-1']);
  });

  it('refuses a StatefulSet created or scaled up outside Helm that would adopt them', () => {
    const snapshot = clusterOf({ pvcs: [pending('data-db-0', { labels: {} }), claim('data-db-1', { labels: {} })] });
    const created = parseManifest(statefulSetDoc('db', '  replicas: 2\n  volumeClaimTemplates:\n  - metadata:\n      name: data\n'), NS).statefulSets[0]!;
    expect(collectStatefulSetAdoption(snapshot, created).findings.map((f) => f.object.name)).toEqual(['data-db-0', 'data-db-1']);
    const scaledUp = {
      namespace: NS,
      name: 'db',
      claimTemplates: ['data'],
      replicas: 2,
      ordinalsStart: 0,
      previousReplicas: 0,
      previousStart: 0,
      createdAt: '2026-01-01T00:00:00Z',
    };
    const older = clusterOf({ pvcs: [pending('data-db-0', { creationTimestamp: '2020-01-01T00:00:00Z' }), claim('data-db-1', { creationTimestamp: '2020-01-01T00:00:00Z' })] });
    expect(collectScaleUpAdoption(older, scaledUp).findings.map((f) => f.object.name)).toEqual(['data-db-0', 'data-db-1']);
  });
});


// `data-a-b-0` is template `data` of StatefulSet `a-b` and template `data-a` of StatefulSet `b`: the StatefulSet
// controller mounts whatever PVC bears the name, so a new `a-b` would mount `b`'s volume, even while `b` uses it.
describe('orphan-pvc: PVC names that collide across StatefulSets', () => {
  const SHARED = 'data-a-b-0';
  const b = (fields: Partial<StatefulSetRecord> = {}): StatefulSetRecord =>
    statefulSet({ namespace: NS, name: 'b', claimTemplates: ['data-a'], creationTimestamp: '2024-01-01T00:00:00Z', ...fields });
  const bPod = pod({ namespace: NS, name: 'b-0', claimNames: [SHARED], controllerKind: 'StatefulSet' });
  const aB = statefulSetDoc('a-b', '  replicas: 1\n  volumeClaimTemplates:\n  - metadata:\n      name: data\n');
  const sharedClaim = (fields: Partial<PersistentVolumeClaimRecord> = {}): PersistentVolumeClaimRecord => pvc({ namespace: NS, name: SHARED, ...fields });

  it('refuses an install whose StatefulSet would mount the claim of another live StatefulSet, even while that one mounts it', () => {
    const snapshot = clusterOf({ pvcs: [sharedClaim()], statefulSets: [b()], pods: [bPod] });
    const findings = orphanPvcCheck(snapshot, target('install', aB));
    expect(findings).toEqual([
      expect.objectContaining({
        severity: 'critical',
        object: { kind: 'PersistentVolumeClaim', namespace: NS, name: SHARED },
        reason: "also the claim of live StatefulSet b (the names collide); StatefulSet a-b would mount b's volume and data",
        tags: ['statefulset-claim', 'shared-claim'],
      }),
    ]);
    // Owned by b (whenDeleted: Delete): still b's data.
    const owned = clusterOf({ pvcs: [sharedClaim({ ownerReferences: [{ kind: 'StatefulSet', name: 'b', uid: b().uid }] })], statefulSets: [b()] });
    expect(refs(owned, target('install', aB))).toEqual([`PersistentVolumeClaim ${NS}/${SHARED}`]);
    // b scaled to 0: its claim waits for its scale-up.
    expect(refs(clusterOf({ pvcs: [sharedClaim()], statefulSets: [b({ replicas: 0 })] }), target('upgrade', aB))).toEqual([`PersistentVolumeClaim ${NS}/${SHARED}`]);
    // b being deleted, or without that template: no one else's. Deleted with --cascade=orphan (finalizer `orphan`), b
    // leaves its pod running bare, on its claim: in use. Deleted otherwise, the garbage collector deletes b-0 next, and
    // a-b would then mount b's old data.
    expect(orphanPvcCheck(clusterOf({ pvcs: [sharedClaim()], statefulSets: [b({ deleting: true, orphaning: true })], pods: [bPod] }), target('install', aB))).toEqual([]);
    expect(refs(clusterOf({ pvcs: [sharedClaim()], statefulSets: [b({ deleting: true })], pods: [bPod] }), target('install', aB))).toEqual([`PersistentVolumeClaim ${NS}/${SHARED}`]);
    expect(orphanPvcCheck(clusterOf({ pvcs: [sharedClaim()], statefulSets: [b({ claimTemplates: ['logs'] })], pods: [bPod] }), target('install', aB))).toEqual([]);
  });

  it('passes an upgrade of a StatefulSet that already claims it (the sharing is not new)', () => {
    const live = liveStatefulSet('a-b', ['data']);
    const snapshot = clusterOf({ pvcs: [sharedClaim()], statefulSets: [b(), live], pods: [bPod] });
    expect(orphanPvcCheck(snapshot, target('upgrade', aB))).toEqual([]);
  });

  it('refuses a StatefulSet created or scaled up outside Helm onto the claim of another live StatefulSet', () => {
    const snapshot = clusterOf({ pvcs: [sharedClaim({ creationTimestamp: '2025-01-01T00:00:00Z' })], statefulSets: [b()], pods: [bPod] });
    const created = parseManifest(aB, NS).statefulSets[0]!;
    expect(collectStatefulSetAdoption(snapshot, created).findings.map((f) => f.tags)).toEqual([['statefulset-claim', 'shared-claim']]);
    // a-b scaled from 0 to 1: the claim is younger than a-b, yet b's.
    const scaleUp = { namespace: NS, name: 'a-b', claimTemplates: ['data'], replicas: 1, ordinalsStart: 0, previousReplicas: 0, previousStart: 0, createdAt: '2024-06-01T00:00:00Z' };
    expect(collectScaleUpAdoption(snapshot, scaleUp).findings.map((f) => f.tags)).toEqual([['statefulset-claim', 'shared-claim']]);
    expect(collectScaleUpAdoption(clusterOf({ pvcs: [sharedClaim({ creationTimestamp: '2025-01-01T00:00:00Z' })] }), scaleUp).findings).toEqual([]);
  });

  it('does not call stranded a PVC that another StatefulSet, staying, claims under the same name', () => {
    // The release drops b (template data-a); a-b, outside it, keeps mounting data-a-b-0.
    const releaseB = liveStatefulSet('b', ['data-a']);
    const other = statefulSet({ namespace: NS, name: 'a-b', claimTemplates: ['data'] });
    const snapshot = clusterOf({ pvcs: [sharedClaim()], statefulSets: [releaseB, other] });
    const empty = '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n';
    expect(orphanPvcCheck(snapshot, target('upgrade', empty)).filter((f) => f.object.kind === 'PersistentVolumeClaim')).toEqual([]);
    expect(pvcsLeftBehind(snapshot, release(statefulSetDoc('b', '  volumeClaimTemplates:\n  - metadata:\n      name: data-a\n')))).toEqual([]);
    // Without a-b, it is stranded.
    const alone = clusterOf({ pvcs: [sharedClaim()], statefulSets: [releaseB] });
    expect(refs(alone, target('upgrade', empty))).toEqual([`PersistentVolumeClaim ${NS}/${SHARED}`]);
  });
});
