// `helm uninstall` (Helm 3.21 pkg/action/resource_policy.go filterManifestsToKeep) trims and lower-cases
// helm.sh/resource-policy, and leaves any annotated resource in place: a StatefulSet annotated `Keep` keeps running on
// its claims. The webhook's uninstall judgement (manifest) warns of nothing for them, and so does audit --release,
// which reads the policy off the live StatefulSet (any value, not the upgrade's exact "keep").
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformStatefulSet } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context } from '../../support/admission.ts';
import { namespace, pod, pv, pvc } from '../../support/fixtures.ts';
import { releaseRecordRequest } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const validator = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await validator.close?.();
});

const KEPT = `---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  annotations:
    helm.sh/resource-policy: Keep
spec:
  replicas: 1
  selector:
    matchLabels: { app: db }
  template:
    metadata:
      labels: { app: db }
    spec:
      containers: [{ name: db, image: db }]
  volumeClaimTemplates:
    - metadata:
        name: data
`;

function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  const live = transformStatefulSet({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS, uid: 'uid-db', annotations: { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': NS, 'helm.sh/resource-policy': 'Keep' } },
    spec: { replicas: 1, selector: { matchLabels: { app: 'db' } }, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
  });
  if (live === undefined) throw new Error('no record');
  model.upsert('statefulSet', live);
  model.upsert('pod', pod({ namespace: NS, name: 'db-0', controllerKind: 'StatefulSet', claimNames: ['data-db-0'] }));
  model.upsert('persistentVolume', pv({ name: 'pv-data-db-0', claimNamespace: NS, claimName: 'data-db-0', reclaimPolicy: 'Delete' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-0', volumeName: 'pv-data-db-0', labels: { app: 'db', 'app.kubernetes.io/instance': 'db' } }));
  return model;
}

describe('a StatefulSet whose resource policy is "Keep"', () => {
  it('audit --release agrees with the webhook: the uninstall leaves the StatefulSet, so its claim is not left behind', () => {
    const model = cluster();
    const uninstall = validator.handle(releaseRecordRequest({ name: 'db', namespace: NS, version: 2, status: 'uninstalling', manifest: KEPT }), context(model));
    expect((uninstall.warnings ?? []).join('\n'), 'the webhook warns of nothing for data-db-0').not.toContain('data-db-0');
    const report = buildAuditReport({
      model,
      scope: { kind: 'release', namespace: NS, name: 'db', revisions: [{ version: 1, status: 'deployed' }] },
      cluster: { server: 's', context: 'c' },
      generatedAt: '2026-01-15T08:00:00.000Z',
    });
    expect(report.findings.map((f) => `${f.object.name} ${f.tags.join(',')}`)).toEqual([]);
  });
});
