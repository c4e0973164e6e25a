// A chart that renders a big `kind: ConfigMapList` (Grafana dashboards: ~1.2 MB in one document) and no storage.
// Helm builds its objects with the Kubernetes resource builder, which flattens every `*List` document into its items,
// so a List may hold a StatefulSet, a PVC or a Namespace; but a List whose text gives no item such a kind holds none.
// Such a document is not parsed, and its size counts toward no limit: the install passes. A List that could hold one
// is parsed under the same limits as any document (1 MiB each, 2 MiB per manifest), and refused as unreadable past them.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { releaseRecordRequest } from '../helm/helm-fixtures.ts';

const NS = 'monitoring';
const validator = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await validator.close?.();
});

/** A ConfigMapList of `count` dashboards of ~30 KB that say Namespace and StatefulSet a lot, plus `extra` items. */
function dashboards(count: number, extra = ''): string {
  const items = Array.from({ length: count }, (_, i) => {
    const json = JSON.stringify({ title: `Namespace ${i} / StatefulSets`, panels: [{ description: 'x'.repeat(30_000) }] });
    return `- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: dash-${i}\n    labels: {grafana_dashboard: "1"}\n  data:\n    dash-${i}.json: |-\n      ${json}\n`;
  }).join('');
  return `---\n# Source: kps/templates/grafana/configmap-dashboards.yaml\napiVersion: v1\nkind: ConfigMapList\nitems:\n${items}${extra}`;
}

function cluster(): ClusterModel {
  const model = new ClusterModel();
  model.upsert('namespace', namespace({ name: NS }));
  return model;
}

const install = (manifest: string) => releaseRecordRequest({ name: 'kps', namespace: NS, version: 1, status: 'pending-install', manifest });

describe('helm install of a chart with a ConfigMapList over 1 MiB', () => {
  it('passes when no item could be a StatefulSet, PVC or Namespace', () => {
    const manifest = dashboards(40);
    expect(manifest.length).toBeGreaterThan(1024 * 1024);
    const decision = validator.handle(install(manifest), context(cluster()));
    expect(decision.status?.message ?? '').not.toContain('cannot check');
    expect(decision.allowed).toBe(true);
  });

  it('is refused as unreadable when an item could be a StatefulSet: that document is parsed, within the limits', () => {
    const statefulSetItem = '- apiVersion: apps/v1\n  kind: StatefulSet\n  metadata: {name: db}\n  spec: {volumeClaimTemplates: [{metadata: {name: data}}]}\n';
    const decision = validator.handle(install(dashboards(40, statefulSetItem)), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('is larger than 1 MiB');
  });

  it('still finds a StatefulSet item of a smaller List and refuses the PVC it would re-attach', () => {
    const model = cluster();
    model.upsert('persistentVolume', pv({ name: 'pv-data-db-0', claimNamespace: NS, claimName: 'data-db-0', reclaimPolicy: 'Retain' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-0', volumeName: 'pv-data-db-0' }));
    const statefulSetItem = '- {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}}]}}\n';
    const decision = validator.handle(install(dashboards(2, statefulSetItem)), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`${NS}/data-db-0`);
  });

  it('reads a Namespace item of a List at uninstall: its PVCs are named as deleted with it', () => {
    const model = cluster();
    model.upsert('persistentVolume', pv({ name: 'pv-files', claimNamespace: NS, claimName: 'files', reclaimPolicy: 'Delete' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'files', volumeName: 'pv-files' }));
    const namespaceItem = `- apiVersion: v1\n  kind: "Namespace"\n  metadata: {name: ${NS}}\n`;
    const uninstall = releaseRecordRequest({ name: 'kps', namespace: NS, version: 1, status: 'uninstalling', manifest: dashboards(2, namespaceItem) });
    const text = (validator.handle(uninstall, context(model)).warnings ?? []).join('\n');
    expect(text).toContain(`deletes namespace ${NS}`);
    expect(text).toContain(`PVC ${NS}/files`);
  });
});
