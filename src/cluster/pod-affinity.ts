// Required inter-pod anti-affinity, as kube-scheduler's InterPodAffinity filter reads the terms of the pod it places
// (pkg/scheduler/framework/plugins/interpodaffinity/filtering.go, satisfyPodAntiAffinity): a node carrying a term's
// topologyKey is refused while some pod in that topology value matches the term (its namespaces, its labelSelector);
// a node without the key is not refused by it. Existing pods are the scheduler cache's: bound to a node and not
// Succeeded or Failed (the scheduler's pod informer leaves those out); a pod being deleted still counts until it is
// gone.
// Read here only as evidence that a node refuses a replacement (volume-guard keeps the labels of few pods: see
// PodRecord.antiAffinity): a pod whose labels are kept, running and not being deleted, on a node of the same topology
// value. A pod whose labels are not kept, or one about to go, proves nothing, and the node counts as open. The symmetric rule (an existing pod's own anti-affinity against the incoming pod:
// satisfyExistingPodsAntiAffinity), required pod affinity and topology spread constraints are not read.

import { labelSelectorMatches, labelSelectorValid } from './label-selector.ts';
import type { HostPortRecord, NodeRecord, PodAffinityTermRecord, PodRecord } from './records.ts';

/** Whether `other` holds its place on `node` as evidence here: bound there, not finished, not being deleted. */
function holdsPlaceOn(other: PodRecord, node: Pick<NodeRecord, 'name'>): boolean {
  return other.nodeName === node.name && !other.deleting && other.phase !== 'Succeeded' && other.phase !== 'Failed';
}

/** Whether one of `podsOnNode` (bound to `node`, running, not being deleted, labels kept) is a pod the term names. */
function termMatchesPodOn(term: PodAffinityTermRecord, node: Pick<NodeRecord, 'name'>, podsOnNode: readonly PodRecord[]): boolean {
  for (const other of podsOnNode) {
    if (!holdsPlaceOn(other, node)) continue;
    if (other.labels === undefined || (term.anyNamespace !== true && !term.namespaces.includes(other.namespace))) continue;
    if (labelSelectorMatches(term.selector, other.labels)) return true;
  }
  return false;
}

/**
 * The topology values (`key=value`) where a required anti-affinity term of `pod` is matched, on the evidence of the
 * pods the model holds on each node (`podsOn`): what the scheduler's antiAffinityCounts would at least count. A node
 * carrying one of them under that key refuses the pod's replacement (antiAffinityRefuses). O(nodes × their pods × terms).
 */
export function antiAffinityTopologies(
  pod: Pick<PodRecord, 'antiAffinity'>,
  nodes: Iterable<NodeRecord>,
  podsOn: (node: NodeRecord) => readonly PodRecord[],
): ReadonlySet<string> {
  const matched = new Set<string>();
  const terms = (pod.antiAffinity ?? []).filter(
    // An absent labelSelector matches no pod; an invalid one never gets past the API server's validation.
    (term) => term.selector !== undefined && labelSelectorValid(term.selector),
  );
  if (terms.length === 0) return matched;
  for (const node of nodes) {
    let pods: readonly PodRecord[] | undefined;
    for (const term of terms) {
      if (!Object.hasOwn(node.labels, term.topologyKey)) continue;
      const pair = `${term.topologyKey}=${node.labels[term.topologyKey]}`;
      if (matched.has(pair)) continue;
      pods ??= podsOn(node);
      if (termMatchesPodOn(term, node, pods)) matched.add(pair);
    }
  }
  return matched;
}

/** Whether a required anti-affinity term of `pod` refuses `node`: the node's value of its topologyKey is a matched one. */
export function antiAffinityRefuses(pod: Pick<PodRecord, 'antiAffinity'>, node: Pick<NodeRecord, 'labels'>, matched: ReadonlySet<string>): boolean {
  if (matched.size === 0) return false;
  for (const term of pod.antiAffinity ?? []) {
    if (Object.hasOwn(node.labels, term.topologyKey) && matched.has(`${term.topologyKey}=${node.labels[term.topologyKey]}`)) return true;
  }
  return false;
}

/** Whether two host ports collide (HostPortInfo.CheckConflict): same protocol and port, and 0.0.0.0 or the same IP. */
function hostPortsCollide(a: HostPortRecord, b: HostPortRecord): boolean {
  return a.port === b.port && a.protocol === b.protocol && (a.ip === '0.0.0.0' || b.ip === '0.0.0.0' || a.ip === b.ip);
}

/**
 * Whether a host port `pod` binds is taken on its node by one of `podsOnNode` (the scheduler's NodePorts filter), on
 * evidence as antiAffinityRefuses: a pod whose ports are kept, running and not being deleted. O(ports × pods).
 */
export function hostPortTaken(pod: Pick<PodRecord, 'hostPorts'>, node: Pick<NodeRecord, 'name'>, podsOnNode: readonly PodRecord[]): boolean {
  const wanted = pod.hostPorts;
  if (wanted === undefined) return false;
  for (const other of podsOnNode) {
    if (other.hostPorts === undefined || !holdsPlaceOn(other, node)) continue;
    if (wanted.some((port) => other.hostPorts!.some((used) => hostPortsCollide(port, used)))) return true;
  }
  return false;
}
