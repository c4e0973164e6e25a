// rabbitmq's cluster-operator builds the claim template of StatefulSet <name>-server with the RabbitmqCluster's
// annotations (metadata.ReconcileAndFilterAnnotations filters only keys containing kubernetes.io / k8s.io, so Helm's
// meta.helm.sh/release-name and -namespace pass) and a controller owner reference to the RabbitmqCluster
// (internal/resource/statefulset.go persistentVolumeClaim). The StatefulSet controller deep-copies the template into each
// PVC (getPersistentVolumeClaims), so persistence-mq-server-0 carries the release annotations. No manifest of release mq
// ever rendered that PVC, so `helm upgrade mq` never deletes it (Helm deletes only what the previous manifest rendered).
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformStatefulSet } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context } from '../../support/admission.ts';
import { namespace, pod, pv, pvc } from '../../support/fixtures.ts';
import { releaseRecordRequest } from '../helm/helm-fixtures.ts';

const NS = 'messaging';
const CLAIM = 'persistence-mq-server-0';
const HELM = { 'meta.helm.sh/release-name': 'mq', 'meta.helm.sh/release-namespace': NS };
const RMQ_OWNER = { apiVersion: 'rabbitmq.com/v1beta1', kind: 'RabbitmqCluster', name: 'mq', uid: 'uid-rmq', controller: true, blockOwnerDeletion: false };
const helm = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await helm.close?.();
});

const MANIFEST = `---
# Source: mq/templates/rabbitmqcluster.yaml
apiVersion: rabbitmq.com/v1beta1
kind: RabbitmqCluster
metadata:
  name: mq
spec:
  replicas: 1
  persistence:
    storage: 10Gi
`;

function cluster(): ClusterModel {
  const model = new ClusterModel();
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert(
    'statefulSet',
    transformStatefulSet({
      metadata: { name: 'mq-server', namespace: NS, uid: 'uid-mq-server', creationTimestamp: '2026-01-10T10:01:00Z', annotations: HELM, ownerReferences: [RMQ_OWNER] },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'mq' } },
        volumeClaimTemplates: [{ metadata: { name: 'persistence', annotations: HELM, ownerReferences: [RMQ_OWNER] } }],
      },
    })!,
  );
  model.upsert('persistentVolume', pv({ name: `pv-${CLAIM}`, claimNamespace: NS, claimName: CLAIM, reclaimPolicy: 'Delete' }));
  // The PVC as the StatefulSet controller creates it from that template: annotations and owner reference copied.
  model.upsert(
    'persistentVolumeClaim',
    pvc({
      namespace: NS,
      name: CLAIM,
      volumeName: `pv-${CLAIM}`,
      annotations: { ...HELM },
      labels: { 'app.kubernetes.io/name': 'mq' },
      creationTimestamp: '2026-01-10T10:01:05Z',
      ownerReferences: [{ kind: 'RabbitmqCluster', name: 'mq', uid: 'uid-rmq', controller: true }],
    }),
  );
  model.upsert('pod', pod({ namespace: NS, name: 'mq-server-0', claimNames: [CLAIM], controllerKind: 'StatefulSet' }));
  return model;
}

describe('a routine helm upgrade of a release rendering a RabbitmqCluster', () => {
  it('passes: the operator-made PVC carrying the copied release annotations is not one Helm deletes', () => {
    const decision = helm.handle(releaseRecordRequest({ name: 'mq', namespace: NS, version: 2, status: 'pending-upgrade', manifest: MANIFEST }), context(cluster()));
    expect(decision.allowed, decision.status?.message).toBe(true);
  });

  it('a PVC the release rendered that the StatefulSet controller adopted (a controller reference to it) is still refused when dropped', () => {
    // Named like a claim of StatefulSet mq-server: under whenDeleted: Delete the StatefulSet controller makes itself
    // the claim's controller, and Helm still deletes the PVC a revision drops.
    const model = cluster();
    const claim = model.persistentVolumeClaim(NS, CLAIM)!;
    model.upsert('persistentVolumeClaim', { ...claim, ownerReferences: [{ kind: 'StatefulSet', name: 'mq-server', uid: 'uid-mq-server', controller: true }] });
    const decision = helm.handle(releaseRecordRequest({ name: 'mq', namespace: NS, version: 2, status: 'pending-upgrade', manifest: MANIFEST }), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`PVC ${NS}/${CLAIM} (PV pv-${CLAIM}): this upgrade no longer declares it, so Helm deletes it`);
  });
});
