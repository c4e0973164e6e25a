// A PVC approved for reuse (volume-guard.io/reuse: "true") that a StatefulSet created by the revision adopts under
// persistentVolumeClaimRetentionPolicy.whenDeleted: Delete becomes that StatefulSet's dependent: the StatefulSet
// controller sets itself as owner of every claim of its pods under that policy, adopted ones included
// (pkg/controller/statefulset stateful_set_utils.go updateClaimOwnerRefForSetAndPod), so deleting the StatefulSet
// deletes the reused data: at helm uninstall, or when a failed install or upgrade is undone (--atomic,
// --rollback-on-failure, Flux's remediation). The install itself loses nothing: allowed, with a warning naming it.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseSecret, statefulSetManifest } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const validator = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await validator.close?.();
});

const install = (whenDeleted: string) =>
  request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: NS,
    name: 'sh.helm.release.v1.db.v1',
    object: releaseSecret({ name: 'db', namespace: NS, version: 1, status: 'pending-install', manifest: statefulSetManifest({ replicas: 1, whenDeleted }) }),
  });

function cluster(annotations: Record<string, string>): ClusterModel {
  const model = new ClusterModel();
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('persistentVolume', pv({ name: 'pv-data-db-0', claimNamespace: NS, claimName: 'data-db-0', reclaimPolicy: 'Delete' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-0', volumeName: 'pv-data-db-0', annotations }));
  return model;
}

const APPROVED = { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin' };

describe('a reused PVC adopted by a new StatefulSet with whenDeleted: Delete', () => {
  it('is allowed (the reuse approval), with a warning that deleting the StatefulSet deletes the reused data', () => {
    const decision = validator.handle(install('Delete'), context(cluster(APPROVED)));
    expect(decision.allowed).toBe(true);
    const text = decision.warnings?.join('\n') ?? '';
    expect(text).toContain('1 PVC approved for reuse will be owned by a new StatefulSet (whenDeleted: Delete):');
    expect(text).toContain('- data-db-0');
    expect(text).toContain('a failed --atomic or --rollback-on-failure undone) deletes that data with it');
    expect(decision.warnings!.every((line) => line.length <= 120)).toBe(true);
  });

  it('no such warning under whenDeleted: Retain, without a counting approval (refused instead), or over a live StatefulSet', () => {
    expect(validator.handle(install('Retain'), context(cluster(APPROVED))).warnings?.join('\n') ?? '').not.toContain('approved for reuse');
    const unapproved = validator.handle(install('Delete'), context(cluster({ 'volume-guard.io/reuse': 'true' })));
    expect(unapproved.allowed).toBe(false);
    expect(unapproved.warnings?.join('\n') ?? '').not.toContain('approved for reuse will be owned');
    const live = cluster(APPROVED);
    live.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', helmReleaseName: 'db', helmReleaseNamespace: NS }));
    expect(validator.handle(install('Delete'), context(live)).warnings?.join('\n') ?? '').not.toContain('approved for reuse');
  });
});
