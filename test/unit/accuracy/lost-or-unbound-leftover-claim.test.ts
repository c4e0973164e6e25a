// A leftover claim a re-installed StatefulSet would adopt, by its phase. Bound: its old data comes back (refused, as
// ever). Pending, never bound (no volumeName, no PV whose claimRef names it): it holds no data, and the StatefulSet
// controller uses it as it is while the PV controller provisions or binds it like a new claim (a warning). Pending
// with a PV reserved for it (claimRef): that PV is bound to it, whatever it holds (refused, worded as not yet bound).
// Lost: the PV controller sets it when the PV it was bound to is gone; it holds no data, and the kubelet mounts only a
// Bound claim, so the StatefulSet's pod would not start until the claim is deleted: nothing is lost (a warning).
import { describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectStatefulSetAdoption } from '../../../src/checks/orphan-pvc.ts';
import type { PersistentVolumeClaimRecord } from '../../../src/cluster/records.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { parseManifest } from '../../../src/helm/manifest.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';
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

/** A PV whose claimRef names the claim (no uid: pre-bound), not bound yet: the PV controller binds it to that claim. */
function reserveFor(model: ClusterModel, claim: string): void {
  model.upsert('persistentVolume', pv({ name: `pv-for-${claim}`, claimNamespace: NS, claimName: claim, phase: 'Available', reclaimPolicy: 'Retain' }));
}

/** A Pending leftover with no volumeName that a PV is reserved for. */
function withReservedLeftover(claim: Partial<PersistentVolumeClaimRecord> = {}): ClusterModel {
  const model = withLeftover({ phase: 'Pending', volumeName: '', ...claim });
  reserveFor(model, claim.name ?? CLAIM);
  return model;
}

const install = (model: ClusterModel) => helmReleaseValidator(defaultConfig()).handle(installOfDb(), context(model));

describe('helm install over a leftover claim, by its phase', () => {
  it('Bound: refused, its old data re-attached (wording unchanged)', () => {
    const decision = install(withLeftover({ volumeName: 'pv-old' }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`PVC ${NS}/${CLAIM} (PV pv-old, StatefulSet ${NS}/db): exists with no owner; the StatefulSet db would re-attach its old data`);
  });

  it('Pending, never bound: allowed, with a warning that it holds no data', () => {
    const decision = install(withLeftover({ phase: 'Pending', volumeName: '' }));
    expect(decision.allowed).toBe(true);
    const warnings = (decision.warnings ?? []).join(' ').replace(/\s+/g, ' ');
    expect(warnings).toContain('[orphan-pvc] 1 existing PVC would be taken over');
    expect(warnings).toContain("Pending, never bound: it holds no data; StatefulSet db's pod gets it as it is");
    expect(warnings).not.toContain('old data');
  });

  it('Pending with a PV reserved for it (claimRef): still refused, said to be not yet bound rather than to hold old data', () => {
    const decision = install(withReservedLeftover());
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`PVC ${NS}/${CLAIM} (StatefulSet ${NS}/db): exists with no owner, not yet bound; the StatefulSet db would take it over`);
    expect(decision.status?.message).not.toContain('re-attach its old data');
  });

  it('Pending with a PV reserved: its heading, consequence and fix speak of taking the claim over, not of old data', () => {
    const message = install(withReservedLeftover()).status!.message;
    expect(message).toContain('[orphan-pvc] 1 existing PVC would be taken over\n  1 taken over by the new release\n');
    expect(message).toContain(`Fix: obsolete: kubectl delete pvc -n ${NS} ${CLAIM}\n`);
    expect(message).not.toContain('old data');
  });

  it('bound and unbound together: the old-data wording for the bound ones, taken over for the others', () => {
    const model = withLeftover({ volumeName: 'pv-old' });
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-1', phase: 'Pending', volumeName: '' }));
    reserveFor(model, 'data-db-1');
    const object = releaseSecret({ name: 'db', namespace: NS, version: 1, status: 'pending-install', manifest: statefulSetManifest({ replicas: 2 }) });
    const message = helmReleaseValidator(defaultConfig()).handle({ ...installOfDb(), object }, context(model)).status!.message;
    expect(message).toContain('[orphan-pvc] 2 existing PVCs would be adopted with old data\n  1 adopted with its old data by the new release; 1 taken over by the new release\n');
    expect(message).toContain(`Fix: old data obsolete: kubectl delete pvc -n ${NS} ${CLAIM} data-db-1\n`);
  });

  it('a claim labelled for the release, a PV reserved for it: its reason speaks of taking it over', () => {
    const model = withReservedLeftover({ name: 'cache', labels: { 'app.kubernetes.io/instance': 'db' } });
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

  it('Pending, never bound: a warning, holding no data', () => {
    expect(finding({ phase: 'Pending', volumeName: '' })).toMatchObject({
      severity: 'warning',
      reason: "Pending, never bound: it holds no data; StatefulSet db's pod gets it as it is (its storage class and size)",
    });
  });

  it('Pending with a PV reserved for it: critical, not said to hold old data', () => {
    const [reserved] = collectStatefulSetAdoption(withReservedLeftover(), created).findings;
    expect(reserved).toMatchObject({
      severity: 'critical',
      reason: 'exists with no owner and no pod using it, not yet bound; StatefulSet db would take it over',
    });
  });

  it('Pending with a volumeName (a PV requested): critical, as a bound one', () => {
    expect(finding({ phase: 'Pending', volumeName: 'pv-old' })?.severity).toBe('critical');
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
