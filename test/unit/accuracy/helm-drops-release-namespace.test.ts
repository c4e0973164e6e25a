// A chart that renders a Namespace (a `createNamespace`-style value, or a namespace chart) in one revision and not in
// another. Helm's upgrade and rollback both end in kube.Client.Update(current, target), which deletes every object of
// the current revision the target does not render whose LIVE object is not annotated helm.sh/resource-policy: keep
// (helm/helm pkg/kube/client.go update(): `for _, info := range originals.Difference(targets) { ... deleteResource }`),
// whatever its kind: a Namespace too. The namespace controller then deletes every PVC in it. Helm's own Namespace
// DELETE is a person's (pvcDelete.others, default off), so the release record is the only place this is seen.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectDroppedPvcs } from '../../../src/checks/pvc-delete.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNamespace } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context } from '../../support/admission.ts';
import { pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { pendingRevision, releaseRecordRequest, statefulSetManifest } from '../helm/helm-fixtures.ts';

const validator = helmReleaseValidator(defaultConfig());
const NS = 'shop';
const CLAIM = 'data-db-0';
const HELM = { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': NS };
const NAMESPACE_DOCUMENT = `---
# Source: db/templates/namespace.yaml
apiVersion: v1
kind: Namespace
metadata:
  name: ${NS}
`;

/** Namespace `shop`, rendered by revision 2 of release db (Helm annotated it), holding the StatefulSet's Bound claim. */
function cluster(namespaceAnnotations: Record<string, string> = HELM, options: { reclaimPolicy?: string; deleting?: boolean } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  const metadata = {
    name: NS,
    uid: 'uid-ns',
    annotations: namespaceAnnotations,
    ...(options.deleting === true ? { deletionTimestamp: '2030-01-01T00:00:00Z' } : {}),
  };
  model.upsert('namespace', transformNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata })!);
  model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'uid-db', claimTemplates: ['data'], helmReleaseName: 'db', helmReleaseNamespace: NS }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: CLAIM, volumeName: 'pv-db', labels: { 'app.kubernetes.io/instance': 'db' } }));
  model.upsert('persistentVolume', pv({ name: 'pv-db', claimNamespace: NS, claimName: CLAIM, reclaimPolicy: options.reclaimPolicy ?? 'Delete' }));
  return model;
}

function record(version: number, status: string, manifest: string): AdmissionRequest {
  return releaseRecordRequest({ name: 'db', namespace: NS, version, status, manifest });
}

describe('an upgrade or rollback whose target no longer renders the Namespace Helm created', () => {
  it('helm rollback to a revision without the Namespace: Helm deletes it, and the namespace controller every PVC in it', () => {
    // Revision 1 was installed with --create-namespace (no Namespace document); revision 2 rendered it; rollback to 1.
    const decision = validator.handle(record(3, 'pending-rollback', statefulSetManifest()), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message ?? '').toContain(CLAIM);
    expect(decision.status?.message ?? '').toContain(`this rollback no longer declares Namespace ${NS}`);
  });

  it('helm upgrade turning the Namespace document off: the same deletion', () => {
    const decision = validator.handle(record(3, 'pending-upgrade', statefulSetManifest()), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message ?? '').toContain(CLAIM);
    expect(decision.status?.message ?? '').toContain(`this upgrade no longer declares Namespace ${NS}`);
    // Helm reads keep on the live Namespace before deleting it: the advice that works.
    expect(decision.status?.message ?? '').toContain(`kubectl annotate namespace ${NS} helm.sh/resource-policy=keep`);
  });

  it('the finding: deleted-with-namespace, critical under reclaim Delete, a warning under Retain', () => {
    const target = pendingRevision(statefulSetManifest(), { name: 'db', namespace: NS, version: 3 });
    const critical = collectDroppedPvcs(cluster(), target).findings;
    expect(critical.map((f) => [f.object.name, f.severity, f.tags])).toEqual([[CLAIM, 'critical', ['deleted-with-namespace', 'reclaim-delete']]]);
    const retained = collectDroppedPvcs(cluster(HELM, { reclaimPolicy: 'Retain' }), target).findings;
    expect(retained.map((f) => [f.object.name, f.severity])).toEqual([[CLAIM, 'warning']]);
    expect(retained[0]?.reason).toContain('kubectl patch pv pv-db');
  });

  it('control: an upgrade still declaring the Namespace keeps it: allowed', () => {
    const decision = validator.handle(record(3, 'pending-upgrade', NAMESPACE_DOCUMENT + statefulSetManifest()), context(cluster()));
    expect(decision.allowed).toBe(true);
  });

  it('control: a Namespace the live object keeps (helm.sh/resource-policy: keep) is not deleted: allowed', () => {
    const decision = validator.handle(record(3, 'pending-rollback', statefulSetManifest()), context(cluster({ ...HELM, 'helm.sh/resource-policy': 'keep' })));
    expect(decision.allowed).toBe(true);
  });

  it("control: a Namespace no release annotated (made with --create-namespace or by hand) is not Helm's to delete: allowed", () => {
    const decision = validator.handle(record(3, 'pending-rollback', statefulSetManifest()), context(cluster({})));
    expect(decision.allowed).toBe(true);
  });

  it('control: a Namespace annotated for another release is not this one to delete: allowed', () => {
    const other = { 'meta.helm.sh/release-name': 'other', 'meta.helm.sh/release-namespace': NS };
    const decision = validator.handle(record(3, 'pending-upgrade', statefulSetManifest()), context(cluster(other)));
    expect(decision.allowed).toBe(true);
  });

  it('control: a Namespace already being deleted: its PVCs go whatever this revision says: allowed', () => {
    const decision = validator.handle(record(3, 'pending-upgrade', statefulSetManifest()), context(cluster(HELM, { deleting: true })));
    expect(decision.allowed).toBe(true);
  });

  it('control: an install over an annotated Namespace deletes nothing: allowed', () => {
    const decision = validator.handle(record(1, 'pending-install', statefulSetManifest()), context(cluster()));
    expect(decision.allowed).toBe(true);
  });
});

