// Node cordon: the first step of draining or replacing a node. Denied while the node holds data that exists
// nowhere else: the last healthy replica of a Longhorn volume, a single-replica volume, node-local PVs.
import { collectLastReplicaOnNode } from '../../checks/last-replica-on-node.ts';
import { collectNodeLocalVolume, nodeLocalOptionsOf } from '../../checks/node-local-volume.ts';
import { collectSingleReplica } from '../../checks/single-replica.ts';
import { collectVolumeHealth } from '../../checks/volume-health.ts';
import type { Config } from '../../config.ts';
import { CheckResults, decide, skipOnReviewedObject, staleModelDecision } from '../context.ts';
import { annotateHint } from '../decide.ts';
import { applyLonghornDrainPolicy, harvesterDrainOverride, HARVESTER_WAIVED_CHECKS } from '../longhorn-drain.ts';
import { isUnschedulable } from '../objects.ts';
import { allowed, type WebhookDeclaration } from '../types.ts';
import type { Validator } from '../validator.ts';

const declaration: WebhookDeclaration = {
  name: 'node-cordon.volume-guard.io',
  target: 'node-cordon',
  rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['nodes'], operations: ['UPDATE'], scope: 'Cluster' }],
  // Nodes are updated all the time (kubelet, labels): the API server only calls us for a cordon.
  matchConditions: [
    {
      name: 'cordon',
      expression:
        'has(object.spec) && has(object.spec.unschedulable) && object.spec.unschedulable == true && ' +
        '!(has(oldObject.spec) && has(oldObject.spec.unschedulable) && oldObject.spec.unschedulable == true)',
    },
  ],
};

export function nodeCordonValidator(config: Config): Validator {
  const nodeLocal = nodeLocalOptionsOf(config);
  return {
    declaration,
    handle(request, context) {
      // Every Node update other than a cordon passes untouched (matchConditions aside, e.g. on older clusters).
      if (request.operation !== 'UPDATE' || !isUnschedulable(request.object) || isUnschedulable(request.oldObject)) {
        return allowed();
      }
      const node = request.name;
      const action = `cordon of node ${node}`;
      const skip = skipOnReviewedObject(request, `node ${node}`);
      const overrides = skip.source ? [skip.source] : [];
      const { snapshot } = context;
      // Issue 12.9: a drain of this node by a Harvester upgrade admitted with skipSingleReplicaDetachedVol.
      const harvester = harvesterDrainOverride(snapshot, node);
      if (harvester) overrides.push(harvester);
      const stale = staleModelDecision(context, action, overrides);
      if (stale) return stale;

      const results = new CheckResults(context, harvester ? HARVESTER_WAIVED_CHECKS : false)
        .run('last-replica-on-node', (cap) => collectLastReplicaOnNode(snapshot, { node }, cap))
        .run('single-replica', (cap) => collectSingleReplica(snapshot, { node }, cap))
        .run('volume-health', (cap) => collectVolumeHealth(snapshot, { node }, cap))
        .run('node-local-volume', (cap) => collectNodeLocalVolume(snapshot, { node }, cap, nodeLocal));
      // Issue 12.9: Longhorn's node-drain-policy may move the last copies itself.
      const drain = applyLonghornDrainPolicy(snapshot, node, results);
      return decide(context, {
        action,
        findings: drain.findings,
        totals: drain.totals,
        overrides,
        overrideHint: annotateHint('node', node),
        warnings: [...skip.warnings, ...drain.warnings],
        situation: { kind: 'cordon', node },
      });
    },
  };
}
