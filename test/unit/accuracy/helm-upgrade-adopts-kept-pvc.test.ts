// `helm upgrade` adopting a PVC kept (`helm.sh/resource-policy: keep`) from an earlier install of the release. Helm's
// upgrade checks only what the previous revision did not render (pkg/action/upgrade.go: toBeCreated), and adopts an
// existing object annotated for the release (existingResourceConflict), or any with --take-ownership (requireAdoption).
// DevLake: its first install left devlake-grafana (keep) on `helm uninstall`; the release was installed again without
// grafana, and an upgrade turning grafana back on re-attaches the old dashboards' data, which the install path refuses
// (adopted-by-helm). volume-guard cannot read the previous revision: a kept PVC created before the release's
// first_deployed and mounted by no pod is refused; one a pod mounts (the release's own, adopted at its install) passes.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { PersistentVolumeClaimRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../../../src/kube.ts';
import { context } from '../../support/admission.ts';
import { namespace, pod, pv, pvc } from '../../support/fixtures.ts';
import { devlakeManifest, releaseRecordRequest } from '../helm/helm-fixtures.ts';

const NS = 'devlake';
const FIRST_DEPLOYED = '2026-01-10T10:00:00Z';
const KEPT = { [HELM_RELEASE_NAME_ANNOTATION]: 'devlake', [HELM_RELEASE_NAMESPACE_ANNOTATION]: NS, 'helm.sh/resource-policy': 'keep' };

const validator = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await validator.close?.();
});

function cluster(claim: Partial<PersistentVolumeClaimRecord> = {}, mounted = false): ClusterModel {
  const model = new ClusterModel();
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('persistentVolume', pv({ name: 'pv-grafana', claimNamespace: NS, claimName: 'devlake-grafana', reclaimPolicy: 'Delete' }));
  model.upsert(
    'persistentVolumeClaim',
    pvc({ namespace: NS, name: 'devlake-grafana', volumeName: 'pv-grafana', creationTimestamp: '2025-06-01T00:00:00Z', annotations: KEPT, ...claim }),
  );
  if (mounted) model.upsert('pod', pod({ namespace: NS, name: 'devlake-grafana-7d9f-abcde', controllerKind: 'ReplicaSet', claimNames: ['devlake-grafana'] }));
  return model;
}

function record(status: 'pending-upgrade' | 'pending-rollback' = 'pending-upgrade', firstDeployed: string | null = FIRST_DEPLOYED) {
  return releaseRecordRequest({ name: 'devlake', namespace: NS, version: 2, status, manifest: devlakeManifest(), firstDeployed });
}

describe('helm upgrade adopting a PVC kept from an earlier install', () => {
  it('refuses the upgrade, naming the PVC, as the install is refused', () => {
    const decision = validator.handle(record(), context(cluster()));
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    expect(message).toContain(`${NS}/devlake-grafana`);
    expect(message.replace(/\s+/g, ' ')).toContain('this upgrade adopts it with its old data');
  });

  it('passes the release\'s own PVC: mounted by a pod, created after its first install, or with a reuse approval', () => {
    expect(validator.handle(record(), context(cluster({}, true))).allowed).toBe(true);
    expect(validator.handle(record(), context(cluster({ creationTimestamp: '2026-01-10T10:00:05Z' }))).allowed).toBe(true);
    // Within the margin for the Helm client's clock running ahead of the API server's.
    expect(validator.handle(record(), context(cluster({ creationTimestamp: '2026-01-10T09:58:00Z' }))).allowed).toBe(true);
    const approved = { ...KEPT, 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin' };
    expect(validator.handle(record(), context(cluster({ annotations: approved }))).allowed).toBe(true);
    // No readable first_deployed: nothing tells an earlier install's PVC.
    expect(validator.handle(record('pending-upgrade', null), context(cluster())).allowed).toBe(true);
  });

  it('leaves a rollback alone: Helm fails on an existing object the current revision does not render', () => {
    expect(validator.handle(record('pending-rollback'), context(cluster())).allowed).toBe(true);
  });

  it('refuses an unannotated bound PVC the upgrade takes over (--take-ownership), warns while a pod mounts it', () => {
    const decision = validator.handle(record(), context(cluster({ annotations: {} })));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message.replace(/\s+/g, ' ')).toContain('this upgrade takes it over (--take-ownership) with its old data');
    const inUse = validator.handle(record(), context(cluster({ annotations: {} }, true)));
    expect(inUse.allowed).toBe(true);
    expect((inUse.warnings ?? []).join('\n')).toContain(`${NS}/devlake-grafana`);
    // Created since the release's first install: its own (rendered by a Helm before 3.2, which set no annotations).
    expect(validator.handle(record(), context(cluster({ annotations: {}, creationTimestamp: '2026-02-01T00:00:00Z' }))).allowed).toBe(true);
    // Not bound: no data to take.
    expect(validator.handle(record(), context(cluster({ annotations: {}, volumeName: '' }))).allowed).toBe(true);
  });
});
