// A chart that renders the Namespace its release lives in (a "namespace chart" installed with `-n $NAMESPACE`).
// `helm uninstall` deletes a manifest's documents that carry no helm.sh/resource-policy (uninstall.go
// deleteRelease, filterManifestsToKeep), a Namespace like any other, and the namespace controller then deletes every
// PVC in it, each PV following its reclaim policy. The uninstall's warnings name those PVCs as deleted, not as left
// behind for a later install.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseRecordRequest, statefulSetManifest } from '../helm/helm-fixtures.ts';

const validator = helmReleaseValidator(defaultConfig());
const NS = 'shop';
const CLAIM = 'data-db-0';

const NAMESPACE_DOC = `---
# Source: shop/templates/namespace.yaml
apiVersion: v1
kind: Namespace
metadata:
  name: ${NS}
`;

function cluster(namespaceAnnotations: Record<string, string> = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS, annotations: namespaceAnnotations }));
  model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'uid-db', claimTemplates: ['data'], helmReleaseName: 'db', helmReleaseNamespace: NS }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: CLAIM, volumeName: 'pv-db', labels: { 'app.kubernetes.io/instance': 'db' } }));
  model.upsert('persistentVolume', pv({ name: 'pv-db', claimNamespace: NS, claimName: CLAIM, reclaimPolicy: 'Delete' }));
  return model;
}

function record(version: number, status: string, manifest: string): AdmissionRequest {
  return releaseRecordRequest({ name: 'db', namespace: NS, version, status, manifest });
}

describe('helm uninstall of a release whose manifest declares its own Namespace', () => {
  it('names the PVCs the namespace controller deletes with it, and none as left behind', () => {
    const decision = validator.handle(record(1, 'uninstalling', NAMESPACE_DOC + statefulSetManifest()), context(cluster()));
    expect(decision.allowed).toBe(true);
    const text = (decision.warnings ?? []).join('\n');
    expect(text).toContain('deletes namespace shop, which its chart declares;');
    expect(text).toContain(`- PVC ${NS}/${CLAIM} (PV pv-db, reclaim Delete: data destroyed)`);
    expect(text).not.toContain('behind');
  });

  it('a Namespace kept by helm.sh/resource-policy stays, and so do its PVCs', () => {
    const kept = NAMESPACE_DOC.replace(`  name: ${NS}\n`, `  name: ${NS}\n  annotations:\n    helm.sh/resource-policy: keep\n`);
    const text = (validator.handle(record(1, 'uninstalling', kept + statefulSetManifest()), context(cluster())).warnings ?? []).join('\n');
    expect(text).not.toContain('deletes namespace');
    expect(text).toContain('leaves 1 PVC and data behind');
  });

  it('another namespace the chart declares is no reason to name this one\'s PVCs', () => {
    const other = NAMESPACE_DOC.replace(`  name: ${NS}\n`, '  name: shop-tools\n');
    const text = (validator.handle(record(1, 'uninstalling', other + statefulSetManifest()), context(cluster())).warnings ?? []).join('\n');
    expect(text).not.toContain('deletes namespace shop,');
    expect(text.replace(/\s+/g, ' ')).toContain('also deletes namespace shop-tools, which its chart declares, with every PVC in it');
    expect(text).toContain('leaves 1 PVC and data behind');
  });
});
