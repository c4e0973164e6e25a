// A refused install over kept history (`helm uninstall --keep-history`, then `helm install --replace` or Helm 4's
// `helm upgrade --install`: revision N+1, pending-install). Helm marks revision N superseded before it writes N+1
// (install.go replaceRelease), an UPDATE volume-guard never sees, so the retry `helm upgrade --install` is an upgrade
// record of revision N+1 carrying the first install's first_deployed: judged as the install refused at that revision,
// on the volume-guard pod that refused it (RefusedInstalls), or the leftover PVCs would read as the release's own data.
import { afterAll, describe, expect, it } from 'vitest';
import {
  helmReleaseValidator,
  REFUSED_INSTALL_TTL_MS,
  RefusedInstalls,
  SKIP_REVISION_KEY,
} from '../../../src/admission/validators/helm-release.ts';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import type { ValidationContext } from '../../../src/admission/validator.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../../../src/kube.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { releaseRecordRequest, releaseSecret, type ReleaseFixture } from '../helm/helm-fixtures.ts';

const NS = 'devlake';
/** The first install; its StatefulSet created the PVC 30 s later. */
const FIRST_DEPLOYED = '2026-01-10T10:00:00.000000000Z';
const validators: { close?: () => Promise<void> }[] = [];
afterAll(async () => {
  for (const validator of validators) await validator.close?.();
});

function fresh(installs = new RefusedInstalls()): { validator: ReturnType<typeof helmReleaseValidator>; installs: RefusedInstalls } {
  const validator = helmReleaseValidator(defaultConfig(), installs);
  validators.push(validator);
  return { validator, installs };
}

function statefulSetManifest(): string {
  return `---
# Source: c/templates/mysql.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: mysql
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/instance: devlake
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: devlake
    spec:
      containers: [{name: c, image: x}]
  volumeClaimTemplates:
    - metadata:
        name: data
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;
}

/** The uninstalled release's PVC, left by its StatefulSet (created after the first install). */
function model(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: NS }));
  m.upsert('persistentVolume', pv({ name: 'pv-data', claimNamespace: NS, claimName: 'data-mysql-0', reclaimPolicy: 'Retain' }));
  m.upsert(
    'persistentVolumeClaim',
    pvc({ namespace: NS, name: 'data-mysql-0', volumeName: 'pv-data', labels: { 'app.kubernetes.io/instance': 'devlake' }, creationTimestamp: '2026-01-10T10:00:30Z' }),
  );
  return m;
}

function record(status: 'pending-install' | 'pending-upgrade', version: number, fields: Partial<ReleaseFixture> = {}): ReleaseFixture {
  return {
    name: 'devlake',
    namespace: NS,
    version,
    status,
    manifest: statefulSetManifest(),
    // An install starts the release anew; the upgrade copies first_deployed from the superseded revision.
    firstDeployed: status === 'pending-install' ? '2026-06-01T00:00:00.000000000Z' : FIRST_DEPLOYED,
    ...fields,
  };
}

/** `helm install --replace` of revision `version` (the uninstalled one is `version - 1`). */
const replaceInstall = (version = 4): AdmissionRequest => releaseRecordRequest(record('pending-install', version));
/** `helm upgrade --install` after it: an upgrade of the same revision. */
const retry = (version = 4, fields: Partial<ReleaseFixture> = {}): AdmissionRequest => releaseRecordRequest(record('pending-upgrade', version, fields));

function at(m: ClusterModel, now: number): ValidationContext {
  return { ...context(m), now };
}

describe('the retry of a refused install over kept history is judged as that install', () => {
  it('refuses helm upgrade --install after the refused install --replace, saying why in one line', () => {
    const { validator } = fresh();
    const m = model();
    expect(validator.handle(replaceInstall(), context(m)).allowed).toBe(false);
    const again = validator.handle(retry(), context(m));
    expect(again.allowed).toBe(false);
    const message = again.status?.message ?? '';
    expect(message.split('\n')[0]).toContain(
      'upgrade of Helm release devlake/devlake (revision 4, judged as the install refused at revision 4 and as an upgrade: ' +
        'that install came after an uninstalled or a failed revision)',
    );
    expect(message).toContain('PVC devlake/data-mysql-0');
    // The advice is the install's: the fix, then helm upgrade --install; its override names this revision.
    // Wherever the fix's lines wrap (the quoted skip-by placeholder moved the wrap).
    expect(message.replace(/\s+/g, ' ')).toContain('then run helm upgrade --install (not install --replace)');
    expect(message).toContain(`helm upgrade --install ... --labels volume-guard.io/skip=orphan-pvc,${SKIP_REVISION_KEY}=4`);
  });

  it('without the refused install on this pod it is an upgrade: the PVC reads as the release\'s own data (a warning)', () => {
    const { validator } = fresh();
    const decision = validator.handle(retry(), context(model()));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain("re-attaches this release's own data");
  });

  it('refuses the retry adopting a PVC the uninstalled release kept (helm.sh/resource-policy), an install-only rule', () => {
    const { validator } = fresh();
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('namespace', namespace({ name: NS }));
    m.upsert('persistentVolume', pv({ name: 'pv-up', claimNamespace: NS, claimName: 'uploads', reclaimPolicy: 'Retain' }));
    m.upsert(
      'persistentVolumeClaim',
      pvc({
        namespace: NS,
        name: 'uploads',
        volumeName: 'pv-up',
        creationTimestamp: '2026-01-10T10:00:01Z',
        labels: { 'app.kubernetes.io/instance': 'devlake' },
        annotations: { [HELM_RELEASE_NAME_ANNOTATION]: 'devlake', [HELM_RELEASE_NAMESPACE_ANNOTATION]: NS, 'helm.sh/resource-policy': 'keep' },
      }),
    );
    const manifest = `---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: uploads\n  annotations:\n    helm.sh/resource-policy: keep\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n`;
    expect(validator.handle(releaseRecordRequest(record('pending-install', 4, { manifest })), context(m)).allowed).toBe(false);
    const again = validator.handle(releaseRecordRequest(record('pending-upgrade', 4, { manifest })), context(m));
    expect(again.allowed).toBe(false);
    expect(again.status?.message).toContain('PVC devlake/uploads');
  });

  it('judges a kept PVC the retry no longer declares as the install does: adopted, never dropped (its keep policy)', () => {
    const { validator } = fresh();
    const m = model();
    m.upsert('persistentVolume', pv({ name: 'pv-up', claimNamespace: NS, claimName: 'uploads', reclaimPolicy: 'Delete' }));
    m.upsert(
      'persistentVolumeClaim',
      pvc({
        namespace: NS,
        name: 'uploads',
        volumeName: 'pv-up',
        creationTimestamp: '2026-01-10T10:00:01Z',
        labels: { 'app.kubernetes.io/instance': 'devlake' },
        annotations: { [HELM_RELEASE_NAME_ANNOTATION]: 'devlake', [HELM_RELEASE_NAMESPACE_ANNOTATION]: NS, 'helm.sh/resource-policy': 'keep' },
      }),
    );
    validator.handle(replaceInstall(), context(m));
    const again = validator.handle(retry(), context(m));
    expect(again.allowed).toBe(false);
    const message = again.status?.message ?? '';
    expect(message).toContain('PVC devlake/uploads');
    expect(message).toContain('[orphan-pvc]');
    expect(message).not.toContain('[pvc-delete]');
  });

  it('judges only the refused revision: a later upgrade is an upgrade', () => {
    const { validator } = fresh();
    const m = model();
    validator.handle(replaceInstall(), context(m));
    expect(validator.handle(retry(5), context(m)).allowed).toBe(true);
  });

  it('honors the override the refusal names at the retry, and forgets the install once it is allowed', () => {
    const { validator, installs } = fresh();
    const m = model();
    validator.handle(replaceInstall(), context(m));
    expect(installs.size).toBe(1);
    const labels = { 'volume-guard.io/skip': 'orphan-pvc', [SKIP_REVISION_KEY]: '4' };
    const overridden = validator.handle(
      request({
        kind: { group: '', version: 'v1', kind: 'Secret' },
        resource: { group: '', version: 'v1', resource: 'secrets' },
        operation: 'CREATE',
        namespace: NS,
        name: 'sh.helm.release.v1.devlake.v4',
        object: releaseSecret(record('pending-upgrade', 4), { extraLabels: labels }),
      }),
      context(m),
    );
    expect(overridden.allowed).toBe(true);
    expect(overridden.auditAnnotations?.['override-source']).toBe('release label (revision 4)');
    expect(installs.size).toBe(0);
  });

  it('forgets the install once the fix lets the retry through (the PVC deleted)', () => {
    const { validator, installs } = fresh();
    const m = model();
    validator.handle(replaceInstall(), context(m));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-mysql-0', volumeName: 'pv-data', creationTimestamp: '2026-01-10T10:00:30Z', deleting: true }));
    expect(validator.handle(retry(), context(m)).allowed).toBe(true);
    expect(installs.size).toBe(0);
  });

  it('a refused retry keeps the install remembered; a dry run neither records nor clears', () => {
    const { validator, installs } = fresh();
    const m = model();
    // helm's --dry-run=server writes no record; a dry-run CREATE of one (kubectl --dry-run=server) records nothing.
    expect(validator.handle({ ...replaceInstall(), dryRun: true }, context(m)).allowed).toBe(false);
    expect(installs.size).toBe(0);
    validator.handle(replaceInstall(), context(m));
    expect(validator.handle(retry(), context(m)).allowed).toBe(false);
    expect(validator.handle(retry(), context(m)).allowed).toBe(false);
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-mysql-0', volumeName: 'pv-data', creationTimestamp: '2026-01-10T10:00:30Z', deleting: true }));
    expect(validator.handle({ ...retry(), dryRun: true }, context(m)).allowed).toBe(true);
    expect(installs.size).toBe(1);
  });

  it('records nothing for a refused first install (revision 1: no earlier record Helm could supersede)', () => {
    const { validator, installs } = fresh();
    expect(validator.handle(replaceInstall(1), context(model())).allowed).toBe(false);
    expect(installs.size).toBe(0);
  });

  it('keys the memory by namespace and release name', () => {
    const { validator } = fresh();
    const m = model();
    m.upsert('namespace', namespace({ name: 'other' }));
    validator.handle(replaceInstall(), context(m));
    // A release of another name, or of the same name in another namespace, at the same revision is not the refused one.
    for (const other of [{ name: 'other-release' }, { namespace: 'other' }]) {
      expect(JSON.stringify(validator.handle(retry(4, other), context(m)))).not.toContain('judged as the install');
    }
    expect(validator.handle(retry(), context(m)).allowed).toBe(false);
  });

  // install --replace also proceeds over a FAILED last revision (install.go availableName), which it leaves failed
  // (replaceRelease): a deployed revision stays, and the retry is a real upgrade from it. Judged as the install AND
  // as that upgrade: what the upgrade deletes is still refused, with its own override.
  describe('after a failed upgrade: the retry is also a real upgrade from the deployed revision', () => {
    /** Revision 1 deployed declaring PVC logs (annotated for the release, reclaim Delete); revision 2's upgrade failed. */
    function failedUpgradeModel(): ClusterModel {
      const m = model();
      m.upsert('persistentVolume', pv({ name: 'pv-logs', claimNamespace: NS, claimName: 'logs', reclaimPolicy: 'Delete' }));
      m.upsert(
        'persistentVolumeClaim',
        pvc({
          namespace: NS,
          name: 'logs',
          volumeName: 'pv-logs',
          creationTimestamp: '2026-01-10T10:00:01Z',
          labels: { 'app.kubernetes.io/instance': 'devlake' },
          annotations: { [HELM_RELEASE_NAME_ANNOTATION]: 'devlake', [HELM_RELEASE_NAMESPACE_ANNOTATION]: NS },
        }),
      );
      return m;
    }

    it('refuses the retry for the PVC the upgrade deletes as well as for the one the install adopts', () => {
      const { validator } = fresh();
      const m = failedUpgradeModel();
      expect(validator.handle(replaceInstall(3), context(m)).allowed).toBe(false);
      const again = validator.handle(retry(3), context(m));
      expect(again.allowed).toBe(false);
      const message = again.status?.message ?? '';
      expect(message.split('\n')[0]).toContain('judged as the install refused at revision 3 and as an upgrade');
      expect(message).toContain('PVC devlake/data-mysql-0');
      expect(message).toMatch(/PVC devlake\/logs\b[^\n]*no longer declares it, so Helm deletes it/);
    });

    it('the orphan-pvc override alone leaves the retry refused for pvc-delete', () => {
      const { validator } = fresh();
      const m = failedUpgradeModel();
      validator.handle(replaceInstall(3), context(m));
      const labels = { 'volume-guard.io/skip': 'orphan-pvc', [SKIP_REVISION_KEY]: '3' };
      const overridden = validator.handle(
        request({
          kind: { group: '', version: 'v1', kind: 'Secret' },
          resource: { group: '', version: 'v1', resource: 'secrets' },
          operation: 'CREATE',
          namespace: NS,
          name: 'sh.helm.release.v1.devlake.v3',
          object: releaseSecret(record('pending-upgrade', 3), { extraLabels: labels }),
        }),
        context(m),
      );
      expect(overridden.allowed).toBe(false);
      const message = overridden.status?.message ?? '';
      expect(message).toContain('PVC devlake/logs');
      expect(message).not.toContain('PVC devlake/data-mysql-0');
      // Helm merges --labels key by key: the advised skip keeps orphan-pvc, which the record's label waived.
      expect(message).toContain(`helm upgrade --install ... --labels volume-guard.io/skip=pvc-delete_orphan-pvc,${SKIP_REVISION_KEY}=3`);
    });
  });

  it('forgets a refused install after an hour, and the oldest past its bound', () => {
    const { validator } = fresh();
    const m = model();
    const start = Date.now();
    validator.handle(replaceInstall(), at(m, start));
    expect(validator.handle(retry(), at(m, start + REFUSED_INSTALL_TTL_MS - 1000)).allowed).toBe(false);
    // The refused retry renewed it: an hour from then.
    expect(validator.handle(retry(), at(m, start + 2 * REFUSED_INSTALL_TTL_MS - 2000)).allowed).toBe(false);
    expect(validator.handle(retry(), at(m, start + 3 * REFUSED_INSTALL_TTL_MS)).allowed).toBe(true);

    const bounded = new RefusedInstalls(REFUSED_INSTALL_TTL_MS, 2);
    bounded.refused('a', 'r1', 2, start);
    bounded.refused('a', 'r2', 2, start);
    bounded.refused('a', 'r3', 2, start);
    expect(bounded.size).toBe(2);
    expect(bounded.revision('a', 'r1', start)).toBeUndefined();
    expect(bounded.revision('a', 'r3', start)).toBe(2);
  });
});
