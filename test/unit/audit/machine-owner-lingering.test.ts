// A lingering skip on a MachineDeployment or KubeadmControlPlane is read at more than its own rollouts: at the steps
// that carry its rollouts and scale-downs out (the plans reading 'machine-owner': a MachineSet's scale-down, a
// KubeadmControlPlane's Machine DELETE by its controller, the drain of the node of one of its Machines being deleted).
// The audit says so, from those plans.
import { describe, expect, it } from 'vitest';
import { listUpgradeObjects } from '../../../src/audit/load.ts';
import { overridesOf } from '../../../src/audit/overrides.ts';
import { KubeApiError, type KubeClient } from '../../../src/cluster/kube-client.ts';
import { DEFAULT_UPGRADE_KINDS } from '../../../src/config.ts';

/** The lingering skip the audit lists for one object of `resource` carrying it. */
async function listedSkip(resource: string, kind: string, controlPlaneUsers?: readonly string[]): Promise<{ name: string; appliesTo: string }> {
  const object = {
    kind,
    metadata: { namespace: 'capi', name: 'owner-a', annotations: { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-by': 'admin' } },
  };
  const client: KubeClient = {
    list: async (path) => ({ items: path.endsWith(`/${resource}`) ? [object] : [], continueToken: '', resourceVersion: '1' }),
    watch: async () => undefined,
  };
  const { carriers } = await listUpgradeObjects(client, DEFAULT_UPGRADE_KINDS, 10_000, controlPlaneUsers);
  const [listed] = carriers.flatMap((carrier) => overridesOf(carrier));
  return { name: listed?.object.name ?? '', appliesTo: listed?.appliesTo ?? '' };
}

describe('audit: when a lingering Cluster API owner skip is read', () => {
  it('a MachineDeployment: its rollouts and scale-downs, its MachineSets scale-downs, the drain of its Machines being deleted', async () => {
    const { name, appliesTo } = await listedSkip('machinedeployments', 'MachineDeployment');
    expect(name).toBe('owner-a');
    expect(appliesTo).toBe(
      'every change of this MachineDeployment that starts a rollout, and its scale-downs (not through the scale subresource); as stored: ' +
        'the cordon and NoSchedule/NoExecute taints of the node of one of its Machines being deleted; ' +
        'the DELETE of that Node once its infrastructure is gone; ' +
        "evictions of that node's pods; DELETEs of that node's pods while it is drained; " +
        'scale-downs of its MachineSets (its rollouts and scale-downs carried out) ' +
        '(single-replica there also skips last-replica-on-node for volumes set to a single replica)',
    );
  });

  it("a KubeadmControlPlane: its controller's Machine DELETEs, not MachineSet scale-downs", async () => {
    const { appliesTo } = await listedSkip('kubeadmcontrolplanes', 'KubeadmControlPlane');
    expect(appliesTo).toContain('DELETEs of its Machines by its controller (clusterApi.controlPlaneUsers), and a drain cut short of one being deleted');
    expect(appliesTo).toContain("evictions of that node's pods");
    expect(appliesTo).not.toContain('MachineSets');
  });

  it('a KubeadmControlPlane with clusterApi.controlPlaneUsers empty: read at no Machine DELETE', async () => {
    const { appliesTo } = await listedSkip('kubeadmcontrolplanes', 'KubeadmControlPlane', []);
    expect(appliesTo).toContain('no DELETE of its Machines (clusterApi.controlPlaneUsers is empty: read by no one)');
    expect(appliesTo).not.toContain('by its controller');
  });

});

describe('audit: each guarded upgrade kind is listed at the first of its versions the server serves', () => {
  /** The skips listed from a server serving MachineDeployments at `served` (404 at any other version), and the paths asked. */
  async function listedFrom(served: readonly string[]): Promise<{ names: string[]; asked: string[] }> {
    const asked: string[] = [];
    const object = { kind: 'MachineDeployment', metadata: { namespace: 'capi', name: 'md-a', annotations: { 'volume-guard.io/skip': 'single-replica' } } };
    const client: KubeClient = {
      list: async (path) => {
        asked.push(path);
        const match = /^\/apis\/cluster\.x-k8s\.io\/([^/]+)\/machinedeployments$/.exec(path);
        if (match === null || !served.includes(match[1]!)) throw new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');
        return { items: [object], continueToken: '', resourceVersion: '1' };
      },
      watch: async () => undefined,
    };
    const { carriers, notes } = await listUpgradeObjects(client, DEFAULT_UPGRADE_KINDS, 10_000);
    expect(notes).toEqual([]);
    return { names: carriers.map((carrier) => carrier.name), asked: asked.filter((path) => path.includes('machinedeployments')) };
  }

  it('v1beta2 once Cluster API no longer serves v1beta1, v1beta1 on a Cluster API before 1.11, v1beta2 alone where both are', async () => {
    expect(await listedFrom(['v1beta2'])).toEqual({ names: ['md-a'], asked: ['/apis/cluster.x-k8s.io/v1beta2/machinedeployments'] });
    expect(await listedFrom(['v1beta1'])).toEqual({
      names: ['md-a'],
      asked: ['/apis/cluster.x-k8s.io/v1beta2/machinedeployments', '/apis/cluster.x-k8s.io/v1beta1/machinedeployments'],
    });
    expect((await listedFrom(['v1beta2', 'v1beta1'])).names).toEqual(['md-a']);
    // Not installed at all: no version served, nothing listed and no note.
    expect((await listedFrom([])).names).toEqual([]);
  });
});
