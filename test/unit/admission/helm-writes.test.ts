// Which writes of a Helm-managed object are Helm's own (judged at the release record) and which are kubectl's.
import { describe, expect, it } from 'vitest';
import { fieldManagerOf, isHelmManaged, isHelmsOwnWrite, writtenWithKubectl } from '../../../src/admission/helm-writes.ts';

const options = (fieldManager: unknown) => ({ options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager } });
const HELM = { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': 'shop' };

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
    expect(isHelmManaged(HELM, 'shop')).toBe(true);
    expect(isHelmManaged(HELM, 'other')).toBe(false);
    expect(isHelmManaged(HELM)).toBe(true);
    expect(isHelmManaged({ 'meta.helm.sh/release-name': 'db' }, 'other')).toBe(true);
    expect(isHelmManaged({ 'meta.helm.sh/release-name': '' }, 'shop')).toBe(false);
    expect(isHelmsOwnWrite(options('helm'), HELM, 'shop')).toBe(true);
    expect(isHelmsOwnWrite({}, HELM, 'shop')).toBe(true);
    expect(isHelmsOwnWrite(options('kubectl-edit'), HELM, 'shop')).toBe(false);
    expect(isHelmsOwnWrite(options('helm'), {}, 'shop')).toBe(false);
  });
});
