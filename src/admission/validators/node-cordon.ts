// Node cordon: the first step of draining or replacing a node. Denied while the node holds data that exists
// nowhere else: the last healthy replica of a Longhorn volume, a single-replica volume, node-local PVs.
import { collectLastReplicaOnNode } from '../../checks/last-replica-on-node.ts';
import { collectNodeLocalVolume, nodeLocalOptionsOf } from '../../checks/node-local-volume.ts';
import { collectSingleReplica } from '../../checks/single-replica.ts';
import { collectVolumeHealth } from '../../checks/volume-health.ts';
import type { Config } from '../../config.ts';
import { CheckResults, decide, skipOnReviewedObject, staleModelDecision } from '../context.ts';
import { annotateHint } from '../decide.ts';
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
      const stale = staleModelDecision(context, action, overrides);
      if (stale) return stale;

      const { snapshot } = context;
      const results = new CheckResults(context)
        .run('last-replica-on-node', (cap) => collectLastReplicaOnNode(snapshot, { node }, cap))
        .run('single-replica', (cap) => collectSingleReplica(snapshot, { node }, cap))
        .run('volume-health', (cap) => collectVolumeHealth(snapshot, { node }, cap))
        .run('node-local-volume', (cap) => collectNodeLocalVolume(snapshot, { node }, cap, nodeLocal));
      return decide(context, {
        action,
        findings: results.findings,
        totals: results.totals,
        overrides,
        overrideHint: annotateHint('node', node),
        warnings: skip.warnings,
        situation: { kind: 'cordon', node },
      });
    },
  };
}
