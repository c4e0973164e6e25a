// `audit --node` on a node whose Cluster API Machine is being deleted. The Machine controller cordons the node and evicts its
// pods; the webhook judges each eviction as a drain of a node removed for good (ClusterSnapshot.nodeLeaving), which
// takes the retained Released local PVs pinned to it. `audit --node` on that node must list what those evictions are
// refused for.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, evictionRequest } from '../../support/admission.ts';
import { localPV, machine, namespace, node, pod } from '../../support/fixtures.ts';

describe('audit --node on a node whose Machine is being deleted', () => {
  it('lists the retained Released local PV its drain evictions are refused for', () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.setLonghornInstalled(false);
    model.upsert('namespace', namespace({ name: 'default' }));
    // Cluster API has cordoned the node of the Machine it deletes.
    model.upsert('node', node({ name: 'node-1', unschedulable: true }));
    model.upsert('node', node({ name: 'node-2' }));
    model.upsert('machine', machine({ nodeName: 'node-1', deleting: true }));
    model.upsert('pod', pod({ name: 'web', nodeName: 'node-1', controllerKind: 'ReplicaSet' }));
    // An admin kept this data when its claim went (reclaim policy Retain).
    model.upsert(
      'persistentVolume',
      localPV({ name: 'pv-kept', pinnedNode: 'node-1', claimNamespace: 'default', claimName: 'gone', phase: 'Released', reclaimPolicy: 'Retain' }),
    );
    expect(model.nodeLeaving('node-1')).toBe('machine');

    const decision = podEvictionValidator(defaultConfig()).handle(evictionRequest('web'), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('pv-kept');

    const report = buildAuditReport({ model, scope: { kind: 'node', node: 'node-1' }, cluster: { server: 's', context: 'c' }, generatedAt: 'now' });
    expect(report.findings.map((f) => f.object.name)).toContain('pv-kept');
  });
});
