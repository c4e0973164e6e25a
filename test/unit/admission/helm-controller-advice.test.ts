// A Helm upgrade written by Flux's helm-controller (an automation identity volume-guard lists itself) is refused;
// the advice is one Flux can follow: Flux's HelmRelease sets no release labels (fluxcd/helm-controller
// internal/action/upgrade.go newUpgrade never sets Labels), and the controller retries by itself.
import { expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { devlakeManifest, releaseRecordRequest } from '../helm/helm-fixtures.ts';

const validator = createValidators(defaultConfig()).find((x) => x.declaration.target === 'helm-release')!;
const FLUX_HELM: UserInfo = { username: 'system:serviceaccount:flux-system:helm-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:flux-system'] };

it("advises Flux's helm-controller an override it can use", () => {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('namespace', namespace({ name: 'shop' }));
  const claim = 'devlake-mysql-data-devlake-mysql-0';
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: claim, labels: { 'app.kubernetes.io/instance': 'devlake' } }));
  model.upsert('persistentVolume', pv({ name: `pv-${claim}`, claimNamespace: 'shop', claimName: claim, reclaimPolicy: 'Retain' }));
  const upgrade: AdmissionRequest = { ...releaseRecordRequest({ name: 'devlake', namespace: 'shop', version: 2, status: 'pending-upgrade', manifest: devlakeManifest() }), userInfo: FLUX_HELM };
  const refused = validator.handle(upgrade, context(model));
  expect(refused.allowed).toBe(false);
  const text = refused.status?.message ?? '';
  const override = text.slice(text.indexOf('Override (an authorized admin, after checking):'));
  // What works for Flux: the namespace's skip, written by an admin (checked below).
  const ns = model.namespace('shop')!;
  model.upsert('namespace', { ...ns, annotations: { 'volume-guard.io/skip': 'orphan-pvc', 'volume-guard.io/skip-reason': 'checked', 'volume-guard.io/skip-by': ADMIN.username } });
  expect(validator.handle(upgrade, context(model)).allowed).toBe(true);
  // What it says: a helm CLI flag no HelmRelease can set.
  expect(override, text).not.toMatch(/helm upgrade \.\.\. --labels/);
  expect(override, text).toContain('kubectl annotate namespace shop volume-guard.io/skip=orphan-pvc');
  expect(override, text).toContain('volume-guard.io/skip-until=');
  expect(override, text).toContain('then force the HelmRelease: flux reconcile helmrelease "<name>" -n "<namespace>" --force');
  expect(text).toContain('flux reconcile helmrelease "<name>" -n "<namespace>" --force.');
});

it('still advises --labels to a person running helm', () => {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: 'shop' }));
  const claim = 'devlake-mysql-data-devlake-mysql-0';
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: claim, labels: { 'app.kubernetes.io/instance': 'devlake' } }));
  model.upsert('persistentVolume', pv({ name: `pv-${claim}`, claimNamespace: 'shop', claimName: claim, reclaimPolicy: 'Retain' }));
  const upgrade = releaseRecordRequest({ name: 'devlake', namespace: 'shop', version: 2, status: 'pending-upgrade', manifest: devlakeManifest() });
  const text = validator.handle(upgrade, context(model)).status?.message ?? '';
  expect(text).toContain('helm upgrade ... --labels volume-guard.io/skip=orphan-pvc,volume-guard.io/skip-revision=2');
  expect(text).not.toContain('kubectl annotate namespace shop');
});
