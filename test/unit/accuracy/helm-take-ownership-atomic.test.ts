// `helm install --take-ownership` (Helm 3.17+, 4) of a chart declaring a bound PVC a running app already uses (the app
// moved under Helm): volume-guard lets it through with a warning, as the data stays in use. But from then on the PVC is
// the release's: when that install fails under `--atomic` (Helm 4: `--rollback-on-failure`), Helm uninstalls the
// release at once (pkg/action/install.go failRelease: an Uninstall with KeepHistory false), deleting every document of
// the manifest without `helm.sh/resource-policy` (uninstall.go filterManifestsToKeep), the taken-over PVC and its data
// included; a later `helm uninstall` does the same. Measured with the harness's Helm 3.21: an install with
// `--take-ownership --atomic --wait` that times out deletes the pre-existing PVC. That uninstall is never refused, so
// the install's warning is the last word volume-guard has: it must say so, and what keeps the PVC.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context } from '../../support/admission.ts';
import { namespace, pod, pv, pvc } from '../../support/fixtures.ts';
import { releaseRecordRequest } from '../helm/helm-fixtures.ts';

const validator = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await validator.close?.();
});
const NS = 'shop';

/** The chart: PVC app-data (with `policy` as its helm.sh/resource-policy, if any) and the Deployment mounting it. */
function manifest(policy?: string): string {
  const annotations = policy === undefined ? '' : `\n  annotations:\n    helm.sh/resource-policy: ${policy}`;
  return `---
# Source: app/templates/all.yaml
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: app-data${annotations}
spec:
  accessModes: ["ReadWriteOnce"]
  resources: {requests: {storage: 1Gi}}
---
# Source: app/templates/all.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: app, image: registry.invalid/app:1}]
      volumes: [{name: d, persistentVolumeClaim: {claimName: app-data}}]
`;
}

/** app-data, bound under reclaim Delete, no Helm annotations, mounted by the running app's pod. */
function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('persistentVolume', pv({ name: 'pv-app', claimNamespace: NS, claimName: 'app-data', reclaimPolicy: 'Delete' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'app-data', volumeName: 'pv-app', labels: {} }));
  model.upsert('pod', pod({ namespace: NS, name: 'app-5d8f-x2x', claimNames: ['app-data'], controllerKind: 'ReplicaSet' }));
  return model;
}

const install = (chart: string) => validator.handle(releaseRecordRequest({ name: 'app', namespace: NS, version: 1, status: 'pending-install', manifest: chart }), context(cluster()));

describe('helm install --take-ownership of a PVC in use: what a failed --atomic install then deletes', () => {
  it('warns that Helm deletes it at uninstall, and at once if the install fails under --atomic, and what keeps it', () => {
    const decision = install(manifest());
    expect(decision.allowed).toBe(true);
    const warnings = (decision.warnings ?? []).join(' ').replace(/\s+/g, ' ');
    expect(warnings).toContain('this install takes it over (--take-ownership), data and all');
    expect(warnings).toContain('Helm then deletes it at helm uninstall, and at once if this install fails under --atomic (Helm 4: --rollback-on-failure)');
    expect(warnings).toContain('unless the chart marks it helm.sh/resource-policy: keep');
  });

  it('says nothing of it when the chart marks the PVC helm.sh/resource-policy (any value: the uninstall leaves it)', () => {
    for (const policy of ['keep', 'prefer-existing']) {
      const decision = install(manifest(policy));
      expect(decision.allowed).toBe(true);
      const warnings = (decision.warnings ?? []).join(' ').replace(/\s+/g, ' ');
      expect(warnings).toContain('this install takes it over (--take-ownership), data and all');
      expect(warnings).not.toContain('--atomic');
    }
  });
});

describe('helm install --take-ownership of a PVC nothing uses', () => {
  it('is refused, and the refusal says what follows once an admin approves its reuse', () => {
    const idle = cluster();
    idle.remove('pod', `${NS}/app-5d8f-x2x`);
    const refused = validator.handle(releaseRecordRequest({ name: 'app', namespace: NS, version: 1, status: 'pending-install', manifest: manifest() }), context(idle));
    expect(refused.allowed).toBe(false);
    const message = (refused.status?.message ?? '').replace(/\s+/g, ' ');
    expect(message).toContain("exists, not Helm's: this install takes it over (--take-ownership) with its old data");
    expect(message).toContain('at once if this install fails under --atomic (Helm 4: --rollback-on-failure)');
  });
});
