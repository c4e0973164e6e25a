// A refused `helm upgrade` that would delete 14 claims (it drops their StatefulSet, whenDeleted: Delete): the
// denial lists what fits its length and counts the rest, without sending the operator to `volume-guard audit
// --release`, which lists what a re-install would adopt, not what an upgrade deletes. With short lines, the ten
// listed and the rest named (orphan-pvc-every-name.test.ts).
import { describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { MAX_DENIAL_LENGTH } from '../../../src/admission/messages.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { devlakeManifest, releaseSecret } from '../helm/helm-fixtures.ts';

const NS = 'devlake';
const CLAIMS = Array.from({ length: 14 }, (_, i) => `devlake-lake-config-devlake-lake-${i}`);

function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  const live = (name: string, claimTemplates: string[], uid: string, replicas: number) =>
    statefulSet({ namespace: NS, name, uid, replicas, claimTemplates, selector: { 'app.kubernetes.io/instance': 'devlake' }, helmReleaseName: 'devlake', helmReleaseNamespace: NS });
  model.upsert('statefulSet', live('devlake-mysql', ['devlake-mysql-data'], 'uid-mysql', 1));
  model.upsert('statefulSet', live('devlake-lake', ['devlake-lake-config'], 'uid-lake', CLAIMS.length));
  for (const name of CLAIMS) {
    model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
    model.upsert(
      'persistentVolumeClaim',
      pvc({
        namespace: NS,
        name,
        volumeName: `pv-${name}`,
        labels: { 'app.kubernetes.io/instance': 'devlake' },
        // whenDeleted: Delete made the StatefulSet their owner.
        ownerReferences: [{ kind: 'StatefulSet', name: 'devlake-lake', uid: 'uid-lake' }],
      }),
    );
  }
  return model;
}

describe('a refused helm upgrade deleting more claims than a denial lists', () => {
  it('lists what fits and counts the rest, with no pointer to the audit', () => {
    const model = cluster();
    const upgrade = request({
      kind: { group: '', version: 'v1', kind: 'Secret' },
      resource: { group: '', version: 'v1', resource: 'secrets' },
      operation: 'CREATE',
      namespace: NS,
      name: 'sh.helm.release.v1.devlake.v2',
      userInfo: ADMIN,
      object: releaseSecret({ name: 'devlake', namespace: NS, version: 2, status: 'pending-upgrade', manifest: devlakeManifest({ withLake: false }) }),
    });
    const decision = helmReleaseValidator(defaultConfig()).handle(upgrade, context(model));
    const message = decision.status?.message ?? '';
    expect(decision.allowed).toBe(false);
    const listed = CLAIMS.filter((claim) => new RegExp(`PVC ${NS}/${claim}(?![0-9])`).test(message));
    expect(listed.length).toBeGreaterThan(0);
    expect(message).toContain(`  and ${CLAIMS.length - listed.length} more\n`);
    expect(message).not.toContain('all of them: volume-guard audit');
    expect(message.length).toBeLessThanOrEqual(MAX_DENIAL_LENGTH);
  });
});
