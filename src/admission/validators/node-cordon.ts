// Node cordon: the first step of draining or replacing a node. Denied while the node holds data that exists
// nowhere else: the last healthy replica of a Longhorn volume, a single-replica volume, node-local PVs.
import { lastReplicaOnNodeCheck } from '../../checks/last-replica-on-node.ts';
import { nodeLocalVolumeCheck } from '../../checks/node-local-volume.ts';
import { singleReplicaCheck } from '../../checks/single-replica.ts';
import { volumeHealthCheck } from '../../checks/volume-health.ts';
import type { Finding } from '../../checks/types.ts';
import type { Config } from '../../config.ts';
import { decide, isEnabled, skipOnReviewedObject, staleModelDecision } from '../context.ts';
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

export function nodeCordonValidator(_config: Config): Validator {
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
      const findings: Finding[] = [];
      // Per-node work is bounded by what the node holds, so these run unlimited and the totals are exact.
      if (isEnabled(context, 'last-replica-on-node')) findings.push(...lastReplicaOnNodeCheck(snapshot, { node }));
      if (isEnabled(context, 'single-replica')) findings.push(...singleReplicaCheck(snapshot, { node }));
      if (isEnabled(context, 'volume-health')) findings.push(...volumeHealthCheck(snapshot, { node }));
      if (isEnabled(context, 'node-local-volume')) findings.push(...nodeLocalVolumeCheck(snapshot, { node }));
      return decide(context, {
        action,
        findings,
        overrides,
        overrideHint: annotateHint('node', node),
        warnings: skip.warnings,
      });
    },
  };
}
