// The helm-release validator beyond the Secret driver's install: the ConfigMap driver, the namespace a record is
// judged in (no names cross namespaces), release-label overrides scoped to one revision, and pvc-delete at upgrades
// and uninstalls.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator, releaseLabelOverride, SKIP_REVISION_KEY } from '../../../src/admission/validators/helm-release.ts';
import { expandRules } from '../../../src/admission/rules.ts';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { ADMIN, ALICE, context, request } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { devlakeManifest, releaseConfigMap, releaseSecret, type ReleaseFixture } from '../helm/helm-fixtures.ts';

const config = defaultConfig();
const validator = helmReleaseValidator(config);
afterAll(() => validator.close?.());
const NS = 'devlake';
const ORPHAN = 'devlake-mysql-data-devlake-mysql-0';

interface Options {
  operation?: 'CREATE' | 'UPDATE';
  user?: UserInfo;
  extraLabels?: Record<string, string>;
  driver?: 'secret' | 'configmap';
  /** The namespace the record is stored in (the request's), default the fixture's. */
  storedIn?: string;
}

function releaseRequest(release: Partial<ReleaseFixture>, options: Options = {}): AdmissionRequest {
  const fixture: ReleaseFixture = { name: 'devlake', namespace: NS, version: 1, status: 'pending-install', manifest: devlakeManifest(), ...release };
  const extra = options.extraLabels ? { extraLabels: options.extraLabels } : {};
  const object = options.driver === 'configmap' ? releaseConfigMap(fixture, extra) : releaseSecret(fixture, extra);
  const storedIn = options.storedIn ?? fixture.namespace;
  (object.metadata as { namespace: string }).namespace = storedIn;
  const configMap = options.driver === 'configmap';
  return request({
    kind: { group: '', version: 'v1', kind: configMap ? 'ConfigMap' : 'Secret' },
    resource: { group: '', version: 'v1', resource: configMap ? 'configmaps' : 'secrets' },
    operation: options.operation ?? 'CREATE',
    namespace: storedIn,
    name: `sh.helm.release.v1.${fixture.name}.v${fixture.version}`,
    userInfo: options.user ?? ADMIN,
    object,
  });
}

function leftover(ns = NS): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: ns }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: ns, name: ORPHAN, volumeName: `pv-${ns}`, labels: { 'app.kubernetes.io/instance': 'devlake' } }));
  model.upsert('persistentVolume', pv({ name: `pv-${ns}`, claimNamespace: ns, claimName: ORPHAN, reclaimPolicy: 'Retain' }));
  return model;
}

describe('the ConfigMap storage driver (HELM_DRIVER=configmap)', () => {
  it('is declared for configmaps too, with a match condition that reads either kind of record safely', () => {
    expect(expandRules(validator.declaration.rules, config.upgrades.kinds)[0]?.resources).toEqual(['secrets', 'configmaps']);
    const expression = validator.declaration.matchConditions?.[0]?.expression ?? '';
    expect(expression).toContain("has(object.data) && 'release' in object.data");
    expect(expression).toContain('has(object.type)');
  });

  it('denies the reinstall exactly like the Secret driver, and allows once the PVC is reused', async () => {
    const decision = validator.handle(releaseRequest({}, { driver: 'configmap' }), context(leftover()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain(`${NS}/${ORPHAN}`);
    // Through the worker pool as the server runs it: the same answer.
    const pooled = await validator.handleAsync!(releaseRequest({}, { driver: 'configmap' }), context(leftover()));
    expect(pooled.allowed).toBe(false);
    expect(pooled.status!.message).toBe(decision.status!.message);
    expect(validator.handle(releaseRequest({}, { driver: 'configmap' }), context(new ClusterModel(VOLUME_SETS))).allowed).toBe(true);
  });

  it('refuses a ConfigMap record whose payload is not Helm encoding (e.g. base64 applied twice)', () => {
    const req = releaseRequest({}, { driver: 'configmap' });
    const object = req.object as { data: { release: string } };
    object.data.release = Buffer.from(object.data.release).toString('base64');
    const decision = validator.handle(req, context(leftover()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('cannot check Helm release ConfigMap devlake/sh.helm.release.v1.devlake.v1');
  });

  it('leaves alone a ConfigMap labelled owner=helm that is not named as a release record', () => {
    const req = releaseRequest({}, { driver: 'configmap' });
    const object = req.object as { metadata: { name: string }; data: { release: string } };
    object.metadata.name = 'app-settings';
    object.data.release = 'v1.2.3';
    expect(validator.handle({ ...req, name: 'app-settings' }, context(leftover())).allowed).toBe(true);
    expect(validator.declaration.matchConditions?.[0]?.expression).toContain("object.metadata.name.startsWith('sh.helm.release.v1.')");
  });

  it('warns at uninstall of a ConfigMap-stored release', () => {
    const model = leftover();
    model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'devlake-mysql', claimTemplates: ['devlake-mysql-data'], helmReleaseName: 'devlake', helmReleaseNamespace: NS }));
    const decision = validator.handle(releaseRequest({ status: 'uninstalling' }, { driver: 'configmap', operation: 'UPDATE' }), context(model));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain(`PVC ${NS}/${ORPHAN}`);
  });
});

describe('no names cross namespaces', () => {
  it('a record stored in one namespace claiming another is refused without naming anything there', () => {
    // team-a stores a record that says namespace devlake: devlake holds an orphan PVC.
    const model = leftover();
    model.upsert('namespace', namespace({ name: 'team-a' }));
    const decision = validator.handle(releaseRequest({}, { storedIn: 'team-a' }), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('names namespace devlake but is stored in team-a');
    expect(decision.status!.message).not.toContain(ORPHAN);
    expect(JSON.stringify(decision)).not.toContain(ORPHAN);
    // Dry-run and the uninstall warning say nothing about devlake's PVCs either.
    const dry = validator.handle({ ...releaseRequest({}, { storedIn: 'team-a' }), dryRun: true }, context(model));
    expect(JSON.stringify(dry)).not.toContain(ORPHAN);
    const uninstall = validator.handle(releaseRequest({ status: 'uninstalling' }, { storedIn: 'team-a', operation: 'UPDATE' }), context(model));
    expect(uninstall.allowed).toBe(true);
    expect(JSON.stringify(uninstall)).not.toContain(ORPHAN);
  });

  it('a StatefulSet rendered in another namespace is not looked at: the same warning whatever that namespace holds', () => {
    // The requester may write records in devlake only: an answer turning on victim's PVCs would let them probe it.
    const foreign = devlakeManifest().replace(/(kind: StatefulSet\nmetadata:\n {2}name: devlake-mysql\n)/, '$1  namespace: victim\n');
    expect(foreign).toContain('namespace: victim');
    const model = leftover('victim');
    model.upsert('namespace', namespace({ name: NS }));
    const decision = validator.handle(releaseRequest({ manifest: foreign }), context(model));
    expect(decision.allowed).toBe(true);
    expect(JSON.stringify(decision)).not.toContain(ORPHAN);
    expect(JSON.stringify(decision)).not.toContain('pv-victim');
    expect(decision.warnings?.join(' ')).toContain('volume-guard: StatefulSet victim/devlake-mysql of this release is outside namespace devlake: not judged here');
    // Its own CREATE is judged (statefulset.ts): the warning says so rather than "not checked".
    expect(decision.warnings?.join(' ')).toContain('its own creation is, and a refusal then stops Helm half way');
    // No leftover there: the very same answer.
    const empty = new ClusterModel(VOLUME_SETS);
    empty.upsert('namespace', namespace({ name: NS }));
    expect(validator.handle(releaseRequest({ manifest: foreign }), context(empty))).toEqual(decision);
  });

  it('a record in helm.storageNamespaces has the claims of a StatefulSet rendered in another namespace judged, names withheld', () => {
    const sdk: Config = { ...config, helm: { ...config.helm, storageNamespaces: ['flux-system'] } };
    const sdkValidator = helmReleaseValidator(sdk);
    const foreign = devlakeManifest().replace(/(kind: StatefulSet\nmetadata:\n {2}name: devlake-mysql\n)/, '$1  namespace: victim\n');
    const model = leftover('victim');
    model.upsert('namespace', namespace({ name: NS }));
    const decision = sdkValidator.handle(releaseRequest({ manifest: foreign }, { storedIn: 'flux-system' }), context(model, { config: sdk }));
    expect(decision.allowed).toBe(false);
    expect(JSON.stringify(decision)).not.toContain(ORPHAN);
    expect(JSON.stringify(decision)).not.toContain('pv-victim');
    const message = decision.status!.message;
    expect(message).toContain('[orphan-pvc] 1 existing PVC would be adopted with old data');
    expect(message).toContain(
      'adopted: PVC in namespace victim: would be re-attached with its old data (names withheld: an admin can list them: kubectl get pvc -n victim)',
    );
    expect(message).not.toContain('kubectl delete pvc -n devlake');
    // The StatefulSet is judged, not counted as left out.
    expect(decision.warnings?.join('\n') ?? '').not.toContain('not checked');
    // The admin's approval there counts (its tag survives the withholding), and so does deleting it.
    model.upsert(
      'persistentVolumeClaim',
      pvc({ namespace: 'victim', name: ORPHAN, volumeName: 'pv-victim', labels: { 'app.kubernetes.io/instance': 'devlake' }, annotations: { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin' } }),
    );
    expect(sdkValidator.handle(releaseRequest({ manifest: foreign }, { storedIn: 'flux-system' }), context(model, { config: sdk })).allowed).toBe(true);
    const empty = new ClusterModel(VOLUME_SETS);
    empty.upsert('namespace', namespace({ name: NS }));
    const clean = sdkValidator.handle(releaseRequest({ manifest: foreign }, { storedIn: 'flux-system' }), context(empty, { config: sdk }));
    expect(clean.allowed).toBe(true);
    expect(JSON.stringify(clean)).not.toContain('victim');
  });

  it('other manifest objects with another metadata.namespace are not looked at, only counted', () => {
    const foreign = devlakeManifest().replace(/(kind: StatefulSet\nmetadata:\n {2}name: devlake-mysql\n)/, '$1  namespace: victim\n');
    const withClaim = `${foreign}---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: uploads\n  namespace: victim\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n`;
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('namespace', namespace({ name: NS }));
    const decision = validator.handle(releaseRequest({ manifest: withClaim }), context(model));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain('1 PVC of this release outside namespace devlake not checked');
  });

  it('a storage namespace listed in helm.storageNamespaces may hold records of other namespaces (Helm SDK users)', () => {
    const sdk: Config = { ...config, helm: { ...config.helm, storageNamespaces: ['flux-system'] } };
    const decision = helmReleaseValidator(sdk).handle(releaseRequest({}, { storedIn: 'flux-system' }), context(leftover(), { config: sdk }));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain(`${NS}/${ORPHAN}`);
  });
});

describe("Flux's helm-controller by default", () => {
  // A HelmRelease's records go to spec.storageNamespace, else the HelmRelease's own namespace, while the release is
  // the targetNamespace's (GetStorageNamespace / GetReleaseNamespace): flux-system with targetNamespace is the usual case.
  it('judges a record stored in flux-system in the namespace it names, not refused as unreadable', () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('namespace', namespace({ name: NS }));
    model.upsert('namespace', namespace({ name: 'flux-system' }));
    const clean = validator.handle(releaseRequest({}, { storedIn: 'flux-system' }), context(model));
    expect(clean.status?.message).toBeUndefined();
    expect(clean.allowed).toBe(true);
    const orphan = validator.handle(releaseRequest({}, { storedIn: 'flux-system' }), context(leftover()));
    expect(orphan.allowed).toBe(false);
    expect(orphan.status!.message).toContain(`${NS}/${ORPHAN}`);
  });
});

describe('in a storage namespace (helm.storageNamespaces) the namespace override is the release namespace\'s', () => {
  const sdk: Config = { ...config, helm: { ...config.helm, storageNamespaces: ['flux-system'] } };
  const sdkValidator = helmReleaseValidator(sdk);
  afterAll(() => sdkValidator.close?.());
  const SKIP = { 'volume-guard.io/skip': 'orphan-pvc', 'volume-guard.io/skip-by': 'admin' };
  /** devlake's leftover PVC, with the namespace annotations given to flux-system and devlake. */
  function model(annotations: { storage?: Record<string, string>; release?: Record<string, string> }): ClusterModel {
    const built = leftover();
    built.upsert('namespace', namespace({ name: 'flux-system', annotations: annotations.storage ?? {} }));
    built.upsert('namespace', namespace({ name: NS, annotations: annotations.release ?? {} }));
    return built;
  }
  const stored = (release: Partial<ReleaseFixture> = {}, options: Options = {}): AdmissionRequest =>
    releaseRequest(release, { storedIn: 'flux-system', ...options });

  it('a skip on the storage namespace does not waive checks of a release of another namespace', async () => {
    const decision = sdkValidator.handle(stored(), context(model({ storage: SKIP }), { config: sdk }));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain(`${NS}/${ORPHAN}`);
    const pooled = await sdkValidator.handleAsync!(stored(), context(model({ storage: SKIP }), { config: sdk }));
    expect(pooled.allowed).toBe(false);
  });

  it("the release namespace's skip waives them, and its unknown keys are the ones warned about", () => {
    const decision = sdkValidator.handle(stored(), context(model({ release: SKIP }), { config: sdk }));
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations?.['override-source']).toBe(`namespace ${NS}`);
    const typo = { 'volume-guard.io/skip': 'orphn-pvc', 'volume-guard.io/skip-by': 'admin' };
    const warned = sdkValidator.handle(stored(), context(model({ release: typo }), { config: sdk }));
    expect(warned.warnings?.join('\n')).toContain(`namespace ${NS}`);
    const storageTypo = sdkValidator.handle(stored(), context(model({ storage: typo }), { config: sdk }));
    expect(storageTypo.warnings?.join('\n') ?? '').not.toContain('namespace flux-system');
  });

  it("a record whose release namespace cannot be read is not waived by the storage namespace's skip", () => {
    const broken = stored();
    const object = broken.object as { data: { release: string } };
    object.data.release = Buffer.from('not a release').toString('base64');
    const decision = sdkValidator.handle(broken, context(model({ storage: SKIP, release: SKIP }), { config: sdk }));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('cannot check Helm release Secret flux-system/sh.helm.release.v1.devlake.v1');
    // The release label still overrides it (it does not depend on the namespace).
    const labelled = stored({}, { extraLabels: { 'volume-guard.io/skip': 'orphan-pvc' } });
    (labelled.object as { data: { release: string } }).data.release = object.data.release;
    expect(sdkValidator.handle(labelled, context(model({ storage: SKIP }), { config: sdk })).allowed).toBe(true);
    // A rollback takes no labels: the denial does not point at a namespace annotation that would not count.
    const rollback = stored({ version: 3, status: 'pending-rollback' });
    (rollback.object as { data: { release: string } }).data.release = object.data.release;
    const refused = sdkValidator.handle(rollback, context(model({ storage: SKIP }), { config: sdk }));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).not.toContain('kubectl annotate namespace');
    expect(refused.status!.message).toContain('takes no override');
  });

  it("a record that decoded but whose manifest did not parse is waived by its release namespace's skip only", () => {
    const invalid = `${devlakeManifest()}---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: [unclosed\n`;
    const storageOnly = sdkValidator.handle(stored({ manifest: invalid }), context(model({ storage: SKIP }), { config: sdk }));
    expect(storageOnly.allowed).toBe(false);
    expect(storageOnly.status!.message).toContain('not valid YAML');
    const releaseSkip = sdkValidator.handle(stored({ manifest: invalid }), context(model({ release: SKIP }), { config: sdk }));
    expect(releaseSkip.allowed).toBe(true);
    expect(releaseSkip.warnings?.join('\n')).toContain('not checked');
  });

  it('outside helm.storageNamespaces the storage namespace is the release namespace, readable or not', () => {
    const broken = releaseRequest({});
    (broken.object as { data: { release: string } }).data.release = Buffer.from('not a release').toString('base64');
    expect(validator.handle(broken, context(model({ release: SKIP }))).allowed).toBe(true);
    expect(validator.handle(releaseRequest({}), context(model({ release: SKIP }))).allowed).toBe(true);
  });

  it('the uninstall warnings of a release stored elsewhere list its own namespace\'s PVCs', () => {
    const decision = sdkValidator.handle(stored({ status: 'uninstalling' }, { operation: 'UPDATE' }), context(model({}), { config: sdk }));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain(`PVC ${NS}/${ORPHAN}`);
  });
});

describe('release-label overrides count only in the revision that set them', () => {
  const skip = { 'volume-guard.io/skip': 'orphan-pvc' };

  it('an install honors the label of an allowed writer (Helm takes install labels from the command line only)', () => {
    expect(validator.handle(releaseRequest({}, { extraLabels: skip }), context(leftover())).allowed).toBe(true);
    expect(validator.handle(releaseRequest({}, { extraLabels: skip, user: ALICE }), context(leftover())).allowed).toBe(false);
  });

  it('an upgrade carrying the label from an earlier revision is not skipped, and says how to scope it', () => {
    const upgrade = { version: 4, status: 'pending-upgrade' };
    const carried = validator.handle(releaseRequest(upgrade, { extraLabels: skip }), context(leftover()));
    expect(carried.allowed).toBe(false);
    expect(carried.warnings?.join('\n')).toContain('left from an earlier revision and not honored');
    expect(carried.status!.message).toContain(`${SKIP_REVISION_KEY}=4`);
    // The same label with the revision scoped to this upgrade: honored, and audited with the revision.
    const scoped = validator.handle(releaseRequest(upgrade, { extraLabels: { ...skip, [SKIP_REVISION_KEY]: '4' } }), context(leftover()));
    expect(scoped.allowed).toBe(true);
    expect(scoped.auditAnnotations?.['override-source']).toBe('release label (revision 4)');
    // A revision set for an earlier upgrade (copied forward by Helm) counts no more.
    const stale = validator.handle(releaseRequest({ version: 5, status: 'pending-upgrade' }, { extraLabels: { ...skip, [SKIP_REVISION_KEY]: '4' } }), context(leftover()));
    expect(stale.allowed).toBe(false);
  });

  it('a rollback never honors labels (it copies them from the revision it returns to)', () => {
    const result = releaseLabelOverride({ ...skip, [SKIP_REVISION_KEY]: '3' }, { version: 3 }, 'rollback', ADMIN);
    expect(result.source).toBeUndefined();
    expect(result.warnings.join('\n')).toContain('a rollback copies labels');
  });

  it('a skip-revision ahead of the revision is refused: nobody arms an override for a later upgrade', () => {
    const armed = validator.handle(
      releaseRequest({ version: 2, status: 'pending-upgrade' }, { extraLabels: { ...skip, [SKIP_REVISION_KEY]: '3' }, user: ALICE }),
      context(new ClusterModel(VOLUME_SETS)),
    );
    expect(armed.allowed).toBe(false);
    expect(armed.status!.message).toContain(`${SKIP_REVISION_KEY}=3 does not name this revision (2)`);
    expect(releaseLabelOverride({ [SKIP_REVISION_KEY]: 'x' }, { version: 1 }, 'install', ADMIN).refusal).toBeDefined();
  });

  it('a label refused for its writer is not honored later for an allowed writer', () => {
    // alice's label in revision 2 was ignored (she may not write overrides); revision 3 by the admin carries it.
    const later = validator.handle(
      releaseRequest({ version: 3, status: 'pending-upgrade' }, { extraLabels: { ...skip, [SKIP_REVISION_KEY]: '2' } }),
      context(leftover()),
    );
    expect(later.allowed).toBe(false);
  });
});

describe('pvc-delete at the release record', () => {
  /** A PVC Helm created for the release from a template, Bound. */
  function templatedClaim(model: ClusterModel, name: string, annotations: Record<string, string> = {}, reclaimPolicy = 'Delete'): void {
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}`, annotations: { 'meta.helm.sh/release-name': 'devlake', 'meta.helm.sh/release-namespace': NS, ...annotations } }));
    model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy }));
  }
  const pvcDoc = (name: string, keep = false): string =>
    `---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: ${name}\n${keep ? '  annotations:\n    helm.sh/resource-policy: keep\n' : ''}spec:\n  accessModes: [ReadWriteOnce]\n`;

  it('refuses an upgrade whose manifest drops a Bound PVC the release created, saying what the reclaim policy does', () => {
    const model = new ClusterModel(VOLUME_SETS);
    templatedClaim(model, 'uploads');
    const dropped = validator.handle(releaseRequest({ version: 2, status: 'pending-upgrade', manifest: pvcDoc('other') }), context(model));
    expect(dropped.allowed).toBe(false);
    expect(dropped.status!.message).toContain('[pvc-delete]');
    expect(dropped.status!.message).toContain(`${NS}/uploads`);
    expect(dropped.status!.message).toContain('reclaim policy Delete destroys the volume and its data');
    // Still declared, kept by policy on the live object, or an install: allowed.
    expect(validator.handle(releaseRequest({ version: 2, status: 'pending-upgrade', manifest: pvcDoc('uploads') }), context(model)).allowed).toBe(true);
    expect(validator.handle(releaseRequest({ version: 1, status: 'pending-install', manifest: pvcDoc('other') }), context(model)).allowed).toBe(true);
    const kept = new ClusterModel(VOLUME_SETS);
    templatedClaim(kept, 'uploads', { 'helm.sh/resource-policy': 'keep' });
    expect(validator.handle(releaseRequest({ version: 2, status: 'pending-upgrade', manifest: pvcDoc('other') }), context(kept)).allowed).toBe(true);
    // PVCs of other releases are not this release's to drop.
    const other = new ClusterModel(VOLUME_SETS);
    templatedClaim(other, 'uploads', { 'meta.helm.sh/release-name': 'shop' });
    expect(validator.handle(releaseRequest({ version: 2, status: 'pending-rollback', manifest: pvcDoc('other') }), context(other)).allowed).toBe(true);
  });

  it('warns at uninstall which templated PVCs Helm deletes and what happens to their data', () => {
    const model = new ClusterModel(VOLUME_SETS);
    templatedClaim(model, 'uploads');
    templatedClaim(model, 'archive', {}, 'Retain');
    templatedClaim(model, 'kept', { 'helm.sh/resource-policy': 'keep' });
    const manifest = pvcDoc('uploads') + pvcDoc('archive') + pvcDoc('kept', true);
    const decision = validator.handle(releaseRequest({ status: 'uninstalling', manifest }, { operation: 'UPDATE' }), context(model));
    expect(decision.allowed).toBe(true);
    const text = decision.warnings!.join('\n');
    expect(text).toContain('uninstalling devlake/devlake deletes 2 templated PVCs:');
    expect(text).toContain('- PVC devlake/uploads (PV pv-uploads, reclaim Delete: data destroyed)');
    expect(text).toContain('- PVC devlake/archive (PV pv-archive, reclaim Retain: data kept on a Released PV)');
    expect(text).toContain('PVC devlake/kept (PV pv-kept, reclaim Delete)'); // left behind, listed as such
    expect(decision.warnings!.every((line) => line.length <= 120)).toBe(true);
  });
});
