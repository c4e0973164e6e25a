// A StatefulSet re-created under its name right after the DELETE of the earlier one (`kubectl replace --force`, Argo CD
// `Replace=true,Force=true`, a delete then an apply, `helm uninstall` then `helm install`), while volume-guard's
// informer still shows the earlier one: once volume-guard admitted that DELETE (or, at a CREATE, the copy held is being
// deleted), the copy is gone, its pods with it (the garbage collector deletes them), and the new StatefulSet re-attaches
// their PVCs. A CREATE of a name whose StatefulSet is live in the model is answered AlreadyExists by the API server
// (admission runs first): nothing is adopted, and its pods' claims are in use. Unless that deletion orphans the pods
// (`--cascade=orphan`, the PVC-resize recipe): they run on bare, their PVCs in use.
import { afterAll, describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { statefulSetValidator } from '../../../src/admission/validators/statefulset.ts';
import type { AdmittedRemoval } from '../../../src/cluster/pending-removals.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ALICE, context, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseRecordRequest, statefulSetManifest } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const OLD_UID = 'uid-db-old';
const statefulSets = statefulSetValidator(defaultConfig());
const pvcDelete = pvcDeleteValidator(defaultConfig());
const helm = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await helm.close?.();
});
const STS = { kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' }, resource: { group: 'apps', version: 'v1', resource: 'statefulsets' } };

function stsObject(metadata: Record<string, unknown> = {}): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS, ...metadata },
    spec: { replicas: 1, selector: { matchLabels: { app: 'db' } }, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
  };
}

/** StatefulSet db (OLD_UID) with its pod db-0 Running on data-db-0 (PV Retain), as the informers last showed it. */
function liveDb(claim: Partial<Parameters<typeof pvc>[0]> = {}): ClusterModel {
  const model = new ClusterModel();
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('persistentVolume', pv({ name: 'pv-data-db-0', claimNamespace: NS, claimName: 'data-db-0', reclaimPolicy: 'Retain' }));
  model.upsert(
    'persistentVolumeClaim',
    pvc({ namespace: NS, name: 'data-db-0', volumeName: 'pv-data-db-0', labels: { 'app.kubernetes.io/instance': 'db' }, creationTimestamp: '2026-01-01T00:00:00Z', ...claim }),
  );
  model.upsert('pod', pod({ namespace: NS, name: 'db-0', claimNames: ['data-db-0'], controllerKind: 'StatefulSet' }));
  model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: OLD_UID, creationTimestamp: '2026-01-01T00:00:00Z' }));
  return model;
}

/** The DELETE of the held db (`propagationPolicy`), through the pvc-delete webhook, its admitted removal recorded. */
function admitDelete(model: ClusterModel, propagationPolicy: 'Background' | 'Foreground' | 'Orphan'): void {
  const del = request({ ...STS, operation: 'DELETE', namespace: NS, name: 'db', userInfo: ALICE, oldObject: stsObject({ uid: OLD_UID }), options: { propagationPolicy } });
  const removals: AdmittedRemoval[] = [];
  expect(pvcDelete.handle(del, context(model, { removals })).allowed).toBe(true);
  for (const removal of removals) model.admitRemoval(removal);
  expect(model.deletionAdmitted(OLD_UID)).toBe(true);
}

const kubectlCreate = (): AdmissionRequest =>
  request({ ...STS, operation: 'CREATE', namespace: NS, name: 'db', userInfo: ALICE, object: stsObject(), options: { fieldManager: 'kubectl-client-side-apply' } });
const helmInstall = (): AdmissionRequest =>
  releaseRecordRequest({ name: 'db', namespace: NS, version: 1, status: 'pending-install', manifest: statefulSetManifest({ replicas: 1 }) });

describe('a StatefulSet CREATE while the model still holds the deleted one of that name', () => {
  it('is refused like once the informer dropped it: the pods of the copy held go with it (kubectl replace --force)', () => {
    const dropped = liveDb();
    dropped.remove('statefulSet', `${NS}/db`);
    const deleting = liveDb();
    deleting.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: OLD_UID, creationTimestamp: '2026-01-01T00:00:00Z', deleting: true }));
    for (const model of [dropped, deleting]) {
      const decision = statefulSets.handle(kubectlCreate(), context(model));
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toContain(`PVC ${NS}/data-db-0`);
    }
    // Its DELETE admitted a moment ago, background or foreground: the same.
    for (const policy of ['Background', 'Foreground'] as const) {
      const model = liveDb();
      admitDelete(model, policy);
      expect(statefulSets.handle(kubectlCreate(), context(model)).allowed, policy).toBe(false);
    }
  });

  it('passes a CREATE of a name whose StatefulSet is live in the model: AlreadyExists, its pod uses the PVC', () => {
    const decision = statefulSets.handle(kubectlCreate(), context(liveDb()));
    expect(decision.allowed).toBe(true);
  });

  it('refuses a PVC whose only owner reference is to the copy held (whenDeleted: Delete): that owner is gone', () => {
    const model = liveDb({ ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: OLD_UID }] });
    model.remove('pod', `${NS}/db-0`);
    admitDelete(model, 'Background');
    const decision = statefulSets.handle(kubectlCreate(), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain(`PVC ${NS}/data-db-0`);
  });

  it('names a pod of another workload still mounting the PVC, not the pods going with the copy held', () => {
    const model = liveDb();
    model.upsert('pod', pod({ namespace: NS, name: 'backup-x7k2p', claimNames: ['data-db-0'], controllerKind: 'Job' }));
    admitDelete(model, 'Background');
    const decision = statefulSets.handle(kubectlCreate(), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pod backup-x7k2p mounts it too');
  });

  it('passes the PVC-resize recipe: the copy held is being orphaned (--cascade=orphan), seen or only admitted', () => {
    const seen = liveDb();
    seen.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: OLD_UID, deleting: true, orphaning: true }));
    expect(statefulSets.handle(kubectlCreate(), context(seen)).allowed).toBe(true);
    const admitted = liveDb();
    admitDelete(admitted, 'Orphan');
    expect(statefulSets.handle(kubectlCreate(), context(admitted)).allowed).toBe(true);
    // A later DELETE of it in the background undoes the orphaning: its pods go after all.
    admitDelete(admitted, 'Background');
    expect(statefulSets.handle(kubectlCreate(), context(admitted)).allowed).toBe(false);
  });
});

describe('a scale-up of the new StatefulSet before the informer shows it (the model holds the earlier one, another uid)', () => {
  const scale = (uid: string): AdmissionRequest => {
    const scaleObject = (replicas: number) => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'db', namespace: NS, uid }, spec: { replicas } });
    return request({
      kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
      resource: STS.resource,
      subResource: 'scale',
      operation: 'UPDATE',
      namespace: NS,
      name: 'db',
      userInfo: ALICE,
      object: scaleObject(2),
      oldObject: scaleObject(1),
    });
  };
  /** The earlier db ran db-1 on data-db-1; the new one (uid-db-new) runs 1 replica. */
  function earlierDbAt1(earlier: Partial<Parameters<typeof statefulSet>[0]> = {}): ClusterModel {
    const model = liveDb();
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-1', volumeName: 'pv-data-db-1', creationTimestamp: '2026-01-01T00:00:00Z' }));
    model.upsert('pod', pod({ namespace: NS, name: 'db-1', claimNames: ['data-db-1'], controllerKind: 'StatefulSet' }));
    model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: OLD_UID, creationTimestamp: '2026-01-01T00:00:00Z', ...earlier }));
    return model;
  }

  it('refuses for a moment: the pod db-1 of the earlier db goes with it, and the new db re-attaches data-db-1', () => {
    const decision = statefulSets.handle(scale('uid-db-new'), context(earlierDbAt1()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain(`PVC ${NS}/data-db-1 exists for the ordinals it adds`);
  });

  it('passes when the earlier db is being orphaned: db-1 runs on, bare, and the new db adopts it', () => {
    expect(statefulSets.handle(scale('uid-db-new'), context(earlierDbAt1({ deleting: true, orphaning: true }))).allowed).toBe(true);
  });
});

describe('a Helm release record re-creating a StatefulSet the model still holds', () => {
  it('helm uninstall db && helm install db: refused once volume-guard admitted the DELETE of the copy held', () => {
    const model = liveDb();
    admitDelete(model, 'Background');
    const decision = helm.handle(helmInstall(), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain(`${NS}/data-db-0`);
  });

  it('passes while nothing says the copy held is gone (kept by helm.sh/resource-policy, re-installed), or it is being orphaned', () => {
    expect(helm.handle(helmInstall(), context(liveDb())).allowed).toBe(true);
    const orphaned = liveDb();
    admitDelete(orphaned, 'Orphan');
    expect(helm.handle(helmInstall(), context(orphaned)).allowed).toBe(true);
  });
});
