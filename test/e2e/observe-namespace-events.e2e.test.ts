// Issue 16, Events for the ones who did not ask, on a Namespace: a GitOps controller's refused Namespace DELETE (Flux's
// kustomize-controller pruning a namespace whose Bound PVC the reclaim policy would destroy) leaves a Warning that
// `kubectl events --for namespace/NAME` shows, as `--for node/NAME` shows a Node's. The API server hands a
// Namespace's own name as the request's namespace, but a Namespace is cluster-scoped: its events are filed in
// "default" with no involvedObject namespace, as client-go's events recorder files those of cluster-scoped objects
// (tools/events event_recorder.go). (`kubectl describe namespace` shows no events at all.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { boundClaim, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'obs-ns-events';
const FLUX = 'system:serviceaccount:flux-system:kustomize-controller';

interface EventItem {
  metadata: { name: string; namespace: string };
  reason: string;
  regarding?: { kind: string; name: string; namespace?: string; uid?: string };
}

async function eventsAbout(name: string, uid: string): Promise<EventItem[]> {
  const result = await must(kubectl(['get', 'events.v1.events.k8s.io', '-A', '-o', 'json']), 'list events');
  const items = (JSON.parse(result.stdout) as { items: EventItem[] }).items;
  return items.filter((event) => event.reason === 'DataLossRisk' && event.regarding?.kind === 'Namespace' && event.regarding.name === name && event.regarding.uid === uid);
}

describe('a refused Namespace DELETE leaves an Event that kubectl events --for namespace/NAME shows', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await kubectl(['delete', 'clusterrolebinding', 'obs-ns-events-flux']);
    await kubectl(['delete', 'clusterrole', 'obs-ns-events-deleter']);
    await must(kubectl(['create', 'clusterrole', 'obs-ns-events-deleter', '--verb=get,list,delete', '--resource=namespaces']), 'clusterrole');
    await must(kubectl(['create', 'clusterrolebinding', 'obs-ns-events-flux', '--clusterrole=obs-ns-events-deleter', `--user=${FLUX}`]), 'clusterrolebinding');
    await boundClaim(NS, 'db-data', 'Delete');
    // Events of earlier runs against a kept cluster (the namespace, so its uid, stays) are not this run's.
    const uid = (await must(kubectl(['get', 'namespace', NS, '-o', 'jsonpath={.metadata.uid}']), 'namespace uid')).stdout.trim();
    for (const event of await eventsAbout(NS, uid)) await kubectl(['delete', 'events.v1.events.k8s.io', event.metadata.name, '-n', event.metadata.namespace]);
  });

  afterAll(async () => {
    await deleteObjects(['pvc', '--all', '-n', NS], ['clusterrolebinding', 'obs-ns-events-flux'], ['clusterrole', 'obs-ns-events-deleter']);
  });

  it("Flux's prune of the namespace is refused, and the Warning is on the cluster-scoped Namespace", async () => {
    const uid = (await must(kubectl(['get', 'namespace', NS, '-o', 'jsonpath={.metadata.uid}']), 'namespace uid')).stdout.trim();
    const refused = await eventually(() => kubectl(['delete', 'namespace', NS, `--as=${FLUX}`, '--wait=false']), (r) => r.code !== 0);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    const events = await eventually(() => eventsAbout(NS, uid), (found) => found.length > 0);
    for (const event of events) {
      expect(event.metadata.namespace).toBe('default');
      expect(event.regarding?.namespace).toBeUndefined();
    }
    const listed = await must(kubectl(['events', '--for', `namespace/${NS}`]), 'kubectl events --for');
    expect(listed.stdout).toMatch(new RegExp(`Warning\\s+DataLossRisk\\s+Namespace/${NS}\\s+delete by ${FLUX} denied`));
    // Filed where every namespace's reader cannot look, and still named only by its summary.
    expect(listed.stdout).toContain('(objects named to the requester only)');
  });
});
