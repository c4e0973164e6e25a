// The pods of a StatefulSet that is already gone. `helm uninstall` and a plain `kubectl delete sts` delete it with
// background propagation: the API server removes the StatefulSet object at once, and the garbage collector only later
// sees that the pods' controller reference points at nothing and DELETEs them. Until then db-0 is Running, not being
// deleted, with its controller reference in place: its claim is not in use by anything that stays. A StatefulSet of
// that name created in that window (`helm install db`, `kubectl apply -f db.yaml`) re-attaches data-db-0 once the
// garbage collector has removed db-0 (seed 000). The same holds while a StatefulSet is being deleted in the
// foreground (finalizer `foregroundDeletion`: the garbage collector deletes the pods first).
// `kubectl delete sts --cascade=orphan` is different: the API server sets the `orphan` finalizer, and the garbage
// collector removes the pods' owner references before it lets the StatefulSet object go. The pods run on bare, and
// their claims stay in use: the PVC-resize workflow (re-create, or `helm upgrade`) passes.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { statefulSetValidator } from '../../../src/admission/validators/statefulset.ts';
import { inUseByItsStatefulPod } from '../../../src/checks/orphan-pvc.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { StatefulSetRecord } from '../../../src/cluster/records.ts';
import { transformStatefulSet } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseRecordRequest, statefulSetManifest } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const helm = helmReleaseValidator(defaultConfig());
const statefulSets = statefulSetValidator(defaultConfig());
afterAll(async () => {
  await helm.close?.();
});

/** PVC data-db-0 (Retain) of release db, its pod db-0 still Running with a controller reference to a StatefulSet. */
function cluster(options: { live?: Partial<StatefulSetRecord>; podFields?: Parameters<typeof pod>[0] } = {}): ClusterModel {
  const model = new ClusterModel();
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('persistentVolume', pv({ name: 'pv-data-db-0', claimNamespace: NS, claimName: 'data-db-0', reclaimPolicy: 'Retain' }));
  model.upsert(
    'persistentVolumeClaim',
    pvc({ namespace: NS, name: 'data-db-0', volumeName: 'pv-data-db-0', labels: { 'app.kubernetes.io/instance': 'db' }, creationTimestamp: '2026-01-01T00:00:00Z' }),
  );
  model.upsert('pod', pod({ namespace: NS, name: 'db-0', claimNames: ['data-db-0'], controllerKind: 'StatefulSet', ...options.podFields }));
  if (options.live !== undefined) {
    model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', helmReleaseName: 'db', helmReleaseNamespace: NS, ...options.live }));
  }
  return model;
}

const install = () => releaseRecordRequest({ name: 'db', namespace: NS, version: 1, status: 'pending-install', manifest: statefulSetManifest({ replicas: 1 }) });
const upgrade = () => releaseRecordRequest({ name: 'db', namespace: NS, version: 3, status: 'pending-upgrade', manifest: statefulSetManifest({ replicas: 1 }) });

/** `kubectl apply -f db.yaml` creating StatefulSet db outside Helm. */
function kubectlCreate() {
  const object = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS },
    spec: { replicas: 1, selector: { matchLabels: { app: 'db' } }, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
  };
  return request({
    kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
    resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
    operation: 'CREATE',
    namespace: NS,
    name: 'db',
    object,
    options: { fieldManager: 'kubectl-client-side-apply' },
  });
}

describe('pods whose StatefulSet is gone, before the garbage collector deletes them', () => {
  it('helm uninstall db && helm install db: refused, naming the PVC the new StatefulSet would re-attach', () => {
    const decision = helm.handle(install(), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('shop/data-db-0');
  });

  it('kubectl delete sts db && kubectl apply -f db.yaml: refused the same way', () => {
    const decision = statefulSets.handle(kubectlCreate(), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('shop/data-db-0');
  });

  it('a StatefulSet being deleted in the foreground (no orphan finalizer) takes its running pods with it', () => {
    // (A StatefulSet of the same name cannot be created while it is there; another whose claim names collide can.)
    const claim = { namespace: NS, name: 'data-db-0' };
    expect(inUseByItsStatefulPod(cluster({ live: { deleting: true } }), claim)).toBe(false);
    expect(inUseByItsStatefulPod(cluster({ live: { deleting: true, orphaning: true } }), claim)).toBe(true);
    expect(inUseByItsStatefulPod(cluster({ live: {} }), claim)).toBe(true);
  });

  it('a pod of the live StatefulSet keeps its claim: a plain helm upgrade passes', () => {
    expect(helm.handle(upgrade(), context(cluster({ live: {} }))).allowed).toBe(true);
  });
});

describe('kubectl delete sts --cascade=orphan: the pods stay, and so does their data in use', () => {
  it('while the garbage collector orphans them (StatefulSet held by the orphan finalizer, owner references still in place)', () => {
    const window = cluster({ live: { deleting: true, orphaning: true } });
    expect(helm.handle(install(), context(window)).allowed).toBe(true);
    expect(statefulSets.handle(kubectlCreate(), context(window)).allowed).toBe(true);
  });

  it('once orphaned (bare pods, StatefulSet gone): the re-create and helm upgrade of the PVC-resize workflow pass', () => {
    const orphaned = cluster({ podFields: { controllerKind: '' } });
    expect(statefulSets.handle(kubectlCreate(), context(orphaned)).allowed).toBe(true);
    expect(helm.handle(upgrade(), context(orphaned)).allowed).toBe(true);
    expect(helm.handle(install(), context(orphaned)).allowed).toBe(true);
  });

  it('the model reads the orphan finalizer only on a StatefulSet being deleted', () => {
    const metadata = { name: 'db', namespace: NS, uid: 'u' };
    const at = '2026-03-01T00:00:00Z';
    expect(transformStatefulSet({ metadata: { ...metadata, deletionTimestamp: at, finalizers: ['orphan'] }, spec: {} })).toMatchObject({ deleting: true, orphaning: true });
    expect(transformStatefulSet({ metadata: { ...metadata, deletionTimestamp: at, finalizers: ['foregroundDeletion'] }, spec: {} })).not.toHaveProperty('orphaning');
    expect(transformStatefulSet({ metadata: { ...metadata, finalizers: ['orphan'] }, spec: {} })).not.toHaveProperty('orphaning');
  });
});
