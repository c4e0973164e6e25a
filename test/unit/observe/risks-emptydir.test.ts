// The risk gauges against what the cordon validator decides: a StatefulSet pod's emptyDir, which the cordon only warns
// about by default, does not make its node count as blocked (VolumeGuardNodesBlocked would fire for every node running
// a Bitnami StatefulSet).
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config/load.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { localPV, node, pod } from '../../support/fixtures.ts';
import { nodeLocalOptionsOf } from '../../../src/checks/node-local-volume.ts';

describe('a StatefulSet pod\'s emptyDir (a warning by default) on the risk gauges', () => {
  it('the cordon is allowed with a warning, and nodes_blocked{node-local-volume} does not count the node', () => {
    const config = defaultConfig();
    expect(config.nodeLocal.statefulSetEmptyDir).toBe('warn');
    const model = new ClusterModel(VOLUME_SETS);
    const tracker = new RiskTracker(model, { nodeLocal: nodeLocalOptionsOf(config) });
    const sink = tracker.sink();
    sink.upsert('node', node({ name: 'node-1' }));
    // e.g. any Bitnami chart's StatefulSet: an `empty-dir` volume mounted writable at /tmp.
    sink.upsert('pod', pod({ namespace: 'db', name: 'postgresql-0', nodeName: 'node-1', controllerKind: 'StatefulSet', emptyDirs: ['empty-dir'] }));
    tracker.flush();
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model, { config }));
    expect(decision.allowed).toBe(true);
    expect(tracker.counts().nodesBlocked['node-local-volume']).toBe(0);
    // Nor is it a volume at risk: VolumeGuardVolumesAtRisk would fire on any cluster running such a chart.
    expect(tracker.counts().atRiskVolumes['node-local-volume']).toBe(0);
  });

  it('at_risk_volumes{node-local-volume} counts what the cordon refuses for beside it, not the emptyDir', () => {
    const config = defaultConfig();
    const model = new ClusterModel(VOLUME_SETS);
    const tracker = new RiskTracker(model, { nodeLocal: nodeLocalOptionsOf(config) });
    const sink = tracker.sink();
    sink.upsert('node', node({ name: 'node-1' }));
    sink.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimNamespace: 'db', claimName: 'data-postgresql-0' }));
    sink.upsert('pod', pod({ namespace: 'db', name: 'postgresql-0', nodeName: 'node-1', controllerKind: 'StatefulSet', emptyDirs: ['empty-dir'], claimNames: ['data-postgresql-0'] }));
    tracker.flush();
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model, { config }));
    expect(decision.allowed).toBe(false);
    expect(tracker.counts().atRiskVolumes['node-local-volume']).toBe(1);
    expect(tracker.counts().nodesBlocked['node-local-volume']).toBe(1);
  });

  it('with statefulSetEmptyDir: enforce the cordon is refused, and the node counts as blocked', () => {
    const base = defaultConfig();
    const config = { ...base, nodeLocal: { ...base.nodeLocal, statefulSetEmptyDir: 'enforce' as const } };
    const model = new ClusterModel(VOLUME_SETS);
    const tracker = new RiskTracker(model, { nodeLocal: nodeLocalOptionsOf(config) });
    const sink = tracker.sink();
    sink.upsert('node', node({ name: 'node-1' }));
    sink.upsert('pod', pod({ namespace: 'db', name: 'postgresql-0', nodeName: 'node-1', controllerKind: 'StatefulSet', emptyDirs: ['empty-dir'] }));
    tracker.flush();
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model, { config }));
    expect(decision.allowed).toBe(false);
    expect(tracker.counts().nodesBlocked['node-local-volume']).toBe(1);
    expect(tracker.counts().atRiskVolumes['node-local-volume']).toBe(1);
  });
});
