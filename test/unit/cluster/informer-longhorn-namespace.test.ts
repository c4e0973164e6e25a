// A wrong longhorn.namespace, against an in-memory API server on a fake clock. Longhorn's CRDs are served cluster-wide,
// so in the wrong namespace every list is empty and every Longhorn check would pass unseen. An empty list of the volumes
// looks for one cluster-wide: found elsewhere, an error is logged once and Longhorn's resources count as stale (the
// answers that read them are refused, saying which chart value to set), without failing readiness. No volumes anywhere
// stays empty and current, and a list that has volumes never looks further.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { InformerSet } from '../../../src/cluster/informers.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, harvesterUpgradeRequest } from '../../support/admission.ts';
import { FakeApiServer, type FakeObject } from '../../support/fake-api-server.ts';

const LONGHORN_RESOURCES = ['volumes', 'replicas', 'nodes', 'settings'];
const inNamespace = (namespace: string, resource: string): string => `/apis/longhorn.io/v1beta2/namespaces/${namespace}/${resource}`;
const CLUSTER_WIDE_VOLUMES = '/apis/longhorn.io/v1beta2/volumes';
const LONGHORN_LABELS = LONGHORN_RESOURCES.map((resource) => `${resource}.longhorn.io`);
const OTHER_OPTIONAL = [
  '/apis/harvesterhci.io/v1beta1/upgrades',
  '/apis/management.harvesterhci.io/v1beta1/upgradeplans',
  ...['v1beta2', 'v1beta1'].flatMap((version) => [
    ...['machines', 'machinedrainrules', 'clusters', 'machinedeployments'].map((resource) => `/apis/cluster.x-k8s.io/${version}/${resource}`),
    `/apis/controlplane.cluster.x-k8s.io/${version}/kubeadmcontrolplanes`,
  ]),
];

const sets: InformerSet[] = [];
afterEach(async () => {
  for (const set of sets.splice(0)) await set.stop();
});

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (condition()) return;
    await sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const volume = (name: string, namespace: string): FakeObject => ({
  metadata: { name, namespace },
  spec: { numberOfReplicas: 1 },
  status: { state: 'detached', robustness: 'unknown', currentNodeID: '' },
});

interface LogLine {
  readonly level: number;
  readonly msg: string;
}

/** Longhorn served (its CRDs, cluster-wide), volume-guard configured with longhorn-system; the other CRDs absent. */
function start(server: FakeApiServer, clock: { now: number }): { set: InformerSet; model: ClusterModel; logs: LogLine[] } {
  for (const path of OTHER_OPTIONAL) server.collection(path).served = false;
  const logs: LogLine[] = [];
  const model = new ClusterModel();
  const set = new InformerSet({
    client: server,
    sink: model,
    log: pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) }),
    longhornNamespace: 'longhorn-system',
    timings: { backoffBaseMs: 1, backoffCapMs: 5, watchdogIntervalMs: 5, absentPollMs: 20 },
    now: () => clock.now,
    random: () => 0.5,
  });
  sets.push(set);
  set.start();
  return { set, model, logs };
}

async function synced(set: InformerSet, clock: { now: number }): Promise<void> {
  await until(() => {
    clock.now += 100;
    return set.synced();
  }, 'synced');
}

const MISPLACED = 'Longhorn volumes found in namespace longhorn, but longhorn.namespace is longhorn-system:';
const ADVICE = 'set the chart value config.longhorn.namespace (VOLUME_GUARD_LONGHORN_NAMESPACE) to longhorn';

describe('Longhorn in another namespace than longhorn.namespace', () => {
  it('logs one error, counts its resources stale (refusing an upgrade with the advice) but stays ready, until volumes appear in longhorn.namespace', async () => {
    const server = new FakeApiServer();
    const clock = { now: 1_000_000 };
    // Longhorn lives in "longhorn": its namespaced collections in longhorn-system are served and empty.
    server.put(CLUSTER_WIDE_VOLUMES, volume('pvc-1', 'longhorn'));
    const { set, model, logs } = start(server, clock);
    await synced(set, clock);
    expect(model.longhornInstalled).toBe(true);
    // Ready (/readyz reads synced()), but Longhorn's resources are stale, whatever their age says.
    expect(set.synced()).toBe(true);
    expect([...set.staleResources(120_000, clock.now)].sort()).toEqual([...LONGHORN_LABELS].sort());
    for (const status of set.statuses(clock.now)) expect(status.ageMs, status.resource).toBe(LONGHORN_LABELS.includes(status.resource) ? Number.POSITIVE_INFINITY : 0);
    expect(set.staleReason(LONGHORN_LABELS)).toBe(`${MISPLACED}\n${ADVICE}`);
    // Another resource stale too: the API server may be out of reach, the generic advice stands.
    expect(set.staleReason([...LONGHORN_LABELS, 'pods'])).toBeUndefined();

    // Polled again and again: the error is logged once.
    const listsBefore = server.lists.filter((call) => call.path === CLUSTER_WIDE_VOLUMES).length;
    await until(() => server.lists.filter((call) => call.path === CLUSTER_WIDE_VOLUMES).length >= listsBefore + 3, 'more polls');
    expect(logs.filter((line) => line.level === 50).map((line) => line.msg)).toEqual([`${MISPLACED} ${ADVICE}`]);

    const decision = upgradeValidator(defaultConfig()).handle(harvesterUpgradeRequest(), context(model, { health: set }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`volume-guard cannot judge the `);
    expect(decision.status?.message).toContain(`\n${MISPLACED}\n${ADVICE}\n`);
    expect(decision.status?.message).not.toContain('reach the API server');
    // Under model.stalePolicy warn, the advice comes as warnings.
    const config = defaultConfig();
    const warned = upgradeValidator(config).handle(harvesterUpgradeRequest(), context(model, { health: set, config: { ...config, model: { ...config.model, stalePolicy: 'warn' } } }));
    expect(warned.allowed).toBe(true);
    expect(warned.warnings?.slice(1)).toEqual([`volume-guard: ${MISPLACED}`, `volume-guard: ${ADVICE}`]);

    // Longhorn's volumes (also) in longhorn-system: listed at the next poll, and nothing is stale any more.
    server.put(inNamespace('longhorn-system', 'volumes'), volume('pvc-2', 'longhorn-system'));
    await until(() => model.longhornVolume('pvc-2') !== undefined && set.informer('longhornVolume').status(clock.now).connected, 'the volume listed');
    expect(set.staleResources(120_000, clock.now)).toEqual([]);
    expect(set.staleReason(LONGHORN_LABELS)).toBeUndefined();
    expect(logs.filter((line) => line.level === 50)).toHaveLength(1);
  });

  it('no volumes anywhere: installed, empty and current, watched as before', async () => {
    const server = new FakeApiServer();
    const clock = { now: 1_000_000 };
    const { set, model, logs } = start(server, clock);
    await synced(set, clock);
    await until(() => set.informer('longhornVolume').status(clock.now).connected, 'watching');
    expect(model.longhornInstalled).toBe(true);
    expect(model.count('longhornVolume')).toBe(0);
    expect(set.staleResources(120_000, clock.now)).toEqual([]);
    expect(set.informer('longhornVolume').status(clock.now)).toMatchObject({ present: true, phase: 'watching', ageMs: 0 });
    expect(logs.filter((line) => line.level >= 50)).toEqual([]);
    // One look cluster-wide, at the empty list.
    expect(server.lists.filter((call) => call.path === CLUSTER_WIDE_VOLUMES)).toHaveLength(1);
  });

  it('volumes in longhorn.namespace: no look elsewhere', async () => {
    const server = new FakeApiServer();
    const clock = { now: 1_000_000 };
    server.put(inNamespace('longhorn-system', 'volumes'), volume('pvc-1', 'longhorn-system'));
    server.put(CLUSTER_WIDE_VOLUMES, volume('pvc-9', 'longhorn'));
    const { set } = start(server, clock);
    await synced(set, clock);
    expect(set.staleResources(120_000, clock.now)).toEqual([]);
    expect(server.lists.filter((call) => call.path === CLUSTER_WIDE_VOLUMES)).toEqual([]);
  });
});
