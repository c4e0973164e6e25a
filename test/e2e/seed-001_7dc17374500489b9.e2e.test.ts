// Seed 001 (Harvester): the upgrade check looked only at attached single-replica volumes; detached ones carry the
// same risk. volume-guard denies a Harvester Upgrade while any single-replica volume exists, honors Harvester's
// skipSingleReplicaDetachedVol for the detached ones only (on its UpgradePlan too, from an allowed writer), and
// volume-guard.io/skip for the rest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, paths, tempFile } from '../harness/cluster.ts';
import { createLonghornVolume, createNode, deleteObjects, ensureNamespace, eventually, LONGHORN_NS, readyLonghornNodes } from '../harness/scenario.ts';

const NS = 'harvester-system';

async function createUpgrade(name: string, annotations: Record<string, string> = {}, dryRun = false, kubeconfig = paths.kubeconfig) {
  const upgrade = {
    apiVersion: 'harvesterhci.io/v1beta1',
    kind: 'Upgrade',
    metadata: { name, namespace: NS, annotations },
    spec: { version: 'v1.5.0', logEnabled: false },
  };
  const file = await tempFile(`upgrade-${name}.json`, JSON.stringify(upgrade));
  return kubectl(['create', '-f', file, ...(dryRun ? ['--dry-run=server'] : [])], { kubeconfig });
}

/** Harvester's upgrade toolkit UpgradePlan (cluster-scoped): its webhook reads the same annotation, "true" only. */
async function createUpgradePlan(name: string, annotations: Record<string, string> = {}, kubeconfig = paths.kubeconfig) {
  const plan = { apiVersion: 'management.harvesterhci.io/v1beta1', kind: 'UpgradePlan', metadata: { name, annotations }, spec: { version: 'v1.7.0' } };
  const file = await tempFile(`upgradeplan-${name}.json`, JSON.stringify(plan));
  return kubectl(['create', '-f', file], { kubeconfig });
}

/** A system-upgrade-controller Plan as Harvester creates them for an upgrade, in cattle-system (server-side dry run). */
/** Harvester's controller, as it creates the Plans of its upgrades (impersonated by the admin). */
const HARVESTER_SA = ['--as=system:serviceaccount:harvester-system:harvester', '--as-group=system:masters'];

function sucPlanDryRun(name: string, labels: Record<string, string>, as: readonly string[] = HARVESTER_SA) {
  return kubectl(['create', '-f', '-', '--dry-run=server', ...as], {
    input: JSON.stringify({
      apiVersion: 'upgrade.cattle.io/v1',
      kind: 'Plan',
      metadata: { name, namespace: 'cattle-system', labels },
      spec: {
        concurrency: 1,
        version: 'v1.5.0',
        serviceAccountName: 'system-upgrade-controller',
        nodeSelector: { matchLabels: { 'harvesterhci.io/managed': 'true' } },
        upgrade: { image: 'rancher/harvester-upgrade:v1.5.0', command: ['upgrade_node.sh', 'prepare'] },
      },
    }),
  });
}

/** Waits until volume-guard's model has caught up enough to deny, using server-side dry runs (they reach webhooks). */
async function deniedOnceSynced(name: string, annotations: Record<string, string> = {}) {
  await eventually(() => createUpgrade(name, annotations, true), (r) => r.code !== 0);
  return createUpgrade(name, annotations);
}

describe('seed 001: single-replica volumes, attached or detached, block a Harvester upgrade', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await ensureNamespace(LONGHORN_NS);
    await readyLonghornNodes(['s001-node-1']);
    // A Harvester node, as the upgrade's Plans select them.
    await createNode('s001-node-1', { 'harvesterhci.io/managed': 'true' });
    await createLonghornVolume({
      name: 's001-detached',
      numberOfReplicas: 1,
      state: 'detached',
      replicas: [{ node: 's001-node-1' }],
      claim: { namespace: 'vms', name: 'vm-disk-detached' },
    });
  });
  afterAll(async () => {
    await deleteObjects(
      ['upgrades.harvesterhci.io', '--all', '-n', NS],
      ['upgradeplans.management.harvesterhci.io', 's001-plan-1', 's001-plan-2'],
      ['clusterrolebinding', 's001-alice-planner'],
      ['clusterrole', 's001-planner'],
      ['volumes.longhorn.io,replicas.longhorn.io', '-l', 'longhornvolume', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 's001-detached', 's001-attached', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', 's001-node-1', '-n', LONGHORN_NS],
      ['node', 's001-node-1'],
    );
  });

  it('denies the Upgrade while a detached single-replica volume exists, naming it and its PVC', async () => {
    const denied = await deniedOnceSynced('hvst-upgrade-1');
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('admission webhook "upgrade.volume-guard.io" denied the request');
    expect(denied.stderr).toContain('[single-replica]');
    expect(denied.stderr).toContain('longhorn-system/s001-detached');
    expect(denied.stderr).toContain('vms/vm-disk-detached');
    expect(denied.stderr).toContain('detached');
  });

  it('says why the annotation written True (as Harvester\'s older validator took it) waives nothing: only "true" counts', async () => {
    const denied = await createUpgrade('hvst-upgrade-cased', { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'True' }, true);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('longhorn-system/s001-detached');
    expect(denied.stderr).toContain('Warning: volume-guard: harvesterhci.io/skipSingleReplicaDetachedVol="True" has no effect: only "true" is honored');
  });

  it("allows it with Harvester's skipSingleReplicaDetachedVol annotation", async () => {
    const allowed = await createUpgrade('hvst-upgrade-2', { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' });
    expect(allowed.stderr).toContain('single-replica overridden by annotation harvesterhci.io/skipSingleReplicaDetachedVol');
    expect(allowed.code).toBe(0);
  });

  it('passes the Plans the admitted Upgrade creates for itself (image preload), still judging any other Plan', async () => {
    await ensureNamespace('cattle-system');
    // hvst-upgrade-2 was admitted with skipSingleReplicaDetachedVol: Harvester's prepare Plan for it is its own step.
    const step = await eventually(() => sucPlanDryRun('hvst-upgrade-2-prepare', { 'harvesterhci.io/upgrade': 'hvst-upgrade-2', 'harvesterhci.io/upgradeComponent': 'node' }), (r) => r.code === 0);
    expect(step.stderr).toBe('');
    const other = await sucPlanDryRun('os-patch', {});
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('admission webhook "upgrade.volume-guard.io" denied the request');
    expect(other.stderr).toContain('longhorn-system/s001-detached');
    const unknown = await sucPlanDryRun('hvst-upgrade-9-prepare', { 'harvesterhci.io/upgrade': 'hvst-upgrade-9' });
    expect(unknown.code).not.toBe(0);
    // The label alone is no proof: the same Plan created by a person is judged like any Plan.
    const byPerson = await sucPlanDryRun('hvst-upgrade-2-prepare', { 'harvesterhci.io/upgrade': 'hvst-upgrade-2' }, []);
    expect(byPerson.code).not.toBe(0);
    expect(byPerson.stderr).toContain('longhorn-system/s001-detached');
  });

  it('honors the annotation on an UpgradePlan too, written by an allowed writer only', async () => {
    const skip = { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' };
    // Someone RBAC lets create plans but who may not write overrides: the annotation counts for nothing and the plan
    // is refused (by the override guard, or by the upgrade webhook, which ignores it: whichever the API server reports).
    await kubectl(['create', 'clusterrole', 's001-planner', '--verb=create,get', '--resource=upgradeplans.management.harvesterhci.io']);
    await kubectl(['create', 'clusterrolebinding', 's001-alice-planner', '--clusterrole=s001-planner', '--user=alice']);
    const byAlice = await createUpgradePlan('s001-plan-1', skip, paths.kubeconfigUser);
    expect(byAlice.code).not.toBe(0);
    expect(byAlice.stderr).toMatch(
      /may not write annotation harvesterhci\.io\/skipSingleReplicaDetachedVol on UpgradePlan s001-plan-1|override on annotation harvesterhci\.io\/skipSingleReplicaDetachedVol ignored: alice may not write overrides/,
    );
    expect((await kubectl(['get', 'upgradeplans.management.harvesterhci.io', 's001-plan-1'])).code).not.toBe(0);

    const allowed = await createUpgradePlan('s001-plan-2', skip);
    expect(allowed.stderr).toContain('single-replica overridden by annotation harvesterhci.io/skipSingleReplicaDetachedVol');
    expect(allowed.code).toBe(0);
    // The upgrade toolkit's node-upgrade Plan for it (cordons, drains: each drain is judged at its evictions).
    const toolkit = { 'management.harvesterhci.io/upgrade-plan': 's001-plan-2', 'management.harvesterhci.io/upgrade-component': 'node-upgrade' };
    const step = await eventually(() => sucPlanDryRun('s001-plan-2-node-upgrade', toolkit), (r) => r.code === 0);
    expect(step.stderr).toBe('');
  });

  it('still denies for an attached single-replica volume, unless volume-guard.io/skip names single-replica', async () => {
    await createLonghornVolume({ name: 's001-attached', numberOfReplicas: 1, state: 'attached', replicas: [{ node: 's001-node-1' }] });
    const harvesterSkip = { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' };
    const denied = await deniedOnceSynced('hvst-upgrade-3', harvesterSkip);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('longhorn-system/s001-attached');
    expect(denied.stderr).not.toContain('s001-detached ');

    const skip = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-reason': 'VM data backed up', 'volume-guard.io/skip-by': 'admin' };
    // The non-admin identity cannot write the override even where RBAC lets it create upgrades.
    await kubectl(['create', 'role', 'upgrader', '-n', NS, '--verb=create,get', '--resource=upgrades.harvesterhci.io']);
    await kubectl(['create', 'rolebinding', 'alice-upgrader', '-n', NS, '--role=upgrader', '--user=alice']);
    const byAlice = await createUpgrade('hvst-upgrade-4', skip, false, paths.kubeconfigUser);
    expect(byAlice.code).not.toBe(0);
    expect(byAlice.stderr).toContain('denied the request');

    const allowed = await createUpgrade('hvst-upgrade-5', skip);
    expect(allowed.code).toBe(0);
  });
});
