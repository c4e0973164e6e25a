// Pod eviction: what `kubectl drain` does for every pod on a cordoned node. Denied when the evicted pod's data
// stays behind on that node: a node-local PV, or a Longhorn volume whose only healthy replica is there.
import { collectLastReplicaOnNode, longhornVolumesOfClaims } from '../../checks/last-replica-on-node.ts';
import { collectNodeLocalVolume, hasInlineData, nodeLocalOptionsOf } from '../../checks/node-local-volume.ts';
import type { Config } from '../../config.ts';
import { CheckResults, decide, staleModelDecision, unknownWarnings } from '../context.ts';
import { annotateHint } from '../decide.ts';
import { applyLonghornDrainPolicy, harvesterDrainOverride, HARVESTER_WAIVED_CHECKS } from '../longhorn-drain.ts';
import { SKIP_EVICTIONS_KEY, skipFrom, type OverrideSource } from '../overrides.ts';
import { allowed, type WebhookDeclaration } from '../types.ts';
import type { Validator } from '../validator.ts';

const declaration: WebhookDeclaration = {
  name: 'pod-eviction.volume-guard.io',
  target: 'pod-eviction',
  rules: [
    { apiGroups: [''], apiVersions: ['v1'], resources: ['pods/eviction'], operations: ['CREATE'], scope: 'Namespaced' },
  ],
};

export function podEvictionValidator(config: Config): Validator {
  const nodeLocal = nodeLocalOptionsOf(config);
  return {
    declaration,
    handle(request, context) {
      const { snapshot } = context;
      const pod = snapshot.pod(request.namespace, request.name);
      // A pod volume-guard has never seen has no claims it knows of; the stale-model guard covers a lagging model.
      const action = `eviction of pod ${request.namespace}/${request.name}`;
      const overrides: OverrideSource[] = [];
      const warnings: string[] = [];
      const node = pod?.nodeName ?? '';
      // The admin allows a drain on the node (stored, so guarded when written) or on the pod's namespace, with its
      // own key there: a namespace's volume-guard.io/skip is for Helm releases and never waives evictions.
      const nodeRecord = node ? snapshot.node(node) : undefined;
      const nodeSkip = skipFrom(`node ${node}`, nodeRecord?.annotations, undefined, { now: context.now });
      if (nodeSkip) overrides.push(nodeSkip);
      const namespaceRecord = snapshot.namespace(request.namespace);
      const namespaceSkip = skipFrom(`namespace ${request.namespace} (${SKIP_EVICTIONS_KEY})`, namespaceRecord?.annotations, undefined, {
        key: SKIP_EVICTIONS_KEY,
        now: context.now,
      });
      if (namespaceSkip) overrides.push(namespaceSkip);
      warnings.push(...unknownWarnings(`node ${node}`, nodeRecord?.annotations));

      const stale = staleModelDecision(context, action, overrides);
      if (stale) return stale;
      if (!pod || node === '' || (pod.claimNames.length === 0 && !hasInlineData(pod))) return allowed(warnings);

      const claims = pod.claimNames.map((name) => ({ namespace: pod.namespace, name }));
      const volumes = longhornVolumesOfClaims(snapshot, pod.namespace, pod.claimNames);
      // Issue 12.9: Harvester's own drains during an upgrade admitted with skipSingleReplicaDetachedVol, and
      // Longhorn's node-drain-policy moving the last copies itself.
      const harvester = harvesterDrainOverride(snapshot, node);
      if (harvester) overrides.push(harvester);
      const results = new CheckResults(context, harvester ? HARVESTER_WAIVED_CHECKS : false)
        .run('node-local-volume', (cap) => collectNodeLocalVolume(snapshot, { node, claims, pod }, cap, nodeLocal))
        .run('last-replica-on-node', (cap) => collectLastReplicaOnNode(snapshot, { node, volumes }, cap));
      const drain = applyLonghornDrainPolicy(snapshot, node, results);
      return decide(context, {
        action,
        findings: drain.findings,
        totals: drain.totals,
        overrides,
        overrideHint: annotateHint('node', node),
        warnings: [...warnings, ...drain.warnings],
        situation: { kind: 'eviction', node, namespace: request.namespace, pod: request.name },
      });
    },
  };
}
