// A PVC document of release `app` taken over by release `other` with `helm --take-ownership`
// (Helm 3.17+, 4): its live object is annotated for `other` and, with Helm 3's client-side merge of an adopted object
// (install.go: three-way merge from the rendered target), keeps `app`'s instance label when other's chart does not
// render one. The README's take-over section: Helm deletes what a revision drops whoever owns it now (kube.Client
// update: originals.Difference(targets), keep read on the live object only). For a taken-over StatefulSet volume-guard
// warns at an upgrade of `app` that no longer renders it (takenOverFromRelease); a taken-over PVC document is the same
// risk and got no word. At `helm uninstall app` the PVC was listed as left behind by app, "a later install of app would
// re-attach it (delete if the data is obsolete)": it is other's live data, and app's install cannot adopt an object
// annotated for another release (existingResourceConflict fails without --take-ownership).
import { afterAll, describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { releaseSecret, type ReleaseFixture } from './helm-fixtures.ts';

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

function record(status: 'pending-upgrade' | 'uninstalling'): AdmissionRequest {
  const fixture: ReleaseFixture = { name: 'app', namespace: 'shop', version: 3, status, manifest: CM_DOC, chartName: 'app' };
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: status === 'uninstalling' ? 'UPDATE' : 'CREATE',
    namespace: 'shop',
    name: 'sh.helm.release.v1.app.v3',
    userInfo: ADMIN,
    object: releaseSecret(fixture),
  });
}

function takenOver(): ClusterModel {
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
      annotations: { 'meta.helm.sh/release-name': 'other', 'meta.helm.sh/release-namespace': 'shop' },
    }),
  );
  return model;
}

const warned = (warnings: readonly string[] | undefined): string => (warnings ?? []).join('\n').replace(/\n {2}/g, ' ');

describe('a PVC taken over from release app by release other (helm --take-ownership)', () => {
  it("app's upgrade that no longer renders it warns that Helm deletes it if the previous revision rendered it", () => {
    const decision = validator.handle(record('pending-upgrade'), context(takenOver(), { config }));
    expect(decision.allowed).toBe(true);
    const text = warned(decision.warnings);
    expect(text).toContain('PVC shop/app-data');
    expect(text).toContain("now Helm release other's");
    expect(text).toContain('this upgrade deletes it');
  });

  it("app's uninstall does not list it as app's leftover for app's next install to re-attach", () => {
    const decision = validator.handle(record('uninstalling'), context(takenOver(), { config }));
    expect(decision.allowed).toBe(true);
    expect(warned(decision.warnings)).not.toContain('PVC shop/app-data');
  });
});
