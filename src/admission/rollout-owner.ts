// The skip of a Cluster API MachineDeployment or KubeadmControlPlane, accepted for its rollout or scale-down, carried to
// the steps that carry it out: a MachineSet's scale-down, a Machine's DELETE, and the drain of a Machine being deleted
// (the Machine controller cordons its node and evicts its pods before deleting the infrastructure machine). Refusing
// those for what was accepted would stall the rollout half way.
import { SINGLE_REPLICA_VOLUME_TAG } from '../checks/longhorn-health.ts';
import type { MachineRecord } from '../cluster/records.ts';
import { CLUSTER_API_CONTROL_PLANE_GROUP, CLUSTER_API_GROUP } from '../cluster/resources.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import type { PolicedKinds } from './longhorn-drain.ts';
import { SKIP_KEY, skipFrom, type OverrideSource } from './overrides.ts';
import type { ValidationContext } from './validator.ts';

/** The Cluster API kinds whose Machines a rollout replaces, by the label naming the owner on its Machines. */
const ROLLOUT_OWNERS = [
  { group: CLUSTER_API_CONTROL_PLANE_GROUP, kind: 'KubeadmControlPlane', resource: 'kubeadmcontrolplanes', label: (machine: MachineRecord) => machine.controlPlane },
  { group: CLUSTER_API_GROUP, kind: 'MachineDeployment', resource: 'machinedeployments', label: (machine: MachineRecord) => machine.machineDeployment },
] as const;
export type RolloutOwnerKind = (typeof ROLLOUT_OWNERS)[number]['kind'];
type RolloutOwner = (typeof ROLLOUT_OWNERS)[number];

/** Whether volume-guard polices the writes of this owner kind (`upgrades.kinds`; undefined: every kind). */
function policed(owner: RolloutOwner, kinds: PolicedKinds | undefined): boolean {
  return kinds === undefined || kinds.some((kind) => kind.group === owner.group && kind.kind === owner.kind);
}

/** Whether the upgrade webhook judges the rollouts of this owner kind (it is in `upgrades.kinds`; undefined: every kind). */
export function rolloutOwnerPoliced(kind: RolloutOwnerKind, kinds: PolicedKinds | undefined): boolean {
  return ROLLOUT_OWNERS.some((owner) => owner.kind === kind && policed(owner, kinds));
}

/** The owner kind's objects as kubectl names them: `machinedeployments.cluster.x-k8s.io`. */
export function rolloutOwnerResource(kind: RolloutOwnerKind): string {
  const owner = ROLLOUT_OWNERS.find((each) => each.kind === kind);
  return owner === undefined ? kind : `${owner.resource}.${owner.group}`;
}

/**
 * The nodes a rollout of this MachineDeployment or KubeadmControlPlane replaces, disks and all: those of its Machines
 * (by their `cluster.x-k8s.io/deployment-name` / `control-plane-name` labels) that have one. Each new Machine joins,
 * then an old one is deleted with its node.
 */
export function rolloutOwnerNodes(snapshot: ClusterSnapshot, namespace: string, kind: RolloutOwnerKind, name: string): string[] {
  const nodes = snapshot
    .machinesOf(namespace, kind, name)
    .filter((machine) => machine.nodeName !== '')
    .map((machine) => machine.nodeName);
  return [...new Set(nodes)];
}

/** The rollout owner kind of this group and kind (a Cluster API MachineDeployment or KubeadmControlPlane), if it is one. */
export function rolloutOwnerKind(group: string, kind: string): RolloutOwnerKind | undefined {
  return ROLLOUT_OWNERS.find((owner) => owner.group === group && owner.kind === kind)?.kind;
}

/**
 * Whose rollout deletes a Machine by its own DELETE: KubeadmControlPlane's (scaleDownControlPlane). A
 * MachineDeployment's rollout scales its old MachineSet down, where its skip is carried (to the Machines that
 * scale-down names, whose DELETEs follow as admitted); a DELETE of one of its Machines by anyone else (a person, a
 * MachineHealthCheck remediation) is no step of the rollout the admin accepted.
 */
export const DELETING_OWNERS: readonly RolloutOwnerKind[] = ['KubeadmControlPlane'];
/** Whose Machines a MachineSet scale-down removes as a rollout's step: the MachineDeployment's. */
export const SCALING_OWNERS: readonly RolloutOwnerKind[] = ['MachineDeployment'];
/**
 * Whose skip reaches the drain of a Machine being deleted: its removal was admitted (a KubeadmControlPlane's DELETE,
 * a MachineDeployment's MachineSet scale-down, each carrying its owner's skip, or a DELETE judged on the node's own
 * overrides), and the drain is its next step.
 */
const DRAINING_OWNERS: readonly RolloutOwnerKind[] = [...DELETING_OWNERS, ...SCALING_OWNERS];

/**
 * What reading an owner's stored skip needs: the model, the kinds whose writes volume-guard polices (`upgrades.kinds`;
 * undefined: every kind, for a caller that knows no configuration, as `volume-guard audit` without one), and the time
 * its `skip-until` is judged at (undefined: now). The webhook's is its ValidationContext's (ownerSkipReading).
 */
export interface OwnerSkipReading {
  readonly snapshot: ClusterSnapshot;
  /** Required, undefined meaning every kind (the audit without a config): a ValidationContext does not fit here. */
  readonly kinds: PolicedKinds | undefined;
  readonly now?: number;
}

/** The webhook's reading: its request's model, configured kinds and time. */
export function ownerSkipReading(context: ValidationContext): OwnerSkipReading {
  return { snapshot: context.snapshot, kinds: context.config.upgrades.kinds, now: context.now };
}

/**
 * The stored `volume-guard.io/skip` of the KubeadmControlPlane (the Machine's `cluster.x-k8s.io/control-plane-name`)
 * or MachineDeployment (`cluster.x-k8s.io/deployment-name`) owning `machine`, carried to its node's removal: a
 * rollout (or scale-down) the admin let through with it deletes the Machine by a MachineSet scale-down or a Machine
 * DELETE, and refusing those for what was accepted would stall it half way. Only for a kind whose writes volume-guard
 * polices (`upgrades.kinds`), read from the model with its recorded `skip-by` and `skip-until` like any stored
 * override, and audited as carried from the owner (`draining`: at the drain of that node). It skips the checks it
 * names, and with `single-replica` also last-replica-on-node for volumes set to one replica
 * (SINGLE_REPLICA_VOLUME_TAG), not for a volume that has other copies on nodes going at the same time, which the
 * rollout's judgement did not report.
 */
export function rolloutOwnerSkip(
  reading: OwnerSkipReading,
  machine: MachineRecord,
  owners: readonly RolloutOwnerKind[],
  draining?: string,
): OverrideSource | undefined {
  for (const owner of ROLLOUT_OWNERS) {
    if (!owners.includes(owner.kind)) continue;
    const label = owner.label(machine);
    if (label === '') continue;
    if (!policed(owner, reading.kinds)) return undefined;
    const record = reading.snapshot.machineOwner(machine.namespace, owner.kind, label);
    const step = draining === undefined ? '' : `, draining node ${draining}`;
    const where = `${owner.kind} ${machine.namespace}/${record?.name ?? label} (${SKIP_KEY}, owning Machine ${machine.name}${step})`;
    const source = skipFrom(where, record?.annotations, undefined, reading.now === undefined ? {} : { now: reading.now });
    if (source === undefined || !source.checks.includes('single-replica') || source.checks.includes('last-replica-on-node')) return source;
    return { ...source, tags: [{ check: 'last-replica-on-node', tag: SINGLE_REPLICA_VOLUME_TAG }] };
  }
  return undefined;
}

/**
 * The object whose skip rolloutOwnerSkip reads for `machine` among `owners`, as kubectl names it (resource
 * `kubeadmcontrolplanes.controlplane.cluster.x-k8s.io`, name, namespace): what advice annotates where the owner's skip
 * is the override read. Undefined when none is (no such owner, or a kind whose writes volume-guard does not police).
 */
export function rolloutOwnerTarget(
  reading: Pick<OwnerSkipReading, 'snapshot' | 'kinds'>,
  machine: MachineRecord,
  owners: readonly RolloutOwnerKind[],
): { readonly resource: string; readonly name: string; readonly namespace: string } | undefined {
  for (const owner of ROLLOUT_OWNERS) {
    if (!owners.includes(owner.kind)) continue;
    const label = owner.label(machine);
    if (label === '') continue;
    if (!policed(owner, reading.kinds)) return undefined;
    const name = reading.snapshot.machineOwner(machine.namespace, owner.kind, label)?.name ?? label;
    return { resource: rolloutOwnerResource(owner.kind), name, namespace: machine.namespace };
  }
  return undefined;
}

/**
 * The owner's skip carried to the drain of `node` (its cordon, drain taints, evictions, drain pod deletes) while its
 * Cluster API Machine is being deleted (ClusterSnapshot.machineRemovingNode): the Machine controller cordons the node
 * and evicts its pods before deleting the infrastructure machine, and retries a refused cordon for good (no node
 * drain timeout by default), stalling the rollout the admin accepted. None for a node whose Machine stays.
 */
export function drainingMachineOwnerSkip(reading: OwnerSkipReading, node: string): OverrideSource | undefined {
  if (node === '') return undefined;
  const machine = reading.snapshot.machineRemovingNode(node);
  return machine === undefined ? undefined : rolloutOwnerSkip(reading, machine, DRAINING_OWNERS, node);
}

/**
 * The owner's skip an UPDATE of a Machine being deleted makes the drain of its node carry, where it carried none or
 * another owner's before: its `cluster.x-k8s.io/control-plane-name` or `deployment-name` label now names an owner with
 * a stored skip. Cluster API writes no label of a Machine being deleted (the MachineSet and KubeadmControlPlane
 * controllers' syncMachines update only its deletion timeouts then), so such a label stays, and whoever wrote it
 * chose which admin's skip the drain passes on: the write is an override write (machine.ts). Undefined when the
 * update carries nothing new.
 */
export function skipCarriedByRelabel(reading: OwnerSkipReading, before: MachineRecord, after: MachineRecord, node: string): OverrideSource | undefined {
  const next = rolloutOwnerSkip(reading, after, DRAINING_OWNERS, node);
  if (next === undefined) return undefined;
  return rolloutOwnerSkip(reading, before, DRAINING_OWNERS, node)?.where === next.where ? undefined : next;
}
