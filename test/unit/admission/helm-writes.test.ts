// Which writes of a Helm-managed object are Helm's own (judged at the release record) and which anyone else's.
import { describe, expect, it } from 'vitest';
import {
  fieldManagerOf,
  HELM_OR_NO_FIELD_MANAGER_CEL,
  isHelmManaged,
  isHelmsOwnWrite,
  ownsReleaseAnnotation,
  writtenByHelm,
  writtenWithKubectl,
} from '../../../src/admission/helm-writes.ts';

const options = (fieldManager: unknown) => ({ options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager } });
const HELM = { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': 'shop' };

/** A stored object whose metadata.managedFields has `manager` owning the release annotation (as Helm's install leaves it). */
function storedWithOwner(manager: string, owns = true): unknown {
  const annotations = owns ? { 'f:meta.helm.sh/release-name': {}, 'f:meta.helm.sh/release-namespace': {} } : { 'f:team': {} };
  return {
    metadata: {
      annotations: HELM,
      managedFields: [
        { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status', fieldsV1: { 'f:status': { 'f:replicas': {} } } },
        { manager, operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:annotations': annotations }, 'f:spec': { 'f:replicas': {} } } },
      ],
    },
  };
}

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

  it('recognises Helm by its field manager: helm, helm-controller, Helm (any case), or none sent', () => {
    for (const manager of ['helm', 'helm-controller', 'Helm', 'HELM', 'helmfile', '', null, 42]) {
      expect(writtenByHelm(options(manager)), String(manager)).toBe(true);
    }
    expect(writtenByHelm({})).toBe(true);
    expect(writtenByHelm({ options: null })).toBe(true);
    // GitOps controllers, UIs, Terraform, client-go tools, kubectl: not Helm.
    for (const manager of ['kustomize-controller', 'argocd-controller', 'argocd-application-controller', 'rancher', 'lens', 'Terraform', 'kubectl-edit', 'my-helm']) {
      expect(writtenByHelm(options(manager)), manager).toBe(false);
    }
  });

  it("counts a tool built on Helm's library by its own name when it owns the release annotation in the stored object", () => {
    const stored = storedWithOwner('terraform-provider-helm_v2.17.0_x5');
    expect(ownsReleaseAnnotation(stored, 'terraform-provider-helm_v2.17.0_x5')).toBe(true);
    expect(writtenByHelm({ ...options('terraform-provider-helm_v2.17.0_x5'), oldObject: stored })).toBe(true);
    // Another manager of the same object, an entry owning other annotations only, or no stored object (a CREATE): not Helm.
    expect(writtenByHelm({ ...options('argocd-controller'), oldObject: stored })).toBe(false);
    expect(writtenByHelm({ ...options('greenhouse'), oldObject: storedWithOwner('greenhouse', false) })).toBe(false);
    expect(writtenByHelm({ ...options('greenhouse'), oldObject: null })).toBe(false);
    expect(writtenByHelm(options('greenhouse'))).toBe(false);
    expect(ownsReleaseAnnotation({ metadata: { managedFields: 'x' } }, 'greenhouse')).toBe(false);
    expect(ownsReleaseAnnotation(null, 'greenhouse')).toBe(false);
    // kubectl never is, even as the annotation's owner (`kubectl annotate` to let Helm adopt an object).
    expect(writtenByHelm({ ...options('kubectl-annotate'), oldObject: storedWithOwner('kubectl-annotate') })).toBe(false);
    expect(writtenByHelm({ ...options('kubectl'), oldObject: storedWithOwner('kubectl') })).toBe(false);
  });

  it("a Helm-managed object's write is Helm's own only when Helm made it; a release of another namespace does not count", () => {
    expect(isHelmManaged(HELM, 'shop')).toBe(true);
    expect(isHelmManaged(HELM, 'other')).toBe(false);
    expect(isHelmManaged(HELM)).toBe(true);
    expect(isHelmManaged({ 'meta.helm.sh/release-name': 'db' }, 'other')).toBe(true);
    expect(isHelmManaged({ 'meta.helm.sh/release-name': '' }, 'shop')).toBe(false);
    expect(isHelmsOwnWrite(options('helm'), HELM, 'shop')).toBe(true);
    expect(isHelmsOwnWrite(options('helm-controller'), HELM, 'shop')).toBe(true);
    expect(isHelmsOwnWrite({}, HELM, 'shop')).toBe(true);
    expect(isHelmsOwnWrite(options('kubectl-edit'), HELM, 'shop')).toBe(false);
    expect(isHelmsOwnWrite(options('kustomize-controller'), HELM, 'shop')).toBe(false);
    expect(isHelmsOwnWrite(options('helm'), {}, 'shop')).toBe(false);
    expect(isHelmsOwnWrite(options('helm'), HELM, 'other')).toBe(false);
  });

  it('the CEL lets through (unsent) only what the handler takes as Helm by name: helm/Helm prefixes or no manager, request.options possibly null', () => {
    expect(HELM_OR_NO_FIELD_MANAGER_CEL).toBe(
      "(!has(request.options) || request.options == null || !has(request.options.fieldManager) || request.options.fieldManager == '' || " +
        "request.options.fieldManager.startsWith('helm') || request.options.fieldManager.startsWith('Helm'))",
    );
    // Every prefix the CEL accepts is one the handler accepts.
    for (const manager of ['helm', 'Helm', 'helm-controller', 'Helm-anything', '']) expect(writtenByHelm(options(manager)), manager).toBe(true);
  });

  it("takes as Helm's the tools on Helm's library whose manager name changes with their version or is their binary's", () => {
    // A provider upgrade renames the manager; the annotation's owner is the earlier name, so ownership cannot tell.
    for (const manager of ['terraform-provider-helm_v2.13.0_x5', 'fleetagent', 'zarf']) expect(writtenByHelm(options(manager)), manager).toBe(true);
    for (const manager of ['terraform', 'fleet-controller', 'rancher', 'argocd-controller']) expect(writtenByHelm(options(manager)), manager).toBe(false);
  });
});
