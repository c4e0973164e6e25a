// Whether Cluster API's drain of a Machine's node skips Longhorn's instance-manager pods, as its drain helper decides
// (cluster-api internal/controllers/machine/drain: GetPodsForEviction, filters.go). Longhorn's node-drain-policy keeps a
// node's last copies by a PodDisruptionBudget on those pods, which holds the drain only while the drain evicts them: a
// skipped pod is never evicted, its budget never consulted, and the drain completes without waiting on Longhorn.
//
// Per pod, the first filter that says Skip or WaitCompleted decides, and later filters are not run:
// - its label `cluster.x-k8s.io/drain`: `skip` (any case) skips it; `wait-completed` (any case, the dash optional)
//   waits until it completes (an instance manager never does: the drain waits for good); another value is ignored;
// - else the MachineDrainRules of the Machine's namespace that apply to the Machine (no spec.machines, or an entry
//   whose selector matches the Machine's labels and whose clusterSelector matches its Cluster's), in name order: the
//   first whose spec.pods applies to the pod (none listed, or an entry whose selector matches the pod's labels and
//   whose namespaceSelector matches its namespace's) gives its behavior, Drain, Skip or WaitCompleted;
// - no rule applies: Drain.
// An absent or empty selector selects everything. A rule of the namespace with an invalid selector fails every drain
// there (getMatchingMachineDrainRules), which then never completes: nothing is skipped.
import { labelSelectorMatches, labelSelectorValid } from '../../cluster/label-selector.ts';
import type { Labels, MachineDrainRuleRecord, MachineRecord, PodRecord } from '../../cluster/records.ts';
import type { ClusterSnapshot } from '../../cluster/snapshot.ts';
import { LONGHORN_COMPONENT_LABEL, LONGHORN_INSTANCE_MANAGER } from '../../cluster/transforms.ts';
import { compareText } from '../../text.ts';

/** The pod label Cluster API's drain reads first (PodDrainLabel). */
export const POD_DRAIN_LABEL = 'cluster.x-k8s.io/drain';

function ruleValid(rule: MachineDrainRuleRecord): boolean {
  return (
    rule.machines.every((entry) => labelSelectorValid(entry.selector) && labelSelectorValid(entry.clusterSelector)) &&
    rule.pods.every((entry) => labelSelectorValid(entry.selector) && labelSelectorValid(entry.namespaceSelector))
  );
}

/**
 * The rules applying to the Machine, in the order Cluster API tries them (by name); undefined when a drain errors.
 * Its namespace's rules and its Cluster's labels as `change` leaves them (a write under review), else the model's.
 */
export function rulesForMachine(snapshot: ClusterSnapshot, machine: MachineRecord, change: DrainInputsChange = {}): readonly MachineDrainRuleRecord[] | undefined {
  const rules = change.rules !== undefined && change.rules.namespace === machine.namespace ? change.rules.rules : snapshot.machineDrainRulesIn(machine.namespace);
  if (rules.length === 0) return rules;
  if (!rules.every(ruleValid)) return undefined;
  const relabelled = change.cluster;
  const clusterLabels =
    relabelled !== undefined && relabelled.namespace === machine.namespace && relabelled.name === machine.clusterName
      ? relabelled.labels
      : (snapshot.clusterApiCluster(machine.namespace, machine.clusterName)?.labels ?? {});
  return rules
    .filter(
      (rule) =>
        rule.machines.length === 0 ||
        rule.machines.some((entry) => labelSelectorMatches(entry.selector, machine.labels) && labelSelectorMatches(entry.clusterSelector, clusterLabels)),
    )
    .sort((a, b) => compareText(a.name, b.name));
}

/** The labels of the namespace as Cluster API's drain reads them (the API server always sets its name label). */
function namespaceLabels(snapshot: ClusterSnapshot, namespace: string, change: DrainInputsChange): Labels {
  const labels = change.namespace !== undefined && change.namespace.name === namespace ? change.namespace.labels : snapshot.namespace(namespace)?.labels;
  return { 'kubernetes.io/metadata.name': namespace, ...labels };
}

/** Why the drain skips the pod, or undefined when it evicts it or waits for it. */
function skipOf(
  pod: { readonly namespace: string; readonly name: string; readonly labels: Labels },
  rules: readonly MachineDrainRuleRecord[],
  snapshot: ClusterSnapshot,
  change: DrainInputsChange,
): string | undefined {
  const label = pod.labels[POD_DRAIN_LABEL];
  if (label !== undefined) {
    if (label.toLowerCase() === 'skip') return `pod ${pod.namespace}/${pod.name} is labelled ${POD_DRAIN_LABEL}=${label}: Cluster API's drain skips it`;
    if (label.replace('-', '').toLowerCase() === 'waitcompleted') return undefined;
  }
  const nsLabels = namespaceLabels(snapshot, pod.namespace, change);
  const rule = rules.find(
    (candidate) =>
      candidate.pods.length === 0 ||
      candidate.pods.some((entry) => labelSelectorMatches(entry.selector, pod.labels) && labelSelectorMatches(entry.namespaceSelector, nsLabels)),
  );
  if (rule?.behavior !== 'Skip') return undefined;
  return `MachineDrainRule ${rule.name} skips Longhorn's instance-manager pods (pod ${pod.namespace}/${pod.name})`;
}

/** longhorn.io/instance-manager-type: `aio` since Longhorn 1.5, `engine` and `replica` before. */
const INSTANCE_MANAGER_TYPES: readonly string[] = ['aio', 'engine', 'replica'];
/** longhorn.io/data-engine, on instance managers of one engine. */
const DATA_ENGINES: readonly string[] = ['v1', 'v2'];

function isInstanceManager(pod: PodRecord, longhornNamespace: string): pod is PodRecord & { readonly labels: Labels } {
  return pod.namespace === longhornNamespace && pod.labels?.[LONGHORN_COMPONENT_LABEL] === LONGHORN_INSTANCE_MANAGER;
}

/**
 * What Cluster API's drain reads anew at every pass, as a write under review leaves it: the MachineDrainRules of a
 * namespace (`rules`), one pod's labels (`pod`), a Cluster's or a Namespace's labels.
 */
export interface DrainInputsChange {
  readonly rules?: { readonly namespace: string; readonly rules: readonly MachineDrainRuleRecord[] };
  readonly pod?: { readonly namespace: string; readonly name: string; readonly labels: Labels };
  /** A Cluster's labels (its rules' clusterSelector). */
  readonly cluster?: { readonly namespace: string; readonly name: string; readonly labels: Labels };
  /** A Namespace's labels (the rules' pod namespaceSelector). */
  readonly namespace?: { readonly name: string; readonly labels: Labels };
}

/**
 * Why Cluster API's drain of the Machine's node skips one of Longhorn's instance-manager pods there (so the drain
 * does not wait on Longhorn's PodDisruptionBudget), or undefined when it evicts them all or waits for them. With no
 * instance-manager pod known on the node, the labels every one carries stand for the pod Longhorn runs there.
 */
export function instanceManagerDrainSkip(snapshot: ClusterSnapshot, machine: MachineRecord, longhornNamespace: string, change: DrainInputsChange = {}): string | undefined {
  if (machine.nodeName === '') return undefined;
  const relabelled = change.pod;
  const pods: { readonly namespace: string; readonly name: string; readonly labels: Labels }[] = snapshot
    .podsOnNode(machine.nodeName)
    .map((pod) => (relabelled !== undefined && pod.namespace === relabelled.namespace && pod.name === relabelled.name ? { ...pod, labels: relabelled.labels } : pod))
    .filter((pod) => isInstanceManager(pod, longhornNamespace));
  const labelled = pods.some((pod) => pod.labels[POD_DRAIN_LABEL] !== undefined);
  const rules = rulesForMachine(snapshot, machine, change);
  if (rules === undefined || (rules.length === 0 && !labelled)) return undefined;
  if (pods.length === 0) {
    // Every instance-manager pod carries these (longhorn-manager's GetInstanceManagerLabels), its type and, since
    // Longhorn 1.6, its data engine: a rule selecting by either skips the pod if it matches any pod Longhorn may run.
    for (const type of INSTANCE_MANAGER_TYPES) {
      for (const dataEngine of [undefined, ...DATA_ENGINES]) {
        pods.push({
          namespace: longhornNamespace,
          name: `instance-manager-* (on node ${machine.nodeName})`,
          labels: {
            [LONGHORN_COMPONENT_LABEL]: LONGHORN_INSTANCE_MANAGER,
            'longhorn.io/managed-by': 'longhorn-manager',
            'longhorn.io/node': machine.nodeName,
            'longhorn.io/instance-manager-type': type,
            ...(dataEngine ? { 'longhorn.io/data-engine': dataEngine } : {}),
          },
        });
      }
    }
  }
  for (const pod of [...pods].sort((a, b) => compareText(a.name, b.name))) {
    const skip = skipOf(pod, rules, snapshot, change);
    if (skip !== undefined) return skip;
  }
  return undefined;
}
