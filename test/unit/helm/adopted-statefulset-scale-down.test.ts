// A Helm install or upgrade that adopts a live StatefulSet it did not manage before and lowers its
// replicas under whenScaled: Delete. Helm patches an adopted object to the rendered spec (install.go performInstall:
// KubeClient.Update(toBeAdopted, resources, ...) after existingResourceConflict, which adopts an object annotated for the
// same release, e.g. one kept by helm.sh/resource-policy at uninstall, or requireAdoption with --take-ownership;
// upgrade.go appends the adopted objects to `current` and updates them). The StatefulSet controller then condemns the
// pods above the new count and, under whenScaled: Delete, deletes their PVCs (stateful_set_control.go, condemned pods'
// claims). Those claims' data is gone under reclaim Delete. The same scale-down is refused when the StatefulSet was the
// release's all along (upgrade); it must be when Helm takes it over too.
import { afterAll, describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { StatefulSetRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseSecret, type ReleaseFixture } from './helm-fixtures.ts';

const config = defaultConfig();
const validator = helmReleaseValidator(config);
afterAll(() => validator.close?.());

const MANIFEST = `---
# Source: app/templates/sts.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  replicas: 1
  serviceName: db
  selector:
    matchLabels:
      app.kubernetes.io/instance: app
  persistentVolumeClaimRetentionPolicy:
    whenScaled: Delete
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: app
    spec:
      containers: [{name: c, image: x}]
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: ["ReadWriteOnce"]
        resources: {requests: {storage: 1Gi}}
`;

function record(version: number, status: 'pending-install' | 'pending-upgrade'): AdmissionRequest {
  const fixture: ReleaseFixture = { name: 'app', namespace: 'shop', version, status, manifest: MANIFEST, chartName: 'app' };
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: 'shop',
    name: `sh.helm.release.v1.app.v${version}`,
    userInfo: ADMIN,
    object: releaseSecret(fixture),
  });
}

/** Live StatefulSet shop/db running 3 pods under whenScaled: Delete, each pod's claim Bound under reclaim Delete. */
function running(fields: Partial<StatefulSetRecord>): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: 'shop' }));
  model.upsert('statefulSet', statefulSet({ namespace: 'shop', name: 'db', uid: 'uid-db', replicas: 3, whenScaled: 'Delete', ...fields }));
  for (const ordinal of [0, 1, 2]) {
    const name = `data-db-${ordinal}`;
    model.upsert('persistentVolume', pv({ name: `pv-${ordinal}`, claimNamespace: 'shop', claimName: name, reclaimPolicy: 'Delete' }));
    model.upsert(
      'persistentVolumeClaim',
      pvc({ namespace: 'shop', name, volumeName: `pv-${ordinal}`, ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 'uid-db', controller: false }] as never }),
    );
    model.upsert('pod', pod({ namespace: 'shop', name: `db-${ordinal}`, claimNames: [name], controllerKind: 'StatefulSet' }));
  }
  return model;
}

const cases: [string, Partial<StatefulSetRecord>][] = [
  ['managed by nothing (--take-ownership)', {}],
  ['of another release (--take-ownership)', { helmReleaseName: 'other', helmReleaseNamespace: 'shop' }],
  ['kept by this release at an earlier uninstall (adopted by a plain install)', { helmReleaseName: 'app', helmReleaseNamespace: 'shop', helmKeep: true, helmPolicy: true }],
];

describe('a Helm install adopting a live StatefulSet and lowering its replicas under whenScaled: Delete', () => {
  for (const [what, fields] of cases) {
    it(`is refused for the PVCs of the pods it scales away: StatefulSet ${what}`, () => {
      const decision = validator.handle(record(1, 'pending-install'), context(running(fields), { config }));
      expect(decision.allowed).toBe(false);
      expect(decision.status?.message).toContain('[pvc-delete]');
      expect(decision.status?.message).toContain('PVC shop/data-db-1');
      expect(decision.status?.message).toContain('PVC shop/data-db-2');
      expect(decision.status?.message).toContain('this install sets StatefulSet db to 1 replica;');
      expect(decision.status?.message).not.toContain('PVC shop/data-db-0');
    });
  }

  it('passes when the chart keeps the live replicas', () => {
    const decision = validator.handle(record(1, 'pending-install'), context(running({ replicas: 1 }), { config }));
    expect(decision.allowed, decision.status?.message).toBe(true);
  });
});

describe('a Helm upgrade taking over (--take-ownership) a live StatefulSet and lowering its replicas under whenScaled: Delete', () => {
  for (const [what, fields] of cases.slice(0, 2)) {
    it(`is refused: StatefulSet ${what}`, () => {
      const decision = validator.handle(record(2, 'pending-upgrade'), context(running(fields), { config }));
      expect(decision.allowed).toBe(false);
      expect(decision.status?.message).toContain('PVC shop/data-db-2');
      expect(decision.status?.message).toContain('this upgrade sets StatefulSet db to 1 replica;');
    });
  }
});
