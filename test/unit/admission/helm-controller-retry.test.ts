// A release record written by a service account is advised how to run it again. Flux's helm-controller does not retry
// a refused install or upgrade by default (remediation retries default to 0: the HelmRelease stalls until forced, `flux
// reconcile helmrelease NAME -n NS --force`), and a CI job running helm as a service account retries nothing.
import { expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { devlakeManifest, releaseRecordRequest } from '../helm/helm-fixtures.ts';

const validator = createValidators(defaultConfig()).find((x) => x.declaration.target === 'helm-release')!;

function refusalFor(user: UserInfo): string {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: 'shop' }));
  const claim = 'devlake-mysql-data-devlake-mysql-0';
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: claim, labels: { 'app.kubernetes.io/instance': 'devlake' } }));
  model.upsert('persistentVolume', pv({ name: `pv-${claim}`, claimNamespace: 'shop', claimName: claim, reclaimPolicy: 'Retain' }));
  const upgrade: AdmissionRequest = { ...releaseRecordRequest({ name: 'devlake', namespace: 'shop', version: 2, status: 'pending-upgrade', manifest: devlakeManifest() }), userInfo: user };
  const refused = validator.handle(upgrade, context(model));
  expect(refused.allowed).toBe(false);
  return refused.status?.message ?? '';
}

it("does not promise that Flux's helm-controller retries on its own", () => {
  const text = refusalFor({ username: 'system:serviceaccount:flux-system:helm-controller', groups: ['system:serviceaccounts'] });
  expect(text).not.toContain('let flux-system/helm-controller retry');
  expect(text).toContain('flux reconcile helmrelease');
});

it('does not call a CI job running helm as a service account a controller that retries', () => {
  const text = refusalFor({ username: 'system:serviceaccount:ci:deployer', groups: ['system:serviceaccounts'] });
  expect(text).not.toContain('let ci/deployer retry');
});
