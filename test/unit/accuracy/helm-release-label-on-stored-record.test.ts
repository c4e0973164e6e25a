// A release-label override written onto a stored Helm release record. Helm's storage drivers read a record's custom
// labels back (pkg/storage/driver/secrets.go, cfgmaps.go) and `helm upgrade` builds the next revision with
// mergeCustomLabels(lastRelease.Labels, u.Labels) (pkg/action/upgrade.go): a `volume-guard.io/skip` plus
// `skip-revision=<next>` put on the deployed record by `kubectl label secret` arms the next plain `helm upgrade`,
// honored as written by whoever runs it. So the helm-release webhook polices writes of those labels on records:
// a non-writer's addition or change is refused, a skip-revision ahead of the record's own revision is refused for
// anyone, and a record created in a settled status (helm-2to3, mapkubeapis) may not carry one ahead either.
import { afterAll, describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { helmReleaseValidator, SKIP_REVISION_KEY } from '../../../src/admission/validators/helm-release.ts';
import { SKIP_KEY } from '../../../src/admission/overrides.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, ALICE, context, request } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { releaseJson, helmEncode, releaseSecret, type ReleaseFixture } from '../helm/helm-fixtures.ts';

const config = defaultConfig();
const helm = helmReleaseValidator(config);
afterAll(() => helm.close?.());

const NS = 'shop';
const PLANTED = { [SKIP_KEY]: 'all', [SKIP_REVISION_KEY]: '4' };
const PVC_DOC = `---
# Source: app/templates/pvc.yaml
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: uploads
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
`;

function fixture(version: number, status: string): ReleaseFixture {
  return { name: 'app', namespace: NS, version, status, manifest: PVC_DOC, chartName: 'app' };
}

function secretRecord(version: number, status: string, extraLabels: Record<string, string> = {}): Record<string, unknown> {
  return releaseSecret(fixture(version, status), { extraLabels });
}

/** The same record as the ConfigMap driver stores it (data.release is Helm's encoding, not base64 again). */
function configMapRecord(version: number, status: string, extraLabels: Record<string, string> = {}): Record<string, unknown> {
  const secret = secretRecord(version, status, extraLabels) as { metadata: Record<string, unknown> };
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: secret.metadata, data: { release: helmEncode(JSON.stringify(releaseJson(fixture(version, status)))) } };
}

function write(operation: 'CREATE' | 'UPDATE', user: UserInfo, object: unknown, oldObject?: unknown): AdmissionRequest {
  const meta = object as { kind: string; metadata: { name: string } };
  const resource = meta.kind === 'ConfigMap' ? 'configmaps' : 'secrets';
  return request({
    kind: { group: '', version: 'v1', kind: meta.kind },
    resource: { group: '', version: 'v1', resource },
    operation,
    namespace: NS,
    name: meta.metadata.name,
    userInfo: user,
    object,
    ...(oldObject === undefined ? {} : { oldObject }),
  });
}

/** An unannotated bound PVC `uploads` that the next upgrade's manifest takes over with its old data. */
function model(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: NS }));
  m.upsert('persistentVolume', pv({ name: 'pv-up', claimNamespace: NS, claimName: 'uploads', reclaimPolicy: 'Retain' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'uploads', volumeName: 'pv-up' }));
  return m;
}

const judge = (req: AdmissionRequest) => helm.handle(req, context(model(), { config }));

describe('release-override labels written onto a stored release record', () => {
  it('are sent by the API server: the matchCondition passes record UPDATEs changing them, not the labels Helm writes back', () => {
    // Checked by compiling and evaluating it with k8s.io/apiserver's CEL (e2e registers it for real): here its shape.
    const expression = helm.declaration.matchConditions?.[0]?.expression ?? '';
    expect(expression).toMatch(/^\(\(request\.resource\.resource == 'configmaps' \? .*\) && \(request\.operation == 'CREATE' \|\| /);
    expect(expression).toContain(
      `['${SKIP_KEY}', '${SKIP_REVISION_KEY}'].exists(k, k in object.metadata.labels && (oldObject == null || ` +
        '!has(oldObject.metadata.labels) || !(k in oldObject.metadata.labels) || oldObject.metadata.labels[k] != object.metadata.labels[k] || ',
    );
    // Every label counts as added when the write makes the object this release's record.
    expect(expression).toContain("['owner', 'name'].exists(s, s in object.metadata.labels ? ");
    // ...or holds no record yet: Helm reads data.release of a Secret of any type too (see the last describe).
    expect(expression).toContain("(!has(oldObject.data) || !('release' in oldObject.data))");
  });

  it('refuses a non-writer labelling the deployed record (kubectl label secret), naming who may', () => {
    const decision = judge(write('UPDATE', ALICE, secretRecord(3, 'deployed', PLANTED), secretRecord(3, 'deployed')));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain('alice may not write label volume-guard.io/skip, volume-guard.io/skip-revision');
    expect(message).toContain(`Secret ${NS}/sh.helm.release.v1.app.v3`);
    expect(message).toContain('limited to groups system:masters');
    expect(message).toContain('--labels volume-guard.io/skip=<checks>,volume-guard.io/skip-revision=<new revision>');
  });

  it('refuses a non-writer changing only the skip-revision, or only the skip', () => {
    const armed = secretRecord(3, 'deployed', { [SKIP_KEY]: 'orphan-pvc', [SKIP_REVISION_KEY]: '3' });
    expect(judge(write('UPDATE', ALICE, secretRecord(3, 'deployed', { [SKIP_KEY]: 'orphan-pvc', [SKIP_REVISION_KEY]: '2' }), armed)).allowed).toBe(false);
    expect(judge(write('UPDATE', ALICE, secretRecord(3, 'deployed', { [SKIP_KEY]: 'all', [SKIP_REVISION_KEY]: '3' }), armed)).allowed).toBe(false);
  });

  it('refuses the same on a ConfigMap-stored record', () => {
    const decision = judge(write('UPDATE', ALICE, configMapRecord(3, 'deployed', PLANTED), configMapRecord(3, 'deployed')));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain(`ConfigMap ${NS}/sh.helm.release.v1.app.v3`);
  });

  it('refuses labels that become a record of the release in the same write (owner=helm or the name label added)', () => {
    // Created as no release's record (the webhook's objectSelector needs owner=helm), then turned into one.
    const unowned = secretRecord(3, 'deployed', PLANTED) as { metadata: { labels: Record<string, string> } };
    const { owner: _owner, ...withoutOwner } = unowned.metadata.labels;
    const before = { ...unowned, metadata: { ...unowned.metadata, labels: withoutOwner } };
    expect(judge(write('UPDATE', ALICE, secretRecord(3, 'deployed', PLANTED), before)).allowed).toBe(false);
    const otherRelease = { ...unowned, metadata: { ...unowned.metadata, labels: { ...unowned.metadata.labels, name: 'other' } } };
    expect(judge(write('UPDATE', ALICE, secretRecord(3, 'deployed', PLANTED), otherRelease)).allowed).toBe(false);
  });

  it('lets anyone remove them (stricter), and leaves Helm\'s own updates alone: they write back the labels they read', () => {
    expect(judge(write('UPDATE', ALICE, secretRecord(3, 'deployed'), secretRecord(3, 'deployed', PLANTED))).allowed).toBe(true);
    const copied = { [SKIP_KEY]: 'orphan-pvc', [SKIP_REVISION_KEY]: '3' };
    // helm upgrade marks the last revision superseded; a controller's service account does it as a non-writer.
    const helmController: UserInfo = { username: 'system:serviceaccount:flux-system:helm-controller', groups: ['system:serviceaccounts'] };
    const superseded = judge(write('UPDATE', helmController, secretRecord(3, 'superseded', copied), secretRecord(3, 'deployed', copied)));
    expect(superseded).toEqual({ allowed: true });
  });

  it("lets an override writer label the record for its own revision, audited; a skip-revision ahead of it is refused for anyone", () => {
    const own = judge(write('UPDATE', ADMIN, secretRecord(3, 'deployed', { [SKIP_KEY]: 'orphan-pvc', [SKIP_REVISION_KEY]: '3' }), secretRecord(3, 'deployed')));
    expect(own.allowed).toBe(true);
    expect(own.auditAnnotations?.['override-written']).toBe(`label ${SKIP_KEY}, ${SKIP_REVISION_KEY} on Secret ${NS}/sh.helm.release.v1.app.v3 by admin`);
    const ahead = judge(write('UPDATE', ADMIN, secretRecord(3, 'deployed', PLANTED), secretRecord(3, 'deployed')));
    expect(ahead.allowed).toBe(false);
    expect(ahead.status!.message).toContain(`${SKIP_REVISION_KEY}=4 on Helm release record Secret ${NS}/sh.helm.release.v1.app.v3 names a later revision than the record's (3)`);
    expect(ahead.status!.message).toContain(`helm upgrade ... --labels ${SKIP_KEY}=<checks>,${SKIP_REVISION_KEY}=4`);
  });

  it('still warns at the move to uninstalling, and refuses one that plants the labels on the way', () => {
    expect(judge(write('UPDATE', ALICE, secretRecord(3, 'uninstalling'), secretRecord(3, 'deployed'))).allowed).toBe(true);
    expect(judge(write('UPDATE', ALICE, secretRecord(3, 'uninstalling', PLANTED), secretRecord(3, 'deployed'))).allowed).toBe(false);
  });
});

describe('a release record created in a settled status (helm-2to3, mapkubeapis)', () => {
  it('is refused with a skip-revision ahead of its own revision, whoever writes it', () => {
    for (const user of [ALICE, ADMIN]) {
      const decision = judge(write('CREATE', user, secretRecord(3, 'deployed', PLANTED)));
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toContain(`${SKIP_REVISION_KEY}=4 on Helm release record Secret ${NS}/sh.helm.release.v1.app.v3 names a later revision than the record's (3)`);
    }
    expect(judge(write('CREATE', ALICE, configMapRecord(3, 'deployed', PLANTED))).allowed).toBe(false);
  });

  it('is allowed carrying the labels it copies from an earlier revision (mapkubeapis, after marking that one superseded)', () => {
    // mapkubeapis creates revision N+1 `deployed` from revision N, labels and all: refusing it would leave no deployed
    // revision. A skip-revision at or below the record's own revision is never honored later (copied: a leftover).
    expect(judge(write('CREATE', ALICE, secretRecord(4, 'deployed', { [SKIP_KEY]: 'orphan-pvc', [SKIP_REVISION_KEY]: '3' }))).allowed).toBe(true);
    expect(judge(write('CREATE', ALICE, secretRecord(4, 'deployed', { [SKIP_KEY]: 'orphan-pvc' }))).allowed).toBe(true);
  });
});

// Helm's storage drivers find a release's records by their labels alone (owner=helm, name=<release>) and decode the
// `release` data key of whatever they list: neither the Secret's type nor the ConfigMap's name is checked
// (pkg/storage/driver secrets.go and cfgmaps.go Query; Storage.Last takes the highest decoded revision). A Secret of
// type Opaque, or a ConfigMap under any name, holding a release record is that release's last revision to Helm, and
// `helm upgrade` copies its labels into the next one (upgrade.go mergeCustomLabels(lastRelease.Labels, ...)).
describe('a release record Helm reads though it is not typed or named as Helm writes one', () => {
  /** The same record as an Opaque Secret (anyone who may create Secrets in the namespace can write one). */
  function opaqueRecord(version: number, status: string, extraLabels: Record<string, string> = {}): Record<string, unknown> {
    return { ...secretRecord(version, status, extraLabels), type: 'Opaque' };
  }

  /** The same record as a ConfigMap not named sh.helm.release.v1.*. */
  function unnamedConfigMapRecord(version: number, status: string, extraLabels: Record<string, string> = {}): Record<string, unknown> {
    const record = configMapRecord(version, status, extraLabels) as { metadata: Record<string, unknown> };
    return { ...record, metadata: { ...record.metadata, name: 'app-release-copy' } };
  }

  it('is sent to the webhook when it carries a release override label, whatever its type or name', () => {
    const expression = helm.declaration.matchConditions?.[0]?.expression ?? '';
    // Written with an override label, a Secret or ConfigMap holding data.release is sent; no type or name is asked.
    expect(expression).toContain("(has(object.data) && 'release' in object.data && (has(object.metadata.labels) && ['volume-guard.io/skip', ");
    // Every label counts as added when the stored object held no record yet (a Secret's data.release added too).
    expect(expression).toContain("(!has(oldObject.data) || !('release' in oldObject.data))");
    expect(expression).not.toContain("(request.resource.resource == 'configmaps' && (!has(oldObject.data)");
  });

  it('planted by a non-writer (an Opaque Secret arming the next upgrade) is refused, naming who may', () => {
    const decision = judge(write('CREATE', ALICE, opaqueRecord(4, 'deployed', { [SKIP_KEY]: 'all', [SKIP_REVISION_KEY]: '5' })));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('alice may not write label volume-guard.io/skip, volume-guard.io/skip-revision');
    expect(decision.status!.message).toContain(`Secret ${NS}/sh.helm.release.v1.app.v4`);
    // At or below its own revision too: a record Helm never wrote carries no labels copied from an earlier one.
    expect(judge(write('CREATE', ALICE, opaqueRecord(4, 'deployed', { [SKIP_KEY]: 'all', [SKIP_REVISION_KEY]: '4' }))).allowed).toBe(false);
    // Labelled later, or given its record later (the labels count as added then).
    expect(judge(write('UPDATE', ALICE, opaqueRecord(4, 'deployed', PLANTED), opaqueRecord(4, 'deployed'))).allowed).toBe(false);
    const empty = { ...opaqueRecord(4, 'deployed', PLANTED), data: {} };
    expect(judge(write('UPDATE', ALICE, opaqueRecord(4, 'deployed', PLANTED), empty)).allowed).toBe(false);
  });

  it('is refused the same as a ConfigMap under another name', () => {
    const decision = judge(write('CREATE', ALICE, unnamedConfigMapRecord(4, 'deployed', { [SKIP_KEY]: 'all', [SKIP_REVISION_KEY]: '5' })));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain(`ConfigMap ${NS}/app-release-copy`);
  });

  it('with a skip-revision ahead of its revision is refused for an override writer too; without override labels it passes', () => {
    const ahead = judge(write('CREATE', ADMIN, opaqueRecord(4, 'deployed', { [SKIP_KEY]: 'all', [SKIP_REVISION_KEY]: '5' })));
    expect(ahead.allowed).toBe(false);
    expect(ahead.status!.message).toContain('names a later revision than the record');
    // Not judged as a Helm operation (Helm writes only typed records): an Opaque Secret a chart labels owner=helm passes.
    expect(judge(write('CREATE', ALICE, opaqueRecord(4, 'deployed')))).toEqual({ allowed: true });
    expect(judge(write('CREATE', ALICE, opaqueRecord(4, 'pending-upgrade')))).toEqual({ allowed: true });
    expect(judge(write('CREATE', ALICE, unnamedConfigMapRecord(4, 'deployed')))).toEqual({ allowed: true });
  });
});
