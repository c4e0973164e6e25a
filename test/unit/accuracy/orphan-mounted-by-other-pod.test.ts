// Seed 000 (DevLake) with another pod mounting the leftover PVC. `helm uninstall devlake` leaves
// devlake/devlake-mysql-data-devlake-mysql-0 (a volumeClaimTemplates claim of StatefulSet devlake-mysql); a fresh
// `helm install devlake` makes StatefulSet devlake-mysql claim it by name with its old data. The StatefulSet
// controller looks at no pod when it does (pkg/controller/statefulset getPersistentVolumeClaims,
// createMissingPersistentVolumeClaims): a backup Job's pod, a debug pod or another release's Deployment mounting the
// PVC as existingClaim does not stop the adoption, and both workloads then write one volume. Only the claim's own
// StatefulSet pod (`devlake-mysql-0`, orphaned by `kubectl delete sts --cascade=orphan` in the PVC-resize workflow, or
// still controlled by a StatefulSet of that name) means the same workload carries on with its data.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { statefulSetValidator } from '../../../src/admission/validators/statefulset.ts';
import { inUseByItsStatefulPod, otherLiveMounter } from '../../../src/checks/orphan-pvc.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { PodRecord, StatefulSetRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { devlakeManifest, releaseRecordRequest } from '../helm/helm-fixtures.ts';

const NS = 'devlake';
const CLAIM = 'devlake-mysql-data-devlake-mysql-0';
const helm = helmReleaseValidator(defaultConfig());
const statefulSets = statefulSetValidator(defaultConfig());
afterAll(async () => {
  await helm.close?.();
});

/** What `helm uninstall devlake` left: the MySQL claim (Retain, labelled for the release), and the pods given. */
function cluster(pods: Partial<PodRecord>[], live?: Partial<StatefulSetRecord>): ClusterModel {
  const model = new ClusterModel();
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('persistentVolume', pv({ name: `pv-${CLAIM}`, claimNamespace: NS, claimName: CLAIM, reclaimPolicy: 'Retain' }));
  model.upsert(
    'persistentVolumeClaim',
    pvc({ namespace: NS, name: CLAIM, volumeName: `pv-${CLAIM}`, labels: { 'app.kubernetes.io/instance': 'devlake' }, creationTimestamp: '2025-06-01T00:00:00Z' }),
  );
  for (const fields of pods) model.upsert('pod', pod({ namespace: NS, claimNames: [CLAIM], ...fields }));
  if (live !== undefined) model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'devlake-mysql', claimTemplates: ['devlake-mysql-data'], ...live }));
  return model;
}

const install = () => releaseRecordRequest({ name: 'devlake', namespace: NS, version: 1, status: 'pending-install', manifest: devlakeManifest() });

/** `kubectl apply` of StatefulSet devlake-mysql outside Helm. */
function kubectlCreate() {
  const object = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'devlake-mysql', namespace: NS },
    spec: { replicas: 1, selector: { matchLabels: { app: 'mysql' } }, volumeClaimTemplates: [{ metadata: { name: 'devlake-mysql-data' } }] },
  };
  return request({
    kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
    resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
    operation: 'CREATE',
    namespace: NS,
    name: 'devlake-mysql',
    object,
    options: { fieldManager: 'kubectl-client-side-apply' },
  });
}

const OTHER_PODS: [string, Partial<PodRecord>][] = [
  ['a backup CronJob’s Job pod', { name: 'mysql-backup-29123456-x7k2p', controllerKind: 'Job' }],
  ['a debug pod', { name: 'debug' }],
  ['another release’s Deployment using it as existingClaim', { name: 'reports-6d9f7c8b5-q2w4e', controllerKind: 'ReplicaSet' }],
  ['a pod of another StatefulSet', { name: 'archiver-0', controllerKind: 'StatefulSet' }],
];

describe('a leftover StatefulSet claim another pod mounts is adopted all the same', () => {
  for (const [what, fields] of OTHER_PODS) {
    it(`helm install devlake is refused while ${what} mounts it, naming that pod`, () => {
      const model = cluster([fields]);
      if (fields.controllerKind === 'StatefulSet') model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'archiver', claimTemplates: [] }));
      expect(inUseByItsStatefulPod(model, { namespace: NS, name: CLAIM })).toBe(false);
      expect(otherLiveMounter(model, { namespace: NS, name: CLAIM })?.name).toBe(fields.name);
      const decision = helm.handle(install(), context(model));
      expect(decision.allowed).toBe(false);
      const message = decision.status?.message ?? '';
      expect(message).toContain(`${NS}/${CLAIM}`);
      expect(message).toContain(`pod ${fields.name} mounts it too (both would share the volume)`);
    });
  }

  it('kubectl apply of the StatefulSet outside Helm is refused the same way', () => {
    const decision = statefulSets.handle(kubectlCreate(), context(cluster([{ name: 'debug' }])));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`${NS}/${CLAIM}`);
    expect(decision.status?.message).toContain('pod debug mounts it too');
  });

  it('a finished pod mounts nothing: refused with the usual reason', () => {
    const decision = helm.handle(install(), context(cluster([{ name: 'mysql-backup-29123456-x7k2p', controllerKind: 'Job', phase: 'Succeeded' }])));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).not.toContain('mounts it too');
  });
});

describe('its own StatefulSet pod still keeps the claim in use', () => {
  it('orphaned by --cascade=orphan (bare devlake-mysql-0, even beside another pod): install and re-create pass', () => {
    for (const pods of [[{ name: 'devlake-mysql-0' }], [{ name: 'devlake-mysql-0' }, { name: 'debug' }]]) {
      const model = cluster(pods);
      expect(helm.handle(install(), context(model)).allowed).toBe(true);
      expect(statefulSets.handle(kubectlCreate(), context(model)).allowed).toBe(true);
    }
  });

  it('controlled by StatefulSet devlake-mysql while the garbage collector orphans it (orphan finalizer)', () => {
    const model = cluster([{ name: 'devlake-mysql-0', controllerKind: 'StatefulSet' }], { deleting: true, orphaning: true });
    expect(inUseByItsStatefulPod(model, { namespace: NS, name: CLAIM })).toBe(true);
    expect(helm.handle(install(), context(model)).allowed).toBe(true);
  });

  it('not once its StatefulSet is gone (helm uninstall: the garbage collector deletes it next)', () => {
    const model = cluster([{ name: 'devlake-mysql-0', controllerKind: 'StatefulSet' }]);
    expect(inUseByItsStatefulPod(model, { namespace: NS, name: CLAIM })).toBe(false);
    expect(otherLiveMounter(model, { namespace: NS, name: CLAIM })).toBeUndefined();
    const decision = helm.handle(install(), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).not.toContain('mounts it too');
  });
});
