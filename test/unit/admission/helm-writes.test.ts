// Which writes of a Helm-managed object are Helm's own (judged at the release record) and which are kubectl's.
import { describe, expect, it } from 'vitest';
import { fieldManagerOf, isHelmManaged, isHelmsOwnWrite, writtenWithKubectl } from '../../../src/admission/helm-writes.ts';

const options = (fieldManager: unknown) => ({ options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager } });
const HELM = { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': 'shop' };
const annotated = (annotations: Record<string, string>, ownerReferences?: unknown[]) => ({
  metadata: { name: 'db', annotations, ...(ownerReferences ? { ownerReferences } : {}) },
});

describe('helm-writes', () => {
  it("reads kubectl's field managers, and nothing else, as kubectl", () => {
    for (const manager of ['kubectl', 'kubectl-set', 'kubectl-edit', 'kubectl-patch', 'kubectl-client-side-apply', 'kubectl-replace', 'kubectl-rollout']) {
      expect(writtenWithKubectl(options(manager)), manager).toBe(true);
    }
    for (const manager of ['helm', 'helm-controller', 'kubectlish', 'my-kubectl', '', 42, null]) {
      expect(writtenWithKubectl(options(manager)), String(manager)).toBe(false);
    }
    expect(writtenWithKubectl({})).toBe(false);
    expect(writtenWithKubectl({ options: 'kubectl' })).toBe(false);
    expect(fieldManagerOf(options('kubectl-set'))).toBe('kubectl-set');
  });

  it("a Helm-managed object's write is Helm's own unless kubectl made it; a release of another namespace does not count", () => {
    expect(isHelmManaged(annotated(HELM), 'shop')).toBe(true);
    expect(isHelmManaged(annotated(HELM), 'other')).toBe(false);
    expect(isHelmManaged(annotated(HELM))).toBe(true);
    expect(isHelmManaged(annotated({ 'meta.helm.sh/release-name': 'db' }), 'other')).toBe(true);
    expect(isHelmManaged(annotated({ 'meta.helm.sh/release-name': '' }), 'shop')).toBe(false);
    expect(isHelmsOwnWrite(options('helm'), annotated(HELM), 'shop')).toBe(true);
    expect(isHelmsOwnWrite({}, annotated(HELM), 'shop')).toBe(true);
    expect(isHelmsOwnWrite(options('kubectl-edit'), annotated(HELM), 'shop')).toBe(false);
    expect(isHelmsOwnWrite(options('helm'), annotated({}), 'shop')).toBe(false);
  });

  it('an object a controller owns carries an operator\'s copies of the annotations: not Helm-managed', () => {
    const operatorBuilt = annotated(HELM, [{ apiVersion: 'rabbitmq.com/v1beta1', kind: 'RabbitmqCluster', name: 'rmq', uid: 'u', controller: true }]);
    expect(isHelmManaged(operatorBuilt, 'shop')).toBe(false);
    expect(isHelmsOwnWrite({}, operatorBuilt, 'shop')).toBe(false);
    // An owner that is not its controller (a plain ownerReference, controller false) leaves it Helm's.
    expect(isHelmManaged(annotated(HELM, [{ kind: 'ConfigMap', name: 'c', uid: 'u' }]), 'shop')).toBe(true);
    expect(isHelmManaged(annotated(HELM, [{ kind: 'ConfigMap', name: 'c', uid: 'u', controller: false }]), 'shop')).toBe(true);
    // A PVC the chart declares that the StatefulSet controller adopted under a retention policy: still Helm's.
    expect(isHelmManaged(annotated(HELM, [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u', controller: true }]), 'shop')).toBe(true);
    expect(isHelmManaged(annotated(HELM, [{ apiVersion: 'v1', kind: 'Pod', name: 'db-2', uid: 'u', controller: true }]), 'shop')).toBe(true);
  });
});
