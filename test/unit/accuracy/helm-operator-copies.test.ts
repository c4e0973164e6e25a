// A chart that renders an operator's resource, here a RabbitmqCluster (rabbitmq/cluster-operator). Helm stamps
// meta.helm.sh/release-name and -namespace on the CR; the operator copies every CR annotation that does not contain
// "kubernetes.io" or "k8s.io" onto the StatefulSet it builds (`<cr>-server`) and onto its volumeClaimTemplate, and makes
// the CR the controlling owner of both, so every PVC the StatefulSet controller creates from the template carries the
// release's annotations and a controller ownerReference to the CR (the template's metadata is deep-copied into each
// claim: getPersistentVolumeClaims). Neither object is in any revision's manifest. Helm's Update deletes only what the
// previous revision rendered and the new one does not (helm/helm pkg/kube/client.go), and Helm never puts a controller
// ownerReference on what it creates: on an object a controller owns, the release annotations are the operator's
// copies. A routine `helm upgrade` or `rollback` still rendering the CR deletes nothing there; `helm uninstall` deletes
// the CR, and the garbage collector the StatefulSet and the PVCs with it. The operator's own writes of the StatefulSet
// are covered by no release record, so they are judged like any other write.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { statefulSetValidator } from '../../../src/admission/validators/statefulset.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformPersistentVolumeClaim, transformStatefulSet } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pod, pv } from '../../support/fixtures.ts';
import { releaseSecret } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const RELEASE = 'shop';
const CR_UID = 'uid-rabbitmqcluster-rmq';
const OPERATOR: UserInfo = { username: 'system:serviceaccount:rabbitmq-system:rabbitmq-cluster-operator', groups: ['system:serviceaccounts'] };
/** The operator's account listed as automation, so the pvc-delete check enforces its scale-downs. */
const baseConfig = defaultConfig();
const config = { ...baseConfig, pvcDelete: { ...baseConfig.pvcDelete, automationUsers: [...baseConfig.pvcDelete.automationUsers, OPERATOR.username] } };
const releaseValidator = helmReleaseValidator(config);
const scaleDownValidator = pvcDeleteValidator(config);
const createValidator = statefulSetValidator(config);

// What `helm template` renders for the chart: the CR only; the operator builds the StatefulSet.
const MANIFEST = `---
# Source: shop/templates/rabbitmq.yaml
apiVersion: rabbitmq.com/v1beta1
kind: RabbitmqCluster
metadata:
  name: rmq
spec:
  replicas: 3
  persistence:
    storage: 10Gi
`;

/** The Helm annotations Helm's setMetadataVisitor put on the CR, as the operator copies them. */
const HELM_ANNOTATIONS = { 'meta.helm.sh/release-name': RELEASE, 'meta.helm.sh/release-namespace': NS };
const CR_OWNER = { apiVersion: 'rabbitmq.com/v1beta1', kind: 'RabbitmqCluster', name: 'rmq', uid: CR_UID, controller: true, blockOwnerDeletion: false };
const STS_KIND = { kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' }, resource: { group: 'apps', version: 'v1', resource: 'statefulsets' } };

interface Shape {
  /** The CR controls the StatefulSet (the operator built it); false: Helm created it, the same annotations. */
  readonly operatorBuilt: boolean;
  /** The claim template (and so each PVC) names the CR as controller too. Default: as the StatefulSet. */
  readonly claimsControlled?: boolean;
  readonly replicas?: number;
  readonly whenScaled?: 'Delete' | 'Retain';
}

const ownersOf = (controlled: boolean) => (controlled ? { ownerReferences: [CR_OWNER] } : {});

/** The StatefulSet `rmq-server` as the operator writes it (internal/resource/statefulset.go), or as Helm would. */
function statefulSetObject({ operatorBuilt, claimsControlled = operatorBuilt, replicas = 3, whenScaled = 'Retain' }: Shape): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      namespace: NS,
      name: 'rmq-server',
      uid: 'uid-rmq-server',
      creationTimestamp: '2026-01-10T10:00:05Z',
      annotations: { ...HELM_ANNOTATIONS },
      ...ownersOf(operatorBuilt),
    },
    spec: {
      replicas,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'rmq' } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled },
      volumeClaimTemplates: [{ metadata: { name: 'persistence', annotations: { ...HELM_ANNOTATIONS }, ...ownersOf(claimsControlled) } }],
    },
  };
}

/** PVCs persistence-rmq-server-0..2 on Delete PVs, each carrying the template's metadata; with pods and the StatefulSet unless `leftovers`. */
function cluster(shape: Shape, leftovers = false): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  // Read through volume-guard's informer transforms, as the live objects are.
  if (!leftovers) model.upsert('statefulSet', transformStatefulSet(statefulSetObject(shape))!);
  for (let ordinal = 0; ordinal < 3; ordinal += 1) {
    const name = `persistence-rmq-server-${ordinal}`;
    const claim = transformPersistentVolumeClaim({
      metadata: {
        namespace: NS,
        name,
        uid: `uid-${name}`,
        creationTimestamp: '2026-01-10T10:00:06Z',
        labels: { 'app.kubernetes.io/name': 'rmq' },
        annotations: { ...HELM_ANNOTATIONS },
        ...ownersOf(shape.claimsControlled ?? shape.operatorBuilt),
      },
      spec: { volumeName: `pv-${name}` },
      status: { phase: 'Bound' },
    });
    model.upsert('persistentVolumeClaim', claim!);
    model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
    if (!leftovers) model.upsert('pod', pod({ namespace: NS, name: `rmq-server-${ordinal}`, claimNames: [name], controllerKind: 'StatefulSet' }));
  }
  return model;
}

function pendingRelease(operation: 'upgrade' | 'rollback' | 'uninstall', version: number): AdmissionRequest {
  const status = operation === 'uninstall' ? 'uninstalling' : `pending-${operation}`;
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: operation === 'uninstall' ? 'UPDATE' : 'CREATE',
    namespace: NS,
    name: `sh.helm.release.v1.${RELEASE}.v${version}`,
    object: releaseSecret({ name: RELEASE, namespace: NS, version, status, manifest: MANIFEST, chartName: 'shop' }),
  });
}

/** The StatefulSet written from 3 to `replicas` replicas; `fieldManager` says who (no options: the operator's client). */
function scaleWrite(shape: Shape, replicas: number, user: UserInfo = OPERATOR, fieldManager?: string): AdmissionRequest {
  return request({
    ...STS_KIND,
    operation: 'UPDATE',
    namespace: NS,
    name: 'rmq-server',
    userInfo: user,
    object: statefulSetObject({ ...shape, replicas }),
    oldObject: statefulSetObject({ ...shape, replicas: 3 }),
    ...(fieldManager !== undefined ? { options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager } } : {}),
  });
}

function createWrite(shape: Shape): AdmissionRequest {
  return request({ ...STS_KIND, operation: 'CREATE', namespace: NS, name: 'rmq-server', userInfo: OPERATOR, object: statefulSetObject(shape) });
}

describe('release records: a StatefulSet and PVCs whose Helm annotations the operator copied from the chart’s CR', () => {
  const operatorBuilt: Shape = { operatorBuilt: true };

  it('a helm upgrade still rendering the CR deletes nothing: allowed', () => {
    const decision = releaseValidator.handle(pendingRelease('upgrade', 2), context(cluster(operatorBuilt), { config }));
    expect(decision.allowed, decision.status?.message).toBe(true);
  });

  it('a helm rollback to a revision that renders the same CR: allowed', () => {
    const decision = releaseValidator.handle(pendingRelease('rollback', 3), context(cluster(operatorBuilt), { config }));
    expect(decision.allowed, decision.status?.message).toBe(true);
  });

  it('helm uninstall: the PVCs name the CR Helm deletes as their controller, so they are not "left behind"', () => {
    // Helm deletes the RabbitmqCluster (manifest, no resource-policy); the garbage collector then deletes the
    // StatefulSet and the PVCs, whose only owner reference is that CR.
    const decision = releaseValidator.handle(pendingRelease('uninstall', 2), context(cluster(operatorBuilt), { config }));
    expect((decision.warnings ?? []).join('\n')).not.toContain('leaves 3 PVCs');
  });

  it('the model does not count the operator’s StatefulSet as the release’s (risk metrics, audit)', () => {
    const model = cluster(operatorBuilt);
    expect(model.statefulSetsOfRelease(NS, RELEASE)).toEqual([]);
    expect(model.persistentVolumeClaim(NS, 'persistence-rmq-server-0')?.annotations).toEqual({});
  });
});

describe('the same StatefulSet without a controller ownerReference is Helm’s: still the release’s', () => {
  const helmCreated: Shape = { operatorBuilt: false };

  it('an upgrade whose manifest no longer renders it is refused: Helm deletes it and its annotated PVCs', () => {
    const decision = releaseValidator.handle(pendingRelease('upgrade', 2), context(cluster(helmCreated), { config }));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('drops StatefulSet rmq-server');
    expect(decision.status!.message).toContain('no longer declares it, so Helm deletes it');
    expect(cluster(helmCreated).statefulSetsOfRelease(NS, RELEASE).map((s) => s.name)).toEqual(['rmq-server']);
  });

  it('helm uninstall warns that its PVCs are left behind', () => {
    const decision = releaseValidator.handle(pendingRelease('uninstall', 2), context(cluster(helmCreated), { config }));
    expect((decision.warnings ?? []).join('\n')).toContain('leaves 3 PVCs');
  });

  it('Helm’s own scale-down of it (under whenScaled: Delete) is left to its release record', () => {
    const shape: Shape = { ...helmCreated, whenScaled: 'Delete' };
    expect(scaleDownValidator.handle(scaleWrite(shape, 1, OPERATOR, 'helm'), context(cluster(shape), { config })).allowed).toBe(true);
  });

  it('Helm’s own CREATE of it is left to its release record', () => {
    expect(createValidator.handle(createWrite(helmCreated), context(cluster({ operatorBuilt: false, claimsControlled: false }, true), { config })).allowed).toBe(true);
  });
});

describe('the operator’s writes of its StatefulSet are judged: no release record covers them', () => {
  it('a scale-down under whenScaled: Delete is refused for the PVCs the StatefulSet controller deletes', () => {
    // An operator that does not own its claim template: the StatefulSet controller deletes the claims it scales away.
    const shape: Shape = { operatorBuilt: true, claimsControlled: false, whenScaled: 'Delete' };
    const decision = scaleDownValidator.handle(scaleWrite(shape, 1), context(cluster(shape), { config }));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain(`scale-down of StatefulSet ${NS}/rmq-server from 3 to 1 replicas by ${OPERATOR.username}`);
    expect(message).toContain('persistence-rmq-server-1');
    expect(message).toContain('persistence-rmq-server-2');
    expect(message).not.toContain('persistence-rmq-server-0');
  });

  it('a scale-down leaves claims the CR controls alone (the StatefulSet controller does not delete them): allowed', () => {
    const shape: Shape = { operatorBuilt: true, whenScaled: 'Delete' };
    expect(scaleDownValidator.handle(scaleWrite(shape, 1), context(cluster(shape), { config })).allowed).toBe(true);
  });

  it('a CREATE onto PVCs an earlier one left with no owner is refused under orphan-pvc', () => {
    const leftovers = cluster({ operatorBuilt: true, claimsControlled: false }, true);
    const decision = createValidator.handle(createWrite({ operatorBuilt: true }), context(leftovers, { config }));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('[orphan-pvc]');
    expect(decision.status!.message).toContain(`${NS}/persistence-rmq-server-0`);
  });

  it('the webhook’s matchCondition sends writes of a StatefulSet a controller owns, as handle() judges them', () => {
    const expression = createValidator.declaration.matchConditions?.[0]?.expression ?? '';
    expect(expression).toContain("object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller && !(r.kind in ['StatefulSet', 'Pod']))");
  });
});
