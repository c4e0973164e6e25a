// A Helm release's StatefulSet re-created by hand (`kubectl delete sts db --cascade=orphan`, then `helm upgrade`), its
// claims data-db-{0,1,2} kept (whenScaled and whenDeleted Retain), now at 1 replica with db-0 running. Raising it back
// to 3 replicas re-attaches data-db-1 and data-db-2: older than the live StatefulSet, but the release's own data,
// which Kubernetes keeps precisely so that a scale-up reuses it. At the release record (helm upgrade to 3 replicas) a
// claim labelled for the release and created after its first_deployed is its own: a warning, as when an upgrade
// re-creates the StatefulSet. Outside Helm (`kubectl scale`, an edit of spec.replicas) the record is not read: a claim
// labelled for the Helm release the StatefulSet is annotated for is a warning, as that release's install was refused
// over every PVC labelled for it that existed then (release-labelled).
import { afterAll, describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { statefulSetValidator } from '../../../src/admission/validators/statefulset.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { PersistentVolumeClaimRecord, StatefulSetRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../../../src/kube.ts';
import { ALICE, context, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseRecordRequest, statefulSetManifest } from '../helm/helm-fixtures.ts';

const NS = 'app';
const FIRST_DEPLOYED = '2026-01-01T00:00:00Z';
const CLAIMS_CREATED = '2026-01-01T00:00:10Z';
const STS_CREATED = '2026-03-01T00:00:00Z';
const HELM_ANNOTATIONS = { [HELM_RELEASE_NAME_ANNOTATION]: 'db', [HELM_RELEASE_NAMESPACE_ANNOTATION]: NS };

const helm = helmReleaseValidator(defaultConfig());
const sts = statefulSetValidator(defaultConfig());
afterAll(async () => {
  await helm.close?.();
});

function cluster(claim: Partial<PersistentVolumeClaimRecord> = {}, live: Partial<StatefulSetRecord> = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert(
    'statefulSet',
    statefulSet({ namespace: NS, name: 'db', replicas: 1, creationTimestamp: STS_CREATED, helmReleaseName: 'db', helmReleaseNamespace: NS, ...live }),
  );
  for (const name of ['data-db-0', 'data-db-1', 'data-db-2']) {
    model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
    model.upsert(
      'persistentVolumeClaim',
      pvc({ namespace: NS, name, volumeName: `pv-${name}`, labels: { 'app.kubernetes.io/instance': 'db' }, creationTimestamp: CLAIMS_CREATED, ...claim }),
    );
  }
  model.upsert('pod', pod({ namespace: NS, name: 'db-0', controllerKind: 'StatefulSet', claimNames: ['data-db-0'] }));
  return model;
}

/** `helm upgrade db` to revision 5, declaring 3 replicas. */
function upgrade(firstDeployed = FIRST_DEPLOYED): AdmissionRequest {
  return releaseRecordRequest({ name: 'db', namespace: NS, version: 5, status: 'pending-upgrade', manifest: statefulSetManifest({ replicas: 3 }), firstDeployed });
}

function scale(before: number, after: number): AdmissionRequest {
  const scaleObject = (replicas: number) => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'db', namespace: NS }, spec: { replicas } });
  return request({
    kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
    subResource: 'scale',
    operation: 'UPDATE',
    namespace: NS,
    name: 'db',
    userInfo: ALICE,
    object: scaleObject(after),
    oldObject: scaleObject(before),
  });
}

/** `kubectl edit` raising spec.replicas of the Helm-annotated StatefulSet. */
function edit(before: number, after: number, annotations: Record<string, string> = HELM_ANNOTATIONS): AdmissionRequest {
  const object = (replicas: number) => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS, creationTimestamp: STS_CREATED, annotations },
    spec: { replicas, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
  });
  return request({
    kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
    resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
    operation: 'UPDATE',
    namespace: NS,
    name: 'db',
    userInfo: ALICE,
    options: { fieldManager: 'kubectl-edit' },
    object: object(after),
    oldObject: object(before),
  });
}

describe("raising the replicas of a re-created release StatefulSet onto the release's kept claims", () => {
  it('helm upgrade: passes with a warning naming them, created after the release was first deployed', () => {
    const decision = helm.handle(upgrade(), context(cluster()));
    expect(decision.allowed).toBe(true);
    const warnings = (decision.warnings ?? []).join('\n');
    expect(warnings).toContain(`${NS}/data-db-1`);
    expect(warnings).toContain(`${NS}/data-db-2`);
    expect(warnings).toContain("re-attaches it (the release's own)");
    // Said as what it is: the release's own claims coming back, not old data adopted.
    expect(warnings).toContain('2 existing PVCs would be re-attached');
    expect(warnings).not.toContain('adopted with old data');
  });

  it('helm upgrade: still refuses claims older than the first install, or not labelled for the release', () => {
    // The release was installed anew (after an uninstall) on 2026-02-01: the January claims are an earlier install's.
    const earlier = helm.handle(upgrade('2026-02-01T00:00:00Z'), context(cluster()));
    expect(earlier.allowed).toBe(false);
    expect(earlier.status?.message).toContain('left by an earlier StatefulSet db');
    expect(helm.handle(upgrade(), context(cluster({ labels: {} }))).allowed).toBe(false);
  });

  it('kubectl scale or an edit of spec.replicas: passes with a warning when the claims are labelled for the Helm release', () => {
    for (const req of [scale(1, 3), edit(1, 3)]) {
      const decision = sts.handle(req, context(cluster()));
      expect(decision.allowed).toBe(true);
      const warnings = (decision.warnings ?? []).join('\n');
      expect(warnings).toContain(`${NS}/data-db-1`);
      expect(warnings.replace(/\s+/g, ' ')).toContain('labelled for its Helm release db');
    }
  });

  it('kubectl scale: still refuses claims not labelled for the release, or of a StatefulSet no release is annotated on', () => {
    expect(sts.handle(scale(1, 3), context(cluster({ labels: {} }))).allowed).toBe(false);
    expect(sts.handle(scale(1, 3), context(cluster({ labels: { release: 'other' } }))).allowed).toBe(false);
    expect(sts.handle(scale(1, 3), context(cluster({}, { helmReleaseName: '', helmReleaseNamespace: '' }))).allowed).toBe(false);
    expect(sts.handle(edit(1, 3, {}), context(cluster({}, { helmReleaseName: '', helmReleaseNamespace: '' }))).allowed).toBe(false);
    // Annotated for a release of another namespace: its install never judged this namespace's claims.
    expect(sts.handle(scale(1, 3), context(cluster({}, { helmReleaseNamespace: 'elsewhere' }))).allowed).toBe(false);
  });
});
