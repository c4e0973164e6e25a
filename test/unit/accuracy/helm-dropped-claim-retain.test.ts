// Issue 20's review: a Helm upgrade or rollback that stops declaring a PVC (or drops a StatefulSet whose claims name
// it as owner) makes Helm (or the garbage collector) delete the claim. Under reclaim policy Retain the PV controller
// only marks its PV Released and keeps the data on it: nothing is lost, as a GitOps prune of the same claim
// (collectPvcDelete) already says by passing. So the Retain case is a warning that says where the data stays and how
// to reuse or free it; Delete and Recycle stay refused.
import { afterAll, describe, expect, it } from 'vitest';
import type { AdmissionRequest, Decision } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { collectDroppedPvcs } from '../../../src/checks/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { parseManifest } from '../../../src/helm/manifest.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseSecret, statefulSetManifest, type ReleaseFixture } from '../helm/helm-fixtures.ts';

const config = defaultConfig();
const validator = helmReleaseValidator(config);
afterAll(() => validator.close?.());

const HELM = { 'meta.helm.sh/release-name': 'app', 'meta.helm.sh/release-namespace': 'shop' };
const CM_DOC = `---
# Source: app/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: shop
data:
  a: b
`;

function upgrade(manifest: string, status: 'pending-upgrade' | 'pending-rollback' = 'pending-upgrade'): AdmissionRequest {
  const fixture: ReleaseFixture = { name: 'app', namespace: 'shop', version: 2, status, manifest, chartName: 'app' };
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: 'shop',
    name: 'sh.helm.release.v1.app.v2',
    userInfo: ADMIN,
    object: releaseSecret(fixture),
  });
}

/** PVC shop/app-data, created by Helm for release shop/app, Bound to PV pv-app with this reclaim policy. */
function templated(...policies: string[]): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: 'shop' }));
  policies.forEach((reclaimPolicy, index) => {
    const name = index === 0 ? 'app-data' : `app-data-${index}`;
    // Recycle wipes only what a recycler serves (hostPath, NFS): a CSI PV under it is marked Failed, its data kept.
    const source = reclaimPolicy === 'Recycle' ? { source: 'nfs' as const, driver: '' } : {};
    model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: 'shop', claimName: name, reclaimPolicy, ...source }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name, volumeName: `pv-${name}`, annotations: HELM }));
  });
  return model;
}

/** StatefulSet shop/db of release shop/app, owning its Bound claim data-db-0 (whenDeleted: Delete) on a PV with this policy. */
function withStatefulSet(reclaimPolicy: string): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: 'shop' }));
  model.upsert('statefulSet', statefulSet({ namespace: 'shop', name: 'db', uid: 'uid-db', helmReleaseName: 'app', helmReleaseNamespace: 'shop' }));
  model.upsert('persistentVolume', pv({ name: 'pv-db', claimNamespace: 'shop', claimName: 'data-db-0', reclaimPolicy }));
  model.upsert(
    'persistentVolumeClaim',
    pvc({ namespace: 'shop', name: 'data-db-0', volumeName: 'pv-db', labels: { 'app.kubernetes.io/instance': 'app' }, ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 'uid-db', controller: true }] }),
  );
  model.upsert('pod', pod({ namespace: 'shop', name: 'db-0', claimNames: ['data-db-0'], controllerKind: 'StatefulSet' }));
  return model;
}

/** The refusal and the warnings, a wrapped warning's continuations joined back to its line. */
const said = (decision: Decision): string => [decision.status?.message ?? '', ...(decision.warnings ?? [])].join('\n').replace(/\n {2}/g, ' ');

describe('a Helm upgrade no longer declaring a PVC whose PV says Retain', () => {
  it('is allowed with a warning: the PV is kept Released with the data, and how to reuse or delete it', () => {
    const decision = validator.handle(upgrade(CM_DOC), context(templated('Retain'), { config }));
    expect(decision.allowed, said(decision)).toBe(true);
    const warnings = (decision.warnings ?? []).join('\n').replace(/\n {2}/g, ' ');
    expect(warnings).toContain('volume-guard [pvc-delete] 1 Bound PVC would be deleted; reclaim Retain keeps the data');
    expect(warnings).not.toContain('with the data on');
    expect(warnings).toContain('shop/app-data');
    expect(warnings).toContain('no longer declares it, so Helm deletes it');
    expect(warnings).toContain('reclaim policy Retain keeps the data on PV pv-app-data, Released');
    expect(warnings).toContain(`kubectl patch pv pv-app-data -p '{"spec":{"claimRef":null}}'`);
    expect(warnings).toContain('bind a new PVC with spec.volumeName: pv-app-data');
    expect(warnings).toContain('kubectl delete pv pv-app-data');
  });

  it('a rollback the same', () => {
    const decision = validator.handle(upgrade(CM_DOC, 'pending-rollback'), context(templated('Retain'), { config }));
    expect(decision.allowed, said(decision)).toBe(true);
    expect(said(decision)).toContain('this rollback no longer declares it');
  });

  it('Delete or Recycle: refused, as before', () => {
    for (const policy of ['Delete', 'Recycle']) {
      const decision = validator.handle(upgrade(CM_DOC), context(templated(policy), { config }));
      expect(decision.allowed, policy).toBe(false);
      expect(decision.status?.message).toContain('PVC shop/app-data (PV pv-app-data): this upgrade no longer declares it, so Helm deletes it');
    }
  });

  it('one Delete beside one Retain: refused for the Delete one, the Retain one told apart', () => {
    const decision = validator.handle(upgrade(CM_DOC), context(templated('Delete', 'Retain'), { config }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('PVC shop/app-data (PV pv-app-data)');
    expect(said(decision)).toContain('reclaim policy Retain keeps the data on PV pv-app-data-1, Released');
  });

  it('the finding is a warning (reclaim-retain), a Delete one critical', () => {
    const manifest = parseManifest(CM_DOC, 'shop');
    const release = { name: 'app', namespace: 'shop', version: 2, status: 'pending-upgrade', manifest: CM_DOC, chartName: 'app', chartVersion: '', labels: {} };
    const findings = collectDroppedPvcs(templated('Retain', 'Delete'), { release, operation: 'upgrade', manifest }).findings;
    expect(findings.map((finding) => [finding.object.name, finding.severity, finding.tags.includes('reclaim-retain')])).toEqual([
      ['app-data', 'warning', true],
      ['app-data-1', 'critical', false],
    ]);
  });
});

describe('a Helm upgrade dropping a StatefulSet whose claims are deleted with it (whenDeleted: Delete)', () => {
  it('their PV says Retain: allowed with a warning naming the claim and its Released PV', () => {
    const decision = validator.handle(upgrade(CM_DOC), context(withStatefulSet('Retain'), { config }));
    expect(decision.allowed, said(decision)).toBe(true);
    const warnings = (decision.warnings ?? []).join('\n').replace(/\n {2}/g, ' ');
    expect(warnings).toContain('shop/data-db-0');
    expect(warnings).toContain('drops StatefulSet db');
    expect(warnings).toContain('reclaim policy Retain keeps the data on PV pv-db, Released');
  });

  it('their PV says Delete: refused (control)', () => {
    const decision = validator.handle(upgrade(CM_DOC), context(withStatefulSet('Delete'), { config }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('PVC shop/data-db-0 (PV pv-db): this upgrade drops StatefulSet db');
  });

  it('kept in the chart: nothing said about it (control)', () => {
    const decision = validator.handle(upgrade(statefulSetManifest({ name: 'db', whenDeleted: 'Delete' })), context(withStatefulSet('Retain'), { config }));
    expect(decision.allowed, said(decision)).toBe(true);
    expect(said(decision)).not.toContain('data-db-0');
  });
});
