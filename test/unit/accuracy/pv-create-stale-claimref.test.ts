// pkg/controller/volume/persistentvolume/pv_controller.go syncVolume: a PV whose claimRef names, by uid, a claim that
// does not exist (or exists under another uid) is set Released and reclaimed in the same sync, whatever phase it was
// created with. An exported PV (`kubectl get pv -o yaml`: claimRef with uid, reclaim Delete) applied into a cluster
// (disaster recovery, a GitOps repository holding it) has its disk deleted at once. Its CREATE is judged as a reclaim
// policy change from none.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { overrideGuardValidator } from '../../../src/admission/validators/override-guard.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { pvc } from '../../support/fixtures.ts';

const NS = 'shop';
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const BINDER: UserInfo = { username: 'system:serviceaccount:kube-system:persistent-volume-binder', groups: ['system:serviceaccounts'] };
const KCM: UserInfo = { username: 'system:kube-controller-manager', groups: [] };
// kube-scheduler's VolumeBinding binds static PVs to WaitForFirstConsumer claims it has just read (binder.go).
const SCHEDULER: UserInfo = { username: 'system:kube-scheduler', groups: [] };
const validator = pvcDeleteValidator(defaultConfig());
const PV_KIND = { kind: { group: '', version: 'v1', kind: 'PersistentVolume' }, resource: { group: '', version: 'v1', resource: 'persistentvolumes' } };

function exported(reclaimPolicy: string, claimRef: Record<string, string>, status?: Record<string, string>) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: 'pv-db', annotations: { 'pv.kubernetes.io/provisioned-by': 'ebs.csi.aws.com' } },
    spec: {
      persistentVolumeReclaimPolicy: reclaimPolicy,
      claimRef: { kind: 'PersistentVolumeClaim', namespace: NS, ...claimRef },
      // Recycle wipes only what a recycler serves (hostPath, NFS): a CSI PV under it is marked Failed, its data kept.
      ...(reclaimPolicy === 'Recycle' ? { nfs: { server: 'nfs.example', path: '/export/db' } } : { csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-0abc' } }),
    },
    ...(status ? { status } : {}),
  };
}

const createPv = (object: unknown, user: UserInfo = ARGO): AdmissionRequest => request({ ...PV_KIND, operation: 'CREATE', name: 'pv-db', userInfo: user, object });

function model(): ClusterModel {
  const cluster = new ClusterModel(VOLUME_SETS);
  cluster.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-1', uid: 'uid-live', volumeName: '' }));
  return cluster;
}

describe('a PV CREATE with a claimRef by uid', () => {
  it('is a write the pvc-delete webhook is called for', () => {
    const rules = validator.declaration.rules.filter((rule) => 'resources' in rule && rule.resources.includes('persistentvolumes'));
    expect(rules.some((rule) => 'operations' in rule && rule.operations.includes('CREATE'))).toBe(true);
  });

  it('reclaim Delete, its claim gone: refused for automation, naming the PV and the claim', () => {
    const decision = validator.handle(createPv(exported('Delete', { name: 'data-db-0', uid: 'uid-gone' })), context(model()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('creation of PV pv-db with reclaim policy Delete');
    expect(decision.status?.message).toContain(`its claim ${NS}/data-db-0 no longer exists`);
    expect(decision.status?.message).toContain('persistentVolumeReclaimPolicy: Retain');
  });

  it('whatever status the manifest carries (the API server resets it)', () => {
    const decision = validator.handle(createPv(exported('Delete', { name: 'data-db-0', uid: 'uid-gone' }, { phase: 'Bound' })), context(model()));
    expect(decision.allowed).toBe(false);
  });

  it('reclaim Recycle, its claim re-created under another uid: refused', () => {
    const decision = validator.handle(createPv(exported('Recycle', { name: 'data-db-1', uid: 'uid-old' })), context(model()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('was deleted (the PVC of that name now is another one, uid uid-live)');
  });

  it('its claim there under the same uid: passes (the PV binds back to it)', () => {
    expect(validator.handle(createPv(exported('Delete', { name: 'data-db-1', uid: 'uid-live' })), context(model())).allowed).toBe(true);
  });

  it('reclaim Retain, or pre-bound by name only: passes', () => {
    expect(validator.handle(createPv(exported('Retain', { name: 'data-db-0', uid: 'uid-gone' })), context(model())).allowed).toBe(true);
    expect(validator.handle(createPv(exported('Delete', { name: 'data-db-0' })), context(model())).allowed).toBe(true);
  });

  it('by a provisioner (a service account, a node, the control plane, creating every PV so): not judged, whatever pvcDelete.others says', () => {
    const strict = defaultConfig();
    const config = { ...strict, pvcDelete: { ...strict.pvcDelete, others: 'enforce' as const } };
    const enforcing = pvcDeleteValidator(config);
    const provisioner: UserInfo = { username: 'system:serviceaccount:kube-system:ebs-csi-controller-sa', groups: ['system:serviceaccounts'] };
    const node: UserInfo = { username: 'system:node:worker-1', groups: ['system:nodes'] };
    const scheduler: UserInfo = { username: 'system:kube-scheduler', groups: ['system:authenticated'] };
    for (const user of [provisioner, node, scheduler, KCM, BINDER]) {
      expect(enforcing.handle(createPv(exported('Delete', { name: 'data-db-0', uid: 'uid-gone' }), user), context(model(), { config })).allowed).toBe(true);
    }
    // The webhook is not even called for them.
    const condition = enforcing.declaration.matchConditions?.map((entry) => entry.expression).join(' ') ?? '';
    expect(condition).toContain("!request.userInfo.username.startsWith('system:serviceaccount:')");
    expect(condition).toContain("!request.userInfo.username.startsWith('system:node:')");
    expect(condition).toContain("request.userInfo.groups.exists(g, g == 'system:serviceaccounts')");
    expect(condition).toContain("'system:kube-scheduler'");
    expect(condition).not.toContain("!request.userInfo.username.startsWith('system:')");
  });

  // k3s, RKE2, Harvester and OpenShift issue the admin kubeconfig as system:admin (group system:masters): the person
  // most likely to restore an exported PV, whose PVC DELETE is judged just the same.
  it('by system:admin (a person, though its name starts with system:): judged per pvcDelete.others', () => {
    const strict = defaultConfig();
    const config = { ...strict, pvcDelete: { ...strict.pvcDelete, others: 'enforce' as const } };
    const admin: UserInfo = { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] };
    const refused = pvcDeleteValidator(config).handle(createPv(exported('Delete', { name: 'data-db-0', uid: 'uid-gone' }), admin), context(model(), { config }));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('by system:admin');
  });

  // Issue 20's review: a person restoring an exported PV (claimRef by uid, reclaim Delete, its claim gone) loses the
  // disk at the PV controller's first sync, as an UPDATE to Delete would: judged by pvcDelete.others like that UPDATE.
  it('by a person: judged per pvcDelete.others (off by default: allowed), the webhook called once it is on', () => {
    const strict = defaultConfig();
    const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'] };
    const create = (user: UserInfo) => createPv(exported('Delete', { name: 'data-db-0', uid: 'uid-gone' }), user);
    expect(validator.handle(create(alice), context(model())).allowed).toBe(true);
    expect(validator.declaration.matchConditions?.map((entry) => entry.expression).join(' ')).toContain("'off' != 'off'");
    const config = { ...strict, pvcDelete: { ...strict.pvcDelete, others: 'enforce' as const } };
    const enforcing = pvcDeleteValidator(config);
    const refused = enforcing.handle(create(alice), context(model(), { config }));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('creation of PV pv-db with reclaim policy Delete by alice');
    expect(refused.status?.message).toContain(`its claim ${NS}/data-db-0 no longer exists`);
    // alice may not write overrides: an override writer's create is what works.
    expect(refused.status?.message).toContain('ask an override writer');
    // An override writer's own create: approving it on the PV is advised, and then passes.
    const byAdmin = enforcing.handle(create(ADMIN), context(model(), { config }));
    expect(byAdmin.allowed).toBe(false);
    expect(byAdmin.status?.message).toContain('and create it again');
    const warn = { ...strict, pvcDelete: { ...strict.pvcDelete, others: 'warn' as const } };
    const warning = pvcDeleteValidator(warn).handle(create(alice), context(model(), { config: warn }));
    expect(warning.allowed).toBe(true);
    expect(warning.warnings?.join('\n')).toContain('pv-db');
  });

  // Issue 19's review: the refusal of a person's CREATE read "reclaim policy unset → Delete" (it was set), advised
  // keeping a policy and annotating a PV that does not exist yet, and named overrides.allowedUsers as the writers.
  it("a person's refused CREATE says what it is created with and advises a manifest, naming the configured writers", () => {
    const strict = defaultConfig();
    const config = { ...strict, pvcDelete: { ...strict.pvcDelete, others: 'enforce' as const } };
    const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'] };
    const pv = exported('Delete', { name: 'data-db-0', uid: 'uid-gone' });
    const message = pvcDeleteValidator(config).handle(createPv(pv, alice), context(model(), { config })).status?.message ?? '';
    const flat = message.replace(/\s+/g, ' ');
    expect(flat).toContain(`PV pv-db: its claim ${NS}/data-db-0 no longer exists; created with reclaim policy Delete:`);
    expect(flat).not.toContain('unset');
    expect(flat).toContain('Fix: create it with persistentVolumeReclaimPolicy: Retain, or without claimRef.uid');
    expect(flat).not.toContain('keep the reclaim policy');
    expect(flat).not.toContain('mark the PV');
    expect(flat).toContain('reclaimed as soon as it is created: its claim is gone');
    // The default writers are group system:masters: named as configured, never as an empty user list.
    expect(flat).toContain(
      'if its data may go, ask an override writer (overrides of data-loss checks are limited to groups system:masters) to create it ' +
        'with the annotations volume-guard.io/delete: "true", volume-guard.io/skip-reason: "<why>" and volume-guard.io/skip-by: <their user name>',
    );
    expect(flat).not.toContain('overrides.allowedUsers');
    // An override writer: the annotations go in the manifest (there is no PV to annotate).
    const byAdmin = pvcDeleteValidator(config).handle(createPv(pv, ADMIN), context(model(), { config })).status?.message ?? '';
    expect(byAdmin.replace(/\s+/g, ' ')).toContain(`volume-guard.io/skip-by: ${ADMIN.username} to the PV's metadata.annotations and create it again`);
  });

  it("advises only approvals the override guard takes from the controller's write", () => {
    const gone = (annotations: Record<string, string> = {}) => {
      const pv = exported('Delete', { name: 'data-db-0', uid: 'uid-gone' });
      return { ...pv, metadata: { ...pv.metadata, annotations: { ...pv.metadata.annotations, ...annotations } } };
    };
    const approval = { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-reason': 'restore', 'volume-guard.io/skip-by': ARGO.username };
    // By default Argo CD may not write overrides: the guard refuses its approval, so it is not advised as is.
    const refusal = validator.handle(createPv(gone()), context(model())).status!.message;
    expect(overrideGuardValidator(defaultConfig()).handle(createPv(gone(approval)), context(model())).allowed).toBe(false);
    expect(refusal).not.toContain('let the controller retry');
    expect(refusal).toContain("if its data may go, create it by hand (a person's PV CREATE is judged only under pvcDelete.others)");
    expect(refusal).toContain(`or allow ${ARGO.username} in overrides.allowedUsers and add the annotations volume-guard.io/delete: "true"`);
    // Allowed to, its own name as skip-by: the guard takes the approval and the CREATE passes.
    const allowing = { ...defaultConfig(), overrides: { ...defaultConfig().overrides, allowedUsers: [ARGO.username] } };
    const advised = pvcDeleteValidator(allowing).handle(createPv(gone()), context(model(), { config: allowing })).status!.message;
    expect(advised).toContain(`volume-guard.io/skip-by: ${ARGO.username} to the PV and let the controller retry`);
    expect(overrideGuardValidator(allowing).handle(createPv(gone(approval)), context(model(), { config: allowing })).allowed).toBe(true);
    expect(pvcDeleteValidator(allowing).handle(createPv(gone(approval)), context(model(), { config: allowing })).allowed).toBe(true);
  });

  it('the webhook is called for automation identities only: its matchCondition names them', () => {
    const condition = validator.declaration.matchConditions?.map((entry) => entry.expression).join(' ') ?? '';
    expect(condition).toContain("request.operation == 'CREATE'");
    expect(condition).toContain(`'${ARGO.username}'`);
  });
});

// The same sync reached by an UPDATE: an exported PV applied over a live one, its reclaim policy Delete before and
// after, its claimRef now naming (by uid) a claim that is gone or was re-created. Judged for automation only: the PV
// controller writes the claimRef of every PV it binds.
describe("a PV UPDATE re-pointing its claimRef under reclaim Delete", () => {
  const bound = (uid: string | undefined) =>
    exported('Delete', uid === undefined ? { name: 'data-db-1' } : { name: 'data-db-1', uid }, { phase: 'Bound' });
  const updatePv = (old: unknown, object: unknown, user: UserInfo = ARGO): AdmissionRequest =>
    request({ ...PV_KIND, operation: 'UPDATE', name: 'pv-db', userInfo: user, object, oldObject: old });

  it('its claim re-created under another uid: refused for automation, naming the claimRef change', () => {
    const decision = validator.handle(updatePv(bound('uid-live'), bound('uid-exported')), context(model()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`change of PV pv-db's claimRef to ${NS}/data-db-1`);
    expect(decision.status?.message).toContain('claimRef re-pointed under reclaim policy Delete');
    expect(decision.status?.message).toContain('was deleted (the PVC of that name now is another one, uid uid-live)');
  });

  it('an Available PV given the uid of a claim that is gone: refused', () => {
    const available = (claimRef: Record<string, string> | undefined) => {
      const pv = exported('Delete', claimRef ?? {}, { phase: 'Available' });
      return claimRef === undefined ? { ...pv, spec: { ...pv.spec, claimRef: undefined } } : pv;
    };
    expect(validator.handle(updatePv(available(undefined), available({ name: 'data-db-0', uid: 'uid-gone' })), context(model())).allowed).toBe(false);
  });

  it('the uid of the live claim, an unchanged claimRef, or a Retain PV: passes', () => {
    expect(validator.handle(updatePv(bound(undefined), bound('uid-live')), context(model())).allowed).toBe(true);
    expect(validator.handle(updatePv(bound('uid-old'), bound('uid-old')), context(model())).allowed).toBe(true);
    const retained = (uid: string) => exported('Retain', { name: 'data-db-1', uid }, { phase: 'Bound' });
    expect(validator.handle(updatePv(retained('uid-live'), retained('uid-exported')), context(model())).allowed).toBe(true);
  });

  it("by the PV controller: not judged, whatever the modes (binding writes the claimRef); its binds are not sent", () => {
    const strict = defaultConfig();
    const config = { ...strict, pvcDelete: { ...strict.pvcDelete, others: 'enforce' as const } };
    const enforcing = pvcDeleteValidator(config);
    for (const user of [BINDER, KCM, SCHEDULER]) {
      expect(enforcing.handle(updatePv(bound('uid-live'), bound('uid-exported'), user), context(model(), { config })).allowed).toBe(true);
    }
    const condition = enforcing.declaration.matchConditions?.map((entry) => entry.expression).join(' ') ?? '';
    expect(condition).toContain(`request.userInfo.username in ['${BINDER.username}', '${KCM.username}', '${SCHEDULER.username}']`);
  });

  it("by a person: pvcDelete.others decides (off by default, so allowed), the webhook called once it is on", () => {
    expect(validator.handle(updatePv(bound('uid-live'), bound('uid-exported'), ADMIN), context(model())).allowed).toBe(true);
    const condition = validator.declaration.matchConditions?.map((entry) => entry.expression).join(' ') ?? '';
    expect(condition).toContain("'off' != 'off'");
    const strict = defaultConfig();
    for (const others of ['warn', 'enforce'] as const) {
      const config = { ...strict, pvcDelete: { ...strict.pvcDelete, others } };
      expect(pvcDeleteValidator(config).declaration.matchConditions?.map((entry) => entry.expression).join(' ')).toContain(`'${others}' != 'off'`);
    }
  });

  it('an approved PV (volume-guard.io/delete) passes', () => {
    const approvedPv = (uid: string) => {
      const pv = bound(uid);
      return { ...pv, metadata: { ...pv.metadata, annotations: { ...pv.metadata.annotations, 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': ADMIN.username, 'volume-guard.io/skip-reason': 'restored elsewhere' } } };
    };
    expect(validator.handle(updatePv(approvedPv('uid-live'), approvedPv('uid-exported')), context(model())).allowed).toBe(true);
  });
});

// Issue 20's review: under pvcDelete.others: enforce, a person re-pointing a Delete PV's claimRef at a uid no claim
// has any more was allowed, though the PV controller (syncVolume: the claim of that name has another uid, so it is
// taken for deleted) releases the PV and destroys the volume in the same sync. Flux's identical write was refused.
describe('a PV UPDATE re-pointing its claimRef, by a person under pvcDelete.others', () => {
  const pv = (uid: string) => exported('Delete', { name: 'data', uid }, { phase: 'Bound' });
  const live = (): ClusterModel => {
    const cluster = new ClusterModel(VOLUME_SETS);
    cluster.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data', uid: 'live-uid', volumeName: 'pv-db' }));
    return cluster;
  };
  const update = (user: UserInfo, from: string, to: string): AdmissionRequest =>
    request({ ...PV_KIND, operation: 'UPDATE', name: 'pv-db', userInfo: user, object: pv(to), oldObject: pv(from) });
  const withOthers = (others: 'off' | 'warn' | 'enforce') => {
    const config = { ...defaultConfig(), pvcDelete: { ...defaultConfig().pvcDelete, others } };
    return { config, validator: pvcDeleteValidator(config) };
  };
  const FLUX: UserInfo = { username: 'system:serviceaccount:flux-system:kustomize-controller', groups: ['system:serviceaccounts'] };

  it('enforce: at a uid that no longer exists, refused as for Flux', () => {
    const { config, validator: enforcing } = withOthers('enforce');
    for (const user of [ADMIN, FLUX]) {
      const decision = enforcing.handle(update(user, 'live-uid', 'stale-uid'), context(live(), { config }));
      expect(decision.allowed).toBe(false);
      expect(decision.status?.message).toContain(`change of PV pv-db's claimRef to ${NS}/data`);
      expect(decision.status?.message).toContain('claimRef re-pointed under reclaim policy Delete');
    }
  });

  it('warn: allowed with a warning; off: allowed without a word', () => {
    const warn = withOthers('warn');
    const warned = warn.validator.handle(update(ADMIN, 'live-uid', 'stale-uid'), context(live(), { config: warn.config }));
    expect(warned.allowed).toBe(true);
    expect(warned.warnings?.join('\n')).toContain('- PV pv-db: Bound, but its claim shop/data was deleted');
    expect(warned.warnings?.join('\n')).toContain('re-pointed under reclaim policy Delete');
    const off = withOthers('off');
    const passed = off.validator.handle(update(ADMIN, 'live-uid', 'stale-uid'), context(live(), { config: off.config }));
    expect(passed.allowed).toBe(true);
    expect(passed.warnings ?? []).toEqual([]);
  });

  it('enforce: at the uid of the live claim that asks for this PV, passes', () => {
    const { config, validator: enforcing } = withOthers('enforce');
    expect(enforcing.handle(update(ADMIN, 'stale-uid', 'live-uid'), context(live(), { config })).allowed).toBe(true);
  });

  it("the webhook is called for a person's re-point: the matchCondition no longer asks for automation alone", () => {
    const { validator: enforcing } = withOthers('enforce');
    const condition = enforcing.declaration.matchConditions?.map((entry) => entry.expression).join(' ') ?? '';
    expect(condition).toContain("'enforce' != 'off'");
  });
});

// pv_controller.go syncVolume: a PV whose claimRef names a live claim (its uid) that is bound to another PV is, when
// dynamically provisioned (pv.kubernetes.io/provisioned-by) under reclaim Delete, released and deleted at its next
// sync ("the claim got bound elsewhere"); any other such PV is only unbound (Available), its data kept.
describe('a PV pointed at a live claim bound to another PV', () => {
  const live = (): ClusterModel => {
    const cluster = new ClusterModel(VOLUME_SETS);
    cluster.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data', uid: 'live-uid', volumeName: 'pv-other' }));
    return cluster;
  };
  const pv = (uid: string, reclaim = 'Delete', dynamic = true) => {
    const exportedPv = exported(reclaim, { name: 'data', uid }, { phase: 'Bound' });
    return dynamic ? exportedPv : { ...exportedPv, metadata: { name: 'pv-db' } };
  };
  const update = (old: unknown, object: unknown): AdmissionRequest =>
    request({ ...PV_KIND, operation: 'UPDATE', name: 'pv-db', userInfo: ARGO, object, oldObject: old });

  it('re-pointed at it, dynamically provisioned under Delete: refused, naming the other PV', () => {
    const decision = validator.handle(update(pv('stale-uid'), pv('live-uid')), context(live()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`its claim ${NS}/data is bound to PV pv-other`);
  });

  it('created so: refused', () => {
    expect(validator.handle(createPv(pv('live-uid')), context(live())).allowed).toBe(false);
  });

  it('its policy turned from Retain to Delete: refused', () => {
    expect(validator.handle(update(pv('live-uid', 'Retain'), pv('live-uid')), context(live())).allowed).toBe(false);
  });

  it('not dynamically provisioned, or the claim bound to this PV or to none: passes (unbound or bound, data kept)', () => {
    expect(validator.handle(update(pv('stale-uid', 'Delete', false), pv('live-uid', 'Delete', false)), context(live())).allowed).toBe(true);
    const own = new ClusterModel(VOLUME_SETS);
    own.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data', uid: 'live-uid', volumeName: 'pv-db' }));
    expect(validator.handle(update(pv('stale-uid'), pv('live-uid')), context(own)).allowed).toBe(true);
    const pending = new ClusterModel(VOLUME_SETS);
    pending.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data', uid: 'live-uid', volumeName: '' }));
    expect(validator.handle(update(pv('stale-uid'), pv('live-uid')), context(pending)).allowed).toBe(true);
  });
});

describe("kube-scheduler binding an Available static PV to a claim volume-guard has not seen yet", () => {
  it('passes under pvcDelete.others: enforce (a WaitForFirstConsumer bind, not a claim gone)', () => {
    const config = { ...defaultConfig(), pvcDelete: { ...defaultConfig().pvcDelete, others: 'enforce' as const } };
    const available = exported('Delete', {}, { phase: 'Available' });
    const old = { ...available, spec: { ...available.spec, claimRef: undefined } };
    const bound = exported('Delete', { name: 'data-db-0', uid: 'uid-new' }, { phase: 'Available' });
    const bind = request({ ...PV_KIND, operation: 'UPDATE', name: 'pv-db', userInfo: SCHEDULER, object: bound, oldObject: old });
    expect(pvcDeleteValidator(config).handle(bind, context(new ClusterModel(VOLUME_SETS), { config })).allowed).toBe(true);
    const byAdmin = request({ ...PV_KIND, operation: 'UPDATE', name: 'pv-db', userInfo: ADMIN, object: bound, oldObject: old });
    expect(pvcDeleteValidator(config).handle(byAdmin, context(new ClusterModel(VOLUME_SETS), { config })).allowed).toBe(false);
  });
});
