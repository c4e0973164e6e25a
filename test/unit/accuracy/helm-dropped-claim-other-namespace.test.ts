// A Helm release may render objects into another namespace than its own (a chart's namespaceOverride, or a template's
// explicit metadata.namespace). An upgrade or rollback that stops rendering one deletes it there: Helm deletes what the
// previous manifest rendered and the new one does not, in whatever namespace (pkg/kube/client.go update:
// originals.Difference(targets), matched on name, namespace and group/kind). A claim annotated for the release there
// is judged like one of the release's own namespace (a Velero copy restored into another namespace is only warned
// about: helm-restored-copy-other-namespace); one the new manifest still renders there is not judged as dropped.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import type { AdmissionRequest, Decision } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseSecret, statefulSetManifest, type ReleaseFixture } from '../helm/helm-fixtures.ts';

const config = defaultConfig();
const validator = helmReleaseValidator(config);
afterAll(() => validator.close?.());

const HELM = { 'meta.helm.sh/release-name': 'app', 'meta.helm.sh/release-namespace': 'tools' };

const PVC_DOC = (ns: string) => `---
# Source: app/templates/pvc.yaml
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: app-data
  namespace: ${ns}
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
`;
const CM_DOC = (ns: string) => `---
# Source: app/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: ${ns}
data:
  a: b
`;
/** StatefulSet `name` (claim template `data`, whenDeleted: Delete) rendered into namespace `ns`. */
const STS_DOC = (ns: string, name = 'db') =>
  statefulSetManifest({ name, whenDeleted: 'Delete' }).replace(`  name: ${name}\nspec:`, `  name: ${name}\n  namespace: ${ns}\nspec:`);

function releaseRequest(manifest: string, status: 'pending-upgrade' | 'pending-rollback' | 'uninstalling' = 'pending-upgrade'): AdmissionRequest {
  const fixture: ReleaseFixture = { name: 'app', namespace: 'tools', version: 2, status, manifest, chartName: 'app' };
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: status === 'uninstalling' ? 'UPDATE' : 'CREATE',
    namespace: 'tools',
    name: 'sh.helm.release.v1.app.v2',
    userInfo: ADMIN,
    object: releaseSecret(fixture),
  });
}

/** Namespaces tools and data; PVC `claimNamespace`/app-data annotated for release `releaseNamespace`/app, Bound, reclaim Delete. */
function cluster(claimNamespace = 'data', annotations: Record<string, string> = HELM): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: 'tools' }));
  model.upsert('namespace', namespace({ name: 'data' }));
  model.upsert('persistentVolume', pv({ name: 'pv-app', claimNamespace, claimName: 'app-data', reclaimPolicy: 'Delete' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: claimNamespace, name: 'app-data', volumeName: 'pv-app', annotations }));
  return model;
}

/** StatefulSet data/db annotated for release tools/app, owning its Bound claim data-db-0 (whenDeleted: Delete). */
function clusterWithStatefulSet(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: 'tools' }));
  model.upsert('namespace', namespace({ name: 'data' }));
  model.upsert('statefulSet', statefulSet({ namespace: 'data', name: 'db', uid: 'uid-db', helmReleaseName: 'app', helmReleaseNamespace: 'tools' }));
  model.upsert('persistentVolume', pv({ name: 'pv-db', claimNamespace: 'data', claimName: 'data-db-0', reclaimPolicy: 'Delete' }));
  model.upsert(
    'persistentVolumeClaim',
    pvc({ namespace: 'data', name: 'data-db-0', volumeName: 'pv-db', labels: { 'app.kubernetes.io/instance': 'app' }, ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 'uid-db', controller: true }] }),
  );
  model.upsert('pod', pod({ namespace: 'data', name: 'db-0', claimNames: ['data-db-0'], controllerKind: 'StatefulSet' }));
  return model;
}

function said(decision: Decision): string {
  return [decision.status?.message ?? '', ...(decision.warnings ?? [])].join('\n');
}

describe('an upgrade or rollback that drops a PVC the release created in another namespace', () => {
  it('is refused naming data/app-data (Helm deletes it with its data)', async () => {
    // Revision 1 rendered PVC data/app-data (a chart's namespaceOverride); revision 2 renders only a ConfigMap there.
    const decision = await validator.handleAsync!(releaseRequest(CM_DOC('data')), context(cluster(), { config }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('PVC data/app-data (PV pv-app): this upgrade no longer declares it, so Helm deletes it');
  });

  it('a rollback dropping it is refused too, and one that renders nothing in that namespace', () => {
    const decision = validator.handle(releaseRequest('', 'pending-rollback'), context(cluster(), { config }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('PVC data/app-data (PV pv-app): this rollback no longer declares it, so Helm deletes it');
  });

  it('passes while the new revision still renders it there, with no warning that it was not checked', () => {
    const decision = validator.handle(releaseRequest(PVC_DOC('data') + CM_DOC('data')), context(cluster(), { config }));
    expect(decision.allowed, said(decision)).toBe(true);
    expect(said(decision)).not.toContain('not checked');
  });

  it('a PVC there annotated for a release of another namespace of that name is not this release\'s', () => {
    const decision = validator.handle(releaseRequest(CM_DOC('data')), context(cluster('data', { ...HELM, 'meta.helm.sh/release-namespace': 'data' }), { config }));
    expect(decision.allowed, said(decision)).toBe(true);
    expect(said(decision)).not.toContain('app-data');
  });

  it('the same drop in the release namespace is refused (control)', () => {
    const decision = validator.handle(releaseRequest(CM_DOC('tools')), context(cluster('tools'), { config }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('PVC tools/app-data (PV pv-app): this upgrade no longer declares it, so Helm deletes it');
  });

  it('the uninstall warning names it among the templated PVCs Helm deletes', () => {
    const decision = validator.handle(releaseRequest(PVC_DOC('data'), 'uninstalling'), context(cluster(), { config }));
    expect(decision.allowed).toBe(true);
    expect(said(decision)).toContain('- PVC data/app-data (PV pv-app, reclaim Delete: data destroyed)');
  });
});

describe('a StatefulSet the release created in another namespace (whenDeleted: Delete)', () => {
  it('passes while the new revision still renders it there (it was judged as dropped)', () => {
    const decision = validator.handle(releaseRequest(STS_DOC('data')), context(clusterWithStatefulSet(), { config }));
    expect(decision.allowed, said(decision)).toBe(true);
    expect(said(decision)).not.toContain('not checked');
  });

  it('is refused when the new revision drops it, naming the claim deleted with it', () => {
    const decision = validator.handle(releaseRequest(CM_DOC('data')), context(clusterWithStatefulSet(), { config }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('PVC data/data-db-0 (PV pv-db): this upgrade drops StatefulSet db');
  });

  it('one this revision first renders there is not looked at (the release is not its yet): passes, counted as not checked', () => {
    const model = clusterWithStatefulSet();
    const decision = validator.handle(releaseRequest(STS_DOC('data') + STS_DOC('data', 'cache')), context(model, { config }));
    expect(decision.allowed, said(decision)).toBe(true);
    expect(said(decision)).toMatch(/StatefulSet \S+ of this release is outside namespace/);
  });
});
