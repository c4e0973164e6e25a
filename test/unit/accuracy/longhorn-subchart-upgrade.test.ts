// A Longhorn upgrade shipped as a subchart (Harvester's `harvester` chart lists `longhorn` among its dependencies and
// renders it into longhorn-system with namespaceOverride; company all-in-one charts do the same) is a Longhorn
// upgrade. Its release record's chart is not named `longhorn`, so the record is recognised by what its manifest
// renders: the longhorn-manager DaemonSet (or Deployment) in Longhorn's namespace (`longhorn.namespace`). The record
// is where it is judged, before Helm touches anything: refused while a volume is faulted. Helm's later write of the
// DaemonSet passes as Helm's own (refusing it half way would leave the upgrade half applied); kubectl's is judged.
// A chart rendering no Longhorn component, or a longhorn-manager outside Longhorn's namespace, is no Longhorn upgrade,
// and only the DaemonSets and Deployments that could be longhorn-manager are parsed.
import { describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { storageUpgradeValidator } from '../../../src/admission/validators/storage-teardown.ts';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { parseManifest } from '../../../src/helm/manifest.ts';
import { context, request } from '../../support/admission.ts';
import { failedReplica, longhornNode, namespace, volume } from '../../support/fixtures.ts';
import { releaseRecordRequest, type ReleaseFixture } from '../helm/helm-fixtures.ts';

const NS = 'longhorn-system';
const workload = (kind: string, name: string, namespaceName: string | undefined, image: string) =>
  `---\n# Source: platform/charts/longhorn/templates/${name}.yaml\napiVersion: apps/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n` +
  (namespaceName === undefined ? '' : `  namespace: ${namespaceName}\n`) +
  `spec:\n  selector:\n    matchLabels:\n      app: ${name}\n  template:\n    metadata:\n      labels:\n        app: ${name}\n    spec:\n` +
  `      containers:\n      - name: ${name}\n        image: ${image}\n`;
/** longhorn-manager's DaemonSet; namespace null: the template leaves it out (Helm installs it in the release's). */
const ds = (tag: string, namespaceName: string | null = NS) => workload('DaemonSet', 'longhorn-manager', namespaceName ?? undefined, `longhornio/longhorn-manager:${tag}`);
/** What an umbrella chart renders besides Longhorn: workloads, and text naming longhorn-manager that is no manager. */
const OTHERS =
  workload('Deployment', 'platform-api', 'platform', 'example/platform-api:2.0.0') +
  workload('DaemonSet', 'node-agent', 'platform', 'example/node-agent:2.0.0') +
  '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: platform-notes\n  namespace: platform\ndata:\n  storage: managed by longhorn-manager in longhorn-system\n';

function withFaulted(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('namespace', namespace({ name: 'platform' }));
  model.upsert('longhornNode', longhornNode({ name: 'w1' }));
  model.upsert('longhornVolume', volume({ name: 'broken', robustness: 'faulted', pvcNamespace: 'shop', pvcName: 'ledger' }));
  model.upsert('longhornReplica', failedReplica({ volumeName: 'broken', nodeID: 'w1' }));
  return model;
}

function record(fields: Partial<ReleaseFixture>): AdmissionRequest {
  const fixture: ReleaseFixture = { name: 'platform', namespace: NS, version: 2, status: 'pending-upgrade', manifest: OTHERS + ds('v1.8.1'), chartName: 'platform', chartVersion: '2.0.0', ...fields };
  return releaseRecordRequest(fixture);
}

const judge = (review: AdmissionRequest) => helmReleaseValidator(defaultConfig()).handle(review, context(withFaulted()));

describe('Longhorn upgraded as a subchart of an umbrella chart', () => {
  it('the release record upgrading longhorn-manager (chart "platform") is refused while a volume is faulted', () => {
    const decision = judge(record({}));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('[volume-health]');
    expect(decision.status!.message).toContain('longhorn-system/broken (PVC shop/ledger)');
    // A rollback too; an install is no upgrade of a running Longhorn.
    expect(judge(record({ status: 'pending-rollback', version: 3 })).allowed).toBe(false);
    expect(judge(record({ status: 'pending-install', version: 1 })).allowed).toBe(true);
  });

  it('is refused from the umbrella release\'s own namespace (Harvester: harvester-system, Longhorn by namespaceOverride), names withheld', () => {
    const decision = judge(record({ namespace: 'platform' }));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('names withheld');
    expect(decision.status!.message).not.toContain('ledger');
  });

  it("the record is the judging point: Helm's own later write of that longhorn-manager image passes, kubectl's is refused", () => {
    const obj = (tag: string) => ({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'longhorn-manager', namespace: NS, annotations: { 'meta.helm.sh/release-name': 'platform', 'meta.helm.sh/release-namespace': NS } },
      spec: { template: { spec: { containers: [{ name: 'longhorn-manager', image: `longhornio/longhorn-manager:${tag}` }] } } },
    });
    const review = request({
      kind: { group: 'apps', version: 'v1', kind: 'DaemonSet' },
      resource: { group: 'apps', version: 'v1', resource: 'daemonsets' },
      operation: 'UPDATE',
      namespace: NS,
      name: 'longhorn-manager',
      options: { fieldManager: 'helm' },
      object: obj('v1.8.1'),
      oldObject: obj('v1.7.2'),
    });
    // Judged at the release record that renders it (the first test): refused there while a volume is faulted.
    expect(judge(record({})).allowed).toBe(false);
    // Helm writes it only once the record was admitted: that write is not judged a second time.
    expect(storageUpgradeValidator(defaultConfig()).handle(review, context(withFaulted())).allowed).toBe(true);
    // The same image change by kubectl was judged by no record, and is refused.
    expect(storageUpgradeValidator(defaultConfig()).handle({ ...review, options: { fieldManager: 'kubectl-set' } }, context(withFaulted())).allowed).toBe(false);
  });

  it('an umbrella chart rendering no Longhorn component is not judged as a Longhorn upgrade', () => {
    expect(judge(record({ manifest: OTHERS })).allowed).toBe(true);
    // longhorn-manager outside Longhorn's namespace is not the Longhorn volume-guard guards.
    expect(judge(record({ manifest: OTHERS + ds('v1.8.1', 'lab') })).allowed).toBe(true);
  });

  it('a longhorn-manager without a namespace is in the release\'s: Longhorn\'s when the release is installed there', () => {
    expect(judge(record({ manifest: OTHERS + ds('v1.8.1', null) })).allowed).toBe(false);
    expect(judge(record({ namespace: 'platform', manifest: OTHERS + ds('v1.8.1', null) })).allowed).toBe(true);
  });

  it('parses only the documents that could be longhorn-manager, not every workload of a big chart', () => {
    const parsed = parseManifest(OTHERS + ds('v1.8.1'), 'platform');
    expect(parsed.longhornManagers).toEqual([{ kind: 'DaemonSet', namespace: NS, source: 'platform/charts/longhorn/templates/longhorn-manager.yaml' }]);
    // Neither the other DaemonSet and Deployment nor the ConfigMap naming longhorn-manager is parsed.
    expect(parsed.parsedDocuments).toBe(1);
    expect(parseManifest(OTHERS, 'platform').parsedDocuments).toBe(0);
    // A kind the text leaves uncertain (a flow mapping) is parsed when it could be one, and read right.
    const flow = `---\n{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "longhorn-manager", "namespace": "${NS}"}}\n`;
    expect(parseManifest(flow, 'platform').longhornManagers).toEqual([{ kind: 'DaemonSet', namespace: NS, source: '' }]);
    // The name spelled with a double-quoted escape is no way around it.
    const escaped = ds('v1.8.1').replace('name: longhorn-manager\n  namespace', 'name: "longhorn\\x2dmanager"\n  namespace');
    expect(escaped).toContain('"longhorn\\x2dmanager"');
    expect(parseManifest(escaped, 'platform').longhornManagers).toHaveLength(1);
  });
});
