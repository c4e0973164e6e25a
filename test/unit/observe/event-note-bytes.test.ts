// events.k8s.io/v1 rejects an Event whose note is over 1024 bytes: the API server validates len(event.Message) of the
// Go string, i.e. UTF-8 bytes (kubernetes pkg/apis/core/validation/events.go, legacyValidateEvent, NoteLengthLimit).
// A long denial's note is cut by bytes, on a character, with room for the "…" (3 bytes): the Event is accepted.
import { expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { EventRecorder, type EventObject, type EventSink } from '../../../src/observe/events.ts';

class Sink implements EventSink {
  readonly created: EventObject[] = [];
  async create(event: EventObject): Promise<void> {
    this.created.push(event);
  }
  async patchSeries(): Promise<void> {}
  async podUid(): Promise<string | undefined> {
    return 'uid';
  }
}

it("keeps a long denial's Event note within 1024 bytes", async () => {
  const sink = new Sink();
  const events = new EventRecorder({ sink, instance: 'volume-guard-abc', clock: () => 0, onOutcome: () => undefined });
  const line = (i: number) => `  PVC shop/data-postgres-${i}: deleted, and its PV reclaim policy destroys the data`;
  const message = ['volume-guard refused the deletion of namespace shop: 30 risks of data loss.', ...Array.from({ length: 30 }, (_, i) => line(i))].join('\n');
  const request = {
    uid: 'u1',
    kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
    resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
    namespace: 'shop',
    name: 'data-postgres-0',
    operation: 'DELETE',
    userInfo: { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: [] },
    object: null,
    oldObject: { metadata: { name: 'data-postgres-0', namespace: 'shop', uid: 'pvc-uid' } },
    dryRun: false,
  } as AdmissionRequest;
  events.record(request, { allowed: false, status: { code: 403, message } });
  await events.tick();
  const note = sink.created[0]!.note;
  expect(note.length).toBeLessThanOrEqual(1024);
  expect(Buffer.byteLength(note, 'utf8'), note).toBeLessThanOrEqual(1024);
});

it('cuts a note holding multi-byte characters on a character boundary', async () => {
  const sink = new Sink();
  const events = new EventRecorder({ sink, instance: 'volume-guard-abc', clock: () => 0, onOutcome: () => undefined });
  const message = `volume-guard refused the deletion of namespace shop: ${'ünïcödé — '.repeat(200)}`;
  const request = {
    uid: 'u2',
    kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
    resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
    namespace: 'shop',
    name: 'data-0',
    operation: 'DELETE',
    userInfo: { username: 'alice', groups: [] },
    object: null,
    oldObject: { metadata: { name: 'data-0', namespace: 'shop', uid: 'pvc-uid' } },
    dryRun: false,
  } as AdmissionRequest;
  events.record(request, { allowed: false, status: { code: 403, message } });
  await events.tick();
  const note = sink.created[0]!.note;
  expect(Buffer.byteLength(note, 'utf8')).toBeLessThanOrEqual(1024);
  expect(Buffer.byteLength(note, 'utf8')).toBeGreaterThan(1000);
  expect(note.endsWith('…')).toBe(true);
  expect(note).not.toContain('\uFFFD');
});
