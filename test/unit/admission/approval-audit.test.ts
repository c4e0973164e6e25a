// A PVC's reuse or delete approval honored for many PVCs at once (a Namespace or StatefulSet DELETE, a Helm release
// record, a StatefulSet CREATE) is audited with what each approved PVC records: its writer (skip-by), expiry
// (skip-until) and reason (skip-reason), as a single PVC's DELETE audits its own approval.
import { describe, expect, it } from 'vitest';
import { waiversOf } from '../../../src/admission/context.ts';
import { judge, type Judgement } from '../../../src/admission/decide.ts';
import { deleteApprovalSource, reuseApprovalSource } from '../../../src/admission/overrides.ts';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { statefulSetValidator } from '../../../src/admission/validators/statefulset.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { CHECK_IDS, type CheckId, type Finding } from '../../../src/checks/types.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request, statefulSetDeleteRequest } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { devlakeManifest, releaseSecret } from '../helm/helm-fixtures.ts';

const config = defaultConfig();
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const NS = 'shop';
const CAROL = { 'volume-guard.io/skip-by': 'carol', 'volume-guard.io/skip-until': '2999-01-01T00:00:00Z', 'volume-guard.io/skip-reason': 'uploads moved to S3' };

function namespaceDelete(): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'Namespace' },
    resource: { group: '', version: 'v1', resource: 'namespaces' },
    operation: 'DELETE',
    name: NS,
    userInfo: ARGO,
    oldObject: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS }, status: { phase: 'Active' } },
  });
}

/** PVCs in shop on Delete PVs, each with the annotations given, optionally owned by StatefulSet db (uid sts-db). */
function claims(annotationsByName: Record<string, Record<string, string>>, ownedByDb = false): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  for (const [name, annotations] of Object.entries(annotationsByName)) {
    model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
    model.upsert(
      'persistentVolumeClaim',
      pvc({ namespace: NS, name, volumeName: `pv-${name}`, annotations, ...(ownedByDb ? { ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 'sts-db' }] } : {}) }),
    );
  }
  return model;
}

describe('the audit of PVC approvals honored in bulk', () => {
  it("a namespace DELETE records the approved PVC's writer, expiry and reason, as the PVC's own DELETE does", () => {
    const decision = pvcDeleteValidator(config).handle(namespaceDelete(), context(claims({ uploads: { 'volume-guard.io/delete': 'true', ...CAROL } })));
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations).toEqual({
      'overridden-checks': 'pvc-delete',
      'override-source': 'annotation volume-guard.io/delete on the PVCs',
      'override-reason': 'uploads moved to S3',
      'overridden-objects': '1',
      'override-writer': 'carol',
      'override-until': '2999-01-01T00:00:00Z',
    });
    expect(decision.warnings?.join(' ').replace(/\s+/g, ' ')).toContain('reason: uploads moved to S3');
  });

  it('names each distinct writer, expiry and reason once; a PVC giving no reason is said so beside those that give one', () => {
    const decision = pvcDeleteValidator(config).handle(
      namespaceDelete(),
      context(
        claims({
          uploads: { 'volume-guard.io/delete': 'true', ...CAROL },
          cache: { 'volume-guard.io/delete': 'true', ...CAROL },
          logs: { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'dave' },
        }),
      ),
    );
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations).toMatchObject({
      'overridden-objects': '3',
      'override-writer': expect.stringMatching(/^(carol,dave|dave,carol)$/),
      'override-until': '2999-01-01T00:00:00Z',
      'override-reason': expect.stringMatching(/^(uploads moved to S3; \(none given\)|\(none given\); uploads moved to S3)$/),
    });
  });

  it("keeps the approval's meaning as its reason when no approved PVC gives one", () => {
    const decision = pvcDeleteValidator(config).handle(namespaceDelete(), context(claims({ uploads: { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'dave' } })));
    expect(decision.auditAnnotations).toMatchObject({ 'override-reason': 'their data may go', 'override-writer': 'dave' });
    expect(decision.auditAnnotations?.['override-until']).toBeUndefined();
  });

  it('a StatefulSet DELETE records the writers of the PVCs it takes with it', () => {
    const decision = pvcDeleteValidator(config).handle(
      statefulSetDeleteRequest({ namespace: NS, name: 'db', uid: 'sts-db', whenDeleted: 'Delete', user: ARGO }),
      context(claims({ 'data-db-0': { 'volume-guard.io/delete': 'true', ...CAROL } }, true)),
    );
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations).toMatchObject({ 'override-writer': 'carol', 'override-until': '2999-01-01T00:00:00Z', 'override-reason': 'uploads moved to S3' });
  });

  it('a StatefulSet CREATE and a Helm install record the writers of the PVCs approved for reuse', () => {
    const model = claims({ 'data-db-0': { 'volume-guard.io/reuse': 'true', ...CAROL } });
    const created = statefulSetValidator(config).handle(
      request({
        kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
        resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
        operation: 'CREATE',
        namespace: NS,
        name: 'db',
        userInfo: ADMIN,
        object: {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name: 'db', namespace: NS },
          spec: { replicas: 1, selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } } }, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
        },
      }),
      context(model),
    );
    expect(created.allowed).toBe(true);
    expect(created.auditAnnotations).toMatchObject({ 'overridden-checks': 'orphan-pvc', 'override-writer': 'carol', 'override-reason': 'uploads moved to S3' });

    const orphan = 'devlake-mysql-data-devlake-mysql-0';
    const leftover = new ClusterModel(VOLUME_SETS);
    leftover.upsert('namespace', namespace({ name: 'devlake' }));
    leftover.upsert(
      'persistentVolumeClaim',
      pvc({ namespace: 'devlake', name: orphan, volumeName: 'pv-mysql', labels: { 'app.kubernetes.io/instance': 'devlake' }, annotations: { 'volume-guard.io/reuse': 'true', ...CAROL } }),
    );
    leftover.upsert('persistentVolume', pv({ name: 'pv-mysql', claimNamespace: 'devlake', claimName: orphan, reclaimPolicy: 'Retain' }));
    const install = helmReleaseValidator(config).handle(
      request({
        kind: { group: '', version: 'v1', kind: 'Secret' },
        resource: { group: '', version: 'v1', resource: 'secrets' },
        operation: 'CREATE',
        namespace: 'devlake',
        name: 'sh.helm.release.v1.devlake.v1',
        userInfo: ADMIN,
        object: releaseSecret({ name: 'devlake', namespace: 'devlake', version: 1, status: 'pending-install', manifest: devlakeManifest() }),
      }),
      context(leftover),
    );
    expect(install.allowed).toBe(true);
    expect(install.auditAnnotations).toMatchObject({ 'override-writer': 'carol', 'override-until': '2999-01-01T00:00:00Z', 'override-reason': 'uploads moved to S3' });
  });
});

describe('judge: approvals each object records', () => {
  const modes = Object.fromEntries(CHECK_IDS.map((id) => [id, 'enforce'])) as Record<CheckId, 'enforce'>;
  const finding = (name: string): Finding => ({
    check: 'pvc-delete',
    severity: 'critical',
    object: { kind: 'PersistentVolumeClaim', namespace: NS, name },
    reason: 'deleted with namespace shop',
    tags: ['deleted-with-namespace', 'delete-approved'],
  });
  const base = (names: readonly string[], stored: Judgement['stored']): Judgement => ({
    action: 'deletion of namespace shop',
    findings: names.map(finding),
    modes,
    overrides: [deleteApprovalSource()],
    writers: { allowedGroups: ['system:masters'], allowedUsers: [] },
    overrideHint: '',
    ...(stored ? { stored } : {}),
  });

  it('bounds each list of distinct values, a cut list ending with …', () => {
    const names = Array.from({ length: 30 }, (_, i) => `pvc-${i}`);
    const stored: Judgement['stored'] = (_resource, name) => ({ 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': `user-${name}` });
    const audit = judge(base(names, stored)).auditAnnotations!;
    const writers = audit['override-writer']!.split(',');
    expect(writers).toHaveLength(11);
    expect(writers.at(-1)).toBe('…');
    expect(audit['overridden-objects']).toBe('30');
  });

  it('reads the approval on PVC findings only, and records nothing it cannot read', () => {
    const volume: Finding = { ...finding('pv-x'), object: { kind: 'Volume', namespace: 'longhorn-system', name: 'pv-x' } };
    const stored: Judgement['stored'] = () => CAROL;
    const audit = judge({ ...base([], stored), findings: [volume] }).auditAnnotations!;
    expect(audit['override-writer']).toBeUndefined();
    expect(audit['override-reason']).toBe('their data may go');
    expect(judge(base(['uploads'], undefined)).auditAnnotations?.['override-writer']).toBeUndefined();
  });

  it('a check narrowed by such an approval builds every finding (the audit names them), never counts them unbuilt', () => {
    const approval = { ...reuseApprovalSource(), tags: [{ check: 'single-replica' as const, tag: 'detached' }] };
    expect(waiversOf('single-replica', [approval], { allowedGroups: ['system:masters'], allowedUsers: [] })).toBeUndefined();
  });
});
