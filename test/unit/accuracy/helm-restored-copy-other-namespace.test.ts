// A copy of a release's PVC Velero restored into another namespace (--namespace-mappings tools:tools-restore) keeps
// Helm's annotations naming release tools/app, and Velero's restore label. No revision of tools/app ever rendered
// tools-restore/app-data, so no upgrade deletes it (Helm deletes only what the previous revision's manifest rendered:
// pkg/kube client Update, original.Difference(target)): an upgrade of tools/app still rendering its own tools/app-data
// is not refused for it, only warned about.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { releaseSecret, type ReleaseFixture } from '../helm/helm-fixtures.ts';

const config = defaultConfig();
const validator = helmReleaseValidator(config);
afterAll(() => validator.close?.());

const HELM = { 'meta.helm.sh/release-name': 'app', 'meta.helm.sh/release-namespace': 'tools' };
const PVC_DOC = `---
# Source: app/templates/pvc.yaml
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: app-data
  namespace: tools
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
`;

function upgrade(manifest: string): AdmissionRequest {
  const fixture: ReleaseFixture = { name: 'app', namespace: 'tools', version: 2, status: 'pending-upgrade', manifest, chartName: 'app' };
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: 'tools',
    name: 'sh.helm.release.v1.app.v2',
    userInfo: ADMIN,
    object: releaseSecret(fixture),
  });
}

function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: 'tools' }));
  model.upsert('namespace', namespace({ name: 'tools-restore' }));
  // The release's own claim, still rendered.
  model.upsert('persistentVolume', pv({ name: 'pv-app', claimNamespace: 'tools', claimName: 'app-data', reclaimPolicy: 'Delete' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'tools', name: 'app-data', volumeName: 'pv-app', annotations: HELM }));
  // The restored copy, with the annotations it was backed up with.
  model.upsert('persistentVolume', pv({ name: 'pv-restored', claimNamespace: 'tools-restore', claimName: 'app-data', reclaimPolicy: 'Delete' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'tools-restore', name: 'app-data', volumeName: 'pv-restored', annotations: HELM, labels: { 'velero.io/restore-name': 'tools-20261206' } }));
  return model;
}

describe('a restored copy of a release PVC in another namespace', () => {
  it('does not make an upgrade that still renders the release\'s own PVC refused', () => {
    const decision = validator.handle(upgrade(PVC_DOC), context(cluster(), { config }));
    expect(decision.allowed, decision.status?.message).toBe(true);
  });
});
