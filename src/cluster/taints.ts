// Where a pod's replacement may be scheduled, as the scheduler's filters read a node's taints: TaintToleration (every
// NoSchedule and NoExecute taint of the node tolerated) and NodeUnschedulable (a cordoned node, unless the pod
// tolerates `node.kubernetes.io/unschedulable:NoSchedule`), from the slim records. The taints a record field stands
// for are rebuilt from it: `node.kubernetes.io/unschedulable` from the cordon, `not-ready` / `unreachable` (NoSchedule,
// which the node lifecycle controller sets while the Ready condition is False / Unknown) from `ready`.
// The node's labels are the node affinity's business (node-affinity.ts).

import { isCordoned, type NodeRecord, type PodRecord, type Taint, type Toleration } from './records.ts';

/** The taint the node controller sets on a cordoned node (NodeUnschedulable reads spec.unschedulable itself). */
export const UNSCHEDULABLE_TAINT_KEY = 'node.kubernetes.io/unschedulable';
/** The NoSchedule taints the node lifecycle controller sets while the Ready condition is False, or Unknown. */
export const NOT_READY_TAINT_KEY = 'node.kubernetes.io/not-ready';
export const UNREACHABLE_TAINT_KEY = 'node.kubernetes.io/unreachable';

/**
 * Whether the toleration matches the taint, as the taint manager and the scheduler match them (k8s.io/api core/v1
 * Toleration.ToleratesTaint): an empty key with Exists matches every taint; Equal ('' reads as Equal) compares the
 * values; Lt and Gt (Kubernetes 1.35+, TaintTolerationComparisonOperators: the API server takes them only with that
 * gate on) compare them as decimal integers, the taint's below (Lt) or above (Gt) the toleration's, and match
 * nothing when either is no such integer; any other operator matches nothing.
 */
export function tolerationMatches(toleration: Toleration, taint: { readonly key: string; readonly value: string }): boolean {
  if (toleration.key === '') return toleration.operator === 'Exists';
  if (toleration.key !== taint.key) return false;
  switch (toleration.operator) {
    case 'Exists':
      return true;
    case '':
    case 'Equal':
      return toleration.value === taint.value;
    case 'Lt':
    case 'Gt': {
      const tolerated = decimalInteger(toleration.value);
      const tainted = decimalInteger(taint.value);
      if (tolerated === undefined || tainted === undefined) return false;
      return toleration.operator === 'Lt' ? tainted < tolerated : tainted > tolerated;
    }
    default:
      return false;
  }
}

const DECIMAL_INTEGER = /^(?:0|-?[1-9]\d*)$/;

/**
 * A toleration's or taint's value as Lt / Gt read it (apimachinery content.IsDecimalInteger, then
 * strconv.ParseInt(value, 10, 64)): no sign but `-`, no leading zero, no `-0`, within int64.
 */
function decimalInteger(value: string): bigint | undefined {
  if (!DECIMAL_INTEGER.test(value)) return undefined;
  const parsed = BigInt(value);
  return parsed < -(2n ** 63n) || parsed > 2n ** 63n - 1n ? undefined : parsed;
}


/**
 * Whether one of the pod's tolerations matches the taint (ToleratesTaint: a toleration's effect is the taint's or
 * empty). NoExecute taints are read against PodRecord.noExecuteTolerations, which leaves out only the not-ready and
 * unreachable keys (never in NodeRecord.taints); NoSchedule ones against noScheduleTolerations.
 */
export function toleratesTaint(pod: Pick<PodRecord, 'noExecuteTolerations' | 'noScheduleTolerations'>, taint: Taint): boolean {
  const tolerations = (taint.effect === 'NoExecute' ? pod.noExecuteTolerations : pod.noScheduleTolerations) ?? NO_TOLERATIONS;
  return tolerations.some((toleration) => tolerationMatches(toleration, taint));
}

const NO_TOLERATIONS: readonly Toleration[] = Object.freeze([]);

const NOT_READY_TAINT: Taint = { key: NOT_READY_TAINT_KEY, value: '', effect: 'NoSchedule' };
const UNREACHABLE_TAINT: Taint = { key: UNREACHABLE_TAINT_KEY, value: '', effect: 'NoSchedule' };

/**
 * The NoSchedule taint the node lifecycle controller sets for the Ready condition: not-ready for False, unreachable
 * for Unknown (the node stopped reporting). None for True, and none for a node reporting no Ready condition, which
 * volume-guard does not judge down either (isCoreNodeDown in model.ts).
 */
function readinessTaint(ready: string): Taint | undefined {
  if (ready === 'False') return NOT_READY_TAINT;
  return ready === 'Unknown' ? UNREACHABLE_TAINT : undefined;
}

const UNSCHEDULABLE_TAINT: Taint = { key: UNSCHEDULABLE_TAINT_KEY, value: '', effect: 'NoSchedule' };

/**
 * Whether the scheduler would place the pod's replacement on the node now, as far as the node's state goes (its
 * labels are the node affinity's business): not cordoned unless the pod tolerates it, Ready unless the pod tolerates
 * the not-ready / unreachable taint, and every NoSchedule / NoExecute taint tolerated. `direction` says which answer
 * is the careful one where the records cannot tell:
 * - `back`: the pod's own node, where landing keeps its data. A node being removed (an autoscaler's drain taint,
 *   `leaving`) is no place to come back to, whatever the pod tolerates: its disks go with it. A node with more taints
 *   than its record keeps (NodeRecord.taintsCut) is refused, unless the pod tolerates every taint.
 * - `elsewhere`: another node, where landing leaves the data behind. The drain taints are read as the scheduler reads
 *   them, ordinary taints a toleration may match (an empty-key Exists one matches them all), and a node with more
 *   taints than its record keeps takes the pod when it tolerates the kept ones.
 */
export function podLandsOn(
  pod: Pick<PodRecord, 'noExecuteTolerations' | 'noScheduleTolerations'>,
  node: NodeRecord,
  direction: 'back' | 'elsewhere' = 'back',
): boolean {
  return whatRefuses(pod, node, direction) === undefined;
}

/**
 * Why the scheduler would not place the pod on the node (podLandsOn's reasons, for a refusal to name): `node-1 has
 * taint dedicated=infra:NoSchedule the pod does not tolerate`; undefined when it would.
 */
export function landingRefusal(
  pod: Pick<PodRecord, 'noExecuteTolerations' | 'noScheduleTolerations'>,
  node: NodeRecord,
  direction: 'back' | 'elsewhere' = 'back',
): string | undefined {
  const refusal = whatRefuses(pod, node, direction);
  switch (refusal) {
    case undefined:
      return undefined;
    case 'leaving':
      return `${node.name} is being removed`;
    case 'cordoned':
      return `${node.name} is cordoned`;
    case 'not-ready':
      return `${node.name} is not Ready (Ready=${node.ready})`;
    case 'taints-cut':
      return `${node.name} has more taints than volume-guard keeps`;
    default:
      return untolerated(node.name, refusal);
  }
}

/**
 * What keeps the pod off the node, without words (podLandsOn scans every candidate node; only a refusal is worded):
 * a state of the node, or the first taint the pod does not tolerate.
 */
function whatRefuses(
  pod: Pick<PodRecord, 'noExecuteTolerations' | 'noScheduleTolerations'>,
  node: NodeRecord,
  direction: 'back' | 'elsewhere',
): 'leaving' | 'cordoned' | 'not-ready' | 'taints-cut' | Taint | undefined {
  if (node.leaving === true && direction === 'back') return 'leaving';
  if (isCordoned(node) && !toleratesTaint(pod, UNSCHEDULABLE_TAINT)) return 'cordoned';
  const readiness = readinessTaint(node.ready);
  if (readiness !== undefined && !toleratesTaint(pod, readiness)) return 'not-ready';
  for (const taint of node.drainTaints ?? NO_TAINTS) if (!toleratesTaint(pod, taint)) return taint;
  for (const taint of node.taints ?? NO_TAINTS) if (!toleratesTaint(pod, taint)) return taint;
  if (node.taintsCut === true && direction === 'back' && !toleratesEveryTaint(pod)) return 'taints-cut';
  return undefined;
}

function untolerated(node: string, taint: Taint): string {
  return `${node} has taint ${taint.key}${taint.value === '' ? '' : `=${taint.value}`}:${taint.effect} the pod does not tolerate`;
}

const NO_TAINTS: readonly Taint[] = Object.freeze([]);

/**
 * An empty-key Exists toleration of both effects: the pod tolerates whatever taints a record left out, and whatever
 * cordon or taint a drain puts on its node (NodeUnschedulable lets it on a cordoned node).
 */
export function toleratesEveryTaint(pod: Pick<PodRecord, 'noExecuteTolerations' | 'noScheduleTolerations'>): boolean {
  const everything = (toleration: Toleration): boolean => toleration.key === '' && toleration.operator === 'Exists';
  return (pod.noScheduleTolerations ?? NO_TOLERATIONS).some(everything) && (pod.noExecuteTolerations ?? NO_TOLERATIONS).some(everything);
}
