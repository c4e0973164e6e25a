// Issue 15: what Harvester's skipSingleReplicaDetachedVol waives is counted, not built, and the answer stays what it
// was: through the real API server, a Harvester Upgrade with more single-replica volumes than a denial lists, detached
// (waived by the annotation, one of them still detaching, as Harvester counts it) and attached (still refused), is denied for the attached ones only, with every one
// counted, the waived ones reported as accepted risks, and the fix worded for a volume past the listing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, paths, tempFile } from '../harness/cluster.ts';
import { createLonghornVolume, deleteObjects, ensureNamespace, eventually, LONGHORN_NS, patchStatus, readyLonghornNodes } from '../harness/scenario.ts';

const NS = 'harvester-system';
const NODE = 'hsc-node-1';
const DETACHED = 14;
const ATTACHED = 13;
const HARVESTER_SKIP = { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' };

async function createUpgrade(name: string, annotations: Record<string, string>, dryRun: boolean) {
  const upgrade = { apiVersion: 'harvesterhci.io/v1beta1', kind: 'Upgrade', metadata: { name, namespace: NS, annotations }, spec: { version: 'v1.5.0', logEnabled: false } };
  const file = await tempFile(`upgrade-${name}.json`, JSON.stringify(upgrade));
  return kubectl(['create', '-f', file, ...(dryRun ? ['--dry-run=server'] : [])], { kubeconfig: paths.kubeconfig });
}

const pad = (i: number) => String(i).padStart(2, '0');

describe('Harvester-skip upgrade over more single-replica volumes than a denial lists', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await ensureNamespace(LONGHORN_NS);
    await readyLonghornNodes([NODE]);
    // A second Longhorn node taking replicas: with one only, the fix says no second copy can be made (back up, override).
    await readyLonghornNodes([`${NODE}-b`]);
    // The last attached one is short of the replicas it asks for (numberOfReplicas 2, one replica): past the listing.
    const volumes = [
      ...Array.from({ length: DETACHED }, (_, i) => ({ name: `hsc-detached-${pad(i)}`, state: 'detached' as const, numberOfReplicas: 1 })),
      ...Array.from({ length: ATTACHED }, (_, i) => ({ name: `hsc-attached-${pad(i)}`, state: 'attached' as const, numberOfReplicas: i === ATTACHED - 1 ? 2 : 1 })),
    ];
    for (const volume of volumes) await createLonghornVolume({ ...volume, replicas: [{ node: NODE }] });
    // The last detached one is still detaching, its node not yet cleared: Harvester counts it detached (by state alone).
    await patchStatus('volumes.longhorn.io', `hsc-detached-${pad(DETACHED - 1)}`, { state: 'detaching', currentNodeID: NODE }, LONGHORN_NS);
  }, 300_000);
  afterAll(async () => {
    await deleteObjects(
      ['upgrades.harvesterhci.io', '--all', '-n', NS],
      ['replicas.longhorn.io', '-l', 'longhornnode=' + NODE, '-n', LONGHORN_NS],
      ['volumes.longhorn.io', ...Array.from({ length: DETACHED }, (_, i) => `hsc-detached-${pad(i)}`), ...Array.from({ length: ATTACHED }, (_, i) => `hsc-attached-${pad(i)}`), '-n', LONGHORN_NS],
      ['nodes.longhorn.io', NODE, `${NODE}-b`, '-n', LONGHORN_NS],
      ['node', NODE, `${NODE}-b`],
      ['rolebinding', 'hsc-operator-upgrades', '-n', NS],
      ['role', 'hsc-upgrade-editor', '-n', NS],
    );
  });

  it('denies for the attached ones, counts them all, and accepts the detached ones by the annotation', async () => {
    // Dry runs reach the webhook: wait until volume-guard's model holds every volume.
    const denied = await eventually(
      () => createUpgrade('hsc-upgrade-1', HARVESTER_SKIP, true),
      (result) => result.stderr.includes(`${ATTACHED} Longhorn volumes have a single copy`),
    );
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('admission webhook "upgrade.volume-guard.io" denied the request');
    expect(denied.stderr).toContain(`[single-replica] ${ATTACHED} Longhorn volumes have a single copy of their data`);
    expect(denied.stderr).toContain('longhorn-system/hsc-attached-00');
    expect(denied.stderr).toContain(`and ${ATTACHED - 10} more`);
    expect(denied.stderr).not.toContain('hsc-detached-');
    // The volume short of its replicas is past the listing; the fix still says what to do for it.
    expect(denied.stderr).not.toContain('hsc-attached-12');
    expect(denied.stderr.replace(/\s+/g, ' ')).toContain('wait until Longhorn has rebuilt the missing replicas');
    expect(denied.stderr).toContain(
      `single-replica overridden by annotation harvesterhci.io/skipSingleReplicaDetachedVol: ${DETACHED} risks accepted`,
    );
    // Harvester's advice is not offered: the annotation is there and attached volumes remain.
    expect(denied.stderr).not.toContain('or, as Harvester does, skip only detached volumes');
  });

  it('without the annotation, denies for all of them and offers nothing Harvester-specific past the listing', async () => {
    const denied = await createUpgrade('hsc-upgrade-2', {}, true);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(`[single-replica] ${DETACHED + ATTACHED} Longhorn volumes have a single copy of their data`);
    expect(denied.stderr).toContain('longhorn-system/hsc-detached-00');
    expect(denied.stderr).not.toContain('risks accepted');
  });

  it('an admin skip of single-replica on top lets the Upgrade through', async () => {
    const skip = { ...HARVESTER_SKIP, 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-reason': 'VM disks backed up', 'volume-guard.io/skip-by': 'admin' };
    const allowed = await createUpgrade('hsc-upgrade-3', skip, false);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stderr).toContain('overridden by');
  });

  it('setting the annotation on a stored Upgrade takes an allowed override writer', async () => {
    // It waives detached volumes at every drain of the upgrade, so it is policed like volume-guard's own overrides.
    await kubectl(['create', 'role', 'hsc-upgrade-editor', '-n', NS, '--verb=get,list,patch,update', '--resource=upgrades.harvesterhci.io']);
    await kubectl(['create', 'rolebinding', 'hsc-operator-upgrades', '-n', NS, '--role=hsc-upgrade-editor', '--user=hsc-operator']);
    const removed = await kubectl(['annotate', 'upgrades.harvesterhci.io', 'hsc-upgrade-3', '-n', NS, 'harvesterhci.io/skipSingleReplicaDetachedVol-']);
    expect(removed.code, removed.stderr).toBe(0);
    const refused = await kubectl(['annotate', 'upgrades.harvesterhci.io', 'hsc-upgrade-3', '-n', NS, 'harvesterhci.io/skipSingleReplicaDetachedVol=true', '--as=hsc-operator']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "overrides.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('harvesterhci.io/skipSingleReplicaDetachedVol');
    // An allowed writer (system:masters) sets it.
    const written = await kubectl(['annotate', 'upgrades.harvesterhci.io', 'hsc-upgrade-3', '-n', NS, 'harvesterhci.io/skipSingleReplicaDetachedVol=true']);
    expect(written.code, written.stderr).toBe(0);
  });
});
