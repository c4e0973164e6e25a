// A refused `helm upgrade` (Flux's helm-controller) dropping two StatefulSets: one of Retain claims (orphan-pvc), one
// of whenDeleted: Delete claims (pvc-delete), 23 or 24 claims each. The line naming the objects past the listing grows
// as fewer are listed, so it is used beside a full listing only: the denial stays within MAX_DENIAL_LENGTH and still
// lists claims of each check, with no pointer to `volume-guard audit --release` (what an install adopts).
import { describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { MAX_DENIAL_LENGTH } from '../../../src/admission/messages.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { devlakeManifest, releaseSecret } from '../helm/helm-fixtures.ts';

const NS = 'analytics-prod';
const FLUX = { username: 'system:serviceaccount:flux-system:helm-controller', groups: ['system:serviceaccounts'] };

function cluster(count: number): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  const live = (name: string, claimTemplates: string[], uid: string) =>
    statefulSet({ namespace: NS, name, uid, replicas: count, claimTemplates, selector: { 'app.kubernetes.io/instance': 'devlake' }, helmReleaseName: 'devlake', helmReleaseNamespace: NS });
  model.upsert('statefulSet', live('devlake-mysql', ['devlake-mysql-data'], 'uid-mysql'));
  model.upsert('statefulSet', live('devlake-lake', ['devlake-lake-config'], 'uid-lake'));
  for (let i = 0; i < count; i++) {
    const lake = `devlake-lake-config-devlake-lake-${i}`;
    model.upsert('persistentVolume', pv({ name: `pv-${lake}`, claimNamespace: NS, claimName: lake, reclaimPolicy: 'Delete' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: lake, volumeName: `pv-${lake}`, labels: { 'app.kubernetes.io/instance': 'devlake' }, ownerReferences: [{ kind: 'StatefulSet', name: 'devlake-lake', uid: 'uid-lake' }] }));
    const mysql = `devlake-mysql-data-devlake-mysql-${i}`;
    model.upsert('persistentVolume', pv({ name: `pv-${mysql}`, claimNamespace: NS, claimName: mysql, reclaimPolicy: 'Retain' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: mysql, volumeName: `pv-${mysql}`, labels: { 'app.kubernetes.io/instance': 'devlake' } }));
  }
  return model;
}

function upgradeDenial(count: number): string {
  const upgrade = request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: NS,
    name: 'sh.helm.release.v1.devlake.v2',
    userInfo: FLUX,
    // The lake StatefulSet dropped, the mysql one's claim template renamed.
    object: releaseSecret({ name: 'devlake', namespace: NS, version: 2, status: 'pending-upgrade', manifest: devlakeManifest({ withLake: false, mysqlTemplate: 'mysql-data-v2' }) }),
  });
  const decision = helmReleaseValidator(defaultConfig()).handle(upgrade, context(cluster(count)));
  expect(decision.allowed).toBe(false);
  return decision.status?.message ?? '';
}

describe('a Helm denial naming the objects past its listing', () => {
  it('stays within MAX_DENIAL_LENGTH (23 claims per check)', () => {
    expect(upgradeDenial(23).length).toBeLessThanOrEqual(MAX_DENIAL_LENGTH);
  });

  it('still names some claims, and does not point an upgrade at audit --release (24 claims per check)', () => {
    const message = upgradeDenial(24);
    expect(message).not.toContain('volume-guard audit --release');
    expect(message).toMatch(/analytics-prod\/devlake-lake-config-devlake-lake-\d/);
    expect(message).toMatch(/analytics-prod\/devlake-mysql-data-devlake-mysql-\d/);
  });
});
