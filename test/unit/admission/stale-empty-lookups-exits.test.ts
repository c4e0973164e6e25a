// Owner and CRD DELETEs that find nothing owned get the stale policy, but only after the exits the path that finds
// something takes (check off, orphaning DELETE, namespace going), and honouring the CRD's own
// `volume-guard.io/skip: "*"`, which the found path (judgeByPlan, plan crd-delete overrides ['object', ...]) honours on
// a stale view (README: "an honored volume-guard.io/skip: \"*\" still passes, where that operation reads a skip").
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { ownerDeleteValidator } from '../../../src/admission/validators/owner-delete.ts';
import { storageTeardownValidator } from '../../../src/admission/validators/storage-teardown.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { ModelHealth } from '../../../src/cluster/snapshot.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace } from '../../support/fixtures.ts';

const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd'] };
const STALE_PVCS: ModelHealth = { synced: () => true, staleResources: () => ['persistentvolumeclaims'] };

function staleView(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: 'shop' }));
  return model;
}

function checkOff(): Config {
  const config = defaultConfig();
  return { ...config, checks: { ...config.checks, 'pvc-delete': { ...config.checks['pvc-delete'], mode: 'off' } } };
}

const configMapDelete = (options: unknown = { propagationPolicy: 'Background' }): AdmissionRequest =>
  request({
    kind: { group: '', version: 'v1', kind: 'ConfigMap' },
    resource: { group: '', version: 'v1', resource: 'configmaps' },
    operation: 'DELETE',
    namespace: 'shop',
    name: 'settings',
    userInfo: ARGO,
    oldObject: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop', uid: 'uid-cm' } },
    options,
  });

const crdDelete = (annotations: Record<string, string> = {}): AdmissionRequest =>
  request({
    kind: { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' },
    resource: { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions' },
    operation: 'DELETE',
    name: 'widgets.example.io',
    userInfo: ADMIN,
    oldObject: {
      metadata: { name: 'widgets.example.io', annotations },
      spec: { group: 'example.io', names: { kind: 'Widget', plural: 'widgets' }, scope: 'Namespaced', versions: [{ name: 'v1', served: true, storage: true }] },
      status: { acceptedNames: { kind: 'Widget', plural: 'widgets' }, conditions: [{ type: 'Established', status: 'True' }] },
    },
  });

describe('stale view, nothing owned found', () => {
  it('owner-delete with checks.pvc-delete.mode off: nothing can be refused, so a stale view must not refuse either', () => {
    const decision = ownerDeleteValidator(checkOff()).handle(configMapDelete(), context(staleView(), { config: checkOff(), health: STALE_PVCS }));
    expect(decision.allowed).toBe(true);
  });

  it('owner-delete that orphans its dependents (propagationPolicy Orphan) takes no PVC along, stale view or not', () => {
    const config = defaultConfig();
    const decision = ownerDeleteValidator(config).handle(configMapDelete({ propagationPolicy: 'Orphan' }), context(staleView(), { config, health: STALE_PVCS }));
    expect(decision.allowed).toBe(true);
  });

  it('crd-delete with checks.pvc-delete.mode off passes on a stale view', () => {
    const decision = storageTeardownValidator(checkOff()).handle(crdDelete(), context(staleView(), { config: checkOff(), health: STALE_PVCS }));
    expect(decision.allowed).toBe(true);
  });

  it("crd-delete: the CRD's honoured skip \"*\" passes a stale view (as on the path that finds owned PVCs)", () => {
    const config = defaultConfig();
    const skip = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'tearing down' };
    const decision = storageTeardownValidator(config).handle(crdDelete(skip), context(staleView(), { config, health: STALE_PVCS }));
    expect(decision.allowed).toBe(true);
  });
});
