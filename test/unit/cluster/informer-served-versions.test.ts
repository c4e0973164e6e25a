// Which version of an optional resource the informers read, and how a partly served group counts, against an in-memory
// API server on a fake clock. Cluster API before v1.11 serves only v1beta1: its Machines are read there (a 404 at
// v1beta2 is not "Cluster API absent"), and v1beta2 once served. Longhorn's kinds come together: one answering 404
// while another is served is unknown (stale) rather than "none", and looks again as soon as a sibling is served.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { InformerSet, type InformerTimings } from '../../../src/cluster/informers.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { FakeApiServer, type FakeObject } from '../../support/fake-api-server.ts';

const NODES = '/api/v1/nodes';
const PODS = '/api/v1/pods';
const PVS = '/api/v1/persistentvolumes';
const PVCS = '/api/v1/persistentvolumeclaims';
const longhorn = (resource: string): string => `/apis/longhorn.io/v1beta2/namespaces/longhorn-system/${resource}`;
const LONGHORN = ['volumes', 'replicas', 'nodes', 'settings'].map(longhorn);
const capi = (version: string, resource: string): string => `/apis/cluster.x-k8s.io/${version}/${resource}`;
const CAPI_RESOURCES = ['machines', 'machinedrainrules', 'clusters', 'machinedeployments'];
const OPTIONAL = [
  ...LONGHORN,
  '/apis/harvesterhci.io/v1beta1/upgrades',
  '/apis/management.harvesterhci.io/v1beta1/upgradeplans',
  ...['v1beta2', 'v1beta1'].flatMap((version) => [
    ...CAPI_RESOURCES.map((resource) => capi(version, resource)),
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

/** Every optional collection answering 404 until a test serves it. */
function newServer(): FakeApiServer {
  const server = new FakeApiServer();
  for (const path of OPTIONAL) server.collection(path).served = false;
  return server;
}

function start(server: FakeApiServer, clock: { now: number }, timings: Partial<InformerTimings> = {}): { set: InformerSet; model: ClusterModel } {
  const model = new ClusterModel();
  const set = new InformerSet({
    client: server,
    sink: model,
    log: pino({ level: 'silent' }),
    longhornNamespace: 'longhorn-system',
    timings: { backoffBaseMs: 1, backoffCapMs: 5, watchdogIntervalMs: 5, absentPollMs: 40, ...timings },
    now: () => clock.now,
    random: () => 0.5,
  });
  sets.push(set);
  set.start();
  return { set, model };
}

/** Synced: a resource never served is absent after a second 404 a second later on the fake clock. */
async function synced(set: InformerSet, clock: { now: number }): Promise<void> {
  await until(() => {
    clock.now += 100;
    return set.synced();
  }, 'synced');
}

const machine = (name: string, node: string): FakeObject => ({
  metadata: { name, namespace: 'capi', labels: { 'cluster.x-k8s.io/set-name': 'md-0-a', 'cluster.x-k8s.io/deployment-name': 'md-0' } },
  spec: { clusterName: 'c' },
  status: { nodeRef: { name: node } },
});
const node = (name: string): FakeObject => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name } },
  spec: {},
  status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-01-01T00:00:00Z' }] },
});

/** Two Machines of MachineDeployment md-0 (at `version`), the first one's node holding a local PV a running pod uses. */
function capiCluster(server: FakeApiServer, version: string): void {
  server.collection(capi(version, 'machines')).served = true;
  server.put(capi(version, 'machines'), machine('m1', 'node-1'));
  server.put(capi(version, 'machines'), machine('m2', 'node-2'));
  server.put(NODES, node('node-1'));
  server.put(NODES, node('node-2'));
  server.put(PVS, {
    metadata: { name: 'pv-local' },
    spec: {
      local: { path: '/mnt/disk' },
      storageClassName: 'local',
      persistentVolumeReclaimPolicy: 'Retain',
      claimRef: { namespace: 'ns', name: 'db-data' },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-1'] }] }] } },
    },
    status: { phase: 'Bound' },
  });
  server.put(PVCS, { metadata: { name: 'db-data', namespace: 'ns', uid: 'u' }, spec: { volumeName: 'pv-local' }, status: { phase: 'Bound' } });
  server.put(PODS, {
    metadata: { name: 'db-0', namespace: 'ns' },
    spec: { nodeName: 'node-1', volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'db-data' } }] },
    status: { phase: 'Running' },
  });
}

describe('Cluster API served only at v1beta1 (before v1.11)', () => {
  it('reads the Machines at v1beta1, and refuses a scale-down to 0 that removes the node of a local PV in use', async () => {
    const server = newServer();
    const clock = { now: 1_000_000 };
    capiCluster(server, 'v1beta1');
    const { set, model } = start(server, clock);
    await synced(set, clock);
    expect(model.machinesOf('capi', 'MachineDeployment', 'md-0').map((m) => m.name).sort()).toEqual(['m1', 'm2']);
    expect(set.informer('machine').status(clock.now)).toMatchObject({ present: true, phase: 'watching' });
    expect(set.informer('machine').path).toBe(capi('v1beta1', 'machines'));
    // v1beta2 was asked first.
    const machineLists = server.lists.filter((call) => call.path.endsWith('/machines')).map((call) => call.path);
    expect(machineLists.slice(0, 2)).toEqual([capi('v1beta2', 'machines'), capi('v1beta1', 'machines')]);

    const decision = machineValidator(defaultConfig()).handle(
      request({
        kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment' },
        resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinedeployments' },
        operation: 'UPDATE',
        namespace: 'capi',
        name: 'md-0',
        object: { metadata: { name: 'md-0', namespace: 'capi' }, spec: { replicas: 0 } },
        oldObject: { metadata: { name: 'md-0', namespace: 'capi' }, spec: { replicas: 2 } },
      }),
      context(model, { health: set }),
    );
    expect(decision.allowed).toBe(false);
  });

  it('reads v1beta2 from the next relist once Cluster API serves it (an upgrade to v1.11)', async () => {
    const server = newServer();
    const clock = { now: 1_000_000 };
    capiCluster(server, 'v1beta1');
    const { set, model } = start(server, clock, { resyncMs: 600_000 });
    await synced(set, clock);
    expect(set.informer('machine').path).toBe(capi('v1beta1', 'machines'));
    // Cluster API v1.11 serves both versions (one storage); the periodic relist reads the newest.
    server.collection(capi('v1beta2', 'machines')).served = true;
    server.put(capi('v1beta2', 'machines'), machine('m1', 'node-1'));
    server.put(capi('v1beta2', 'machines'), machine('m3', 'node-3'));
    clock.now += 700_000;
    await until(() => set.informer('machine').path === capi('v1beta2', 'machines') && set.informer('machine').status(clock.now).connected, 'watching v1beta2');
    expect(model.machinesOf('capi', 'MachineDeployment', 'md-0').map((m) => m.name).sort()).toEqual(['m1', 'm3']);
  });

  it('neither version served: absent and current, as before', async () => {
    const server = newServer();
    const clock = { now: 1_000_000 };
    const { set } = start(server, clock);
    await synced(set, clock);
    expect(set.informer('machine').status(clock.now)).toMatchObject({ present: false, synced: true });
    expect(set.staleResources(30_000, clock.now)).toEqual([]);
  });
});

describe('Longhorn partly served', () => {
  it('a kind answering 404 while another is served reads as empty and current (a partial install), and lists soon once served', async () => {
    const server = newServer();
    const clock = { now: 1_000_000 };
    for (const path of LONGHORN) if (path !== longhorn('replicas')) server.collection(path).served = true;
    server.put(longhorn('volumes'), {
      metadata: { name: 'v1', namespace: 'longhorn-system' },
      spec: { numberOfReplicas: 3 },
      status: { state: 'attached', robustness: 'healthy', currentNodeID: 'n1' },
    });
    const { set, model } = start(server, clock);
    await synced(set, clock);
    expect(model.longhornInstalled).toBe(true);
    // A partial install (only some of Longhorn's CRDs) reads as installed, the absent kinds as empty: nothing stale.
    expect(set.informer('longhornReplica').status(clock.now)).toMatchObject({ present: false, ageMs: 0 });
    expect(set.staleResources(30_000, clock.now)).toEqual([]);

    server.collection(longhorn('replicas')).served = true;
    server.put(longhorn('replicas'), {
      metadata: { name: 'r1', namespace: 'longhorn-system' },
      spec: { volumeName: 'v1', nodeID: 'n1', diskID: 'd1', healthyAt: '2024-01-01T00:00:00Z', failedAt: '', desireState: 'running', active: true },
      status: { currentState: 'running' },
    });
    await until(() => model.replicasOnNode('n1').length === 1, 'the replicas listed');
    await until(() => set.staleResources(30_000, clock.now).length === 0, 'nothing stale');
  });

  it('absent Longhorn nodes and settings while volumes and replicas are served: read as Longhorn\'s defaults, not stale', async () => {
    const server = newServer();
    const clock = { now: 1_000_000 };
    for (const path of [longhorn('volumes'), longhorn('replicas')]) server.collection(path).served = true;
    const { set, model } = start(server, clock);
    await synced(set, clock);
    expect(model.longhornInstalled).toBe(true);
    expect(set.informer('longhornSetting').status(clock.now)).toMatchObject({ present: false, ageMs: 0 });
    expect(set.informer('longhornNode').status(clock.now)).toMatchObject({ present: false, ageMs: 0 });
    expect(set.staleResources(30_000, clock.now)).toEqual([]);
  });

  it('when one kind becomes served, its absent siblings look again at once, not at their next poll', async () => {
    const server = newServer();
    const clock = { now: 1_000_000 };
    // Polls 30 s apart (real time here): only the wake can make the replicas list within the test.
    const { set, model } = start(server, clock, { absentPollMs: 30_000 });
    await synced(set, clock);
    expect(model.longhornInstalled).toBe(false);
    expect(set.staleResources(30_000, clock.now)).toEqual([]);
    // Longhorn installed between polls: the volumes' poll comes first.
    for (const path of LONGHORN) server.collection(path).served = true;
    server.put(longhorn('replicas'), {
      metadata: { name: 'r1', namespace: 'longhorn-system' },
      spec: { volumeName: 'v1', nodeID: 'n1', diskID: 'd1', healthyAt: '2024-01-01T00:00:00Z', failedAt: '', desireState: 'running', active: true },
      status: { currentState: 'running' },
    });
    set.informer('longhornVolume').lookAgain();
    await until(() => model.replicasOnNode('n1').length === 1, 'the replicas listed');
    await until(() => set.statuses(clock.now).every((status) => status.present !== false || !status.resource.endsWith('.longhorn.io')), 'every Longhorn kind served');
    expect(model.longhornInstalled).toBe(true);
  });
});
