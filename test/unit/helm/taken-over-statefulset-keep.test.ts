// No warning about a taken-over PVC whose LIVE object says `helm.sh/resource-policy: keep` (Helm's
// kube.Client Update Gets the live object of each dropped resource and skips the delete when
// annotations["helm.sh/resource-policy"] == "keep"). The same Helm code path decides for a taken-over StatefulSet,
// yet takenOverFromRelease still warns "if revision N-1 still renders it, this upgrade deletes it" for a StatefulSet
// whose live object says keep (StatefulSetRecord.helmKeep, read exactly as Helm reads it).
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseSecret } from './helm-fixtures.ts';

const config = defaultConfig();
const validator = helmReleaseValidator(config);
afterAll(() => validator.close?.());

const CM_DOC = `---
# Source: app/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  a: b
`;

function model(keep: boolean): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: 'shop' }));
  m.upsert(
    'statefulSet',
    statefulSet({ namespace: 'shop', name: 'db', helmReleaseName: 'other', helmReleaseNamespace: 'shop', helmKeep: keep, ...(keep ? { helmPolicy: true as const } : {}) }),
  );
  m.upsert('persistentVolume', pv({ name: 'pv-a', claimNamespace: 'shop', claimName: 'data-db-0', reclaimPolicy: 'Delete' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', volumeName: 'pv-a', labels: { 'app.kubernetes.io/instance': 'app' } }));
  return m;
}

const upgrade = () =>
  request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: 'shop',
    name: 'sh.helm.release.v1.app.v3',
    userInfo: ADMIN,
    object: releaseSecret({ name: 'app', namespace: 'shop', version: 3, status: 'pending-upgrade', manifest: CM_DOC, chartName: 'app' }),
  });

describe('a taken-over StatefulSet kept by helm.sh/resource-policy: keep on the live object', () => {
  it('is still warned about without keep (control)', () => {
    const decision = validator.handle(upgrade(), context(model(false), { config }));
    expect((decision.warnings ?? []).join('\n')).toContain('StatefulSet shop/db');
  });
  it("app's upgrade does not say it deletes it", () => {
    const decision = validator.handle(upgrade(), context(model(true), { config }));
    expect(decision.allowed).toBe(true);
    expect((decision.warnings ?? []).join('\n')).not.toContain('StatefulSet shop/db');
  });
});
