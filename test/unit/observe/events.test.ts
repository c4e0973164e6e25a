// The Event recorder's own logic, with a sink that records the calls (the API server side is tested end to end
// in test/e2e/observe-events.e2e.test.ts): what a denial is recorded on, never for allowed or dry-run requests,
// repeats aggregated into one event whose series count is patched, the rate limit, the bounded queue.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, Decision } from '../../../src/admission/types.ts';
import { EventRecorder, regardingOf, type EventObject, type EventOutcome, type EventSink } from '../../../src/observe/events.ts';
import { EVICTION_KIND, NODE_KIND } from '../../support/admission.ts';

function request(fields: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: 'u1',
    ...NODE_KIND,
    name: 'worker-3',
    namespace: '',
    operation: 'UPDATE',
    userInfo: { username: 'system:serviceaccount:cattle-system:system-upgrade-controller', groups: [] },
    object: { metadata: { name: 'worker-3', uid: 'node-uid-3' } },
    oldObject: { metadata: { name: 'worker-3', uid: 'node-uid-3' } },
    dryRun: false,
    ...fields,
  } as AdmissionRequest;
}

const DENIED: Decision = { allowed: false, status: { code: 403, message: 'cordon of node worker-3 refused:\nlast-replica-on-node: 1 volume' } };

class RecordingSink implements EventSink {
  readonly created: EventObject[] = [];
  readonly patches: { namespace: string; name: string; count: number }[] = [];
  fail = false;
  async create(event: EventObject): Promise<void> {
    if (this.fail) throw new Error('forbidden');
    this.created.push(event);
  }
  async patchSeries(namespace: string, name: string, series: { count: number; lastObservedTime: string }): Promise<void> {
    this.patches.push({ namespace, name, count: series.count });
  }
  async podUid(namespace: string, name: string): Promise<string | undefined> {
    return `${namespace}-${name}-uid`;
  }
}

function recorder(sink: EventSink, clock: { now: number }, extra: Partial<ConstructorParameters<typeof EventRecorder>[0]> = {}) {
  const outcomes: EventOutcome[] = [];
  const events = new EventRecorder({ sink, instance: 'volume-guard-abc', clock: () => clock.now, onOutcome: (o) => outcomes.push(o), ...extra });
  return { events, outcomes };
}

describe('EventRecorder', () => {
  it('records a denied cordon on the Node, with its uid, in namespace default', async () => {
    const sink = new RecordingSink();
    const { events } = recorder(sink, { now: Date.parse('2026-01-01T00:00:00Z') });
    events.record(request(), DENIED);
    await events.tick();
    expect(sink.created).toHaveLength(1);
    const event = sink.created[0]!;
    expect(event).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: 'default' },
      eventTime: '2026-01-01T00:00:00.000000Z',
      reportingController: 'volume-guard.io/admission',
      reportingInstance: 'volume-guard-abc',
      action: 'Cordon',
      reason: 'DataLossRisk',
      type: 'Warning',
      regarding: { apiVersion: 'v1', kind: 'Node', name: 'worker-3', uid: 'node-uid-3' },
    });
    expect(event.metadata.name).toMatch(/^worker-3\.[0-9a-f]{16}$/);
    // "default" is read by far more people than could see the objects a cordon's denial names: only the summary.
    expect(event.note).toBe('cordon by system:serviceaccount:cattle-system:system-upgrade-controller denied: cordon of node worker-3 refused: (objects named to the requester only)');
  });

  it("keeps each check's headline but none of the objects in a Node's event; a namespaced object's keeps the denial", async () => {
    const message = [
      'volume-guard refused the cordon of node node-1: 2 risks of data loss.',
      '[single-replica] 1 Longhorn volume has a single copy of its data',
      '  Volume longhorn-system/v1 (PVC team/db): numberOfReplicas is 1',
      '[node-local-volume] 1 object keeps data only on node-1',
      '  PV pv-local (PVC shop/mysql-data, Pod shop/mysql-0): local PV keeps the data',
      'Override (an authorized admin, after checking):',
    ].join('\n');
    const sink = new RecordingSink();
    const { events } = recorder(sink, { now: 0 });
    events.record(request(), { allowed: false, status: { code: 403, message } });
    events.record(request({ kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' }, resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' }, namespace: 'shop', name: 'mysql-data', operation: 'DELETE', object: null, oldObject: { metadata: { name: 'mysql-data', namespace: 'shop' } } }), { allowed: false, status: { code: 403, message } });
    await events.tick();
    const [node, claim] = sink.created;
    expect(node!.note).toContain('[single-replica] 1 Longhorn volume has a single copy of its data [node-local-volume] 1 object keeps data only on node-1');
    for (const name of ['team/db', 'shop/mysql', 'pv-local', 'longhorn-system/v1']) expect(node!.note).not.toContain(name);
    expect(node!.note).toContain('(objects named to the requester only)');
    expect(claim!.metadata.namespace).toBe('shop');
    expect(claim!.note).toContain('PV pv-local (PVC shop/mysql-data');
  });

  it('records a denied eviction on the Pod, in its namespace, with the pod uid looked up', async () => {
    const sink = new RecordingSink();
    const { events } = recorder(sink, { now: 0 });
    events.record(
      request({
        ...EVICTION_KIND,
        name: 'mysql-0',
        namespace: 'shop',
        operation: 'CREATE',
        object: { metadata: { name: 'mysql-0', namespace: 'shop' } },
        oldObject: null,
      }),
      DENIED,
    );
    await events.tick();
    expect(sink.created[0]).toMatchObject({ metadata: { namespace: 'shop' }, action: 'Evict', regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'mysql-0', uid: 'shop-mysql-0-uid' } });
  });

  it('ignores allowed, dry-run and Helm release requests', async () => {
    const sink = new RecordingSink();
    const { events } = recorder(sink, { now: 0 });
    events.record(request(), { allowed: true });
    events.record(request({ dryRun: true }), DENIED);
    events.record(request({ resource: { group: '', version: 'v1', resource: 'secrets' }, kind: { group: '', version: 'v1', kind: 'Secret' }, namespace: 'shop', name: 'sh.helm.release.v1.shop.v1' }), DENIED);
    // Helm's ConfigMap driver (HELM_DRIVER=configmap): its records are skipped the same.
    const configMapRecord = { metadata: { name: 'sh.helm.release.v1.shop.v1', namespace: 'shop', labels: { owner: 'helm', name: 'shop' } }, data: { release: 'H4sI' } };
    events.record(
      request({ resource: { group: '', version: 'v1', resource: 'configmaps' }, kind: { group: '', version: 'v1', kind: 'ConfigMap' }, namespace: 'shop', name: 'sh.helm.release.v1.shop.v1', object: configMapRecord }),
      DENIED,
    );
    await events.tick();
    expect(sink.created).toEqual([]);
  });

  it('records a refused write of a ConfigMap that is not a Helm release record (Longhorn default settings)', async () => {
    const sink = new RecordingSink();
    const { events } = recorder(sink, { now: 0 });
    const settings = { metadata: { name: 'longhorn-default-setting', namespace: 'longhorn-system', labels: { 'app.kubernetes.io/managed-by': 'Helm' } }, data: { 'default-setting.yaml': 'node-drain-policy: always-allow' } };
    events.record(
      request({ resource: { group: '', version: 'v1', resource: 'configmaps' }, kind: { group: '', version: 'v1', kind: 'ConfigMap' }, namespace: 'longhorn-system', name: 'longhorn-default-setting', object: settings }),
      DENIED,
    );
    await events.tick();
    expect(sink.created).toHaveLength(1);
    expect(sink.created[0]).toMatchObject({ regarding: { kind: 'ConfigMap', namespace: 'longhorn-system', name: 'longhorn-default-setting' } });
  });

  it('aggregates repeats into one event and patches its series count at most every patch interval', async () => {
    const sink = new RecordingSink();
    const clock = { now: 1_000_000 };
    const { events, outcomes } = recorder(sink, clock, { patchIntervalMs: 30_000 });
    for (let i = 0; i < 5; i++) events.record(request(), DENIED);
    await events.tick();
    expect(sink.created).toHaveLength(1);
    expect(sink.patches).toEqual([]);
    clock.now += 30_000;
    events.record(request(), DENIED);
    await events.tick();
    expect(sink.created).toHaveLength(1);
    expect(sink.patches).toEqual([{ namespace: 'default', name: sink.created[0]!.metadata.name, count: 6 }]);
    await events.tick();
    expect(sink.patches).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'aggregated')).toHaveLength(5);
    // Another node: its own event.
    events.record(request({ name: 'worker-4', object: { metadata: { name: 'worker-4' } }, oldObject: null }), DENIED);
    await events.tick();
    expect(sink.created.map((e) => e.regarding.name)).toEqual(['worker-3', 'worker-4']);
    // After the aggregation window a repeat starts a new event.
    clock.now += 11 * 60_000;
    await events.tick();
    events.record(request(), DENIED);
    await events.tick();
    expect(sink.created.map((e) => e.regarding.name)).toEqual(['worker-3', 'worker-4', 'worker-3']);
  });

  it('writes at most the burst at once, then at the sustained rate', async () => {
    const sink = new RecordingSink();
    const clock = { now: 0 };
    const { events } = recorder(sink, clock, { burst: 3, writesPerSecond: 2 });
    for (let i = 0; i < 10; i++) events.record(request({ name: `n${i}`, object: { metadata: { name: `n${i}` } }, oldObject: null }), DENIED);
    await events.tick();
    expect(sink.created).toHaveLength(3);
    clock.now += 1_000;
    await events.tick();
    expect(sink.created).toHaveLength(5);
    expect(events.queued).toBe(5);
  });

  it('drops (and counts) denials beyond the queue bound, never blocking the caller', async () => {
    const sink = new RecordingSink();
    const { events, outcomes } = recorder(sink, { now: 0 }, { maxQueue: 4 });
    const started = performance.now();
    for (let i = 0; i < 1_000; i++) events.record(request({ name: `n${i}`, object: { metadata: { name: `n${i}` } }, oldObject: null }), DENIED);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(events.queued).toBe(4);
    expect(outcomes.filter((o) => o === 'dropped')).toHaveLength(996);
  });

  it('counts a failed write and goes on', async () => {
    const sink = new RecordingSink();
    sink.fail = true;
    const errors: unknown[] = [];
    const { events, outcomes } = recorder(sink, { now: 0 }, { onError: (e) => errors.push(e) });
    events.record(request(), DENIED);
    await events.tick();
    expect(outcomes).toEqual(['failed']);
    expect(errors).toHaveLength(1);
    sink.fail = false;
    events.record(request({ name: 'n2', object: { metadata: { name: 'n2' } }, oldObject: null }), DENIED);
    await events.tick();
    expect(sink.created).toHaveLength(1);
  });

  it('names the object of a namespaced custom resource on CREATE', () => {
    expect(
      regardingOf(request({ kind: { group: 'upgrade.cattle.io', version: 'v1', kind: 'Plan' }, resource: { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans' }, name: '', namespace: 'cattle-system', operation: 'CREATE', object: { metadata: { name: 'k3s-server' } }, oldObject: null })),
    ).toEqual({ apiVersion: 'upgrade.cattle.io/v1', kind: 'Plan', namespace: 'cattle-system', name: 'k3s-server' });
  });

  // The API server sets a Namespace request's namespace to the Namespace's own name (apiserver requestinfo.go reads
  // /api/v1/namespaces/NAME as namespace NAME); the object is cluster-scoped all the same. kubectl describe namespace
  // looks for events whose involvedObject.namespace is empty (describe.go searchEvents over reference.GetReference),
  // and client-go's events recorder files those of cluster-scoped objects in "default".
  it('names a Namespace without a namespace (cluster-scoped), though the request carries its name as one', () => {
    const old = { metadata: { name: 'team-a', uid: 'ns-uid' } };
    const namespaceRequest = request({
      kind: { group: '', version: 'v1', kind: 'Namespace' },
      resource: { group: '', version: 'v1', resource: 'namespaces' },
      name: 'team-a',
      namespace: 'team-a',
      operation: 'DELETE',
      object: null,
      oldObject: old,
    });
    expect(regardingOf(namespaceRequest)).toEqual({ apiVersion: 'v1', kind: 'Namespace', name: 'team-a', uid: 'ns-uid' });
  });

  it("files a Namespace's event in default, as for a Node", async () => {
    const sink = new RecordingSink();
    const { events } = recorder(sink, { now: Date.parse('2026-01-01T00:00:00Z') });
    events.record(
      request({
        kind: { group: '', version: 'v1', kind: 'Namespace' },
        resource: { group: '', version: 'v1', resource: 'namespaces' },
        name: 'team-a',
        namespace: 'team-a',
        operation: 'DELETE',
        object: null,
        oldObject: { metadata: { name: 'team-a', uid: 'ns-uid' } },
      }),
      DENIED,
    );
    await events.tick();
    expect(sink.created[0]?.metadata.namespace).toBe('default');
    expect(sink.created[0]?.regarding).toEqual({ apiVersion: 'v1', kind: 'Namespace', name: 'team-a', uid: 'ns-uid' });
  });
});
