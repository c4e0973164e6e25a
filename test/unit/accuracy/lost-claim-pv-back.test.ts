// A claim in phase Lost is not always data-less. The PV controller's syncBoundClaim
// (pkg/controller/volume/persistentvolume/pv_controller.go) sets Lost while the PV named by spec.volumeName is missing,
// but once a PV of that name is back (the admin recreated the Retain PV object, same volumeHandle) with no claimRef or a
// claimRef to this claim, it binds them again and the claim is Bound with the old data on its next sync. Only a PV
// bound to another claim (or none at all) makes Lost terminal: adopting such a claim is judged like a bound one.
import { describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { releaseSecret, statefulSetManifest } from '../helm/helm-fixtures.ts';

const NS = 'app';
const CLAIM = 'data-db-0';

function installOfDb() {
  const fixture = { name: 'db', namespace: NS, version: 1, status: 'pending-install', manifest: statefulSetManifest({ replicas: 1 }) };
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: NS,
    name: 'sh.helm.release.v1.db.v1',
    userInfo: ADMIN,
    object: releaseSecret(fixture),
  });
}

describe('a Lost leftover claim whose PV is back', () => {
  for (const [label, claimRef] of [
    ['recreated without claimRef (Available)', { claimNamespace: '', claimName: '', phase: 'Available' }],
    ['recreated with its claimRef to this claim', { claimNamespace: NS, claimName: CLAIM, phase: 'Bound' }],
  ] as const) {
    it(`${label}: refused, as the PV controller binds it again with its data`, () => {
      const model = new ClusterModel(VOLUME_SETS);
      model.upsert('namespace', namespace({ name: NS }));
      model.upsert('persistentVolume', pv({ name: 'pv-old', reclaimPolicy: 'Retain', ...claimRef }));
      model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: CLAIM, phase: 'Lost', volumeName: 'pv-old' }));
      const decision = helmReleaseValidator(defaultConfig()).handle(installOfDb(), context(model));
      expect(decision.allowed, JSON.stringify(decision.warnings)).toBe(false);
    });
  }
});
