// A stale resource an answer never reads does not make it unknown: each plan declares what it reads (plans.ts), so
// machines.cluster.x-k8s.io whose CRD conversion webhook is down, or a Harvester UpgradePlan list, does not refuse
// every automation PVC DELETE and every Helm install cluster-wide. A stale resource it does read still refuses.
import { describe, expect, it } from 'vitest';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { storageUpgradeValidator } from '../../../src/admission/validators/storage-teardown.ts';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { ModelHealth } from '../../../src/cluster/snapshot.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { longhornNode, namespace, pv, pvc, replica, volume } from '../../support/fixtures.ts';
import { releaseSecret, type ReleaseFixture } from '../helm/helm-fixtures.ts';

const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const config = defaultConfig();
const staleOf = (...resources: string[]): ModelHealth => ({ synced: () => true, staleResources: () => resources });

function shop(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('namespace', namespace({ name: 'shop' }));
  model.upsert('namespace', namespace({ name: 'longhorn-system' }));
  model.upsert('persistentVolume', pv({ name: 'pv-a', claimNamespace: 'shop', claimName: 'data', reclaimPolicy: 'Retain' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data', volumeName: 'pv-a' }));
  model.upsert('longhornNode', longhornNode({ name: 'w1' }));
  model.upsert('longhornVolume', volume({ name: 'v1', numberOfReplicas: 1 }));
  model.upsert('longhornReplica', replica({ volumeName: 'v1', nodeID: 'w1' }));
  return model;
}

const pvcDelete = (user: UserInfo): AdmissionRequest =>
  request({
    kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
    resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
    operation: 'DELETE',
    namespace: 'shop',
    name: 'data',
    userInfo: user,
    oldObject: { metadata: { name: 'data', namespace: 'shop' }, spec: { volumeName: 'pv-a' }, status: { phase: 'Bound' } },
  });

const MANIFEST = '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  a: b\n';

function release(fields: Partial<ReleaseFixture>): AdmissionRequest {
  const fixture: ReleaseFixture = { name: 'web', namespace: 'shop', version: 1, status: 'pending-install', manifest: MANIFEST, ...fields };
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: fixture.namespace,
    name: `sh.helm.release.v1.${fixture.name}.v${fixture.version}`,
    userInfo: ADMIN,
    object: releaseSecret(fixture),
  });
}

describe('a stale resource the answer does not read', () => {
  const UNREAD = ['machines.cluster.x-k8s.io', 'upgradeplans.management.harvesterhci.io', 'nodes'];

  it("allows Argo CD's DELETE of a PVC whose PV keeps its data (Retain), as with a fresh model", () => {
    const validator = pvcDeleteValidator(config);
    expect(validator.handle(pvcDelete(ARGO), context(shop())).allowed).toBe(true);
    for (const stale of UNREAD) {
      const decision = validator.handle(pvcDelete(ARGO), context(shop(), { health: staleOf(stale) }));
      expect(decision.allowed, stale).toBe(true);
    }
  });

  it('refuses it while the PVs (what it reads) are stale', () => {
    const decision = pvcDeleteValidator(config).handle(pvcDelete(ARGO), context(shop(), { health: staleOf('persistentvolumes') }));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('volume-guard cannot judge the deletion of PVC shop/data');
    expect(decision.status!.message).toContain('persistentvolumes');
  });

  it('allows a Helm install with stale Machines, Longhorn volumes or nodes; refuses it with stale PVCs', () => {
    const validator = helmReleaseValidator(config);
    for (const stale of [...UNREAD, 'volumes.longhorn.io']) {
      expect(validator.handle(release({}), context(shop(), { health: staleOf(stale) })).allowed, stale).toBe(true);
    }
    expect(validator.handle(release({}), context(shop(), { health: staleOf('persistentvolumeclaims') })).allowed).toBe(false);
  });

  it("refuses an upgrade of Longhorn's chart with stale Longhorn volumes, not with stale Machines", () => {
    const validator = helmReleaseValidator(config);
    const upgrade = release({ name: 'longhorn', namespace: 'longhorn-system', version: 2, status: 'pending-upgrade', chartName: 'longhorn', chartVersion: '1.8.0' });
    expect(validator.handle(upgrade, context(shop(), { health: staleOf('machines.cluster.x-k8s.io') })).allowed).toBe(true);
    expect(validator.handle(upgrade, context(shop(), { health: staleOf('volumes.longhorn.io') })).allowed).toBe(false);
  });

  it("allows a new longhorn-manager image with stale Machines; refuses it with stale Longhorn replicas", () => {
    const validator = storageUpgradeValidator(config);
    const image = (tag: string): unknown => ({ spec: { template: { spec: { containers: [{ name: 'longhorn-manager', image: `longhornio/longhorn-manager:${tag}` }] } } } });
    const update = request({
      kind: { group: 'apps', version: 'v1', kind: 'DaemonSet' },
      resource: { group: 'apps', version: 'v1', resource: 'daemonsets' },
      operation: 'UPDATE',
      namespace: 'longhorn-system',
      name: 'longhorn-manager',
      object: image('v1.8.0'),
      oldObject: image('v1.7.2'),
    });
    expect(validator.handle(update, context(shop(), { health: staleOf('machines.cluster.x-k8s.io') })).allowed).toBe(true);
    expect(validator.handle(update, context(shop(), { health: staleOf('replicas.longhorn.io') })).allowed).toBe(false);
  });
});

describe("the stale refusal's advice, read through kubectl", () => {
  // /readyz answers ready once the model has synced, stale or not (serve.ts: readiness is synced and not shutting
  // down), so it shows nothing of a view gone stale later: the advice names what does.
  it('for a view gone stale after the first sync: the log line and the age metric, not /readyz (which stays ready)', () => {
    const decision = pvcDeleteValidator(config).handle(pvcDelete(ARGO), context(shop(), { health: staleOf('persistentvolumes') }));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).not.toContain('/readyz');
    expect(message).toContain('"informer failed"');
    expect(message).toContain('volume_guard_model_age_seconds');
  });

  it('before the first sync: /readyz, which turns ready once it is done', () => {
    const unsynced: ModelHealth = { synced: () => false, staleResources: () => ['persistentvolumes'] };
    const message = pvcDeleteValidator(config).handle(pvcDelete(ARGO), context(shop(), { health: unsynced })).status!.message;
    expect(message).toContain('not synced yet');
    expect(message).toContain('/readyz');
  });
});
