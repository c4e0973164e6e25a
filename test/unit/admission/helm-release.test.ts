import { describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ELIDED_PREFIX } from '../../../src/json-bytes.ts';
import { decodeAdmissionReviewBody } from '../../../src/server/codec.ts';
import { ADMIN, ALICE, context, request, reviewBody } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { devlakeManifest, releaseSecret, type ReleaseFixture } from '../helm/helm-fixtures.ts';

const validator = helmReleaseValidator(defaultConfig());
const NS = 'devlake';
const ORPHAN = 'devlake-mysql-data-devlake-mysql-0';

function releaseRequest(
  release: Partial<ReleaseFixture>,
  options: { operation?: 'CREATE' | 'UPDATE'; user?: UserInfo; extraLabels?: Record<string, string>; data?: string } = {},
): AdmissionRequest {
  const fixture: ReleaseFixture = { name: 'devlake', namespace: NS, version: 1, status: 'pending-install', manifest: devlakeManifest(), ...release };
  const object = releaseSecret(fixture, { ...(options.extraLabels ? { extraLabels: options.extraLabels } : {}), ...(options.data ? { data: options.data } : {}) });
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: options.operation ?? 'CREATE',
    namespace: NS,
    name: `sh.helm.release.v1.${fixture.name}.v${fixture.version}`,
    userInfo: options.user ?? ADMIN,
    object,
  });
}

function leftover(annotations: Record<string, string> = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: ORPHAN, volumeName: 'pv-mysql', labels: { 'app.kubernetes.io/instance': 'devlake' }, annotations }));
  model.upsert('persistentVolume', pv({ name: 'pv-mysql', claimNamespace: NS, claimName: ORPHAN, reclaimPolicy: 'Retain' }));
  return model;
}

describe('helm release validator', () => {
  it('denies a fresh install that would adopt a leftover StatefulSet PVC, naming it', () => {
    const decision = validator.handle(releaseRequest({}), context(leftover()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('install of Helm release devlake/devlake');
    expect(decision.status!.message).toContain(`${NS}/${ORPHAN}`);
    expect(decision.status!.message).toContain('[orphan-pvc]');
    expect(decision.status!.message).toContain('1 adopted with its old data by the new release');
  });

  it('allows the install once the PVC is gone, or marked for reuse, and audits the reuse', () => {
    const empty = new ClusterModel(VOLUME_SETS);
    expect(validator.handle(releaseRequest({}), context(empty)).allowed).toBe(true);
    // A reuse approval counts only with its writer recorded (volume-guard.io/skip-by, held by the override guard).
    expect(validator.handle(releaseRequest({}), context(leftover({ 'volume-guard.io/reuse': 'true' }))).allowed).toBe(false);
    const reused = validator.handle(releaseRequest({}), context(leftover({ 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin' })));
    expect(reused.allowed).toBe(true);
    expect(reused.overrides).toEqual(['orphan-pvc']);
    expect(reused.auditAnnotations?.['override-source']).toContain('volume-guard.io/reuse');
  });

  it('says why a reuse approval on the PVC does not count: a value other than "true", no writer, expired', () => {
    const message = (annotations: Record<string, string>): string => validator.handle(releaseRequest({}), context(leftover(annotations))).status?.message ?? '';
    // First on the finding's line (a long line is cut at its end), the value quoted as JSON.
    expect(message({ 'volume-guard.io/reuse': 'True', 'volume-guard.io/skip-by': 'admin' })).toMatch(
      /mysql-0: reuse: "True" ignored, only "true" counts; left by/,
    );
    expect(message({ 'volume-guard.io/reuse': 'true' })).toContain('reuse ignored: no volume-guard.io/skip-by; ');
    expect(message({ 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-until': '2020-01-01T00:00:00Z' })).toContain(
      'reuse ignored: expired at 2020-01-01T00:00:00.000Z',
    );
    // A value with a line break stays on its line.
    const broken = message({ 'volume-guard.io/reuse': 'yes\nplease', 'volume-guard.io/skip-by': 'admin' });
    expect(broken).toContain('reuse: "yes\\nplease" ignored');
    expect(broken.split('\n').some((line) => line.startsWith('please'))).toBe(false);
    expect(message({})).not.toContain('reuse ignored');
  });

  it('honors the release label override from an admin but not from another user', () => {
    const labels = { 'volume-guard.io/skip': 'orphan-pvc' };
    expect(validator.handle(releaseRequest({}, { extraLabels: labels }), context(leftover())).allowed).toBe(true);
    const byAlice = validator.handle(releaseRequest({}, { extraLabels: labels, user: ALICE }), context(leftover()));
    expect(byAlice.allowed).toBe(false);
  });

  it('denies helm install --take-ownership of a PVC no release owns, naming it and its fix', () => {
    // Without --take-ownership Helm fails over the unannotated PVC before writing any record: a record means the flag.
    const manifest = `---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: uploads\nspec:\n  accessModes: [ReadWriteOnce]\n`;
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('namespace', namespace({ name: NS }));
    model.upsert('persistentVolume', pv({ name: 'pv-up', claimNamespace: NS, claimName: 'uploads', reclaimPolicy: 'Retain' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'uploads', volumeName: 'pv-up' }));
    const decision = validator.handle(releaseRequest({ manifest }), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain(`adopted: PVC ${NS}/uploads (PV pv-up): exists, not Helm's: this install takes it over (--take-ownership) with its old data`);
    expect(decision.status!.message).toContain(`kubectl delete pvc -n ${NS} uploads`);
  });

  it('a plain upgrade of a live StatefulSet passes', () => {
    const model = leftover();
    model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'devlake-mysql', claimTemplates: ['devlake-mysql-data'], helmReleaseName: 'devlake', helmReleaseNamespace: NS }));
    const decision = validator.handle(releaseRequest({ version: 2, status: 'pending-upgrade' }), context(model));
    expect(decision.allowed).toBe(true);
  });

  it('an unreadable record is refused with the override that works for its operation', () => {
    const words = (release: Partial<ReleaseFixture>): string =>
      (validator.handle(releaseRequest(release, { data: 'not base64 at all!!' }), context(leftover())).status?.message ?? '').replace(/\s+/g, ' ');
    expect(words({})).toContain('an authorized admin can override: helm install ... --labels volume-guard.io/skip=orphan-pvc');
    expect(words({ version: 4, status: 'pending-upgrade' })).toContain(
      'helm upgrade ... --labels volume-guard.io/skip=orphan-pvc,volume-guard.io/skip-revision=4',
    );
    // install --replace over kept history: Helm superseded the last revision, so only upgrade --install goes on.
    expect(words({ version: 3 })).toContain('helm upgrade --install ... --labels volume-guard.io/skip=orphan-pvc,volume-guard.io/skip-revision=3');
    // helm rollback takes no --labels (and a rollback's copied labels are never honored): the namespace it is.
    const rollback = words({ version: 5, status: 'pending-rollback' });
    expect(rollback).toContain(`kubectl annotate namespace ${NS} volume-guard.io/skip=orphan-pvc`);
    // The command works as given: the override guard wants the writer recorded in the same write.
    expect(rollback).toContain('volume-guard.io/skip-by="<you>"');
    expect(rollback).not.toContain('--labels');
  });

  it("an unreadable record's advice keeps the checks its counting release label skips (--labels replaces the value)", () => {
    const words = (labels: Record<string, string>, user = ADMIN): string =>
      (validator.handle(releaseRequest({ version: 4, status: 'pending-upgrade' }, { data: 'not base64 at all!!', extraLabels: labels, user }), context(leftover())).status?.message ?? '').replace(/\s+/g, ' ');
    expect(words({ 'volume-guard.io/skip': 'pvc-delete', 'volume-guard.io/skip-revision': '4' })).toContain(
      'helm upgrade ... --labels volume-guard.io/skip=orphan-pvc_pvc-delete,volume-guard.io/skip-revision=4',
    );
    // Left from revision 3, or set by a user who may not write overrides: it counts for nothing, nothing is kept.
    expect(words({ 'volume-guard.io/skip': 'pvc-delete', 'volume-guard.io/skip-revision': '3' })).toContain('--labels volume-guard.io/skip=orphan-pvc,');
    expect(words({ 'volume-guard.io/skip': 'pvc-delete', 'volume-guard.io/skip-revision': '4' }, ALICE)).toContain('--labels volume-guard.io/skip=orphan-pvc,');
  });

  it('denies a release whose payload cannot be decoded, with the reason', () => {
    const decision = validator.handle(releaseRequest({}, { data: 'not base64 at all!!' }), context(leftover()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('cannot check Helm release Secret');
    expect(decision.status!.message).not.toContain('TOP-SECRET');
  });

  it('never denies other statuses or updates, and warns at uninstall about the PVCs left behind', () => {
    expect(validator.handle(releaseRequest({ status: 'deployed' }), context(leftover())).allowed).toBe(true);
    const model = leftover();
    model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'devlake-mysql', claimTemplates: ['devlake-mysql-data'], helmReleaseName: 'devlake', helmReleaseNamespace: NS }));
    const uninstall = validator.handle(releaseRequest({ status: 'uninstalling' }, { operation: 'UPDATE' }), context(model));
    expect(uninstall.allowed).toBe(true);
    expect(uninstall.warnings?.join('\n')).toContain(`PVC ${NS}/${ORPHAN} (PV pv-mysql, reclaim Retain)`);
    expect(uninstall.warnings!.every((line) => line.length <= 120)).toBe(true);
  });
});

describe('helm release validator: the record set aside by the decoder', () => {
  const requests: [string, AdmissionRequest][] = [
    ['leftover PVC', releaseRequest({})],
    ['label override', releaseRequest({}, { extraLabels: { 'volume-guard.io/skip': 'orphan-pvc' } })],
    ['upgrade', releaseRequest({ version: 2, status: 'pending-upgrade' })],
    ['unreadable', releaseRequest({}, { data: 'not base64 at all!!' })],
    ['uninstall', { ...releaseRequest({ status: 'uninstalling' }, { operation: 'UPDATE' }), oldObject: releaseRequest({ status: 'deployed' }).object }],
  ];
  const decode = (admission: AdmissionRequest, elide: boolean): AdmissionRequest => {
    const decoded = decodeAdmissionReviewBody(Buffer.from(reviewBody(admission)), elide ? validator.elide : undefined, { fromBytes: 0 });
    if (!decoded.ok) throw new Error(decoded.reason);
    return decoded.request;
  };

  it('never makes the record a string on the event loop: the request holds a placeholder', () => {
    const decoded = decode(releaseRequest({}), true);
    const release = (decoded.object as { data: { release: string } }).data.release;
    expect(release.startsWith(ELIDED_PREFIX)).toBe(true);
    expect(decoded.elided).toHaveLength(1);
    const old = decode(requests[4]![1], true);
    expect(old.elided).toHaveLength(2);
  });

  it('decides as with the whole review decoded, read on the event loop and in the workers', async () => {
    const pooled = helmReleaseValidator(defaultConfig());
    try {
      for (const [what, admission] of requests) {
        const model = leftover();
        const whole = validator.handle(decode(admission, false), context(model));
        expect(validator.handle(decode(admission, true), context(model)), what).toEqual(whole);
        expect(await pooled.handleAsync!(decode(admission, true), context(model)), what).toEqual(whole);
        expect(await pooled.handleAsync!(decode(admission, false), context(model)), what).toEqual(whole);
      }
    } finally {
      await pooled.close?.();
    }
  });
});

