// `helm install` beside a PVC labelled for the release that the chart never references, which a live pod mounts:
// Argo CD tracks what an application deploys with app.kubernetes.io/instance=<application>, so an Argo CD app "web"
// labels its PVCs as a Helm release "web" would. Helm's install creates only what it rendered: nothing in the release
// can claim that PVC, and its data is in use. The release-labelled rule passes it, as the orphan-PVC gauge and the
// audit of a release with no record leave it out; one no live pod mounts is still refused (an earlier install's
// leftover the chart may mount).
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { releaseFindings } from '../../../src/audit/release.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { PodRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context } from '../../support/admission.ts';
import { namespace, pod, pv, pvc } from '../../support/fixtures.ts';
import { releaseRecordRequest, statefulSetManifest } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const validator = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await validator.close?.();
});

const deploymentOnly = `---
# Source: web/templates/deploy.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: nginx
`;

/** PVC uploads labelled app.kubernetes.io/instance=web, bound to a PV that deletes its data, mounted by `mounter` if given. */
function cluster(mounter?: Partial<PodRecord>): ClusterModel {
  const model = new ClusterModel();
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('persistentVolume', pv({ name: 'pv-uploads', claimNamespace: NS, claimName: 'uploads', reclaimPolicy: 'Delete' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'uploads', volumeName: 'pv-uploads', labels: { 'app.kubernetes.io/instance': 'web' } }));
  if (mounter !== undefined) model.upsert('pod', pod({ namespace: NS, claimNames: ['uploads'], ...mounter }));
  return model;
}

const install = () => releaseRecordRequest({ name: 'web', namespace: NS, version: 1, status: 'pending-install', manifest: deploymentOnly });

describe('helm install beside a PVC labelled for the release that a live pod mounts', () => {
  it("passes without a word: a Deployment's running pod uses it, and nothing the chart renders claims it", () => {
    const decision = validator.handle(install(), context(cluster({ name: 'files-7d9c-abcde', controllerKind: 'ReplicaSet' })));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
    expect((decision.warnings ?? []).join('\n')).not.toContain('uploads');
  });

  it('passes for a bare pod mounting it too', () => {
    expect(validator.handle(install(), context(cluster({ name: 'debug', controllerKind: '' }))).allowed).toBe(true);
  });

  it('still refuses one no pod mounts, or only a finished pod or one going with its deleted controller', () => {
    for (const mounter of [undefined, { name: 'backup-x1', controllerKind: 'Job', phase: 'Succeeded' }, { name: 'files-7d9c-abcde', controllerKind: 'ReplicaSet', deleting: true }]) {
      const decision = validator.handle(install(), context(cluster(mounter)));
      expect(decision.allowed, JSON.stringify(mounter)).toBe(false);
      expect(decision.status?.message).toContain('shop/uploads');
    }
  });

  it("still refuses one the chart's StatefulSet claims by name: it would mount that pod's volume and data", () => {
    const model = cluster({ name: 'files-7d9c-abcde', controllerKind: 'ReplicaSet' });
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-web-0', labels: { 'app.kubernetes.io/instance': 'web' } }));
    model.upsert('pod', pod({ namespace: NS, name: 'files-7d9c-fghij', controllerKind: 'ReplicaSet', claimNames: ['data-web-0'] }));
    const manifest = statefulSetManifest({ name: 'web', replicas: 1 });
    const decision = validator.handle(releaseRecordRequest({ name: 'web', namespace: NS, version: 1, status: 'pending-install', manifest }), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('shop/data-web-0');
    expect(decision.status?.message).toContain('pod files-7d9c-fghij mounts it too');
    expect(decision.status?.message).not.toContain('shop/uploads');
  });
});

describe('audit --release of a release not installed, beside such a PVC', () => {
  it('still names it: the audit sees no chart, which may claim it (the report leaves it out without a Helm record)', () => {
    const model = cluster({ name: 'files-7d9c-abcde', controllerKind: 'ReplicaSet' });
    const audit = releaseFindings(model, NS, 'web', { installed: false, revision: 1, status: 'uninstalled' });
    expect(audit.findings.map((f) => `${f.severity} ${f.object.name} ${f.tags.join(',')}`)).toEqual(['critical uploads release-labelled']);
  });
});
