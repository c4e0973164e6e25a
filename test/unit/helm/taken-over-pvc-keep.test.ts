// The warning for a PVC taken over by another release says "if revision N-1 still
// renders it, this upgrade deletes it". Helm does not delete a dropped object whose LIVE annotations carry
// `helm.sh/resource-policy: keep` (helm pkg/kube/client.go Update: for original.Difference(target), it Gets the live
// object and skips the delete when annotations[ResourcePolicyAnno] == KeepPolicy). A PVC the other release took over
// from a chart marking it keep (the usual reason to take a PVC over) is left alone: the warning is wrong there.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
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

describe('a taken-over PVC kept by helm.sh/resource-policy: keep on the live object', () => {
  it("app's upgrade does not say it deletes it", () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('namespace', namespace({ name: 'shop' }));
    model.upsert('persistentVolume', pv({ name: 'pv-a', claimNamespace: 'shop', claimName: 'app-data', reclaimPolicy: 'Delete' }));
    model.upsert(
      'persistentVolumeClaim',
      pvc({
        namespace: 'shop',
        name: 'app-data',
        volumeName: 'pv-a',
        labels: { 'app.kubernetes.io/instance': 'app' },
        annotations: { 'meta.helm.sh/release-name': 'other', 'meta.helm.sh/release-namespace': 'shop', 'helm.sh/resource-policy': 'keep' },
      }),
    );
    const upgrade = request({
      kind: { group: '', version: 'v1', kind: 'Secret' },
      resource: { group: '', version: 'v1', resource: 'secrets' },
      operation: 'CREATE',
      namespace: 'shop',
      name: 'sh.helm.release.v1.app.v3',
      userInfo: ADMIN,
      object: releaseSecret({ name: 'app', namespace: 'shop', version: 3, status: 'pending-upgrade', manifest: CM_DOC, chartName: 'app' }),
    });
    const decision = validator.handle(upgrade, context(model, { config }));
    expect(decision.allowed).toBe(true);
    expect((decision.warnings ?? []).join('\n').replace(/\n {2}/g, ' ')).not.toContain('this upgrade deletes it');
  });
});
