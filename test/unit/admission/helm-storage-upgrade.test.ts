// Issue 20.3 at the release record: a Helm upgrade or rollback of the chart named longhorn is an upgrade of the
// storage system, refused while volumes are faulted or have no copy; installs and other charts rendering no
// longhorn-manager are not judged so (umbrella charts: test/unit/accuracy/longhorn-subchart-upgrade.test.ts).
import { describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { failedReplica, longhornNode, namespace, replica, volume } from '../../support/fixtures.ts';
import { releaseSecret, type ReleaseFixture } from '../helm/helm-fixtures.ts';

const validator = helmReleaseValidator(defaultConfig());
const NS = 'longhorn-system';
const MANIFEST = '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: longhorn-storageclass\ndata:\n  a: b\n';

function releaseRequest(fields: Partial<ReleaseFixture>, labels: Record<string, string> = {}): AdmissionRequest {
  const fixture: ReleaseFixture = { name: 'storage', namespace: NS, version: 2, status: 'pending-upgrade', manifest: MANIFEST, chartName: 'longhorn', chartVersion: '1.8.0', ...fields };
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: NS,
    name: `sh.helm.release.v1.${fixture.name}.v${fixture.version}`,
    userInfo: ADMIN,
    object: releaseSecret(fixture, { extraLabels: labels }),
  });
}

function withFaulted(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('longhornNode', longhornNode({ name: 'w1' }));
  model.upsert('longhornVolume', volume({ name: 'broken', robustness: 'faulted', pvcNamespace: 'shop', pvcName: 'ledger' }));
  model.upsert('longhornReplica', failedReplica({ volumeName: 'broken', nodeID: 'w1' }));
  model.upsert('longhornVolume', volume({ name: 'fine', numberOfReplicas: 1 }));
  model.upsert('longhornReplica', replica({ volumeName: 'fine', nodeID: 'w1' }));
  return model;
}

describe('Helm upgrade of the Longhorn chart', () => {
  it('is refused while a volume is faulted, naming it and its PVC; single-replica volumes are no reason', () => {
    const decision = validator.handle(releaseRequest({}), context(withFaulted()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('[volume-health] 1 Longhorn volume is not healthy');
    expect(decision.status!.message).toContain('longhorn-system/broken (PVC shop/ledger)');
    expect(decision.status!.message).not.toContain('longhorn-system/fine');
  });

  it('is judged the same on rollback, not on install, and not for another chart', () => {
    expect(validator.handle(releaseRequest({ status: 'pending-rollback', version: 3 }), context(withFaulted())).allowed).toBe(false);
    expect(validator.handle(releaseRequest({ status: 'pending-install', version: 1 }), context(withFaulted())).allowed).toBe(true);
    expect(validator.handle(releaseRequest({ chartName: 'longhorn-ui-extras' }), context(withFaulted())).allowed).toBe(true);
  });

  it('honors a release-label override of volume-health (scoped to this upgrade\'s revision)', () => {
    const decision = validator.handle(
      releaseRequest({}, { 'volume-guard.io/skip': 'volume-health', 'volume-guard.io/skip-revision': '2' }),
      context(withFaulted()),
    );
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations?.['overridden-checks']).toBe('volume-health');
  });
});

describe('Helm upgrade of a chart named longhorn outside Longhorn\'s namespace', () => {
  /** The same faulted volume (PVC shop/ledger), plus one of the release's own namespace. */
  function tenantModel(): ClusterModel {
    const model = withFaulted();
    model.upsert('namespace', namespace({ name: 'tenant-a' }));
    model.upsert('longhornVolume', volume({ name: 'own', robustness: 'faulted', pvcNamespace: 'tenant-a', pvcName: 'cache' }));
    model.upsert('longhornReplica', failedReplica({ volumeName: 'own', nodeID: 'w1' }));
    return model;
  }
  function tenantRequest(): AdmissionRequest {
    const fixture: ReleaseFixture = { name: 'mine', namespace: 'tenant-a', version: 2, status: 'pending-upgrade', manifest: MANIFEST, chartName: 'longhorn', chartVersion: '1.0.0' };
    return request({
      kind: { group: '', version: 'v1', kind: 'Secret' },
      resource: { group: '', version: 'v1', resource: 'secrets' },
      operation: 'CREATE',
      namespace: 'tenant-a',
      name: 'sh.helm.release.v1.mine.v2',
      userInfo: { username: 'tenant', groups: ['system:authenticated'] },
      object: releaseSecret(fixture),
    });
  }

  it('is still refused, but names no other namespace\'s volume or PVC to the requester', () => {
    const decision = validator.handle(tenantRequest(), context(tenantModel()));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain('[volume-health] 2 Longhorn volumes are not healthy');
    expect(message).toContain('Volume of another namespace: not healthy (names withheld: volume-guard audit)');
    expect(message).not.toContain('shop');
    expect(message).not.toContain('ledger');
    expect(message).not.toContain('broken');
    // Its own namespace's data is named.
    expect(message).toContain('longhorn-system/own (PVC tenant-a/cache)');
  });
});
