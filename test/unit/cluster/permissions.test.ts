import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { InformerSet } from '../../../src/cluster/informers.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { clusterRoleRules, MODEL_PERMISSIONS } from '../../../src/cluster/permissions.ts';
import { RESOURCE_KINDS } from '../../../src/cluster/records.ts';

describe('MODEL_PERMISSIONS', () => {
  it('is list and watch on exactly the seventeen watched resources, and never Secrets', () => {
    expect(MODEL_PERMISSIONS.map((rule) => `${rule.apiGroup}/${rule.resource}`).sort()).toEqual(
      [
        '/namespaces',
        '/nodes',
        '/persistentvolumeclaims',
        '/persistentvolumes',
        '/pods',
        'apps/statefulsets',
        'cluster.x-k8s.io/machines',
        'cluster.x-k8s.io/machinedrainrules',
        'cluster.x-k8s.io/clusters',
        'cluster.x-k8s.io/machinedeployments',
        'controlplane.cluster.x-k8s.io/kubeadmcontrolplanes',
        'harvesterhci.io/upgrades',
        'management.harvesterhci.io/upgradeplans',
        'longhorn.io/nodes',
        'longhorn.io/replicas',
        'longhorn.io/settings',
        'longhorn.io/volumes',
      ].sort(),
    );
    for (const rule of MODEL_PERMISSIONS) expect(rule.verbs).toEqual(['list', 'watch']);
    expect(MODEL_PERMISSIONS.some((rule) => rule.resource === 'secrets')).toBe(false);
  });

  it('covers every path the informers list and watch, and nothing they do not', () => {
    // The informers read exactly their `paths` (the e2e informer tests check the calls against the real API server):
    // one each, and Cluster API's at v1beta1 too, which RBAC (group and resource, any version) covers alike.
    const unused = () => Promise.reject(new Error('never started'));
    const set = new InformerSet({ client: { list: unused, watch: unused }, sink: new ClusterModel(), log: pino({ level: 'silent' }), longhornNamespace: 'storage' });
    expect(new Set(set.informers.map((informer) => informer.path)).size).toBe(RESOURCE_KINDS.length);
    const used = new Set(set.informers.flatMap((informer) => informer.paths));
    expect([...used].filter((path) => path.includes('/v1beta1/') && path.includes('cluster.x-k8s.io')).length).toBe(5);
    // /api/v1/<resource> or /apis/<group>/<version>[/namespaces/<ns>]/<resource>
    const asRule = (path: string) => {
      const parts = path.split('/').filter(Boolean);
      const group = parts[0] === 'api' ? '' : parts[1]!;
      return `${group}/${parts.at(-1)}`;
    };
    expect([...new Set([...used].map(asRule))].sort()).toEqual(MODEL_PERMISSIONS.map((rule) => `${rule.apiGroup}/${rule.resource}`).sort());
    // Longhorn is read only in its namespace.
    for (const path of used) if (path.includes('longhorn.io')) expect(path).toContain('/namespaces/storage/');
  });

  it('groups into ClusterRole rules by API group', () => {
    expect(clusterRoleRules()).toEqual([
      { apiGroups: ['longhorn.io'], resources: ['nodes', 'replicas', 'settings', 'volumes'], verbs: ['list', 'watch'] },
      { apiGroups: ['harvesterhci.io'], resources: ['upgrades'], verbs: ['list', 'watch'] },
      { apiGroups: ['management.harvesterhci.io'], resources: ['upgradeplans'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['namespaces', 'nodes', 'persistentvolumeclaims', 'persistentvolumes', 'pods'], verbs: ['list', 'watch'] },
      { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['list', 'watch'] },
      { apiGroups: ['cluster.x-k8s.io'], resources: ['clusters', 'machinedeployments', 'machinedrainrules', 'machines'], verbs: ['list', 'watch'] },
      { apiGroups: ['controlplane.cluster.x-k8s.io'], resources: ['kubeadmcontrolplanes'], verbs: ['list', 'watch'] },
    ]);
  });
});
