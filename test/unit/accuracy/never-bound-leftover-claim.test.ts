// A leftover claim that never bound (phase Pending, no spec.volumeName, no PV whose claimRef names it) holds no data
// (seed 000). kubernetes pkg/controller/statefulset/stateful_pod_control.go, createPersistentVolumeClaims: an existing
// claim is used as it is (only a missing one is created); pkg/controller/volume/persistentvolume, syncUnboundClaim:
// a claim with no volumeName is provisioned, or bound to a matching free PV, like a new one. Nothing old is
// re-attached, so no operation that adopts it is refused, and neither the audit nor the gauges count it at risk. A
// PV whose claimRef names the claim is bound to it first, whatever it holds: that claim is still judged.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { statefulSetValidator } from '../../../src/admission/validators/statefulset.ts';
import { releaseFindings } from '../../../src/audit/release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { ModelSink, PersistentVolumeClaimRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { ADMIN, ALICE, context, request } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { devlakeManifest, releaseSecret } from '../helm/helm-fixtures.ts';

const NEVER_BOUND: Partial<PersistentVolumeClaimRecord> = { phase: 'Pending', volumeName: '' };

/** A PV whose claimRef names the claim, not bound yet (a pre-provisioned or restored volume). */
function reservedFor(claimNamespace: string, claimName: string) {
  return pv({ name: `pv-for-${claimName}`, claimNamespace, claimName, phase: 'Available', reclaimPolicy: 'Retain' });
}

describe('helm install over a leftover claim that never bound (the DevLake reinstall)', () => {
  const NS = 'devlake';
  const CLAIM = 'devlake-mysql-data-devlake-mysql-0';

  /** The leftover (and with `reserved`, a PV naming it), written through `sink`: a model's, or a gauge tracker's. */
  function populate(sink: ModelSink, reserved: boolean): void {
    sink.upsert('namespace', namespace({ name: NS }));
    sink.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: CLAIM, ...NEVER_BOUND, labels: { 'app.kubernetes.io/instance': 'devlake' } }));
    if (reserved) sink.upsert('persistentVolume', reservedFor(NS, CLAIM));
  }

  function cluster(reserved: boolean): ClusterModel {
    const model = new ClusterModel(VOLUME_SETS);
    populate(model, reserved);
    return model;
  }

  function reinstall(model: ClusterModel) {
    const install = request({
      kind: { group: '', version: 'v1', kind: 'Secret' },
      resource: { group: '', version: 'v1', resource: 'secrets' },
      operation: 'CREATE',
      namespace: NS,
      name: 'sh.helm.release.v1.devlake.v1',
      userInfo: ADMIN,
      object: releaseSecret({ name: 'devlake', namespace: NS, version: 1, status: 'pending-install', manifest: devlakeManifest() }),
    });
    return helmReleaseValidator(defaultConfig()).handle(install, context(model));
  }

  it('passes with a warning, not "1 risk of data loss"', () => {
    const decision = reinstall(cluster(false));
    expect(decision.allowed).toBe(true);
    expect(decision.status?.message ?? '').not.toContain('risk of data loss');
    expect((decision.warnings ?? []).join(' ')).toContain(CLAIM);
  });

  it('is no risk to audit --release nor to the orphan-PVC gauge', () => {
    for (const reserved of [false, true]) {
      const model = new ClusterModel(VOLUME_SETS);
      const tracker = new RiskTracker(model, { modes: {} });
      populate(tracker.sink(), reserved);
      const audit = releaseFindings(model, NS, 'devlake', { installed: false });
      expect(audit.findings.filter((finding) => finding.severity === 'critical')).toHaveLength(reserved ? 1 : 0);
      expect(tracker.flush()).toBe(true);
      expect(tracker.counts().atRiskVolumes['orphan-pvc']).toBe(reserved ? 1 : 0);
    }
  });

  it('is still refused while a PV is reserved for the claim (its claimRef names it)', () => {
    const decision = reinstall(cluster(true));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(CLAIM);
  });
});

describe('a StatefulSet scaled up outside Helm onto a claim an earlier one left, never bound', () => {
  const NS = 'shop';
  const CREATED = '2026-03-01T10:00:00Z';
  const STS_RESOURCE = { group: 'apps', version: 'v1', resource: 'statefulsets' };
  const validator = statefulSetValidator(defaultConfig());

  const stsObject = (replicas: number) => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS, creationTimestamp: CREATED },
    spec: { replicas, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
  });
  const scaleObject = (replicas: number, metadata: Record<string, string>) => ({
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: 'db', namespace: NS, ...metadata },
    spec: { replicas },
  });
  const update = (): AdmissionRequest =>
    request({
      kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
      resource: STS_RESOURCE,
      operation: 'UPDATE',
      namespace: NS,
      name: 'db',
      userInfo: ALICE,
      object: stsObject(2),
      oldObject: stsObject(1),
    });
  /** A `kubectl scale` of a db volume-guard has not seen yet (created a moment ago, another uid). */
  const unseenScale = (): AdmissionRequest =>
    request({
      kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
      resource: STS_RESOURCE,
      subResource: 'scale',
      operation: 'UPDATE',
      namespace: NS,
      name: 'db',
      userInfo: ALICE,
      object: scaleObject(2, { uid: 'uid-new-db', creationTimestamp: '2026-05-01T12:00:00Z' }),
      oldObject: scaleObject(1, { uid: 'uid-new-db', creationTimestamp: '2026-05-01T12:00:00Z' }),
    });

  /** Live db (1 replica, March); data-db-1 from January, never bound; with `reserved`, a PV names it. */
  function cluster(reserved: boolean, live = true): ClusterModel {
    const model = new ClusterModel(VOLUME_SETS);
    if (live) model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', replicas: 1, creationTimestamp: CREATED }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-1', ...NEVER_BOUND, creationTimestamp: '2026-01-05T08:00:00Z' }));
    if (reserved) model.upsert('persistentVolume', reservedFor(NS, 'data-db-1'));
    return model;
  }

  it('passes the scale-up with a warning naming the claim', () => {
    const decision = validator.handle(update(), context(cluster(false)));
    expect(decision.allowed).toBe(true);
    expect((decision.warnings ?? []).join(' ')).toContain('data-db-1');
  });

  it('refuses it while a PV is reserved for the claim', () => {
    expect(validator.handle(update(), context(cluster(true))).allowed).toBe(false);
  });

  it('does not hold the scale of a StatefulSet not seen yet for it', () => {
    expect(validator.handle(unseenScale(), context(cluster(false, false))).allowed).toBe(true);
    expect(validator.handle(unseenScale(), context(cluster(true, false))).allowed).toBe(false);
  });
});
