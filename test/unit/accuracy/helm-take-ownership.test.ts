// `helm install/upgrade --take-ownership` (Helm 3.17+, 4): release b adopts release a's StatefulSet (its
// meta.helm.sh/release-name turns to b), while a's last revision still renders it. Measured with the harness's Helm
// 3.21 and 4.3: a `helm upgrade a` that no longer renders it deletes it (both: Helm deletes what the previous revision
// rendered, whoever owns it now); `helm uninstall a` deletes it with Helm 3 and leaves it with Helm 4 (which skips
// objects another release owns). The adopted StatefulSet's PVCs keep a's release label from when they were created:
// they are b's StatefulSet's data in use, never a leftover of a.
import { describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { releaseFindings } from '../../../src/audit/release.ts';
import { pvcsLeftBehind } from '../../../src/checks/orphan-pvc.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { parseManifest } from '../../../src/helm/manifest.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseRecordRequest, releaseSecret } from '../helm/helm-fixtures.ts';

const validator = helmReleaseValidator(defaultConfig());
const NS = 'shop';
const CLAIMS = ['data-shared-db-0', 'data-shared-db-1'];

const SHARED_DB = `---
# Source: shop/templates/db.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: shared-db
spec:
  replicas: 2
  serviceName: shared-db
  selector:
    matchLabels: {app: shared-db}
  template:
    metadata:
      labels: {app: shared-db}
    spec:
      containers: [{name: db, image: registry.invalid/db:1}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;

/** shared-db, now annotated for release `owner`; its claims labelled for release a (created under a). */
function cluster(owner: string): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'shared-db', replicas: 2, claimTemplates: ['data'], helmReleaseName: owner, helmReleaseNamespace: NS }));
  for (const name of CLAIMS) {
    model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}`, labels: { 'app.kubernetes.io/instance': 'a' } }));
  }
  return model;
}

function record(name: string, version: number, status: string): AdmissionRequest {
  return releaseRecordRequest({ name, namespace: NS, version, status, manifest: SHARED_DB });
}

describe('helm --take-ownership of another release’s StatefulSet', () => {
  it("b's install taking it over adopts no orphan (the claims are in use), and warns what a's later steps still do", () => {
    // At b's record the StatefulSet is still a's: Helm annotates it for b only after the record is written.
    const decision = validator.handle(record('b', 1, 'pending-install'), context(cluster('a')));
    expect(decision.allowed, decision.status?.message).toBe(true);
    const warnings = (decision.warnings ?? []).join('\n');
    expect(decision.warnings).toEqual([
      `volume-guard: StatefulSet ${NS}/shared-db belongs to Helm release ${NS}/a;`,
      "this install takes it over, but release a's last revision still renders it:",
      'helm upgrade of a without it, or helm uninstall a (Helm 3), deletes it',
    ]);
    expect(warnings).not.toContain('data-shared-db');
    // An upgrade of b's own StatefulSet says nothing of the kind.
    const own = validator.handle(record('b', 2, 'pending-upgrade'), context(cluster('b')));
    expect(own.allowed).toBe(true);
    expect((own.warnings ?? []).join('\n')).not.toContain('belongs to Helm release');
  });

  it("audit --release a (and the orphan metric, which reads the same) does not report b's StatefulSet's claims", () => {
    const model = cluster('b');
    for (const state of [{ installed: true, revision: 1, status: 'deployed' }, { installed: false, revision: 1, status: 'uninstalled' }]) {
      expect(releaseFindings(model, NS, 'a', state).findings).toEqual([]);
    }
    // Before the take-over the same claims are a's StatefulSet's: left behind by a's uninstall (a warning).
    const before = releaseFindings(cluster('a'), NS, 'a', { installed: true, revision: 1, status: 'deployed' }).findings;
    expect(before.map((f) => [f.object.name, f.severity])).toEqual(CLAIMS.map((name) => [name, 'warning']));
  });

  it("a re-install of a (its chart without that StatefulSet) finds no leftover in b's claims", () => {
    const decision = validator.handle(reinstallWithout(), context(cluster('b')));
    expect(decision.allowed, decision.status?.message).toBe(true);
  });

  it("a's upgrade not rendering it warns that Helm deletes it if a's last revision still did (it cannot be read)", () => {
    const upgrade = (owner: string) => validator.handle(reinstallWithout(2, 'pending-upgrade'), context(cluster(owner)));
    const decision = upgrade('b');
    expect(decision.allowed).toBe(true);
    expect(decision.warnings).toEqual([
      `volume-guard: StatefulSet ${NS}/shared-db, now Helm release b's, has PVCs of this release;`,
      'if revision 1 still renders it, this upgrade deletes it (Helm deletes what a revision drops)',
    ]);
    // Still a's own: the upgrade-drop rules judge it (orphan-pvc, a refusal), no take-over warning.
    const own = upgrade('a');
    expect(own.allowed).toBe(false);
    expect((own.warnings ?? []).join('\n')).not.toContain('now Helm release');
  });

  it("a's uninstall says which objects another release now owns: Helm 4 leaves them, Helm 3 deletes them", () => {
    const decision = validator.handle(record('a', 2, 'uninstalling'), context(cluster('b')));
    expect(decision.allowed).toBe(true);
    const lines = decision.warnings ?? [];
    expect(lines.slice(0, 2)).toEqual([`volume-guard: StatefulSet ${NS}/shared-db now belongs to Helm release ${NS}/b:`, 'Helm 4 leaves it, Helm 3 deletes it']);
    // Its PVCs are not a's leftovers (no "leaves ... behind" line).
    expect(lines.join('\n')).not.toContain('behind');
    // Its claims are b's data: a's uninstall does not leave them behind as a's.
    const release = { name: 'a', namespace: NS, version: 2, status: 'uninstalling', manifest: '', chartName: 'shop', chartVersion: '1', labels: {} };
    expect(pvcsLeftBehind(cluster('b'), release, parseManifest('', NS))).toEqual([]);
  });
});

/** a's revision `version` (its first install by default), from a chart that no longer renders shared-db. */
function reinstallWithout(version = 1, status = 'pending-install'): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: NS,
    name: `sh.helm.release.v1.a.v${version}`,
    userInfo: ADMIN,
    object: releaseSecret({ name: 'a', namespace: NS, version, status, manifest: '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a-cm\n' }),
  });
}
