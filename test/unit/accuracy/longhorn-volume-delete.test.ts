// Deleting a Longhorn Volume object makes Longhorn delete its replicas and their data, whatever the PV or PVC in front
// of it says: a GitOps prune of statically provisioned Longhorn volumes loses them. Judged like a PVC DELETE
// (automation identities; others per pvcDelete.others); Longhorn's own deletes (the reclaim of a PVC whose PV says
// Delete, its UI) come from its service account and are never judged.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { overrideGuardValidator } from '../../../src/admission/validators/override-guard.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, ALICE, context, request } from '../../support/admission.ts';
import { namespace } from '../../support/fixtures.ts';

const config = defaultConfig();
const validator = pvcDeleteValidator(config);
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const LONGHORN: UserInfo = { username: 'system:serviceaccount:longhorn-system:longhorn-service-account', groups: ['system:serviceaccounts'] };
const VOLUME_KIND = { kind: { group: 'longhorn.io', version: 'v1beta2', kind: 'Volume' }, resource: { group: 'longhorn.io', version: 'v1beta2', resource: 'volumes' } };

function volumeObject(annotations: Record<string, string> = {}): unknown {
  return {
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'Volume',
    metadata: { name: 'vol-db', namespace: 'longhorn-system', annotations },
    spec: { numberOfReplicas: 3 },
    status: { state: 'detached', kubernetesStatus: { pvName: 'pv-db', namespace: 'shop', pvcName: 'data-db-0' } },
  };
}

function del(user: UserInfo, annotations: Record<string, string> = {}): AdmissionRequest {
  return request({ ...VOLUME_KIND, operation: 'DELETE', namespace: 'longhorn-system', name: 'vol-db', userInfo: user, oldObject: volumeObject(annotations) });
}

const empty = () => context(new ClusterModel(VOLUME_SETS));

describe('pvc-delete at a Longhorn Volume DELETE', () => {
  it("refuses Argo CD's controller pruning a Longhorn volume, naming the PVC that loses its data", () => {
    const decision = validator.handle(del(ARGO), empty());
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain(`deletion of Longhorn volume longhorn-system/vol-db by ${ARGO.username}`);
    expect(message).toContain('1 Longhorn volume would be deleted with its data');
    expect(message).toContain('PVC shop/data-db-0 loses its data');
    expect(message).toContain('kubectl annotate volumes.longhorn.io vol-db -n longhorn-system volume-guard.io/delete=true');
  });

  it("passes Longhorn's own deletes and people by hand (pvcDelete.others off), and honors the volume's approval", () => {
    expect(validator.handle(del(LONGHORN), empty()).allowed).toBe(true);
    expect(validator.handle(del(ADMIN), empty()).allowed).toBe(true);
    const strict = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' as const } };
    expect(validator.handle(del(ALICE), context(new ClusterModel(VOLUME_SETS), { config: strict })).allowed).toBe(false);
    expect(validator.handle(del(LONGHORN), context(new ClusterModel(VOLUME_SETS), { config: strict })).allowed).toBe(true);
    expect(validator.handle(del(ARGO, { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' }), empty()).allowed).toBe(true);
    expect(validator.handle(del(ARGO, { 'volume-guard.io/delete': 'true' }), empty()).allowed).toBe(false);
    const guard = overrideGuardValidator(config);
    const resources = guard.declaration.rules.flatMap((rule) => ('resources' in rule ? rule.resources : []));
    expect(resources).toContain('volumes');
  });

  it("passes the namespace controller's deletes in Longhorn's namespace being deleted (judged at its DELETE)", () => {
    const strict = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' as const } };
    const controller: UserInfo = { username: 'system:serviceaccount:kube-system:namespace-controller', groups: ['system:serviceaccounts'] };
    expect(validator.handle(del(controller), context(new ClusterModel(VOLUME_SETS), { config: strict })).allowed).toBe(false);
    const terminating = new ClusterModel(VOLUME_SETS);
    terminating.upsert('namespace', namespace({ name: 'longhorn-system', deleting: true }));
    expect(validator.handle(del(controller), context(terminating, { config: strict })).allowed).toBe(true);
    expect(validator.handle(del(ARGO), context(terminating)).allowed).toBe(true);
  });
});
