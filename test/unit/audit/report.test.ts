// The report builder over a real ClusterModel: which checks run where, what each finding says about its operation
// and override, the lingering overrides, and that the same cluster always gives the same report.
import { describe, expect, it } from 'vitest';
import { buildAuditReport, DEFAULT_CONFIG_NOTE, type AuditInput } from '../../../src/audit/report.ts';
import { auditedNodes } from '../../../src/audit/model.ts';
import { releaseState } from '../../../src/audit/release.ts';
import type { AuditFinding, AuditReport, AuditScope } from '../../../src/audit/types.ts';
import { collectLastReplicaOnNode } from '../../../src/checks/last-replica-on-node.ts';
import { collectNodeLocalVolume } from '../../../src/checks/node-local-volume.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import { collectVolumeHealth } from '../../../src/checks/volume-health.ts';
import { CHECK_IDS } from '../../../src/checks/types.ts';
import { defaultConfig } from '../../../src/config.ts';
import { csiPV, harvesterUpgrade, localPV, node, pvc, statefulSet } from '../../support/fixtures.ts';
import { CLUSTER, GENERATED_AT, goldenModel, goldenRecords, modelOf, UPGRADE_OBJECTS } from './golden-cluster.ts';

function report(scope: AuditScope, input: Partial<AuditInput> = {}): AuditReport {
  return buildAuditReport({ model: goldenModel(), scope, cluster: CLUSTER, generatedAt: GENERATED_AT, ...input });
}

/** `check object@node` for compact assertions. */
function keys(findings: readonly AuditFinding[]): string[] {
  return findings.map((f) => `${f.check} ${f.object.kind} ${f.object.namespace ? `${f.object.namespace}/` : ''}${f.object.name}${f.object.node ? `@${f.object.node}` : ''}`);
}

describe('audit report: the whole cluster', () => {
  const whole = report({ kind: 'cluster' }, { upgradeObjects: UPGRADE_OBJECTS });

  it('runs single-replica and volume-health cluster-wide, and the node checks for every node', () => {
    // Each finding under every operation it blocks: the upgrade, and the cordon of each node holding a copy.
    expect(whole.findings.map((f) => `${keys([f])[0] ?? ''}: ${f.operation}`)).toEqual([
      'single-replica Volume longhorn-system/vol-single@node-1: cordon/drain of node node-1',
      'single-replica Volume longhorn-system/vol-single@node-1: upgrade',
      'single-replica Volume longhorn-system/vol-effective@node-2: cordon/drain of node node-2',
      'single-replica Volume longhorn-system/vol-effective@node-2: upgrade',
      'volume-health Volume longhorn-system/vol-effective@node-2: cordon/drain of node node-2',
      'volume-health Volume longhorn-system/vol-effective@node-2: upgrade',
      'volume-health Volume longhorn-system/vol-disk@node-3: cordon/drain of node node-1',
      'volume-health Volume longhorn-system/vol-disk@node-3: cordon/drain of node node-2',
      'volume-health Volume longhorn-system/vol-disk@node-3: cordon/drain of node node-3',
      'volume-health Volume longhorn-system/vol-disk@node-3: upgrade',
      'last-replica-on-node Volume longhorn-system/vol-single@node-1: cordon/drain of node node-1',
      'last-replica-on-node Volume longhorn-system/vol-effective@node-2: cordon/drain of node node-2',
      'node-local-volume PersistentVolume pv-mysql@node-1: cordon/drain of node node-1',
      'node-local-volume PersistentVolume pv-cache@node-gone: no operation (node node-gone no longer exists)',
    ]);
    // audit/v1's totals count findings, one per operation a risk blocks (critical: the critical findings); distinct
    // counts each risk once.
    const zero = Object.fromEntries(CHECK_IDS.map((id) => [id, 0]));
    expect(whole.summary).toEqual({
      risks: 14,
      // pv-cache is on a node that no longer exists: a warning, nothing is refused for it.
      critical: 13,
      warning: 1,
      overridden: 1,
      byCheck: { ...zero, 'single-replica': 4, 'volume-health': 6, 'last-replica-on-node': 2, 'node-local-volume': 2 },
      overrides: 10,
      distinct: {
        risks: 8,
        critical: 7,
        warning: 1,
        overridden: 1,
        byCheck: { ...zero, 'single-replica': 2, 'volume-health': 2, 'last-replica-on-node': 2, 'node-local-volume': 2 },
      },
    });
    expect(whole.summary.critical).toBe(whole.findings.filter((f) => f.severity === 'critical').length);
  });

  it('audits nodes known only from replicas and pinned PVs', () => {
    expect(auditedNodes(goldenModel())).toEqual(['node-1', 'node-2', 'node-3', 'node-gone']);
    expect(whole.scope).toEqual({ kind: 'cluster', nodes: 4 });
  });

  it('says what each risk blocks and how it is overridden there', () => {
    const byKey = new Map(whole.findings.filter((f) => f.check !== 'single-replica' || f.operation === 'upgrade').map((f) => [keys([f])[0], f]));
    const upgrade = byKey.get('single-replica Volume longhorn-system/vol-single@node-1')!;
    expect(upgrade.operation).toBe('upgrade');
    expect(upgrade.fix).toMatch(/^raise numberOfReplicas to 2 or more and wait until healthy \(Longhorn makes no second copy while it is 1\)/);
    expect(upgrade.override).toContain('volume-guard.io/skip=single-replica');
    // Detached: Harvester's own annotation is an alternative.
    expect(upgrade.override).toContain('harvesterhci.io/skipSingleReplicaDetachedVol=true');
    expect(byKey.get('single-replica Volume longhorn-system/vol-effective@node-2')!.override).not.toContain('harvesterhci.io');
    const cordon = byKey.get('last-replica-on-node Volume longhorn-system/vol-effective@node-2')!;
    expect(cordon.operation).toBe('cordon/drain of node node-2');
    expect(cordon.override).toBe(
      // Every check its cordon is refused for: one skip holds one list.
      'kubectl annotate node node-2 volume-guard.io/skip=single-replica,volume-health,last-replica-on-node volume-guard.io/skip-reason="<why>" volume-guard.io/skip-by="<you>"',
    );
    expect(cordon.related).toEqual([
      { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'carts' },
      { kind: 'Replica', namespace: 'longhorn-system', name: 'vol-effective-r-node-2', node: 'node-2' },
    ]);
  });

  it('marks the risks a lingering node override already accepts, and only those', () => {
    const accepted = whole.findings.filter((f) => f.overriddenBy !== undefined);
    expect(keys(accepted)).toEqual(['node-local-volume PersistentVolume pv-mysql@node-1']);
    expect(accepted[0]!.overriddenBy).toBe('annotation volume-guard.io/skip on Node node-1');
    // node-1's skip names node-local-volume only: its last-replica risk stands.
    const lastOnNode1 = whole.findings.find((f) => f.check === 'last-replica-on-node' && f.object.node === 'node-1');
    expect(lastOnNode1?.overriddenBy).toBeUndefined();
  });

  it('lists every lingering override, sorted, with its reason and effect', () => {
    expect(whole.overrides.map((o) => `${o.object.kind} ${o.object.namespace ?? ''}/${o.object.name} ${o.field} ${o.key}=${o.value}`)).toEqual([
      'Node /node-1 annotation volume-guard.io/skip=node-local-volume',
      'Namespace /shop annotation volume-guard.io/skip=orphan-pvc,typo-check',
      'Namespace /shop annotation volume-guard.io/skip-evictions=node-local-volume',
      'PersistentVolume /pv-released annotation volume-guard.io/delete=true',
      'PersistentVolumeClaim default/cache label volume-guard.io/skip=node-local-volume',
      'PersistentVolumeClaim devlake/data-devlake-mysql-1 annotation volume-guard.io/reuse=true',
      'Volume longhorn-system/vol-static annotation volume-guard.io/delete=true',
      'Plan system-upgrade/k3s-server label volume-guard.io/skip=*',
      'Upgrade harvester-system/hvst-upgrade-v1-4 annotation harvesterhci.io/skipSingleReplicaDetachedVol=true',
      'Upgrade harvester-system/hvst-upgrade-v1-4 annotation volume-guard.io/skip=single-replica, bogus',
    ]);
    const [nodeSkip, namespaceSkip, namespaceEvictions, pvApproval, pvcLabel, reuse, volumeApproval, plan, harvester, upgradeSkip] = whole.overrides;
    expect(nodeSkip).toMatchObject({
      checks: ['node-local-volume'],
      reason: 'disk swap approved, INC-42',
      effect: 'skips node-local-volume',
      writer: 'alice@example.com',
      until: '2099-01-15T18:00:00Z',
    });
    expect(namespaceSkip).toMatchObject({ checks: ['orphan-pvc'], unknown: ['typo-check'], reason: '', writer: 'bob' });
    expect(namespaceSkip!.appliesTo).toMatch(/^Helm releases in this namespace, the DELETEs of their PVCs and StatefulSets.*\(not evictions/);
    // Flux's drift correction scaling a release's StatefulSet down reads it too (pvc-delete, namespace-helm).
    expect(namespaceSkip!.appliesTo).toContain("the scale-downs of their StatefulSets by Flux's helm-controller");
    expect(namespaceEvictions).toMatchObject({ checks: ['node-local-volume'], appliesTo: 'evictions (drains) and drain pod deletes of pods in this namespace' });
    expect(pvcLabel!.appliesTo).toMatch(/^nothing/);
    expect(pvcLabel).toMatchObject({ checks: [], writer: '' });
    // Read by nothing on a PVC: no check skipped, whoever wrote it.
    expect(pvcLabel!.effect).toBe('skips no check (it names node-local-volume)');
    expect(reuse).toMatchObject({ checks: ['orphan-pvc'], reason: 'restore from yesterday', writer: 'carol' });
    // Delete approvals on a PV and a Longhorn volume (pvc-delete reads them there): the unsigned one waives nothing.
    expect(pvApproval).toMatchObject({ key: 'volume-guard.io/delete', checks: [], writer: '' });
    expect(pvApproval!.effect).toMatch(/^not honored: no writer recorded/);
    expect(volumeApproval).toMatchObject({ key: 'volume-guard.io/delete', checks: ['pvc-delete'], reason: 'decommissioned, INC-7', writer: 'erin' });
    // Expired: listed with its writer and expiry, waiving nothing.
    expect(plan).toMatchObject({ checks: [], writer: 'system:serviceaccount:fleet:deployer', until: '2026-01-01T00:00:00Z' });
    expect(plan!.effect).toBe('not honored: expired at 2026-01-01T00:00:00.000Z (volume-guard.io/skip-until); would skip every check');
    expect(harvester).toMatchObject({ checks: ['single-replica'], effect: 'skips detached single-replica volumes' });
    expect(upgradeSkip).toMatchObject({ checks: [], unknown: ['bogus'], reason: 'upgrade window 2026-01-10', writer: '' });
  });

  it('is the same report whatever order the model learned the objects in', () => {
    const reversed = report({ kind: 'cluster' }, { model: goldenModel({ reverse: true }), upgradeObjects: [...UPGRADE_OBJECTS].reverse() });
    expect(reversed).toEqual(whole);
    expect(JSON.stringify(reversed)).toBe(JSON.stringify(whole));
  });

  it('counts the model and tells when Longhorn is absent', () => {
    expect(whole.cluster).toMatchObject({ server: CLUSTER.server, context: CLUSTER.context, longhornInstalled: true });
    expect(whole.cluster.objects).toMatchObject({ node: 3, persistentVolumeClaim: 7, longhornReplica: 10 });
    expect(whole.notes.some((note) => note.startsWith('Longhorn is not installed'))).toBe(false);
    const records = goldenRecords();
    const noLonghorn = buildAuditReport({
      model: modelOf({ node: records.node, persistentVolume: records.persistentVolume, persistentVolumeClaim: records.persistentVolumeClaim }, { longhornInstalled: false }),
      scope: { kind: 'cluster' },
      cluster: CLUSTER,
      generatedAt: GENERATED_AT,
    });
    expect(noLonghorn.notes).toContain('Longhorn is not installed: single-replica, volume-health and last-replica-on-node had nothing to check');
    expect(keys(noLonghorn.findings)).toEqual(['node-local-volume PersistentVolume pv-mysql@node-1', 'node-local-volume PersistentVolume pv-cache@node-gone']);
  });

  it('finds no risk in a cluster without any', () => {
    const safe = buildAuditReport({
      model: modelOf({ node: [node({ name: 'n1' })], persistentVolumeClaim: [pvc()] }),
      scope: { kind: 'cluster' },
      cluster: CLUSTER,
      generatedAt: GENERATED_AT,
    });
    expect(safe.findings).toEqual([]);
    expect(safe.summary.risks).toBe(0);
    expect(safe.overrides).toEqual([]);
  });
});

describe('audit report: --node', () => {
  it('runs exactly what the node-cordon validator runs for that node', () => {
    const model = goldenModel();
    for (const name of ['node-1', 'node-2', 'node-3']) {
      const scoped = report({ kind: 'node', node: name });
      const expected = [
        ...collectLastReplicaOnNode(model, { node: name }).findings,
        ...collectSingleReplica(model, { node: name }).findings,
        ...collectVolumeHealth(model, { node: name }).findings,
        ...collectNodeLocalVolume(model, { node: name }).findings,
      ];
      expect(scoped.findings).toHaveLength(expected.length);
      for (const finding of expected) {
        expect(scoped.findings).toContainEqual(expect.objectContaining({ check: finding.check, object: finding.object, reason: finding.reason }));
      }
      expect(scoped.findings.every((f) => f.operation === `cordon/drain of node ${name}`)).toBe(true);
      expect(scoped.scope).toEqual({ kind: 'node', node: name });
    }
  });

  it('gives node-1 its four kinds of risk, with node-1 overrides', () => {
    const scoped = report({ kind: 'node', node: 'node-1' });
    expect(keys(scoped.findings)).toEqual([
      'single-replica Volume longhorn-system/vol-single@node-1',
      // vol-effective is degraded, but node-1 holds only a failed (garbage) replica of it: not node-1's risk.
      'volume-health Volume longhorn-system/vol-disk@node-3',
      'last-replica-on-node Volume longhorn-system/vol-single@node-1',
      'node-local-volume PersistentVolume pv-mysql@node-1',
    ]);
    // One command for the node, naming every check refused there and keeping its stored skip (node-local-volume),
    // --overwrite over the skip it holds: one command per check would each fail, or replace the one before.
    expect(new Set(scoped.findings.map((f) => f.override))).toEqual(
      new Set([
        'kubectl annotate --overwrite node node-1 volume-guard.io/skip=single-replica,volume-health,last-replica-on-node,node-local-volume ' +
          'volume-guard.io/skip-reason="<why>" volume-guard.io/skip-by="<you>"',
      ]),
    );
    expect(scoped.notes).toEqual([DEFAULT_CONFIG_NOTE]);
  });

  it('finds nothing on a node holding only healthy copies', () => {
    const model = modelOf({ ...goldenRecords(), node: [...goldenRecords().node!, node({ name: 'node-4' })] });
    const scoped = buildAuditReport({ model, scope: { kind: 'node', node: 'node-4' }, cluster: CLUSTER, generatedAt: GENERATED_AT });
    expect(scoped.findings).toEqual([]);
    expect(scoped.summary.risks).toBe(0);
  });
});

describe('audit report: --release', () => {
  it('reports the leftover claims of an uninstalled release as critical, honoring reuse', () => {
    const devlake = report({ kind: 'release', namespace: 'devlake', name: 'devlake', revisions: [] });
    expect(devlake.scope).toEqual({ kind: 'release', namespace: 'devlake', name: 'devlake', installed: false });
    expect(keys(devlake.findings)).toEqual([
      'orphan-pvc PersistentVolumeClaim devlake/data-devlake-mysql-0',
      'orphan-pvc PersistentVolumeClaim devlake/data-devlake-mysql-1',
    ]);
    expect(devlake.findings.map((f) => f.severity)).toEqual(['critical', 'critical']);
    expect(devlake.findings[0]!.operation).toBe('re-install of Helm release devlake/devlake');
    expect(devlake.findings[0]!.override).toBe(
      'kubectl annotate pvc data-devlake-mysql-0 -n devlake volume-guard.io/reuse=true volume-guard.io/skip-by="<you>" (only if its data is meant to be reused)',
    );
    expect(devlake.findings[0]!.overriddenBy).toBeUndefined();
    expect(devlake.findings[1]!.overriddenBy).toBe('annotation volume-guard.io/reuse on PersistentVolumeClaim devlake/data-devlake-mysql-1');
    expect(devlake.summary).toMatchObject({ risks: 2, critical: 2, overridden: 1 });
  });

  it('reports, for an installed release, what an uninstall leaves behind and claims nothing uses', () => {
    const shop = report({
      kind: 'release',
      namespace: 'shop',
      name: 'shop',
      revisions: [
        { version: 2, status: 'superseded' },
        { version: 3, status: 'deployed' },
      ],
    });
    expect(shop.scope).toEqual({ kind: 'release', namespace: 'shop', name: 'shop', installed: true, revision: 3, status: 'deployed' });
    expect(shop.findings.map((f) => `${f.severity} ${f.object.name}`)).toEqual(['critical old-export', 'warning data-shop-db-0']);
    const [leftover, leftBehind] = shop.findings;
    expect(leftover!.reason).toContain('claimed by no live StatefulSet');
    expect(leftBehind!.reason).toBe(
      "helm uninstall leaves this claim of StatefulSet shop-db behind (its PV's reclaim policy is Retain); installing the release again re-attaches its data",
    );
    expect(leftBehind!.tags).toEqual(['statefulset-claim', 'left-behind']);
    expect(leftBehind!.related).toEqual([
      { kind: 'PersistentVolume', name: 'pv-shop-0' },
      { kind: 'StatefulSet', namespace: 'shop', name: 'shop-db' },
    ]);
    // Namespace shop skips orphan-pvc: both are accepted there.
    expect(shop.findings.every((f) => f.overriddenBy === 'annotation volume-guard.io/skip on Namespace shop')).toBe(true);
    // The Helm-created PVC is the live release's own: not a finding, but said.
    expect(shop.findings.some((f) => f.object.name === 'shop-uploads')).toBe(false);
    expect(shop.notes[0]).toMatch(/^1 PVC of release shop\/shop was created by Helm itself/);
  });

  it('treats a Helm-created PVC of an uninstalled release as a leftover (it was kept)', () => {
    const records = goldenRecords();
    // Only a document carrying helm.sh/resource-policy outlives `helm uninstall`; Helm writes it onto the live PVC.
    const kept = (records.persistentVolumeClaim ?? []).map((claim) =>
      claim.name === 'shop-uploads' ? { ...claim, annotations: { ...claim.annotations, 'helm.sh/resource-policy': 'keep' } } : claim,
    );
    const model = modelOf({ ...records, persistentVolumeClaim: kept, statefulSet: [] });
    const shop = buildAuditReport({
      model,
      scope: { kind: 'release', namespace: 'shop', name: 'shop', revisions: [{ version: 4, status: 'uninstalled' }] },
      cluster: CLUSTER,
      generatedAt: GENERATED_AT,
    });
    expect(shop.scope).toMatchObject({ installed: false, revision: 4, status: 'uninstalled' });
    expect(shop.findings.map((f) => `${f.severity} ${f.object.name}`).sort()).toEqual([
      'critical data-shop-db-0',
      'critical old-export',
      'critical shop-uploads',
    ]);
  });

  it('does not report a release whose claims all belong to live owners', () => {
    const model = modelOf({
      namespace: [{ name: 'app', annotations: {} }],
      statefulSet: [statefulSet({ namespace: 'app', name: 'db', helmReleaseName: 'other', helmReleaseNamespace: 'app' })],
      persistentVolumeClaim: [pvc({ namespace: 'app', name: 'data-db-0', labels: { 'app.kubernetes.io/instance': 'other' } })],
      persistentVolume: [localPV({ name: 'pv-x', pinnedNode: 'n1', claimNamespace: 'app', claimName: 'data-db-0' })],
    });
    const other = buildAuditReport({
      model,
      scope: { kind: 'release', namespace: 'app', name: 'absent', revisions: [] },
      cluster: CLUSTER,
      generatedAt: GENERATED_AT,
    });
    expect(other.findings).toEqual([]);
    expect(other.summary.byCheck['orphan-pvc']).toBe(0);
  });
});

describe('releaseState', () => {
  it('follows the latest revision', () => {
    expect(releaseState([])).toEqual({ installed: false });
    expect(releaseState([{ version: 1, status: 'deployed' }])).toEqual({ installed: true, revision: 1, status: 'deployed' });
    expect(releaseState([{ version: 2, status: 'uninstalling' }, { version: 1, status: 'superseded' }])).toMatchObject({ installed: false, revision: 2 });
    expect(releaseState([{ version: 3, status: 'failed' }, { version: 2, status: 'uninstalled' }])).toMatchObject({ installed: true, revision: 3 });
    expect(releaseState([{ version: Number.NaN, status: 'deployed' }])).toEqual({ installed: false });
  });
});

describe('release-label overrides', () => {
  it('lists a skip label on the latest revision as lingering, honored for no later revision', () => {
    const scope: AuditScope = {
      kind: 'release',
      namespace: 'shop',
      name: 'shop',
      revisions: [
        { version: 1, status: 'superseded', labels: {} },
        { version: 2, status: 'deployed', labels: { 'volume-guard.io/skip': 'orphan-pvc', 'volume-guard.io/skip-revision': '2' } },
      ],
    };
    const report = buildAuditReport({ model: modelOf({}), scope, cluster: CLUSTER, generatedAt: GENERATED_AT, upgradeObjects: [] } as AuditInput);
    const lingering = report.overrides.find((o) => o.object.kind === 'Secret');
    expect(lingering).toMatchObject({
      object: { kind: 'Secret', namespace: 'shop', name: 'sh.helm.release.v1.shop.v2' },
      field: 'label',
      key: 'volume-guard.io/skip',
      value: 'orphan-pvc',
      checks: [],
    });
    expect(lingering?.effect).toContain('it counted in revision 2 only');
    expect(report.summary.overrides).toBe(report.overrides.length);
    const clean = buildAuditReport({ model: modelOf({}), scope: { ...scope, revisions: [{ version: 3, status: 'deployed', labels: {} }] }, cluster: CLUSTER, generatedAt: GENERATED_AT, upgradeObjects: [] } as AuditInput);
    expect(clean.overrides.some((o) => o.object.kind === 'Secret')).toBe(false);
  });

  it('names the ConfigMap a HELM_DRIVER=configmap release keeps its latest revision in', () => {
    const scope: AuditScope = {
      kind: 'release',
      namespace: 'shop',
      name: 'shop',
      revisions: [
        { version: 1, status: 'superseded', labels: {}, store: 'ConfigMap' },
        { version: 2, status: 'deployed', labels: { 'volume-guard.io/skip': 'orphan-pvc' }, store: 'ConfigMap' },
      ],
    };
    const report = buildAuditReport({ model: modelOf({}), scope, cluster: CLUSTER, generatedAt: GENERATED_AT, upgradeObjects: [] } as AuditInput);
    expect(report.overrides.filter((o) => o.field === 'label').map((o) => o.object)).toEqual([
      { kind: 'ConfigMap', namespace: 'shop', name: 'sh.helm.release.v1.shop.v2' },
    ]);
  });
});

describe("audit report: a Harvester upgrade's skip at the cordon of a node it drains", () => {
  const skip = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-by': 'admin' };
  function draining(): ReturnType<typeof goldenModel> {
    const model = goldenModel();
    model.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: false, annotations: skip, nodeStates: { 'node-1': 'Pre-drained' } }));
    return model;
  }
  const singleOnNode1 = (r: AuditReport) => r.findings.find((f) => f.check === 'single-replica' && f.object.name === 'vol-single');

  it('is accepted as the webhook accepts it, and not when upgrades.kinds leaves its kind unpoliced', () => {
    const scope: AuditScope = { kind: 'node', node: 'node-1' };
    const base = { scope, cluster: CLUSTER, generatedAt: GENERATED_AT };
    expect(singleOnNode1(buildAuditReport({ ...base, model: draining() }))?.overriddenBy).toContain('Harvester Upgrade harvester-system/hvst-upgrade-1');
    const kinds = defaultConfig().upgrades.kinds.filter((kind) => !kind.group.endsWith('harvesterhci.io'));
    const unpoliced = singleOnNode1(buildAuditReport({ ...base, model: draining(), upgradeKinds: kinds }));
    expect(unpoliced).toBeDefined();
    expect(unpoliced?.overriddenBy).toBeUndefined();
  });
});

describe("audit report: a Harvester upgrade's in-place reboot and the PVs pinned to the node", () => {
  const scope: AuditScope = { kind: 'node', node: 'node-1' };
  const base = { scope, cluster: CLUSTER, generatedAt: GENERATED_AT };
  /** The golden cluster without node-1's own skip, with a Harvester LVM volume pinned to node-1 beside its local PV. */
  function withLvm(): ReturnType<typeof goldenModel> {
    const model = goldenModel();
    model.upsert('node', { ...model.node('node-1')!, annotations: {} });
    model.upsert('persistentVolume', csiPV('lvm.driver.harvesterhci.io', { name: 'pv-lvm', pinnedNode: 'node-1', claimNamespace: 'default', claimName: 'lvm' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'default', name: 'lvm', volumeName: 'pv-lvm' }));
    return model;
  }
  const names = (r: AuditReport) => r.findings.filter((f) => f.check === 'node-local-volume').map((f) => f.object.name);

  it("leaves out of the cordon the device-backed PV the upgrade draining the node keeps, with a note, as the webhook's warning", () => {
    expect(names(buildAuditReport({ ...base, model: withLvm() }))).toEqual(expect.arrayContaining(['pv-lvm', 'pv-mysql']));
    const model = withLvm();
    // No skip and no skipSingleReplicaDetachedVol: the reboot alone keeps the LVM volume.
    model.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: false, nodeStates: { 'node-1': 'Pre-drained' } }));
    const during = buildAuditReport({ ...base, model });
    expect(names(during)).toContain('pv-lvm');
    // Kept through the reboot, not through the node's removal (the Node or Machine DELETE is refused for it): listed
    // there, never under the cordon and drain.
    expect(during.findings.filter((f) => f.object.name === 'pv-lvm').map((f) => `${f.severity}: ${f.operation}`)).toEqual([
      'critical: removal of node node-1 (Node or Machine DELETE, scale-down, autoscaler)',
    ]);
    // A local PV is a directory on the node's filesystem: still a risk of that drain.
    expect(names(during)).toContain('pv-mysql');
    expect(during.notes).toContainEqual(
      'Harvester Upgrade harvester-system/hvst-upgrade-1 upgrades node node-1 in place: 1 node-local PV (pv-lvm) stays on its disks, so its cordon and drain are not refused for it; its removal (a Node or Machine DELETE) would lose it',
    );
    const kinds = defaultConfig().upgrades.kinds.filter((kind) => !kind.group.endsWith('harvesterhci.io'));
    expect(names(buildAuditReport({ ...base, model, upgradeKinds: kinds }))).toContain('pv-lvm');
  });
});
