// PVC DELETE: refused for GitOps controllers when the PV's reclaim policy destroys the data, unless the PVC is
// marked volume-guard.io/delete=true; people deleting by hand get pvcDelete.others (off by default).
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pv } from '../../support/fixtures.ts';

const config = defaultConfig();
const validator = pvcDeleteValidator(config);
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd'] };
const NS = 'shop';

function claimObject(annotations: Record<string, string> = {}, phase = 'Bound'): unknown {
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'uploads', namespace: NS, annotations }, spec: { volumeName: 'pv-uploads' }, status: { phase } };
}

function del(user: UserInfo, object = claimObject()): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
    resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
    operation: 'DELETE',
    namespace: NS,
    name: 'uploads',
    userInfo: user,
    oldObject: object,
  });
}

function model(reclaimPolicy: string): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('persistentVolume', pv({ name: 'pv-uploads', claimNamespace: NS, claimName: 'uploads', reclaimPolicy }));
  return m;
}

describe('pvc-delete on PVC DELETE', () => {
  it('refuses Argo CD pruning a Bound PVC whose PV reclaim policy is Delete, naming it and the data at stake', () => {
    const decision = validator.handle(del(ARGO), context(model('Delete')));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('deletion of PVC shop/uploads by system:serviceaccount:argocd:argocd-application-controller');
    expect(decision.status!.message).toContain('[pvc-delete]');
    expect(decision.status!.message).toContain('reclaim policy Delete destroys the volume and its data');
    expect(decision.status!.message).toContain('volume-guard.io/delete=true');
  });

  it("advises what keeps a pruned PVC (the tools' own annotations, a Retain PV), not Helm's resource policy, which a prune ignores", () => {
    const fix = validator.handle(del(ARGO), context(model('Delete'))).status!.message.replace(/\n\s+/g, ' ');
    expect(fix).toContain(
      'Fix: back the data up, or keep the PVC out of the prune (Argo CD: argocd.argoproj.io/sync-options: Prune=false; Flux: ' +
        'kustomize.toolkit.fluxcd.io/prune: disabled) or set its PV to reclaim policy Retain first',
    );
    expect(fix).not.toContain('helm.sh/resource-policy');
    // What it advises passes: the same prune of a claim whose PV says Retain.
    expect(validator.handle(del(ARGO), context(model('Retain'))).allowed).toBe(true);
  });

  it('allows what loses no data: Retain, unbound, a PV it does not know', () => {
    expect(validator.handle(del(ARGO), context(model('Retain'))).allowed).toBe(true);
    expect(validator.handle(del(ARGO, claimObject({}, 'Pending')), context(model('Delete'))).allowed).toBe(true);
    expect(validator.handle(del(ARGO), context(new ClusterModel(VOLUME_SETS))).allowed).toBe(true);
  });

  it('honors volume-guard.io/delete=true on the PVC (written through the override guard), audited', () => {
    const decision = validator.handle(del(ARGO, claimObject({ 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-reason': 'retired', 'volume-guard.io/skip-by': 'admin' })), context(model('Delete')));
    expect(decision.allowed).toBe(true);
    expect(decision.overrides).toEqual(['pvc-delete']);
    expect(decision.auditAnnotations?.['override-reason']).toBe('retired');
    expect(validator.handle(del(ARGO, claimObject({ 'volume-guard.io/delete': 'yes' })), context(model('Delete'))).allowed).toBe(false);
    // Another value than "true" (True, yes) approves nothing, and the refusal says why.
    const cased = validator.handle(del(ARGO, claimObject({ 'volume-guard.io/delete': 'True', 'volume-guard.io/skip-by': 'admin' })), context(model('Delete')));
    expect(cased.allowed).toBe(false);
    expect(cased.warnings?.join(' ').replace(/\s+/g, ' ')).toContain('override on annotation volume-guard.io/delete on PVC shop/uploads ignored: its value is "True": only "true" is honored');
    // Like a reuse approval: it counts only with its writer recorded, and not after its expiry.
    const unsigned = validator.handle(del(ARGO, claimObject({ 'volume-guard.io/delete': 'true' })), context(model('Delete')));
    expect(unsigned.allowed).toBe(false);
    expect(unsigned.status!.message).toContain('volume-guard.io/skip-by');
    const expired = claimObject({ 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-until': '2020-01-01T00:00:00Z' });
    expect(validator.handle(del(ARGO, expired), context(model('Delete'))).allowed).toBe(false);
  });

  it('does not refuse a person deleting by hand unless pvcDelete.others says so', () => {
    expect(validator.handle(del(ADMIN), context(model('Delete'))).allowed).toBe(true);
    const strict: Config = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' } };
    expect(pvcDeleteValidator(strict).handle(del(ADMIN), context(model('Delete'), { config: strict })).allowed).toBe(false);
    const warn: Config = { ...config, pvcDelete: { ...config.pvcDelete, others: 'warn' } };
    const warned = pvcDeleteValidator(warn).handle(del(ADMIN), context(model('Delete'), { config: warn }));
    expect(warned.allowed).toBe(true);
    expect(warned.warnings?.join('\n')).toContain('shop/uploads');
  });

  it('counts by default the Argo CD identities that prune in-cluster, on a managed cluster and on OpenShift GitOps', () => {
    // `argocd cluster add` creates argocd-manager in kube-system (clusterauth.InstallServiceAccount,
    // common.DefaultSystemNamespace); a hub Argo CD prunes this cluster as that service account.
    const remote: UserInfo = { username: 'system:serviceaccount:kube-system:argocd-manager', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system'] };
    expect(validator.handle(del(remote), context(model('Delete'))).allowed).toBe(false);
    const openshift: UserInfo = {
      username: 'system:serviceaccount:openshift-gitops:openshift-gitops-argocd-application-controller',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:openshift-gitops'],
    };
    expect(validator.handle(del(openshift), context(model('Delete'))).allowed).toBe(false);
  });

  it('automation groups count like users; the check mode off lets automation through', () => {
    const groups: Config = { ...config, pvcDelete: { ...config.pvcDelete, automationUsers: [], automationGroups: ['system:serviceaccounts:argocd'] } };
    expect(pvcDeleteValidator(groups).handle(del(ARGO), context(model('Delete'), { config: groups })).allowed).toBe(false);
    const off: Config = { ...config, checks: { ...config.checks, 'pvc-delete': { mode: 'off' } } };
    expect(pvcDeleteValidator(off).handle(del(ARGO), context(model('Delete'), { config: off })).allowed).toBe(true);
  });

  it('lets the namespace controller empty a namespace whose DELETE was judged already, even with others: enforce', () => {
    // The namespace controller deletes every PVC of a terminating namespace as itself (with kcm's
    // --use-service-account-credentials); refusing it keeps the namespace Terminating and decides nothing new.
    const strict: Config = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' } };
    const controller: UserInfo = { username: 'system:serviceaccount:kube-system:namespace-controller', groups: ['system:serviceaccounts'] };
    const terminating = model('Delete');
    terminating.upsert('namespace', namespace({ name: NS, deleting: true }));
    expect(pvcDeleteValidator(strict).handle(del(controller), context(terminating, { config: strict })).allowed).toBe(true);
    // While the namespace lives the same DELETE is judged.
    const live = model('Delete');
    live.upsert('namespace', namespace({ name: NS }));
    expect(pvcDeleteValidator(strict).handle(del(controller), context(live, { config: strict })).allowed).toBe(false);
  });

  it('judges a person by pvcDelete.others even with the check mode off (others replaces the mode for people)', () => {
    const checks = { ...config.checks, 'pvc-delete': { mode: 'off' as const } };
    const strict: Config = { ...config, checks, pvcDelete: { ...config.pvcDelete, others: 'enforce' } };
    const decision = pvcDeleteValidator(strict).handle(del(ADMIN), context(model('Delete'), { config: strict }));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('[pvc-delete]');
    // Automation still follows the check mode.
    expect(pvcDeleteValidator(strict).handle(del(ARGO), context(model('Delete'), { config: strict })).allowed).toBe(true);
  });
});
