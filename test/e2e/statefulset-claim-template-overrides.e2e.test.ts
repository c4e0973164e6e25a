// Override keys in a StatefulSet's volumeClaimTemplates: the real StatefulSet controller (kube-controller-manager)
// copies them into each PVC it creates, as itself, and the override guard refuses that CREATE (the controller may not
// write overrides), so the pod would stay Pending. Real API server, real kubectl: the StatefulSet's creation warns of
// it, and the controller's claim, created as the controller's service account (the harness's kube-controller-manager
// runs with the admin's credentials, which may write overrides, so its identity is impersonated), is refused as the
// warning says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { deleteObjects, ensureNamespace } from '../harness/scenario.ts';

const NS = 'e2e-sts-template-overrides';

describe('override keys in volumeClaimTemplates', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await deleteObjects(['statefulset', 'tmpl', '-n', NS], ['pvc', '--all', '-n', NS]);
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(['statefulset', 'tmpl', '-n', NS], ['pvc', '--all', '-n', NS]);
  });

  it('warns at the StatefulSet CREATE, and the PVC the controller creates from the template is refused', async () => {
    const statefulSet = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'tmpl', namespace: NS },
      spec: {
        // No pod: the claim is created below as the controller creates it.
        replicas: 0,
        serviceName: 'tmpl',
        selector: { matchLabels: { app: 'e2e-tmpl' } },
        template: { metadata: { labels: { app: 'e2e-tmpl' } }, spec: { containers: [{ name: 'c', image: 'registry.invalid/c:1' }] } },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', annotations: { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' } },
            spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'standard', resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    };
    const file = await tempFile('sts-template-overrides.json', JSON.stringify(statefulSet));
    const created = await kubectl(['create', '-f', file]);
    expect(created.code).toBe(0);
    const warning = created.stderr.replace(/\n(Warning: )?/g, ' ').replace(/\s+/g, ' ');
    expect(warning).toContain(`Warning: volume-guard: StatefulSet ${NS}/tmpl has volume-guard.io/delete, volume-guard.io/skip-by in its`);
    expect(warning).toContain('volumeClaimTemplates');
    expect(warning).toContain('annotate the PVCs once they exist');
    // The claim the controller makes from the template: the template's metadata, created as the controller.
    const claim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data-tmpl-0', namespace: NS, labels: { app: 'e2e-tmpl' }, annotations: statefulSet.spec.volumeClaimTemplates[0]!.metadata.annotations },
      spec: statefulSet.spec.volumeClaimTemplates[0]!.spec,
    };
    const claimFile = await tempFile('sts-template-overrides-claim.json', JSON.stringify(claim));
    const refused = await kubectl([
      'create', '-f', claimFile, '--dry-run=server',
      '--as=system:serviceaccount:kube-system:statefulset-controller', '--as-group=system:serviceaccounts',
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "overrides.volume-guard.io" denied the request');
  });
});
