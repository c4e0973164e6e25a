// A leftover claim a re-installed StatefulSet would adopt, by its phase. Bound: its old data comes back (refused, as
// ever). Pending with no PV: it holds no data yet but a PV may still bind it (refused, worded so). Lost: the PV
// controller sets it when the PV it was bound to is gone; it holds no data, and the kubelet mounts only a Bound claim,
// so the StatefulSet's pod would not start until the claim is deleted: nothing is lost (a warning).
import { describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectStatefulSetAdoption } from '../../../src/checks/orphan-pvc.ts';
import type { PersistentVolumeClaimRecord } from '../../../src/cluster/records.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { parseManifest } from '../../../src/helm/manifest.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseSecret, statefulSetManifest } from '../helm/helm-fixtures.ts';

const NS = 'app';
const CLAIM = 'data-db-0';

function installOfDb() {
  const fixture = { name: 'db', namespace: NS, version: 1, status: 'pending-install', manifest: statefulSetManifest({ replicas: 1 }) };
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: NS,
    name: 'sh.helm.release.v1.db.v1',
    userInfo: ADMIN,
    object: releaseSecret(fixture),
  });
}

function withLeftover(claim: Partial<PersistentVolumeClaimRecord>): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: CLAIM, ...claim }));
  return model;
}

const install = (model: ClusterModel) => helmReleaseValidator(defaultConfig()).handle(installOfDb(), context(model));

describe('helm install over a leftover claim, by its phase', () => {
  it('Bound: refused, its old data re-attached (wording unchanged)', () => {
    const decision = install(withLeftover({ volumeName: 'pv-old' }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`PVC ${NS}/${CLAIM} (PV pv-old, StatefulSet ${NS}/db): exists with no owner; the StatefulSet db would re-attach its old data`);
  });

  it('Pending, never bound: still refused (a PV may bind it), but said to be not yet bound rather than to hold old data', () => {
    const decision = install(withLeftover({ phase: 'Pending', volumeName: '' }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`PVC ${NS}/${CLAIM} (StatefulSet ${NS}/db): exists with no owner, not yet bound; the StatefulSet db would take it over`);
    expect(decision.status?.message).not.toContain('re-attach its old data');
  });

  it('Pending, never bound: its heading, consequence and fix speak of taking the claim over, not of old data', () => {
    const message = install(withLeftover({ phase: 'Pending', volumeName: '' })).status!.message;
    expect(message).toContain('[orphan-pvc] 1 existing PVC would be taken over\n  1 taken over by the new release\n');
    expect(message).toContain(`Fix: obsolete: kubectl delete pvc -n ${NS} ${CLAIM}\n`);
    expect(message).not.toContain('old data');
  });

  it('bound and unbound together: the old-data wording for the bound ones, taken over for the others', () => {
    const model = withLeftover({ volumeName: 'pv-old' });
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-1', phase: 'Pending', volumeName: '' }));
    const object = releaseSecret({ name: 'db', namespace: NS, version: 1, status: 'pending-install', manifest: statefulSetManifest({ replicas: 2 }) });
    const message = helmReleaseValidator(defaultConfig()).handle({ ...installOfDb(), object }, context(model)).status!.message;
    expect(message).toContain('[orphan-pvc] 2 existing PVCs would be adopted with old data\n  1 adopted with its old data by the new release; 1 taken over by the new release\n');
    expect(message).toContain(`Fix: old data obsolete: kubectl delete pvc -n ${NS} ${CLAIM} data-db-1\n`);
  });

  it('a claim labelled for the release, never bound: its reason speaks of taking it over', () => {
    const model = withLeftover({ name: 'cache', phase: 'Pending', volumeName: '', labels: { 'app.kubernetes.io/instance': 'db' } });
    const message = install(model).status!.message;
    expect(message).toContain('labelled for release db but owned by nothing live, not yet bound; this install may take it over');
    expect(message).not.toContain('old data');
  });

  it('Bound only: heading, consequence and fix as ever', () => {
    const message = install(withLeftover({ volumeName: 'pv-old' })).status!.message;
    expect(message).toContain('[orphan-pvc] 1 existing PVC would be adopted with old data\n  1 adopted with its old data by the new release\n');
    expect(message).toContain(`Fix: old data obsolete: kubectl delete pvc -n ${NS} ${CLAIM}\n`);
  });

  it('Lost, its PV gone: allowed with a warning that the pod will not start until the claim is deleted', () => {
    const decision = install(withLeftover({ phase: 'Lost', volumeName: 'pv-gone' }));
    expect(decision.allowed).toBe(true);
    const warnings = decision.warnings?.join(' ') ?? '';
    expect(warnings).toContain(CLAIM);
    expect(warnings).toContain("StatefulSet db's pod will not start until this claim is deleted");
    expect(warnings).not.toContain('re-attach its old data');
  });

  it('Bound to a PV the model has not seen yet: refused as bound (only the phase says Lost)', () => {
    expect(install(withLeftover({ volumeName: 'pv-not-yet-seen' })).allowed).toBe(false);
  });
});

describe('a StatefulSet created outside Helm over a leftover claim, by its phase', () => {
  const created = parseManifest(statefulSetManifest({ replicas: 1 }), NS).statefulSets[0]!;
  const finding = (claim: Partial<PersistentVolumeClaimRecord>) => collectStatefulSetAdoption(withLeftover(claim), created).findings[0];

  it('Pending, never bound: critical, not said to hold old data', () => {
    expect(finding({ phase: 'Pending', volumeName: '' })).toMatchObject({
      severity: 'critical',
      reason: 'exists with no owner and no pod using it, not yet bound; StatefulSet db would take it over',
    });
  });

  it('Lost: a warning naming no PV among the objects affected', () => {
    const lost = finding({ phase: 'Lost', volumeName: 'pv-gone' });
    expect(lost?.severity).toBe('warning');
    expect(lost?.related?.map((object) => object.kind)).toEqual(['StatefulSet']);
  });
});

describe('a shared claim (another live StatefulSet claims it under the same name) that is Lost', () => {
  it('is a warning: it holds neither StatefulSet data', () => {
    // `data-a-b-0` is template `data` of StatefulSet `a-b` and template `data-a` of StatefulSet `b`.
    const model = withLeftover({ name: 'data-a-b-0', phase: 'Lost', volumeName: 'pv-gone' });
    model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'b', claimTemplates: ['data-a'], replicas: 1 }));
    const created = parseManifest(statefulSetManifest({ name: 'a-b', replicas: 1 }), NS).statefulSets[0]!;
    const [shared] = collectStatefulSetAdoption(model, created).findings;
    expect(shared).toMatchObject({ severity: 'warning', tags: ['statefulset-claim', 'shared-claim'] });
  });
});
