// A PVC a chart renders as a hook (`helm.sh/hook: pre-install,pre-upgrade`, a common way to have it exist before a
// migration Job, or to keep Helm from tracking it) is not in the release's manifest: Helm keeps it in the record's
// `hooks`. Each time the hook runs, Helm first deletes the object the hook names when its delete policy is
// before-hook-creation, which is Helm's default when the chart sets none (pkg/action/hooks.go execHook,
// deleteHookByPolicy, Helm 3 and 4), then creates it again, empty. `helm.sh/resource-policy: keep` is not read for
// hooks. So an upgrade (or a re-install over the hook PVC an uninstall left) deletes a Bound PVC and its data.
import { afterAll, describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { helmEncode, releaseJson, releaseSecret, secretApiEncode, type ReleaseFixture } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const releases = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await releases.close?.();
});

const DEPLOYMENT = `---
# Source: shop/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  template:
    spec:
      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: shop-data
`;

function hookPvc(annotations: Record<string, string>, name = 'shop-data'): string {
  const lines = Object.entries(annotations).map(([key, value]) => `    ${key}: "${value}"`);
  return ['apiVersion: v1', 'kind: PersistentVolumeClaim', 'metadata:', `  name: ${name}`, '  annotations:', ...lines, 'spec:', '  accessModes: ["ReadWriteOnce"]'].join('\n');
}

interface Hook {
  events: string[];
  deletePolicies?: string[];
  annotations: Record<string, string>;
}

/** The record Helm writes for this revision, with the chart's hooks as pkg/release.Hook marshals them. */
function record(status: string, version: number, hooks: Hook[], applyMethod?: 'ssa' | 'csa', manifest = DEPLOYMENT, claim = 'shop-data'): AdmissionRequest {
  const fixture: ReleaseFixture = { name: 'shop', namespace: NS, version, status, manifest, chartName: 'shop', chartVersion: '1.0.0' };
  const json = {
    ...releaseJson(fixture),
    ...(applyMethod ? { apply_method: applyMethod } : {}),
    hooks: hooks.map((hook) => ({
      name: claim,
      kind: 'PersistentVolumeClaim',
      path: 'shop/templates/pvc.yaml',
      manifest: hookPvc(hook.annotations, claim),
      events: hook.events,
      last_run: { started_at: '', completed_at: '', phase: '' },
      ...(hook.deletePolicies ? { delete_policies: hook.deletePolicies } : {}),
    })),
  };
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: NS,
    name: `sh.helm.release.v1.shop.v${version}`,
    object: releaseSecret(fixture, { data: secretApiEncode(helmEncode(JSON.stringify(json))) }),
  });
}

/** shop-data exists, Bound to a PV whose reclaim policy deletes the volume. */
function cluster(annotations: Record<string, string> = {}): ClusterModel {
  const model = new ClusterModel();
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('persistentVolume', pv({ name: 'pv-shop-data', claimNamespace: NS, claimName: 'shop-data', reclaimPolicy: 'Delete' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'shop-data', volumeName: 'pv-shop-data', annotations }));
  return model;
}

const PRE_UPGRADE = { 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/resource-policy': 'keep' };

describe('a PVC rendered as a hook is deleted and re-created each time its hook runs with before-hook-creation', () => {
  it('an upgrade whose pre-upgrade hook PVC has no delete policy (the default) is refused, naming the PVC', () => {
    const decision = releases.handle(record('pending-upgrade', 2, [{ events: ['pre-install', 'pre-upgrade'], annotations: PRE_UPGRADE }]), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('shop-data');
    expect(decision.status?.message).toContain('before-hook-creation');
  });

  it('the worker pool the server reads records in gives the same answer', async () => {
    const review = (): AdmissionRequest => record('pending-upgrade', 2, [{ events: ['pre-upgrade'], annotations: PRE_UPGRADE }]);
    const pooled = await releases.handleAsync!(review(), context(cluster()));
    expect(pooled.allowed).toBe(false);
    expect(pooled.status?.message).toBe(releases.handle(review(), context(cluster())).status?.message);
  });

  it('an explicit before-hook-creation policy is refused the same', () => {
    const hook = { events: ['pre-upgrade'], deletePolicies: ['before-hook-creation'], annotations: { 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-delete-policy': 'before-hook-creation' } };
    expect(releases.handle(record('pending-upgrade', 2, [hook]), context(cluster())).allowed).toBe(false);
  });

  it('a re-install over the hook PVC an uninstall left (hooks are not uninstalled) is refused: pre-install deletes it', () => {
    expect(releases.handle(record('pending-install', 1, [{ events: ['pre-install'], annotations: { 'helm.sh/hook': 'pre-install' } }]), context(cluster())).allowed).toBe(false);
  });

  it('a hook of other events (pre-install at an upgrade) does not run: allowed', () => {
    expect(releases.handle(record('pending-upgrade', 2, [{ events: ['pre-install'], annotations: { 'helm.sh/hook': 'pre-install' } }]), context(cluster())).allowed).toBe(true);
  });

  it('a delete policy without before-hook-creation leaves an existing PVC alone (its creation fails instead): allowed', () => {
    const hook = { events: ['pre-upgrade'], deletePolicies: ['hook-failed'], annotations: { 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-delete-policy': 'hook-failed' } };
    expect(releases.handle(record('pending-upgrade', 2, [hook]), context(cluster())).allowed).toBe(true);
  });

  it('a rollback runs the hooks of the revision it restores: its pre-rollback hook PVC is refused', () => {
    expect(releases.handle(record('pending-rollback', 3, [{ events: ['pre-rollback'], annotations: { 'helm.sh/hook': 'pre-rollback' } }]), context(cluster())).allowed).toBe(false);
  });

  it("the PVC's delete approval waives it, as at the DELETE Helm then makes", () => {
    const approved = cluster({ 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' });
    expect(releases.handle(record('pending-upgrade', 2, [{ events: ['pre-upgrade'], annotations: PRE_UPGRADE }]), context(approved)).allowed).toBe(true);
  });

  it('no such PVC yet (a first install): allowed', () => {
    const empty = new ClusterModel();
    empty.upsert('namespace', namespace({ name: NS }));
    expect(releases.handle(record('pending-install', 1, [{ events: ['pre-install'], annotations: { 'helm.sh/hook': 'pre-install' } }]), context(empty)).allowed).toBe(true);
  });
});

// Helm 4 records `apply_method: ssa` on a revision it applies server-side (its default for a new release), and then
// creates the hooks by server-side apply too (execHook passes serverSideApply to KubeClient.Create): an existing PVC
// is taken over instead of the create failing "already exists", and a hook-succeeded policy deletes it once the hooks
// ran. Measured with Helm 4.3.2 (install with hook-failed, upgrade with hook-succeeded: the PVC is gone) and Helm 3.21
// (the same upgrade fails on the existing PVC, which stays).
describe('Helm 4 server-side apply takes an existing hook PVC over, and hook-succeeded deletes it', () => {
  const succeeded = { events: ['pre-upgrade'], deletePolicies: ['hook-succeeded'], annotations: { 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-delete-policy': 'hook-succeeded' } };

  it('an upgrade applied server-side (apply_method ssa) is refused, naming the PVC and why', () => {
    const decision = releases.handle(record('pending-upgrade', 2, [succeeded], 'ssa'), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`PVC ${NS}/shop-data`);
    expect(decision.status?.message).toContain('server-side, then deletes it (hook-succeeded)');
  });

  it('so is an install over a PVC of that name (a pre-install hook-succeeded hook), and in the worker pool', async () => {
    const hook = { ...succeeded, events: ['pre-install'] };
    expect(releases.handle(record('pending-install', 1, [hook], 'ssa'), context(cluster())).allowed).toBe(false);
    expect((await releases.handleAsync!(record('pending-install', 1, [hook], 'ssa'), context(cluster()))).allowed).toBe(false);
  });

  it('created client-side (Helm 3, whose records have no apply_method, or Helm 4 csa) the hook fails on it instead: allowed', () => {
    expect(releases.handle(record('pending-upgrade', 2, [succeeded]), context(cluster())).allowed).toBe(true);
    expect(releases.handle(record('pending-upgrade', 2, [succeeded], 'csa'), context(cluster())).allowed).toBe(true);
  });

  it('hook-failed alone keeps it after a server-side apply (a PVC is ready at once): allowed', () => {
    const failed = { events: ['pre-upgrade'], deletePolicies: ['hook-failed'], annotations: { 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-delete-policy': 'hook-failed' } };
    expect(releases.handle(record('pending-upgrade', 2, [failed], 'ssa'), context(cluster())).allowed).toBe(true);
  });
});

// `helm uninstall` runs the chart's pre-delete and post-delete hooks (pkg/action/uninstall.go), with the same execHook:
// before-hook-creation (the default) deletes the PVC the hook names before creating it again, empty; Helm 4 creates
// uninstall hooks server-side whatever the release's apply method (uninstall.go passes serverSideApply true), so a
// hook-succeeded policy takes an existing PVC over and deletes it. Uninstall is never refused: the warnings name them.
describe('helm uninstall warns about the PVCs its pre-delete and post-delete hooks delete', () => {
  function uninstalling(hooks: Hook[]): AdmissionRequest {
    const create = record('uninstalling', 1, hooks);
    return { ...create, operation: 'UPDATE', oldObject: create.object };
  }

  it('a post-delete hook PVC with the default policy is named, with what its PV does', () => {
    const decision = releases.handle(uninstalling([{ events: ['post-delete'], annotations: { 'helm.sh/hook': 'post-delete' } }]), context(cluster()));
    expect(decision.allowed).toBe(true);
    const text = decision.warnings?.join('\n') ?? '';
    expect(text).toContain(`uninstalling ${NS}/shop deletes 1 PVC through its delete hooks`);
    expect(text).toContain('hook-succeeded: Helm 4 applies the hook over it, then deletes it');
    expect(text).toContain(`- PVC ${NS}/shop-data: post-delete, before-hook-creation (PV pv-shop-data, reclaim Delete: data destroyed)`);
    // The hook deletes it (or re-creates it empty): it is not also said to be left behind with its data.
    expect(text).not.toContain('leaves 1 PVC');
    expect(decision.warnings!.every((line) => line.length <= 120)).toBe(true);
  });

  it('a claim a delete hook deletes is not also said to be left behind with its data (the hook re-creates it empty)', () => {
    const model = cluster();
    const labelled = model.persistentVolumeClaim(NS, 'shop-data')!;
    model.upsert('persistentVolumeClaim', { ...labelled, labels: { 'app.kubernetes.io/instance': 'shop' } });
    const text = releases.handle(uninstalling([{ events: ['post-delete'], annotations: { 'helm.sh/hook': 'post-delete' } }]), context(model)).warnings?.join('\n') ?? '';
    expect(text).toContain(`- PVC ${NS}/shop-data: post-delete, before-hook-creation`);
    expect(text).not.toContain('leaves 1 PVC');
    // Without the hook, the same labelled claim is left behind, as before.
    expect(releases.handle(uninstalling([]), context(model)).warnings?.join('\n') ?? '').toContain('leaves 1 PVC');
  });

  it('a pre-delete hook-succeeded hook is named as Helm 4 deletes it, even on a record without apply_method', async () => {
    const hook = { events: ['pre-delete'], deletePolicies: ['hook-succeeded'], annotations: { 'helm.sh/hook': 'pre-delete', 'helm.sh/hook-delete-policy': 'hook-succeeded' } };
    const decision = await releases.handleAsync!(uninstalling([hook]), context(cluster()));
    expect(decision.allowed).toBe(true);
    // Helm 3 creates it over the existing PVC and fails the uninstall there ("already exists"): said.
    expect(decision.warnings?.join('\n')).toContain(`- PVC ${NS}/shop-data: pre-delete, hook-succeeded, Helm 4 only (PV pv-shop-data`);
  });

  it('hooks of other events, hook-failed alone, or no such PVC: no hook warning', () => {
    const failed = { events: ['pre-delete'], deletePolicies: ['hook-failed'], annotations: { 'helm.sh/hook': 'pre-delete', 'helm.sh/hook-delete-policy': 'hook-failed' } };
    for (const hooks of [[{ events: ['pre-upgrade', 'test'], annotations: { 'helm.sh/hook': 'pre-upgrade,test' } }], [failed]]) {
      expect(releases.handle(uninstalling(hooks), context(cluster())).warnings?.join('\n') ?? '').not.toContain('delete hooks');
    }
    const empty = new ClusterModel();
    empty.upsert('namespace', namespace({ name: NS }));
    const none = releases.handle(uninstalling([{ events: ['post-delete'], annotations: { 'helm.sh/hook': 'post-delete' } }]), context(empty));
    expect(none.warnings?.join('\n') ?? '').not.toContain('delete hooks');
  });
});

// `helm test` runs the chart's test hooks (release_testing.go) and `helm uninstall` its delete hooks with no record
// write volume-guard is called for before the first hook's before-hook-creation delete (execHook records the run after
// it; a test run keeps the status deployed). A hook PVC of those events named like the release's own claim deletes it
// then: said at the install or upgrade that declares it, whether or not the claim exists yet.
describe('a test or delete hook PVC named like a claim of the release is said at install and upgrade', () => {
  const STATEFULSET = `---
# Source: shop/templates/sts.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: shop
spec:
  replicas: 1
  selector:
    matchLabels:
      app: shop
  template:
    metadata:
      labels:
        app: shop
  volumeClaimTemplates:
    - metadata:
        name: data
`;
  const PVC = `---
# Source: shop/templates/pvc.yaml
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: shop-data
`;
  /** The hook renders PVC shop-data; data-shop-0 is the StatefulSet's claim. */
  const claimHook = (events: string[], deletePolicies?: string[]): Hook => ({ events, ...(deletePolicies ? { deletePolicies } : {}), annotations: { 'helm.sh/hook': events.join(',') } });

  it('a test hook PVC named like a PVC the chart declares: allowed, with a warning naming it', () => {
    // The declared PVC is Helm's own for this release (a failed install's, retried): an unannotated one would be taken
    // over with --take-ownership, refused for orphan-pvc.
    const own = { 'meta.helm.sh/release-name': 'shop', 'meta.helm.sh/release-namespace': NS };
    const decision = releases.handle(record('pending-install', 1, [claimHook(['test'])], undefined, PVC), context(cluster(own)));
    expect(decision.allowed).toBe(true);
    const text = decision.warnings?.join('\n') ?? '';
    expect(text).toContain(`the chart's test hook PVC ${NS}/shop-data is named like a PVC the chart declares:`);
    expect(text).toContain('helm test deletes that claim and re-creates it empty (before-hook-creation); give the hook PVC another name');
  });

  it("a pre-delete hook named like a StatefulSet's claim, before the claim exists; hook-succeeded counts for uninstall hooks", () => {
    const model = new ClusterModel();
    model.upsert('namespace', namespace({ name: NS }));
    const upgrade = (hooks: Hook[], applyMethod?: 'ssa'): string =>
      (releases.handle(record('pending-upgrade', 2, hooks, applyMethod, STATEFULSET, 'data-shop-0'), context(model)).warnings ?? []).join('\n');
    expect(upgrade([claimHook(['pre-delete'])])).toContain(`pre-delete hook PVC ${NS}/data-shop-0 is named like the claim of StatefulSet shop:`);
    expect(upgrade([claimHook(['post-delete'], ['hook-succeeded'])])).toContain('helm uninstall deletes that claim after taking it over (Helm 4, hook-succeeded)');
    // A test hook with hook-succeeded deletes it only when Helm 4 applies the revision server-side.
    expect(upgrade([claimHook(['test'], ['hook-succeeded'])])).not.toContain('test hook PVC');
    expect(upgrade([claimHook(['test'], ['hook-succeeded'])], 'ssa')).toContain('test hook PVC');
  });

  it('no warning for a hook PVC of its own name, or of install and upgrade events (judged as deletions instead)', () => {
    const empty = new ClusterModel();
    empty.upsert('namespace', namespace({ name: NS }));
    expect((releases.handle(record('pending-install', 1, [claimHook(['test'])]), context(empty)).warnings ?? []).join('\n')).not.toContain('hook PVC');
    expect((releases.handle(record('pending-upgrade', 2, [claimHook(['pre-upgrade'])], undefined, PVC), context(empty)).warnings ?? []).join('\n')).not.toContain('hook PVC');
    expect((releases.handle(record('pending-upgrade', 2, [claimHook(['test'], ['hook-failed'])], undefined, PVC), context(empty)).warnings ?? []).join('\n')).not.toContain('hook PVC');
  });
});
