// `helm install --replace` over a FAILED install (pkg/action/install.go availableName accepts a failed last
// revision with --replace; replaceRelease leaves it failed and writes revision 2 pending-install). Everything revision 1
// created is still live and annotated for the release (nothing was uninstalled); its templated PVC is the failed
// install's own, minutes old. Helm adopts it back (existingResourceConflict: same release): nothing earlier is taken
// over. Only a document carrying helm.sh/resource-policy outlives `helm uninstall`, so one kept that way still counts.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../../../src/kube.ts';
import { context } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseRecordRequest } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const validator = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await validator.close?.();
});

const MANIFEST = `---
# Source: app/templates/pvc.yaml
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: app-uploads
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
# Source: app/templates/sts.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: app-db
spec:
  replicas: 1
  selector:
    matchLabels:
      app: app-db
  template:
    metadata:
      labels:
        app: app-db
    spec:
      containers:
        - name: db
          image: db:1
  volumeClaimTemplates:
    - metadata:
        name: data
`;

describe('helm install --replace retrying a failed install', () => {
  it('is not refused for the failed install\'s own, still-live objects', () => {
    const model = new ClusterModel();
    model.upsert('namespace', namespace({ name: NS }));
    const annotations = { [HELM_RELEASE_NAME_ANNOTATION]: 'app', [HELM_RELEASE_NAMESPACE_ANNOTATION]: NS };
    model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'app-db', replicas: 1, claimTemplates: ['data'], helmReleaseName: 'app', helmReleaseNamespace: NS, creationTimestamp: '2026-03-01T00:00:05Z' }));
    model.upsert('persistentVolume', pv({ name: 'pv-up', claimNamespace: NS, claimName: 'app-uploads', reclaimPolicy: 'Delete' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'app-uploads', volumeName: 'pv-up', annotations, creationTimestamp: '2026-03-01T00:00:05Z' }));
    // Revision 1 failed (e.g. --wait timed out) at 2026-03-01T00:05; the retry writes revision 2.
    const retry = releaseRecordRequest({ name: 'app', namespace: NS, version: 2, status: 'pending-install', manifest: MANIFEST, firstDeployed: '2026-03-01T00:10:00Z' });
    const decision = validator.handle(retry, context(model));
    expect(decision.status?.message ?? '').not.toContain('app-uploads');
    expect(decision.allowed).toBe(true);
  });

  it('nor when the failed install labelled its PVC for the release, as charts do', () => {
    const model = new ClusterModel();
    model.upsert('namespace', namespace({ name: NS }));
    const annotations = { [HELM_RELEASE_NAME_ANNOTATION]: 'app', [HELM_RELEASE_NAMESPACE_ANNOTATION]: NS };
    model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'app-db', replicas: 1, claimTemplates: ['data'], helmReleaseName: 'app', helmReleaseNamespace: NS, creationTimestamp: '2026-03-01T00:00:05Z' }));
    model.upsert('persistentVolume', pv({ name: 'pv-up', claimNamespace: NS, claimName: 'app-uploads', reclaimPolicy: 'Delete' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'app-uploads', volumeName: 'pv-up', annotations, labels: { 'app.kubernetes.io/instance': 'app' }, creationTimestamp: '2026-03-01T00:00:05Z' }));
    const retry = releaseRecordRequest({ name: 'app', namespace: NS, version: 2, status: 'pending-install', manifest: MANIFEST, firstDeployed: '2026-03-01T00:10:00Z' });
    const decision = validator.handle(retry, context(model));
    expect(decision.status?.message ?? '').not.toContain('app-uploads');
    expect(decision.allowed).toBe(true);
  });

  it('still refuses a re-install adopting a PVC an uninstall kept (resource-policy keep)', () => {
    const model = new ClusterModel();
    model.upsert('namespace', namespace({ name: NS }));
    const annotations = { [HELM_RELEASE_NAME_ANNOTATION]: 'app', [HELM_RELEASE_NAMESPACE_ANNOTATION]: NS, 'helm.sh/resource-policy': 'keep' };
    model.upsert('persistentVolume', pv({ name: 'pv-up', claimNamespace: NS, claimName: 'app-uploads', reclaimPolicy: 'Retain' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'app-uploads', volumeName: 'pv-up', annotations, labels: { 'app.kubernetes.io/instance': 'app' }, creationTimestamp: '2025-03-01T00:00:05Z' }));
    const install = releaseRecordRequest({ name: 'app', namespace: NS, version: 1, status: 'pending-install', manifest: MANIFEST, firstDeployed: '2026-03-01T00:10:00Z' });
    const decision = validator.handle(install, context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('PVC shop/app-uploads');
  });
});
