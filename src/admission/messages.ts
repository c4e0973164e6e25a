// How findings read to the person whose kubectl or helm command was refused.
//
// A denial is laid out in lines, because kubectl and helm print the message as it is:
//
//   volume-guard refused the cordon of node worker-1: 3 risks of data loss.
//   The cordon itself loses nothing; the drain or maintenance that follows would.
//   [last-replica-on-node] 2 Longhorn volumes have their only healthy replica on worker-1
//     its only healthy copy is on worker-1: lost if worker-1 does not come back or its disks are wiped
//     Volume longhorn-system/pvc-a (PVC app/data-a): only healthy replica is on node worker-1
//     ...
//     and 8 more; all of them: volume-guard audit --node worker-1
//     Fix: let Longhorn rebuild a healthy replica on another node, then cordon again.
//   Override (an authorized admin, after checking):
//     kubectl annotate node worker-1 volume-guard.io/skip=last-replica-on-node volume-guard.io/skip-reason="<why>" volume-guard.io/skip-by="<you>"
//
// Every piece of advice depends on the situation (a cordon, a drain's eviction, an upgrade object being created or
// changed, a Helm operation): `Situation` says which, and each check words its consequence and its fix for it.
import { UNBOUND_TAG } from '../checks/orphan-pvc.ts';
import { RECYCLE_WITHOUT_RECYCLER_TAG } from '../checks/reclaim.ts';
import { objectRef, type AffectedObject, type CheckId, type Finding } from '../checks/types.ts';
import { COPIES_HELD_OFF_TAG, COPIES_NOT_ONLY_CORDONED_TAG } from '../checks/last-replica-on-node.ts';
import { SALVAGE_SOURCE_TAG } from '../checks/storage-teardown.ts';
import { DATA_IN_FAILED_TAG, DATA_LOST_TAG, NO_COPY_LEFT_TAG, NO_DATA_TAG, SALVAGED_TAG, STRICT_LOCAL_TAG } from '../checks/longhorn-health.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import { isWithheld, withheldLines } from './withheld.ts';
import { plural } from '../text.ts';
import { WRITER_PLACEHOLDER } from '../override-keys.ts';

/** At most this many objects are named per check; the rest are counted ("and N more"). */
export const MAX_LISTED_PER_CHECK = 10;
/**
 * The API server drops a warning identical to one it already holds, and keeps warnings whole only while they add up
 * to at most 4096 characters (runes); beyond that it cuts each to 256 and drops the rest
 * (apiserver/pkg/endpoints/filters/warning.go). 120 characters is volume-guard's own width (a line of a terminal):
 * each warning stays within it (wrapped at word boundaries into several warnings, never cut mid-word; an object's
 * line cut with "…"), no two alike, and their total under the limit.
 */
export const MAX_WARNING_LENGTH = 120;
export const MAX_WARNINGS_BYTES = 4000;
/** A line of a denial beyond this is shortened (at a word boundary): a terminal shows lines whole. */
export const MAX_LINE_LENGTH = 200;
/** The whole denial stays below this, whatever the findings: kubectl drain prints it more than once. */
export const MAX_DENIAL_LENGTH = 3500;

/** Where Longhorn could place another copy of a volume, for the situations that take nodes away. */
interface ReplicaPlaces {
  /**
   * Whether Longhorn has no node to rebuild a copy on: none takes replicas but the node in question (a cordon, an
   * eviction), or at most one does (an upgrade, node by node). Asked only to word a fix (soleReplicaNode). Omitted:
   * not known, taken as false.
   */
  readonly noOtherReplicaNode?: () => boolean;
  /**
   * Whether the cluster has no Longhorn node but the one in question (an upgrade: at most one), whatever their state:
   * no copy can ever be made elsewhere, where noOtherReplicaNode may still change (a node down or cordoned comes back).
   * Asked only to word a fix (onlyLonghornNode). Omitted: not known, taken as false.
   */
  readonly noOtherLonghornNode?: () => boolean;
}

/** What the refused request was doing, so advice fits it. */
export type Situation =
  | ({
      readonly kind: 'cordon';
      readonly node: string;
      /** The node is removed for good (Node or Machine DELETE, an autoscaler's drain taint), not only emptied. */
      readonly removed?: boolean;
      /** The step after the fix when it is not the node's cordon or removal: `delete Machine capi/md-0-x again`. */
      readonly again?: string;
      /** How the request comes to take this node, said before the note (a scale-down: which Machines Cluster API removes). */
      readonly how?: string;
      /** The update added taints without cordoning: the strongest effect added (NoExecute deletes pods at once). */
      readonly taint?: 'NoSchedule' | 'NoExecute';
      /**
       * The node has no Node object left (a Machine DELETE whose status.nodeRef names a node gone): nothing to annotate.
       * `owner`: the object whose skip is read for this request instead, as kubectl names it
       * (`kubeadmcontrolplanes.controlplane.cluster.x-k8s.io cp -n capi`); absent when no override is.
       */
      readonly nodeGone?: { readonly owner?: string };
    } & ReplicaPlaces)
  | ({
      readonly kind: 'eviction';
      readonly node: string;
      readonly namespace: string;
      readonly pod: string;
      /** The node is removed after this drain, its disks with it (ClusterSnapshot.nodeLeaving), not only emptied. */
      readonly removed?: boolean;
      /** A restart identity's eviction that is no restart: why the pod would not land back (`node-1 is cordoned; …`). */
      readonly notRestart?: string;
    } & ReplicaPlaces)
  | ({
      readonly kind: 'upgrade';
      /** CREATE: the object does not exist yet; UPDATE: a change to an existing one. */
      readonly operation: 'CREATE' | 'UPDATE';
      /** The rollout replaces the nodes it upgrades, disks and all (a Cluster API rollout), not only reboots them. */
      readonly replacesNodes?: boolean;
      /** Fully qualified resource, as kubectl takes it: `upgrades.harvesterhci.io`. */
      readonly resource: string;
      readonly kindName: string;
      readonly name: string;
      readonly namespace?: string;
    } & ReplicaPlaces)
  | {
      readonly kind: 'helm';
      readonly operation: 'install' | 'upgrade' | 'rollback';
      readonly namespace: string;
      readonly release: string;
      /** The revision being created: an upgrade's release-label override must name it (volume-guard.io/skip-revision). */
      readonly revision?: number;
      /**
       * The service account that wrote the record (`flux-system/helm-controller`, a HelmChart job, Rancher): a
       * controller running Helm, which takes no `--labels` from an admin and retries on its own.
       */
      readonly controller?: string;
      /**
       * The checks the record's `volume-guard.io/skip` release label skips and that count in this request (for this
       * revision, by a requester who may write overrides); `*` for `all`. `--labels` replaces a label's value key by
       * key, so the advised value names them too, or the next try is refused for them again.
       */
      readonly labelSkip?: readonly CheckId[] | '*';
    };

/**
 * ReplicaPlaces.noOtherReplicaNode, read from the cluster when asked: whether no Longhorn node but `node` (without
 * one: at most one Longhorn node) takes replicas now, neither down nor refusing them (its scheduling off, cordoned
 * under Longhorn's default disable-scheduling-on-cordoned-node). With replica node anti-affinity hard (Longhorn's
 * default) a volume gets no second copy then. False while no Longhorn node is known.
 */
export function soleReplicaNode(snapshot: Pick<ClusterSnapshot, 'longhornNodes'>, node?: string): () => boolean {
  const most = node === undefined ? 1 : 0;
  let answer: boolean | undefined;
  // Asked once per finding's wording: read once per request, and stop at the first node past the limit (a cluster
  // of thousands of nodes answers after two).
  return () => {
    if (answer !== undefined) return answer;
    let known = false;
    let others = 0;
    answer = true;
    for (const longhorn of snapshot.longhornNodes()) {
      known = true;
      if (longhorn.name !== node && !longhorn.down && longhorn.refusesReplicas !== true && ++others > most) {
        answer = false;
        break;
      }
    }
    answer &&= known;
    return answer;
  };
}

/**
 * ReplicaPlaces.noOtherLonghornNode, read from the cluster when asked: whether no Longhorn node but `node` (without
 * one: at most one Longhorn node) exists, in any state. False while no Longhorn node is known.
 */
export function onlyLonghornNode(snapshot: Pick<ClusterSnapshot, 'longhornNodes'>, node?: string): () => boolean {
  const most = node === undefined ? 1 : 0;
  let answer: boolean | undefined;
  // As soleReplicaNode: read once per request, stopping at the first node past the limit.
  return () => {
    if (answer !== undefined) return answer;
    let known = false;
    let others = 0;
    answer = true;
    for (const longhorn of snapshot.longhornNodes()) {
      known = true;
      if (longhorn.name !== node && ++others > most) {
        answer = false;
        break;
      }
    }
    answer &&= known;
    return answer;
  };
}

/**
 * The fix where Longhorn has no other node for a copy: a rebuild never comes, so back the volume up, then override.
 * `leads`: it opens the fix (no other advice works for these volumes); else it follows advice that still does.
 */
function soleNodeFix(situation: Situation, count: number, leads = false): string {
  const node = nodeOf(situation);
  const where =
    node === undefined
      ? `${leads ? 'the' : 'The'} cluster has one Longhorn node that takes replicas`
      : `${leads ? '' : 'But '}${node} is the only Longhorn node that takes replicas`;
  const snapshot = node === undefined ? 'that node' : node;
  return (
    `${where}, so Longhorn can make no second copy on another node: back the ${count === 1 ? 'volume' : 'volumes'} up ` +
    `(a Longhorn backup to a backup target; a snapshot stays on ${snapshot}), then override.`
  );
}

/**
 * An install at a revision past 1 is `helm install --replace` (or `upgrade --install`) over kept history. Helm marks
 * the last revision superseded before it writes the new one, so after a refusal `helm install --replace` refuses the
 * name ("still in use"); `helm upgrade --install` goes on from the superseded revision, at the same revision number.
 */
function isReplaceInstall(situation: Situation): boolean {
  return situation.kind === 'helm' && situation.operation === 'install' && (situation.revision ?? 1) > 1;
}

/** The helm command to run again after a refusal. */
function helmCommand(situation: Situation & { readonly kind: 'helm' }): string {
  return isReplaceInstall(situation) ? 'helm upgrade --install' : `helm ${situation.operation}`;
}

/** What would become of an object: the words of issue 12.17. */
export type Fate = 'lost' | 'adopted' | 'stranded' | 'at risk';

interface CheckText {
  /** What was found, given the count: `2 Longhorn volumes have a single replica`. */
  readonly summary: (count: number) => string;
  /** The summary for a denial, when the findings say more than the count (adopted or left behind). */
  readonly summaryFor?: (count: number, findings: readonly Finding[]) => string;
  /** What to do about it, before reaching for an override (situation-free; the audit shows it). */
  readonly fix: string;
  /**
   * The same, fitted to the situation and the findings (`total`: how many the check found, the findings at hand
   * maybe fewer). A `\n` starts a line: a command stands on a line of its own.
   */
  readonly fixFor?: (situation: Situation, findings: readonly Finding[], total: number) => string;
  /** The same, fitted to the findings alone (no situation), when they call for other advice than `fix`. */
  readonly fixOf?: (findings: readonly Finding[]) => string | undefined;
  /** What happens to one finding's object if the operation goes ahead, and why, in a few words. */
  /** `many`: the consequence line speaks of several findings at once (plural wording). */
  readonly fate?: (finding: Finding, situation: Situation | undefined, many?: boolean) => { readonly fate: Fate; readonly why: string };
}

export { plural };

/** PVCs an orphan-pvc fix's commands name at most (a command over more would not fit a line); the rest are counted. */
const NAMED_IN_FIX = 3;

/** Names shown in a one-line warning at most; the rest are counted. */
const NAMED_IN_LINE = 5;

/**
 * `a, b, c, d, e and 3 more`: the first names of a list, the rest counted with the `hidden` ones (objects of other
 * namespaces, named to nobody); only hidden ones: `2 of other namespaces` (`others` words that).
 */
export function fewNamed(named: readonly string[], hidden = 0, others = 'of other namespaces'): string {
  const shown = named.slice(0, NAMED_IN_LINE).join(', ');
  const unnamed = Math.max(0, named.length - NAMED_IN_LINE) + hidden;
  return named.length === 0 ? `${unnamed} ${others}` : unnamed === 0 ? shown : `${shown} and ${unnamed} more`;
}

/** Whether the situation says Longhorn has no other node for a copy (ReplicaPlaces). */
function noOtherNode(situation: Situation): boolean {
  return situation.kind !== 'helm' && situation.noOtherReplicaNode?.() === true;
}

/** Whether the situation says the cluster has no other Longhorn node at all, in service or not (ReplicaPlaces). */
function aloneInCluster(situation: Situation): boolean {
  return situation.kind !== 'helm' && situation.noOtherLonghornNode?.() === true;
}

/**
 * How the situation takes its node away for good, disks and all: `removed` (a Node or Machine DELETE, a drain before
 * a removal), `replaced` (a rollout replacing its Machines); undefined when the node may come back with its disks.
 */
function nodeGoes(situation: Situation | undefined): 'removed' | 'replaced' | undefined {
  if (situation?.kind === 'upgrade') return situation.replacesNodes === true ? 'replaced' : undefined;
  return (situation?.kind === 'cordon' || situation?.kind === 'eviction') && situation.removed === true ? 'removed' : undefined;
}

/** `worker-1`, or `its node` when a volume's data is on several. */
function nodeOf(situation: Situation | undefined): string | undefined {
  return situation && (situation.kind === 'cordon' || situation.kind === 'eviction') ? situation.node : undefined;
}

/** nodeLoss's answers, per situation (one request's) and copy: a denial asks for the same one per finding. */
const NODE_LOSS = new WeakMap<Situation, Map<string, { readonly fate: Fate; readonly why: string }>>();
const NODE_LOSS_NO_SITUATION = new Map<string, { readonly fate: Fate; readonly why: string }>();

function nodeLoss(situation: Situation | undefined, copy: string): { readonly fate: Fate; readonly why: string } {
  let known = NODE_LOSS_NO_SITUATION;
  if (situation !== undefined) {
    known = NODE_LOSS.get(situation) ?? new Map();
    NODE_LOSS.set(situation, known);
  }
  let loss = known.get(copy);
  if (loss === undefined) {
    loss = Object.freeze(describeNodeLoss(situation, copy));
    known.set(copy, loss);
  }
  return loss;
}

function describeNodeLoss(situation: Situation | undefined, copy: string): { fate: Fate; why: string } {
  const node = nodeOf(situation);
  if (situation?.kind === 'upgrade') return { fate: 'lost', why: `${copy} is on one node: lost if that node does not come back from the upgrade` };
  if (node) return { fate: 'lost', why: `${copy} is on ${node}: lost if ${node} does not come back or its disks are wiped` };
  return { fate: 'lost', why: `${copy} is on one node: lost if that node goes away` };
}

/** How to raise a volume's numberOfReplicas, its Volume in Longhorn's namespace `ns`. */
const RAISE_REPLICAS = (ns: string): string =>
  `raise numberOfReplicas to 2 or more (Longhorn UI, or kubectl -n ${ns} edit volumes.longhorn.io "<volume>") ` +
  'and wait until the volume is healthy: Longhorn makes no second copy while it is 1';

/** RAISE_REPLICAS for volumes lowered to numberOfReplicas 1 that still have several copies. */
const RAISE_REPLICAS_KEPT = (ns: string): string =>
  `raise numberOfReplicas to 2 or more (Longhorn UI, or kubectl -n ${ns} edit volumes.longhorn.io "<volume>"): ` +
  'while it is 1, Longhorn replaces no copy that fails';

/**
 * What a strict-local volume needs before a second copy (STRICT_LOCAL_TAG): Longhorn refuses numberOfReplicas other
 * than 1 for it, and changes its dataLocality only while it is detached.
 */
const STRICT_LOCAL_FIX =
  'a strict-local volume keeps 1 replica (Longhorn refuses more): detach it and set its dataLocality to best-effort ' +
  'or disabled before raising numberOfReplicas, or back it up';

/** STRICT_LOCAL_FIX appended when one of the findings is of a strict-local volume. */
function strictLocalFix(findings: readonly Finding[]): string {
  return findings.some((finding) => finding.tags.includes(STRICT_LOCAL_TAG)) ? `; ${STRICT_LOCAL_FIX}` : '';
}

/** Longhorn's namespace, as the findings' Volumes say it (config.longhorn.namespace); its default when none does. */
function longhornNamespaceOf(findings: readonly Finding[]): string {
  return findings.find((finding) => finding.object.kind === 'Volume' && finding.object.namespace)?.object.namespace ?? 'longhorn-system';
}

/**
 * The tags the wording of a check reads across all its findings, listed or not (`fixFor`); a check absent here
 * reads more than tags (fates, kinds) and is worded only from all its findings.
 */
export const WORDING_TAGS: Readonly<Partial<Record<CheckId, readonly string[]>>> = {
  'single-replica': ['effective', 'several-copies', 'detached', STRICT_LOCAL_TAG],
  'volume-health': [],
  'last-replica-on-node': [COPIES_HELD_OFF_TAG, COPIES_NOT_ONLY_CORDONED_TAG, 'detached', STRICT_LOCAL_TAG],
};

/** pvc-delete's fix for a Helm upgrade dropping templated PVCs (the live PVC's keep annotation spares it). */
const PVC_DELETE_FIX = 'back the data up, or keep the PVC (helm.sh/resource-policy: keep); mark it volume-guard.io/delete=true if it may go';

/** pvc-delete's fix by what deletes the PVCs, when all of them go the same way. */
function pvcDeleteFixOf(findings: readonly Finding[]): string | undefined {
  if (findings.length > 0 && findings.every((finding) => finding.tags.includes('claim-ref-changed'))) {
    return "keep the PV's live claimRef (apply it without claimRef.uid); mark the PV volume-guard.io/delete=true if its data may go.";
  }
  // A PV being created: there is no policy to keep and no PV to annotate yet; the manifest is what changes.
  if (findings.length > 0 && findings.every((finding) => finding.tags.includes('reclaim-policy-changed') && finding.tags.includes('pv-created'))) {
    return 'create it with persistentVolumeReclaimPolicy: Retain, or without claimRef.uid (to bind it to a new claim).';
  }
  if (findings.length > 0 && findings.every((finding) => finding.tags.includes('reclaim-policy-changed'))) {
    return 'keep the reclaim policy Retain until the data is backed up or the PV rebound; mark the PV volume-guard.io/delete=true if it may go.';
  }
  if (findings.length > 0 && findings.every((finding) => finding.tags.includes('volume-deleted'))) {
    return 'back the data up (a Longhorn backup); mark the volume volume-guard.io/delete=true if it may go.';
  }
  if (findings.length > 0 && findings.every((finding) => finding.tags.includes('deleted-by-hook'))) {
    return 'back the data up, or render the PVC as a plain template (not a helm.sh/hook); mark it volume-guard.io/delete=true if it may go.';
  }
  if (findings.length > 0 && findings.every((finding) => finding.tags.includes('adopted-pods'))) {
    return 'back the data up, or declare the replicas and ordinals the orphaned pods run (or whenScaled: Retain); mark the PVCs volume-guard.io/delete=true if they may go.';
  }
  if (findings.length > 0 && findings.every((finding) => finding.tags.includes('deleted-by-scale-down'))) {
    // A move of spec.ordinals.start condemns the pods below the new start, the replicas unchanged.
    if (findings.some((finding) => finding.tags.includes('ordinals-moved'))) {
      return 'back the data up, or keep the replicas and ordinals.start (or set whenScaled: Retain first); mark the PVCs volume-guard.io/delete=true if they may go.';
    }
    return 'back the data up, or keep the replicas (or set whenScaled: Retain first); mark the PVCs volume-guard.io/delete=true if they may go.';
  }
  // The deletes of a GitOps prune, a namespace or a StatefulSet: helm.sh/resource-policy means nothing to them.
  if (findings.length > 0 && findings.every((finding) => finding.tags.includes('deleted-with-statefulset'))) {
    // A GitOps prune takes no kubectl flag: its tool's own setting orphans the PVCs.
    const gitops = findings.some((finding) => finding.tags.includes('by-automation'))
      ? " A GitOps prune takes no --cascade flag: Argo CD's sync option PrunePropagationPolicy=orphan orphans them; Flux: " +
        'annotate the StatefulSet kustomize.toolkit.fluxcd.io/prune: disabled (in Git) and delete it with --cascade=orphan.'
      : '';
    return (
      'back the data up, or keep the PVCs: delete the StatefulSet with --cascade=orphan, or set their PVs to reclaim policy ' +
      `Retain first; mark the PVCs volume-guard.io/delete=true if they may go.${gitops}`
    );
  }
  // An operator's resource (a CloudNativePG Cluster) owning them: the same, with its kind unknown to the advice.
  if (findings.length > 0 && findings.every((finding) => finding.tags.includes('deleted-with-owner'))) {
    const gitops = findings.some((finding) => finding.tags.includes('by-automation'))
      ? " A GitOps prune takes no --cascade flag: Argo CD's sync option PrunePropagationPolicy=orphan orphans them; Flux: " +
        'annotate the owner kustomize.toolkit.fluxcd.io/prune: disabled (in Git) and delete it with --cascade=orphan.'
      : '';
    return (
      'back the data up, or keep the PVCs: delete their owner with --cascade=orphan, or set their PVs to reclaim policy ' +
      `Retain first; mark the PVCs volume-guard.io/delete=true if they may go.${gitops}`
    );
  }
  // A CRD's DELETE: every object of its kind goes, straight from storage; only keeping the CRD keeps them. At
  // `helm uninstall` Helm reads helm.sh/resource-policy from the release's manifest, not the live object: the policy
  // must be in the chart (or the CRD in crds/, which Helm never deletes); an upgrade reads the live one.
  if (findings.length > 0 && findings.every((finding) => finding.tags.includes('deleted-with-crd'))) {
    return (
      'back the data up, or keep the CRD (Helm: set helm.sh/resource-policy: keep on it in the chart, or ship it in ' +
      'crds/, which Helm never deletes; for an upgrade, kubectl annotate crd "<name>" helm.sh/resource-policy=keep is enough; Argo CD: ' +
      'argocd.argoproj.io/sync-options: Prune=false; Flux: kustomize.toolkit.fluxcd.io/prune: disabled), or set the PVs ' +
      'to reclaim policy Retain first; mark the PVCs volume-guard.io/delete=true if they may go.'
    );
  }
  if (findings.length > 0 && findings.every((finding) => finding.tags.includes('deleted-with-namespace'))) {
    return 'back the data up, or set their PVs to reclaim policy Retain first (the data stays on Released PVs); mark the PVCs volume-guard.io/delete=true if they may go.';
  }
  if (findings.length > 0 && findings.every((finding) => finding.tags.includes('deleted-by-automation'))) {
    // Deleted by hand (pvcDelete.others) or by the garbage collector: no prune to keep it out of.
    if (!findings.some((finding) => finding.tags.includes('by-automation'))) {
      return 'back the data up, or set its PV to reclaim policy Retain first (the data stays on a Released PV); mark it volume-guard.io/delete=true if it may go.';
    }
    return (
      'back the data up, or keep the PVC out of the prune (Argo CD: argocd.argoproj.io/sync-options: Prune=false; Flux: ' +
      'kustomize.toolkit.fluxcd.io/prune: disabled) or set its PV to reclaim policy Retain first; mark it volume-guard.io/delete=true if it may go.'
    );
  }
  return undefined;
}

/** A faulted volume's repair: Longhorn rebuilds only from a healthy replica, and a faulted volume has none. */
const SALVAGE_FAULTED =
  'a faulted volume has no healthy replica to rebuild from: salvage it (Longhorn UI: Volume > Salvage; automatic while ' +
  'the auto-salvage setting is on) or restore it from a backup';

/** A last copy whose volume's other healthy replicas are all on cordoned or leaving nodes (COPIES_HELD_OFF_TAG). */
function hasCopiesHeldOff(finding: Finding): boolean {
  return finding.tags.includes(COPIES_HELD_OFF_TAG);
}

/**
 * last-replica-on-node's fix for volumes whose other copies are on cordoned or leaving nodes: Longhorn counts those
 * copies and rebuilds nothing; they count here again once their nodes are back in service, or a copy more is placed.
 * Their nodes are named from the replicas the findings relate (on other nodes than the finding's; a withheld finding
 * relates none).
 */
function copiesHeldOffFix(findings: readonly Finding[]): string {
  const nodes = new Set<string>();
  for (const finding of findings) {
    for (const object of finding.related ?? []) {
      if (object.kind === 'Replica' && object.node !== undefined && object.node !== finding.object.node) nodes.add(object.node);
    }
  }
  const named = nodes.size === 0 ? 'the nodes holding the other copies' : fewNamed([...nodes]);
  const them = nodes.size === 1 ? 'it' : 'them';
  // An uncordon brings back a node only cordoned, not one being removed or whose NoExecute taint stops its replica.
  const back = findings.some((finding) => finding.tags.includes(COPIES_NOT_ONLY_CORDONED_TAG))
    ? `finish the maintenance or removal of ${named} first (or undo what takes ${them} out of service, as said above)`
    : `uncordon ${named} or finish ${nodes.size === 1 ? 'its' : 'their'} maintenance first`;
  return (
    `${back}, or raise numberOfReplicas to one more ` +
    'than the healthy replicas so Longhorn places a copy on a schedulable node, and wait until it is healthy'
  );
}

/** A single-replica finding with no copy left, each told apart by its fix and its fate. */
const NO_COPY_TAGS: readonly string[] = [NO_COPY_LEFT_TAG, DATA_IN_FAILED_TAG, DATA_LOST_TAG, SALVAGED_TAG];

/**
 * The fix of a volume salvaged after all its replicas failed, none served since (SALVAGED_TAG): its engine picks the
 * newest replica when it runs them, and Longhorn rebuilds the others from it, only while the volume is attached.
 */
const ATTACH_SALVAGED =
  'where its replicas were salvaged and none served since, attach the volume (start its workload) so that its engine ' +
  'picks the newest, and wait until Longhorn has rebuilt the others';

/** The fix of a volume whose healthy replicas are gone, its data left in failed ones (DATA_IN_FAILED_TAG). */
const SALVAGE_LEFT_DATA =
  'where the data is left in failed replicas, salvage the volume from them (Longhorn UI: Volume > Salvage) or restore ' +
  'it from a backup';

/** The fix of a volume whose healthy replicas are gone with no failed replica that held data (DATA_LOST_TAG). */
const RESTORE_LOST_DATA = 'where no replica holds its data any more, restore it from a backup, or delete the volume';

/** The fix of a volume with no copy left: its healthy replica's node or disk back (NO_COPY_LEFT_TAG). */
const BRING_BACK_COPY =
  'where no copy is left, bring back the node or disk holding its healthy replica (a disk Longhorn reports not ready: ' +
  'mount it again), and wait until the volume is healthy';

/**
 * Added to a rebuild advice when a volume is detached: Longhorn rebuilds replicas through the volume's engine, which runs
 * only while it is attached, and reports a detached volume's robustness as unknown, never healthy.
 */
const DETACHED_REBUILD = 'a detached volume gets its new replica only while attached: attach it (start its workload) until it is rebuilt';

/** DETACHED_REBUILD when one of the findings is of a detached volume. */
function detachedRebuild(findings: readonly Finding[]): string {
  return findings.some((finding) => finding.tags.includes('detached')) ? `; ${DETACHED_REBUILD}` : '';
}

/** The fix of a volume short of healthy replicas whose numberOfReplicas is already 2 or more (single-replica's `effective`). */
const EFFECTIVE_REBUILD =
  'numberOfReplicas is already 2 or more: wait until Longhorn has rebuilt the missing replicas (a replica that stays ' +
  'stopped or failed needs repair in Longhorn first)';

/** Why copiesHeldOffFix: a volume healthy in Longhorn's eyes gets no rebuild. */
const COPIES_HELD_OFF = 'Longhorn still counts the copies on cordoned or leaving nodes and rebuilds nothing';

export const CHECK_TEXT: Readonly<Record<CheckId, CheckText>> = {
  'single-replica': {
    summary: (n) => `${plural(n, 'Longhorn volume has a single copy of its', 'Longhorn volumes have a single copy of their')} data`,
    // numberOfReplicas 1 with copies left on several nodes (lowered from more) has more than a single copy today.
    summaryFor: (n, findings) => {
      const several = findings.filter((finding) => finding.tags.includes('several-copies')).length;
      if (several === 0) return CHECK_TEXT['single-replica'].summary(n);
      if (several === findings.length) return `${plural(n, 'Longhorn volume is', 'Longhorn volumes are')} set to a single replica (numberOfReplicas 1)`;
      return `${plural(n, 'Longhorn volume has', 'Longhorn volumes have')} a single copy of ${n === 1 ? 'its' : 'their'} data or numberOfReplicas 1`;
    },
    fix: 'raise numberOfReplicas to 2 or more and wait until healthy (Longhorn makes no second copy while it is 1), or back the data up',
    fixOf: (findings) => {
      if (findings.length === 0) return undefined;
      if (findings.every((finding) => finding.tags.includes(NO_DATA_TAG))) return `${NO_DATA_FIX}.`;
      // Short of copies with numberOfReplicas already 2 or more: Longhorn's volume controller rebuilds toward it on its
      // own (longhorn-manager volume_controller.go, replenishReplicas), so raising it is no fix; waiting for that is.
      if (findings.every((finding) => finding.tags.includes('effective') && !NO_COPY_TAGS.some((tag) => finding.tags.includes(tag)))) {
        return `${EFFECTIVE_REBUILD}${detachedRebuild(findings)}.`;
      }
      if (findings.every((finding) => finding.tags.includes(STRICT_LOCAL_TAG))) return `${STRICT_LOCAL_FIX}.`;
      return undefined;
    },
    fixFor: (situation, findings) => {
      // Volumes that never held data (only Harvester's upgrades count them): nothing to back up or wait for.
      if (findings.length > 0 && findings.every((finding) => finding.tags.includes(NO_DATA_TAG))) return `${NO_DATA_FIX}; then ${retry(situation)}.`;
      // No copy left: nothing to rebuild from, and a higher numberOfReplicas makes none, until its replica is back.
      const noCopy = findings.some((finding) => finding.tags.includes(NO_COPY_LEFT_TAG));
      const inFailed = findings.some((finding) => finding.tags.includes(DATA_IN_FAILED_TAG));
      const lost = findings.some((finding) => finding.tags.includes(DATA_LOST_TAG));
      const salvaged = findings.some((finding) => finding.tags.includes(SALVAGED_TAG));
      const rest = findings.filter((finding) => !NO_COPY_TAGS.some((tag) => finding.tags.includes(tag)));
      const effective = rest.some((finding) => finding.tags.includes('effective'));
      const configured = rest.some((finding) => !finding.tags.includes('effective'));
      const parts: string[] = [];
      if (noCopy) parts.push(BRING_BACK_COPY);
      if (inFailed) parts.push(SALVAGE_LEFT_DATA);
      if (lost) parts.push(RESTORE_LOST_DATA);
      if (salvaged) parts.push(ATTACH_SALVAGED);
      // A volume withheld from the requester (another namespace's, at an eviction) has no namespace: not named.
      const only = findings.length === 1 && findings[0]?.object.namespace ? findings[0].object.name : undefined;
      // Said after the usual advice where no other node takes replicas now (one down or cordoned may come back). A
      // lowered volume with copies on several nodes still has them: raising its count keeps them.
      const sole = !findings.some((finding) => finding.tags.includes('several-copies')) && noOtherNode(situation);
      // With no other Longhorn node at all, no raise or rebuild ever makes a second copy: backing up leads instead.
      const alone = sole && aloneInCluster(situation);
      const raise = (rest.every((finding) => finding.tags.includes('several-copies')) ? RAISE_REPLICAS_KEPT : RAISE_REPLICAS)(longhornNamespaceOf(findings));
      if (configured && !alone) parts.push((only ? raise.replace('"<volume>"', only) : raise) + detachedRebuild(rest) + strictLocalFix(rest));
      if (effective && !alone) parts.push('where numberOfReplicas is already 2 or more, wait until Longhorn has rebuilt the missing replicas');
      if (alone && parts.length === 0) return soleNodeFix(situation, findings.length, true);
      return `${parts.join('; ')}; then ${retry(situation)}.${sole ? ` ${soleNodeFix(situation, findings.length)}` : ''}`;
    },
    fate: (finding, situation) =>
      finding.tags.includes(NO_DATA_TAG)
        ? { fate: 'at risk', why: "it never held data (no replica was ever healthy), but Harvester's own upgrade check refuses every numberOfReplicas-1 volume" }
        : finding.tags.includes('several-copies')
          ? { fate: 'at risk', why: 'numberOfReplicas is 1: a copy lost while nodes restart is not rebuilt, and the last one goes with its node' }
          : finding.tags.includes(NO_COPY_LEFT_TAG)
            ? { fate: 'at risk', why: 'no copy left: its data waits on nodes or disks that are down or not ready, lost if they are wiped or removed' }
            : finding.tags.includes(DATA_LOST_TAG)
              ? { fate: 'lost', why: 'no copy left: no replica holds its data any more' }
              : finding.tags.includes(SALVAGED_TAG)
                ? nodeLoss(situation, 'maybe its newest data')
              : // DATA_IN_FAILED_TAG: the failed replicas salvage would take are its only copy.
                nodeLoss(situation, 'its only copy'),
  },
  'volume-health': {
    summary: (n) => `${plural(n, 'Longhorn volume is', 'Longhorn volumes are')} not healthy`,
    fix: 'wait until Longhorn has rebuilt the replicas (robustness healthy), or repair the volume first (faulted: salvage it)',
    // Without a situation (a longhorn-manager image change): faulted volumes alone get no rebuild to wait for.
    fixOf: (findings) => (findings.length > 0 && findings.every((finding) => finding.tags.includes('faulted')) ? `${SALVAGE_FAULTED}.` : undefined),
    fixFor: (situation, findings) => {
      const parts: string[] = [];
      // A faulted volume has no healthy replica: Longhorn rebuilds from a healthy one, so waiting brings nothing back.
      if (findings.some((finding) => finding.tags.includes('faulted'))) parts.push(SALVAGE_FAULTED);
      const rebuilding = findings.filter((finding) => !finding.tags.includes('faulted'));
      if (rebuilding.length > 0) {
        parts.push(
          'wait until Longhorn has rebuilt the replicas (robustness healthy); a replica that stays stopped, failed or on a ' +
            'missing disk needs repair in Longhorn first',
        );
      }
      // Said after the usual advice, as for the other checks: with one node taking replicas no rebuild comes.
      const sole = rebuilding.length > 0 && noOtherNode(situation);
      return `${parts.join('; ')}; then ${retry(situation)}.${sole ? ` ${soleNodeFix(situation, rebuilding.length)}` : ''}`;
    },
    fate: (finding) =>
      finding.tags.includes('faulted')
        ? { fate: 'at risk', why: 'faulted: no healthy replica left, the data is only in failed ones' }
        : { fate: 'at risk', why: 'already short of healthy copies: restarting or losing a node can take the rest' },
  },
  'last-replica-on-node': {
    summary: (n) => `${plural(n, 'Longhorn volume has its', 'Longhorn volumes have their')} only healthy replica on the node`,
    // A volume whose other healthy copies are on cordoned or leaving nodes still has them: the heading says so
    // rather than "only healthy replica", which reads as a degraded volume.
    summaryFor: (n, findings) => {
      const held = findings.filter(hasCopiesHeldOff).length;
      if (held === 0) return CHECK_TEXT['last-replica-on-node'].summary(n);
      if (held === findings.length) {
        return `${plural(n, 'Longhorn volume has its', 'Longhorn volumes have their')} other healthy copies on cordoned or leaving nodes, the last one in service on the node`;
      }
      return `${plural(n, 'Longhorn volume has its', 'Longhorn volumes have their')} only healthy replica, or the only one off cordoned or leaving nodes, on the node`;
    },
    fix: 'let Longhorn rebuild a healthy replica on another node first (with numberOfReplicas 1, raise it: Longhorn makes no second copy otherwise)',
    fixOf: (findings) => {
      if (findings.length > 0 && findings.every(hasCopiesHeldOff)) return `${COPIES_HELD_OFF}: ${copiesHeldOffFix(findings)}.`;
      return findings.length > 0 && findings.every((finding) => finding.tags.includes(STRICT_LOCAL_TAG)) ? `${STRICT_LOCAL_FIX}.` : undefined;
    },
    fixFor: (situation, findings) => {
      const rebuild =
        'let Longhorn rebuild a healthy replica on another node (with numberOfReplicas 1, raise it to 2 or more first: ' +
        'Longhorn makes no second copy otherwise) and wait until it is healthy';
      // No other Longhorn node at all: no rebuild ever comes (nor are copies held off elsewhere), backing up is the fix.
      if (aloneInCluster(situation)) return soleNodeFix(situation, findings.length, true);
      const held = findings.filter(hasCopiesHeldOff);
      const advice =
        held.length === 0
          ? rebuild
          : held.length === findings.length
            ? `${COPIES_HELD_OFF}: ${copiesHeldOffFix(held)}`
            : `${rebuild}; where the other copies are on cordoned or leaving nodes (Longhorn counts them and rebuilds nothing): ${copiesHeldOffFix(held)}`;
      const strict = held.length === findings.length ? '' : strictLocalFix(findings);
      return `${advice}${held.length === findings.length ? '' : detachedRebuild(findings)}${strict}; then ${retry(situation)}.` + (noOtherNode(situation) ? ` ${soleNodeFix(situation, findings.length)}` : '');
    },
    fate: (finding, situation) => nodeLoss(situation, hasCopiesHeldOff(finding) ? 'its only copy in service' : 'its only healthy copy'),
  },
  'node-local-volume': {
    summary: (n) => `${plural(n, 'object keeps', 'objects keep')} data only on the node`,
    fix:
      'before maintenance that wipes or replaces the node, back the data up or move it to storage on another node (a pod ' +
      'writing to hostPath or emptyDir: keep its data in a PersistentVolume); a reboot that keeps the disk loses nothing',
    fixFor: (situation, findings) => {
      // A rollout's findings are on the nodes it replaces: the one they are all on is named.
      const nodes = new Set(findings.map((finding) => finding.object.node));
      const only = nodes.size === 1 ? [...nodes][0] : undefined;
      const node = nodeOf(situation) ?? only ?? 'the node';
      const pods = findings.some((finding) => finding.object.kind === 'Pod')
        ? ` (a pod writing to hostPath or emptyDir: keep its data in a PersistentVolume)`
        : '';
      const move = `back the data up or move it to storage that is not on ${node}${pods}`;
      const goes = nodeGoes(situation) ?? (findings.some((finding) => finding.tags.includes('node-removed')) ? 'removed' : undefined);
      // A Released PV's claim is gone: often data nobody wants, which deleting the PV object clears.
      const released = findings.some((finding) => finding.tags.includes('released')) ? '; a Released PV whose data is obsolete: delete the PV' : '';
      if (goes) return `${node} is ${goes} with its disks: ${move} first${released}.`;
      if (situation.kind === 'eviction') return `${move} first; for maintenance that keeps ${node}'s disk, override.`;
      return `if ${node} will be wiped or replaced, ${move} first; if it only reboots with its disk kept, nothing is lost: override.`;
    },
    fate: (finding, situation) => {
      const node = finding.object.node ?? nodeOf(situation) ?? 'its node';
      // Removed for good: every kind of finding goes with the node's disks (a Released PV no pod uses included).
      const goes = nodeGoes(situation) ?? (finding.tags.includes('node-removed') ? 'removed' : undefined);
      if (goes) return { fate: 'lost', why: `lost with ${node}: the node is ${goes} and its disks go` };
      if (finding.object.kind === 'Pod') {
        return { fate: 'lost', why: 'lost to a pod that moves: it comes back elsewhere without it' };
      }
      // No affinity pins the PV: its pod may come back on any node, where the same path holds other (or no) data.
      if (finding.tags.includes('unpinned')) {
        return { fate: 'lost', why: `lost to a pod that moves: no affinity keeps its pod on ${node}, elsewhere the path is empty` };
      }
      return { fate: 'stranded', why: `stranded on ${node}: pods using it can run nowhere else; lost if ${node} is wiped or replaced` };
    },
  },
  'orphan-pvc': {
    summary: (n) => `${plural(n, 'existing PVC', 'existing PVCs')} would be adopted or left behind with old data`,
    summaryFor: (n, findings) => {
      const fates = new Set(findings.map(orphanFate));
      if (fates.size !== 1) return `${plural(n, 'existing PVC', 'existing PVCs')} would be adopted or left behind with old data`;
      if (!fates.has('adopted')) return `${plural(n, 'PVC', 'PVCs')} would be left behind with ${n === 1 ? 'its' : 'their'} data`;
      if (findings.every(isUnboundClaim)) return `${plural(n, 'existing PVC', 'existing PVCs')} would be taken over`;
      // Warnings only: the release's own data coming back (a rollback, a re-created StatefulSet), not old data.
      if (findings.every((finding) => finding.severity === 'warning')) return `${plural(n, 'existing PVC', 'existing PVCs')} would be re-attached`;
      return `${plural(n, 'existing PVC', 'existing PVCs')} would be adopted with old data`;
    },
    fix: 'delete the PVCs if their data is obsolete, or annotate them volume-guard.io/reuse=true if it is meant to be reused',
    // PVCs another live StatefulSet claims are its data: deleting them is no fix.
    fixOf: (findings) => (findings.length > 0 && findings.every(isSharedClaim) ? `${SHARED_CLAIM_FIX}.` : undefined),
    fixFor: (situation, findings, total) => {
      const ns = situation.kind === 'helm' ? situation.namespace : '<namespace>';
      // A PVC of another namespace, its name withheld (withheldClaim), is not named in a command: its reason says how to list them.
      const withheld = findings.filter((finding) => finding.object.namespace === undefined && finding.object.kind === 'PersistentVolumeClaim');
      const own = findings.filter((finding) => !isSharedClaim(finding) && !withheld.includes(finding));
      const ownClaims = own.filter((finding) => finding.object.kind === 'PersistentVolumeClaim');
      const claims = ownClaims.slice(0, NAMED_IN_FIX);
      const names = claims.length > 0 ? claims.map((finding) => finding.object.name).join(' ') : '<pvc>';
      // The findings not at hand (a long listing is cut) are counted as PVCs: the commands say they name only some.
      const allClaims = ownClaims.length + Math.max(0, total - findings.length);
      const stranded = own.some((finding) => orphanFate(finding) === 'stranded');
      const adoptedClaims = own.filter((finding) => orphanFate(finding) === 'adopted');
      const adopted = adoptedClaims.length > 0;
      // Claims no PV is bound to hold no data yet: what makes them obsolete is not their data.
      const obsolete = adoptedClaims.every(isUnboundClaim) ? 'obsolete' : 'old data obsolete';
      const parts: string[] = [];
      if (findings.some(isSharedClaim) && withheld.length < findings.length) parts.push(SHARED_CLAIM_FIX);
      if (withheld.length > 0) {
        parts.push('PVCs of another namespace: an admin there deletes them if their data is obsolete, or annotates them volume-guard.io/reuse=true volume-guard.io/skip-by="<their user name>"');
      }
      if (adopted) {
        // Each command on a line of its own (hangingLines never splits one), and how many PVCs they name.
        const all = situation.kind === 'helm' ? orphanListing(situation, findings, total).command : auditCommand(situation);
        const named = claims.length > 0 && claims.length < allClaims ? `\n(the commands name ${claims.length} of ${allClaims}; all: ${all})` : '';
        parts.push(
          `${obsolete}: kubectl delete pvc -n ${ns} ${names}\nmeant to be reused: ` +
            `kubectl annotate pvc -n ${ns} ${names} volume-guard.io/reuse=true volume-guard.io/skip-by=${WRITER_PLACEHOLDER}${named}`,
        );
      }
      if (stranded) {
        // Stranded only by an upgrade or a rollback (a rollback's own revision drops the StatefulSet).
        // A rollback's chart is the old revision's (and --atomic's is chosen for the user): pick another revision.
        if (situation.kind === 'helm' && situation.operation === 'rollback') {
          parts.push('roll back to a revision that still declares the StatefulSet, or back the data up and delete those PVCs after the rollback');
        } else parts.push('keep the StatefulSet or claim template in the chart, or back the data up and delete those PVCs after the upgrade');
      }
      const then =
        situation.kind === 'helm' && situation.controller !== undefined
          ? controllerRetry(situation.controller)
          : situation.kind === 'helm' && isReplaceInstall(situation)
            ? 'run helm upgrade --install (not install --replace)'
            : 'run helm again';
      return `${parts.join('; ')}; then ${then}.`;
    },
    fate: (finding) => {
      const fate = orphanFate(finding);
      return { fate, why: finding.reason };
    },
  },
  'pvc-delete': {
    summary: (n) => `${plural(n, 'Bound PVC', 'Bound PVCs')} would be deleted with the data on ${n === 1 ? 'its volume' : 'their volumes'}`,
    summaryFor: (n, findings) => {
      if (findings.every((finding) => finding.object.kind === 'PersistentVolume')) {
        return `${plural(n, 'PV whose claim is gone', 'PVs whose claims are gone')} would be reclaimed with the data on ${n === 1 ? 'it' : 'them'}`;
      }
      if (findings.every((finding) => finding.object.kind === 'Volume')) return `${plural(n, 'Longhorn volume', 'Longhorn volumes')} would be deleted with ${n === 1 ? 'its' : 'their'} data`;
      // Deleted under reclaim Retain (a warning): the data stays on the Released PV.
      if (findings.every((finding) => finding.tags.includes('reclaim-retain'))) return `${plural(n, 'Bound PVC', 'Bound PVCs')} would be deleted; reclaim Retain keeps the data`;
      // Or under a Recycle no recycler serves: the PV is marked Failed with the data.
      if (findings.every((finding) => finding.tags.includes('reclaim-retain') || finding.tags.includes(RECYCLE_WITHOUT_RECYCLER_TAG))) {
        return `${plural(n, 'Bound PVC', 'Bound PVCs')} would be deleted; ${n === 1 ? 'its PV keeps' : 'their PVs keep'} the data`;
      }
      return `${plural(n, 'Bound PVC', 'Bound PVCs')} would be deleted with the data on ${n === 1 ? 'its volume' : 'their volumes'}`;
    },
    fix: PVC_DELETE_FIX,
    fixOf: pvcDeleteFixOf,
    // A Helm upgrade or rollback dropping a StatefulSet: Helm spares the StatefulSet (and so its PVCs) that the chart
    // keeps or whose live object says helm.sh/resource-policy: keep; that annotation on the PVCs does nothing for them.
    fixFor: (situation, findings) => {
      if (situation.kind === 'helm' && findings.length > 0 && findings.every((finding) => finding.tags.includes('deleted-with-statefulset'))) {
        return (
          'back the data up, or keep the StatefulSet: leave it in the chart, or annotate the live one helm.sh/resource-policy: keep; ' +
          'mark the PVCs volume-guard.io/delete=true if they may go.'
        );
      }
      // The Namespace a revision no longer renders: Helm reads keep on the live Namespace before deleting it.
      if (situation.kind === 'helm' && findings.length > 0 && findings.every((finding) => finding.tags.includes('deleted-with-namespace'))) {
        const namespaces = [...new Set(findings.map((finding) => finding.object.namespace ?? ''))];
        const namespace = namespaces.length === 1 ? namespaces[0] : '<namespace>';
        return (
          `back the data up, or keep the Namespace: leave it in the chart, or kubectl annotate namespace ${namespace} helm.sh/resource-policy=keep; ` +
          'mark the PVCs volume-guard.io/delete=true if they may go.'
        );
      }
      return pvcDeleteFixOf(findings) ?? `${PVC_DELETE_FIX}.`;
    },
    fate: (finding, _situation, many = false) => {
      if (finding.tags.includes('claim-ref-changed')) {
        return { fate: 'lost', why: many ? 'released and reclaimed: their claimRefs name claims that are gone' : 'released and reclaimed: its claimRef names a claim that is gone' };
      }
      if (finding.tags.includes('reclaim-policy-changed')) {
        // A PV created so (no earlier policy): reclaimed as soon as the PV controller sees its claim gone.
        if (finding.tags.includes('pv-created')) return { fate: 'lost', why: many ? 'reclaimed as soon as they are created: their claims are gone' : 'reclaimed as soon as it is created: its claim is gone' };
        return { fate: 'lost', why: many ? 'reclaimed by their new policy once their claims are gone' : 'reclaimed by its new policy once its claim is gone' };
      }
      if (finding.tags.includes('volume-deleted')) return { fate: 'lost', why: many ? 'Longhorn deletes their replicas' : 'Longhorn deletes its replicas' };
      if (finding.tags.includes('reclaim-retain')) {
        return { fate: 'stranded', why: many ? 'deleted; their data stays on Released PVs, rebound only by hand' : 'deleted; its data stays on a Released PV, rebound only by hand' };
      }
      if (finding.tags.includes(RECYCLE_WITHOUT_RECYCLER_TAG)) {
        return { fate: 'stranded', why: many ? 'deleted; no recycler serves their PVs, which keep the data, Failed' : 'deleted; no recycler serves its PV, which keeps the data, Failed' };
      }
      return { fate: 'lost', why: many ? 'deleted, and the reclaim policy of their PVs destroys the data' : 'deleted, and its PV reclaim policy destroys the data' };
    },
  },
  'storage-teardown': {
    summary: (n) => `${plural(n, 'Longhorn volume', 'Longhorn volumes')} would lose ${n === 1 ? 'its' : 'their'} data`,
    fix: 'back up the data and delete those volumes (and their PVCs) first, or keep Longhorn and its safety settings',
    fixOf: (findings) => {
      if (findings.length > 0 && findings.every((finding) => finding.tags.includes('replica-delete'))) {
        // No healthy copy to rebuild from, and a faulted volume cannot be backed up: salvage first.
        if (findings.every((finding) => finding.tags.includes(SALVAGE_SOURCE_TAG))) {
          return 'keep the replica; let Longhorn salvage the volume from it (auto-salvage, or Salvage in the Longhorn UI choosing it), then let it rebuild its copies.';
        }
        return 'keep the replica; let Longhorn rebuild another healthy copy (or back the volume up) first.';
      }
      // A weaker drain policy deletes nothing itself: the volumes need a second copy, or a policy that moves the last one.
      if (findings.length > 0 && findings.every((finding) => finding.tags.includes('drain-policy'))) {
        return (
          'raise numberOfReplicas of those volumes to 2 or more and wait until they are healthy, then change the setting; ' +
          'to let drains through safely, use node-drain-policy block-for-eviction-if-contains-last-replica ' +
          '(Longhorn moves a last copy off the node first).'
        );
      }
      return undefined;
    },
    fate: (finding) =>
      finding.tags.includes('drain-policy')
        ? { fate: 'at risk', why: 'a drain of the node holding its only copy could take it' }
        : finding.tags.includes('replica-delete')
          ? { fate: 'lost', why: 'Longhorn deletes the data of a deleted replica' }
          : { fate: 'lost', why: 'Longhorn deletes the volume and its data' },
  },
};

/** One finding's situation-free fix (the audit's): fitted to it where its check words findings apart (fixOf). */
export function findingFix(finding: Finding): string {
  const text = CHECK_TEXT[finding.check];
  return text.fixOf?.([finding])?.replace(/\.$/, '') ?? text.fix;
}

/**
 * findingFix on a cluster whose only Longhorn node is `node` (any state): Longhorn places no two replicas of a volume
 * on one node (replica-soft-anti-affinity off by default), so neither a higher numberOfReplicas nor a rebuild ever
 * makes a second copy, and backing up is the fix, as the webhook's denial says (fixFor with noOtherLonghornNode).
 * Undefined where the finding's own fix stands (no copy left, never held data, another check).
 */
export function soleLonghornNodeFix(finding: Finding, node: string): string | undefined {
  if (finding.check !== 'single-replica' && finding.check !== 'last-replica-on-node') return undefined;
  if (finding.tags.some((tag) => tag === NO_DATA_TAG || tag === 'several-copies' || NO_COPY_TAGS.includes(tag))) return undefined;
  return soleNodeFix({ kind: 'cordon', node }, 1, true).replace(/\.$/, '');
}

/** A numberOfReplicas-1 volume that never held data (only Harvester's upgrades count it): nothing to back up or wait for. */
const NO_DATA_FIX =
  'delete such a volume if it is not used, or raise its numberOfReplicas to 2 (a detached volume gets its copies when next attached); ' +
  'or, for detached ones, annotate the Upgrade harvesterhci.io/skipSingleReplicaDetachedVol: "true"';

const SHARED_CLAIM_FIX = "rename the StatefulSet or its claim template: its PVC names collide with another live StatefulSet's";

/** A PVC another live StatefulSet claims under the same name (orphan-pvc's shared-claim). */
function isSharedClaim(finding: Finding): boolean {
  return finding.tags.includes('shared-claim');
}

/** A PVC no PV is bound to (orphan-pvc's unbound): taken over as a claim, with no old data to speak of. */
function isUnboundClaim(finding: Finding): boolean {
  return finding.tags.includes(UNBOUND_TAG);
}

/** Adopted (a new owner mounts the old data) or stranded (no owner left to use it), from the rule that found it. */
function orphanFate(finding: Finding): Fate {
  return finding.tags.includes('dropped-statefulset') || finding.tags.includes('renamed-claim-template') ? 'stranded' : 'adopted';
}

/** `cordon it again`, `create the Upgrade again`: the step after the fix. */
function retry(situation: Situation): string {
  switch (situation.kind) {
    case 'cordon':
      return (
        situation.again ??
        (situation.removed === true ? `remove ${situation.node} again` : situation.taint !== undefined ? `taint ${situation.node} again` : `cordon ${situation.node} again`)
      );
    case 'eviction':
      return 'drain again';
    case 'upgrade':
      return situation.operation === 'CREATE' ? `create the ${situation.kindName} again` : `apply the change to the ${situation.kindName} again`;
    case 'helm':
      return `run ${helmCommand(situation)} again`;
  }
}

/** What a finding's object is or will be: `lost`, `adopted`, `stranded`, `at risk`, with why. */
export function fateOf(finding: Finding, situation?: Situation, many = false): { readonly fate: Fate; readonly why: string } {
  return CHECK_TEXT[finding.check]?.fate?.(finding, situation, many) ?? { fate: 'at risk', why: finding.reason };
}

/** The opening of a denial: what was refused, and how many objects are at stake. */
export function verdictLine(action: string, count: number): string {
  return `volume-guard refused the ${action}: ${plural(count, 'risk', 'risks')} of data loss.`;
}

/**
 * How a Helm operation a service account ran is run again: Flux's helm-controller leaves a refused HelmRelease
 * stalled (no remediation retries by default) until it is forced; a CI job is re-run.
 */
function controllerRetry(controller: string): string {
  return controller.endsWith('/helm-controller')
    ? 'force the HelmRelease: flux reconcile helmrelease "<name>" -n "<namespace>" --force'
    : `run it again (as ${controller})`;
}

/** A sentence that frames what the risk really is for this situation, or undefined. */
export function situationNote(situation: Situation | undefined): string | undefined {
  if (!situation) return undefined;
  switch (situation.kind) {
    case 'cordon':
      if (situation.how !== undefined) return `${situation.how}\n${situationNote({ ...situation, how: undefined })}`;
      if (situation.removed === true) return `The node is removed, not only emptied: what is kept on its disks goes with it.`;
      if (situation.taint === 'NoExecute') return `The taint manager would delete the pods that do not tolerate it at once, past any PodDisruptionBudget.`;
      if (situation.taint === 'NoSchedule') return `The taint itself loses nothing; the drain or maintenance that follows would.`;
      return `The cordon itself loses nothing; the drain or maintenance that follows would.`;
    case 'eviction':
      // kubectl drain prints an eviction's refusal three times: no line that the check's own lines do not need, but
      // why a restart identity's eviction was judged as no restart.
      return situation.notRestart === undefined ? undefined : `Not a restart: ${situation.notRestart}.`;
    case 'upgrade':
      return situation.operation === 'CREATE'
        ? `The ${situation.kindName} was not created; the upgrade reboots or replaces nodes one by one.`
        : `The change was not applied; it would reboot or replace nodes one by one.`;
    case 'helm':
      return `Helm stopped before changing any resource.`;
  }
}

export function describeObject(object: AffectedObject): string {
  return `${object.kind} ${objectRef(object)}${object.node ? ` on node ${object.node}` : ''}`;
}

/** `PersistentVolumeClaim` → `PVC` in compact lines. */
function shortKind(kind: string): string {
  if (kind === 'PersistentVolumeClaim') return 'PVC';
  if (kind === 'PersistentVolume') return 'PV';
  return kind;
}

/** `Volume longhorn-system/pvc-1 on node n1 (PersistentVolumeClaim app/data-0): only healthy replica is on node n1`. */
export function describeFinding(finding: Finding): string {
  const related = finding.related?.length
    ? ` (${finding.related.map((object) => `${object.kind} ${objectRef(object)}`).join(', ')})`
    : '';
  return `${describeObject(finding.object)}${related}: ${finding.reason}`;
}

/**
 * One line for one object of a denial: `Volume longhorn-system/pvc-a (PVC app/data-a): <why>`. Related objects
 * are named while they fit (claims first); Longhorn replicas only when they are on the node in question. To fit
 * `max`, a replica gives way before a claim: the PVC is the name the operator knows (a volume's is a UUID).
 * `keepClaim` (a line wrapped over several, wholeObjectLine): the claim stays even if the reason must be cut for it.
 */
export function objectLine(finding: Finding, situation?: Situation, max = MAX_LINE_LENGTH, keepClaim = false): string {
  return fitObjectLine(finding, situation, max, keepClaim).line;
}

/** objectLine, and whether the line had to be cut (nothing fit whole). */
function fitObjectLine(finding: Finding, situation: Situation | undefined, max: number, keepClaim: boolean): { line: string; cut: boolean } {
  const related = relatedInLine(finding.related, nodeOf(situation));
  const prefix = finding.check === 'orphan-pvc' ? `${fateOf(finding, situation).fate}: ` : '';
  const head = `${prefix}${shortKind(finding.object.kind)} ${objectRef(finding.object)}`;
  const reason = `: ${finding.reason}`;
  const lineOf = (shown: readonly AffectedObject[], counted = true): string => {
    if (shown.length === 0) return `${head}${reason}`;
    const names = shown.map((object) => `${shortKind(object.kind)} ${objectRef(object)}${object.kind === 'Replica' ? ` on ${object.node}` : ''}`);
    const more = counted && related.length > shown.length ? `, ${related.length - shown.length} more` : '';
    return `${head} (${names.join(', ')}${more})${reason}`;
  };
  // Related objects are named while the line fits; the reason never gives way to them (but to a claim, `keepClaim`).
  const claim = related.find((object) => object.kind !== 'Replica');
  let shown = related.slice(0, 3);
  for (;;) {
    const line = lineOf(shown);
    if (line.length <= max) return { line, cut: false };
    if (shown.length === 0) break;
    // The last replica named goes first, then the last of the others.
    const replica = shown.findLastIndex((object) => object.kind === 'Replica');
    shown = shown.filter((_, index) => index !== (replica >= 0 ? replica : shown.length - 1));
    if (keepClaim && claim !== undefined && !shown.includes(claim)) break;
  }
  // Nothing fits whole: a warning keeps the claim and cuts the reason, while some of the reason still shows.
  if (keepClaim && claim !== undefined) {
    const named = lineOf([claim], false);
    if (named.length - reason.length + CLAIM_REASON_ROOM <= max) return { line: shorten(named, max), cut: true };
  }
  return { line: shorten(lineOf([]), max), cut: true };
}

/**
 * How long an object's line may run when wrapped over several lines (a denial's, a warning's) before it is cut: a
 * Longhorn volume with three stopped replicas on a lost disk says so in about 600 characters with Longhorn's names.
 */
const MAX_WRAPPED_OBJECT_LINE = 5 * MAX_LINE_LENGTH;

/**
 * An object's line in a denial: one line when the object and its reason fit the width (related objects named while
 * they fit); otherwise the whole line, related objects and reason, wrapped at word boundaries with continuations
 * indented under it. Cutting it would drop what the operator needs: Longhorn's real names are long (a volume
 * `pvc-<uuid>`, its replicas `<volume>-r-<hex>`, disks by UUID), and the PVC and the disk named last would go.
 */
export function denialObjectLine(finding: Finding, situation?: Situation): string {
  return wrap(wholeObjectLine(finding, situation), MAX_LINE_LENGTH).join('\n  ');
}

/**
 * An object's line as one string: within the width when the object and its reason fit it, else the whole line (up to
 * MAX_WRAPPED_OBJECT_LINE), for the caller to wrap: a denial's lines (denialObjectLine), a warning's (warningLines).
 */
function wholeObjectLine(finding: Finding, situation: Situation | undefined): string {
  const fitted = fitObjectLine(finding, situation, MAX_LINE_LENGTH, false);
  return fitted.cut ? objectLine(unrepeated(finding), situation, MAX_WRAPPED_OBJECT_LINE, true) : fitted.line;
}

/** The finding without the related objects its reason names already (a wrapped line says each name once). */
function unrepeated(finding: Finding): Finding {
  const related = finding.related?.filter((object) => !namesObject(finding.reason, objectRef(object)));
  return related === undefined || related.length === finding.related?.length ? finding : { ...finding, related };
}

/** Whether `text` holds `ref` as a whole name (not inside a longer one). */
function namesObject(text: string, ref: string): boolean {
  const nameChar = /[A-Za-z0-9._/-]/;
  for (let at = text.indexOf(ref); at >= 0; at = text.indexOf(ref, at + 1)) {
    const before = text[at - 1];
    const after = text[at + ref.length];
    if ((before === undefined || !nameChar.test(before)) && (after === undefined || !nameChar.test(after) || (after === '.' && !nameChar.test(text[at + ref.length + 1] ?? ' ')))) return true;
  }
  return false;
}


/** The characters of its reason a warning's object line keeps at least when it keeps the claim (objectLine). */
const CLAIM_REASON_ROOM = 24;

/**
 * The related objects a line names, in order: the replicas on the node in question first (they are what makes the
 * volume a risk there), then the others; replicas elsewhere are left out.
 */
function relatedInLine(all: readonly AffectedObject[] | undefined, node: string | undefined): readonly AffectedObject[] {
  if (all === undefined) return [];
  if (!all.some((object) => object.kind === 'Replica')) return all;
  const onNode: AffectedObject[] = [];
  const others: AffectedObject[] = [];
  for (const object of all) {
    if (object.kind !== 'Replica') others.push(object);
    else if (node !== undefined && object.node === node) onNode.push(object);
  }
  return onNode.length === 0 ? others : [...onNode, ...others];
}

/** Findings grouped by check, in the order checks are listed. */
export function groupByCheck(findings: readonly Finding[]): Map<CheckId, Finding[]> {
  const groups = new Map<CheckId, Finding[]>();
  for (const finding of findings) {
    const group = groups.get(finding.check);
    if (group) group.push(finding);
    else groups.set(finding.check, [finding]);
  }
  return groups;
}

/**
 * The checks `volume-guard audit` reports without a scope (the whole cluster: the upgrade and node plans, see
 * src/audit/report.ts); orphan-pvc only with `--release`, and pvc-delete and storage-teardown never.
 */
export const AUDITED_CLUSTER_WIDE: readonly CheckId[] = ['single-replica', 'volume-health', 'last-replica-on-node', 'node-local-volume'];

/**
 * The command that lists every object of a check in a situation, for "and N more"; undefined when none does: an
 * upgrade's or rollback's (the audit lists what an install would adopt, not what an upgrade or rollback deletes or
 * strands), or a check the unscoped audit never runs. `findings` (of `total`): the check's, for an install's orphan
 * PVCs, which the audit lists only when they are labelled for the release (orphanListing).
 */
export function restCommand(check: CheckId, situation: Situation | undefined, findings: readonly Finding[], total = findings.length): string | undefined {
  return restListing(check, situation, findings, total)?.command;
}

/** restCommand, and whether it is the audit (which says more of each object than the names a denial shows). */
function restListing(
  check: CheckId,
  situation: Situation | undefined,
  findings: readonly Finding[],
  total: number,
): { readonly command: string; readonly audit: boolean } | undefined {
  if (situation === undefined) return AUDITED_CLUSTER_WIDE.includes(check) ? { command: auditCommand(undefined), audit: true } : undefined;
  if (situation.kind === 'helm' && situation.operation !== 'install') return undefined;
  if (situation.kind === 'helm' && check === 'orphan-pvc') return orphanListing(situation, findings, total);
  return { command: auditCommand(situation), audit: true };
}

/**
 * The command that lists every PVC of a Helm operation's orphan-pvc findings. `volume-guard audit --release` reads no
 * manifest: of the PVCs no live StatefulSet of the release claims, it lists those labelled for the release only. So it
 * is named only when every finding is such a PVC (an install's release-labelled rule), all of them at hand. Otherwise
 * (a StatefulSet's leftover claims carry no release label, and a refused first install stores no release record: the
 * audit finds nothing) kubectl lists the PVCs of their namespace, narrowed to the names' common prefix.
 */
function orphanListing(situation: Situation & { readonly kind: 'helm' }, findings: readonly Finding[], total: number): { readonly command: string; readonly audit: boolean } {
  const complete = findings.length >= total && findings.length > 0;
  if (complete && situation.operation === 'install' && findings.every((finding) => finding.tags.includes(RELEASE_LABELLED_TAG))) {
    return { command: auditCommand(situation), audit: true };
  }
  const claims = findings.filter((finding) => finding.object.kind === 'PersistentVolumeClaim');
  const namespaces = new Set(claims.map((finding) => finding.object.namespace ?? situation.namespace));
  // A prefix of the names at hand only when they are all: one unbuilt could begin otherwise.
  const prefix = complete ? commonPrefix(claims.map((finding) => finding.object.name)) : '';
  if (namespaces.size > 1) return { command: prefix === '' ? 'kubectl get pvc -A' : `kubectl get pvc -A | grep ' ${prefix}'`, audit: false };
  const namespace = [...namespaces][0] ?? situation.namespace;
  return { command: `kubectl get pvc -n ${namespace}${prefix === '' ? '' : ` | grep '^${prefix}'`}`, audit: false };
}

/** The tag of orphan-pvc's findings for PVCs labelled for the release being installed (its release-labelled rule). */
const RELEASE_LABELLED_TAG = 'release-labelled';

/** The longest prefix the names share ('' for none). */
function commonPrefix(names: readonly string[]): string {
  let prefix = names[0] ?? '';
  for (const name of names) {
    let length = 0;
    while (length < prefix.length && length < name.length && prefix[length] === name[length]) length++;
    prefix = prefix.slice(0, length);
  }
  return prefix;
}

/** The command that lists every object of a situation, for "and N more". */
export function auditCommand(situation: Situation | undefined): string {
  if (!situation) return 'volume-guard audit';
  switch (situation.kind) {
    case 'cordon':
    case 'eviction':
      return `volume-guard audit --node ${situation.node}`;
    case 'helm':
      return `volume-guard audit --release ${situation.namespace}/${situation.release}`;
    case 'upgrade':
      return 'volume-guard audit';
  }
}

/** The consequence line under a check's heading: what happens to its objects, counted by fate. */
function consequence(findings: readonly Finding[], situation: Situation | undefined): string | undefined {
  if (findings.length === 0) return undefined;
  const many = findings.length > 1;
  if (findings[0]?.check !== 'orphan-pvc') {
    // The first two distinct reasons, in order: a node's thousand local PVs need not each be worded to find them.
    const whys = new Set<string>();
    for (const finding of findings) {
      whys.add(fateOf(finding, situation, many).why);
      if (whys.size === 2) break;
    }
    return [...whys].join('; ');
  }
  const fates = findings.map((finding) => fateOf(finding, situation, many));
  const count = (fate: Fate) => fates.filter((f) => f.fate === fate).length;
  const parts: string[] = [];
  // Adopted by whatever creates or scales the StatefulSet: a Helm release, or (no release at all) the StatefulSet
  // created or scaled up by kubectl, kustomize or a GitOps tool.
  const adopter =
    situation?.kind !== 'helm' ? 'the StatefulSet' : situation.operation === 'install' ? 'the new release' : `this ${situation.operation}`;
  // Claims no PV is bound to are taken over with no old data: counted apart from those adopted with theirs.
  const unbound = findings.filter((finding, index) => fates[index]!.fate === 'adopted' && isUnboundClaim(finding)).length;
  if (count('adopted') > unbound) parts.push(`${plural(count('adopted') - unbound, 'adopted with its', 'adopted with their')} old data by ${adopter}`);
  if (unbound > 0) parts.push(`${unbound} taken over by ${adopter}`);
  if (count('stranded')) parts.push(plural(count('stranded'), 'stranded: left with its data and nothing using it', 'stranded: left with their data and nothing using them'));
  if (count('lost')) parts.push(`${count('lost')} lost`);
  if (count('at risk')) parts.push(`${count('at risk')} at risk`);
  return parts.join('; ');
}

/**
 * A check's denial lines before the listing is cut: everything checkLines needs, computed once. The object lines
 * are worded on demand: a long denial lists only a few of them, and wording the others would be wasted work.
 */
class PreparedCheckLines {
  readonly head: readonly string[];
  readonly total: number;
  readonly fix: readonly string[];
  /** How many objects may be listed: the findings at hand, at most the cap. */
  readonly objectCount: number;
  readonly #check: CheckId;
  /** `; all of them: <command>` after a count, '' where no command lists them (restCommand). */
  readonly #pointer: string;
  /** The same after the names of the rest (#namedRest): the audit's only, as a kubectl listing adds nothing to them. */
  readonly #namedPointer: string;
  readonly #findings: readonly Finding[];
  /** The findings withheld from the requester (withheld.ts): counted, one line per description, after the listing. */
  readonly #withheld: readonly string[];
  readonly #withheldCount: number;
  /**
   * Whether findings past the cap were counted, not built, beside withheld ones: their namespaces are not known, so
   * the count of the rest says they may be other namespaces' too (the withheld lines count the built ones only).
   */
  readonly #unsortedRest: boolean;
  readonly #situation: Situation | undefined;
  readonly #lines: string[] = [];

  constructor(
    check: CheckId,
    findings: readonly Finding[],
    total: number,
    situation: Situation | undefined,
    maxListed: number,
    fitCommands?: (text: string) => string,
  ) {
    const text = CHECK_TEXT[check];
    const node = nodeOf(situation);
    const base = text.summaryFor ? text.summaryFor(total, findings) : text.summary(total);
    const summary = node ? base.replace(/ on the node$/, ` on ${node}`) : base;
    const head = [`[${check}] ${summary}`];
    const effect = consequence(findings, situation);
    if (effect) head.push(`  ${shorten(effect, MAX_LINE_LENGTH)}`);
    const advised = situation && text.fixFor ? text.fixFor(situation, findings, total) : (text.fixOf?.(findings) ?? `${text.fix}.`);
    const fix = fitCommands === undefined ? advised : fitCommands(advised);
    this.head = head;
    this.total = total;
    this.fix = hangingLines('  Fix: ', fix, FIX_WIDTH);
    const named = findings.some(isWithheld) ? findings.filter((finding) => !isWithheld(finding)) : findings;
    this.#withheld = named === findings ? [] : withheldLines(findings).map((line) => `  ${wrap(line, MAX_LINE_LENGTH).join('\n  ')}`);
    this.#withheldCount = findings.length - named.length;
    this.#unsortedRest = this.#withheldCount > 0 && findings.length < total;
    this.objectCount = Math.min(maxListed, named.length);
    this.#check = check;
    const rest = restListing(check, situation, named, total);
    this.#pointer = rest === undefined ? '' : `; all of them: ${rest.command}`;
    this.#namedPointer = rest?.audit === true ? this.#pointer : '';
    this.#findings = named;
    this.#situation = situation;
  }

  /** The line of the index-th object (index < objectCount), worded the first time it is asked for. */
  objectLine(index: number): string {
    let line = this.#lines[index];
    if (line === undefined) {
      line = `  ${denialObjectLine(this.#findings[index]!, this.#situation)}`;
      this.#lines[index] = line;
    }
    return line;
  }

  /** The lines with at most `maxListed` objects listed. */
  lines(maxListed: number): string[] {
    const listed = Math.min(maxListed, this.objectCount);
    const lines = [...this.head];
    for (let index = 0; index < listed; index++) lines.push(this.objectLine(index));
    lines.push(...this.restLines(listed));
    lines.push(...this.fix);
    return lines;
  }

  /** The lines after `listed` objects: the withheld ones counted, then "and N more" for the others not listed. */
  restLines(listed: number): readonly string[] {
    const more = this.total - listed - this.#withheldCount;
    return more > 0 ? [...this.#withheld, this.moreLine(listed, more)] : this.#withheld;
  }

  moreLine(listed: number, more = this.total - listed): string {
    return this.#namedRest(listed) ?? `  and ${more} more${this.#unsortedRest ? ', of any namespace' : ''}${this.#pointer}`;
  }

  /**
   * The objects past the listing, named, for orphan PVCs, deleted PVCs and any check of a Helm release (they build
   * every finding): each is data the request would take over, leave or delete, and the operator decides on each
   * (`volume-guard audit --release` lists an install's, not what an upgrade or rollback deletes; no audit lists what
   * a deletion deletes). Counted instead past MAX_NAMED_REST characters.
   */
  #namedRest(listed: number): string | undefined {
    if (this.#check !== 'orphan-pvc' && this.#check !== 'pvc-delete' && this.#situation?.kind !== 'helm') return undefined;
    // Only beside a full listing: a shorter one (the denial over its length) counts the rest, so the line that
    // names them never grows as the listing shrinks.
    if (this.#findings.length < this.total || listed < MAX_LISTED_PER_CHECK || listed >= this.total) return undefined;
    const names = this.#findings.slice(listed, this.total).map((finding) => objectRef(finding.object));
    const line = `and ${this.total - listed} more: ${names.join(', ')}${this.#namedPointer}`;
    if (line.length > MAX_NAMED_REST) return undefined;
    return `  ${wrap(line, MAX_LINE_LENGTH).join('\n  ')}`;
  }
}

/**
 * The lines of one check in a denial: heading with the count, the consequence, the first objects (indented), the
 * rest counted with the audit command that lists them, and the fix for the situation.
 */
export function checkLines(
  check: CheckId,
  findings: readonly Finding[],
  total = findings.length,
  situation?: Situation,
  maxListed = MAX_LISTED_PER_CHECK,
): string[] {
  return new PreparedCheckLines(check, findings, total, situation, maxListed).lines(maxListed);
}

/** How long the line naming the objects past a denial's listing may be (PreparedCheckLines #namedRest). */
const MAX_NAMED_REST = 1200;

/** Fix lines wrap at this width, so they read in a terminal of 120 columns. */
const FIX_WIDTH = 116;

/**
 * `first` + text, wrapped at word boundaries to `width`, continuation lines indented under the text. A `\n` in the
 * text starts a line, and a `kubectl` command is never split across lines (pasting part of one would run another
 * command): it is kept whole on a line, past the width if it must.
 */
function hangingLines(first: string, text: string, width: number): string[] {
  const pad = ' '.repeat(first.length);
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = lines.length === 0 ? first : pad;
    let empty = true;
    for (const unit of commandUnits(paragraph)) {
      if (!empty && line.length + 1 + unit.length > width) {
        lines.push(line);
        line = pad;
        empty = true;
      }
      line += empty ? unit : ` ${unit}`;
      empty = false;
    }
    lines.push(line);
  }
  return lines;
}

/**
 * The words of a text, a `kubectl` command with its arguments as one: from `kubectl` to the word that ends it with
 * `;`, `,`, `)` or a full stop (not a `...` placeholder), or to the end of the text.
 */
function commandUnits(text: string): string[] {
  const units: string[] = [];
  let command: string[] | undefined;
  for (const word of text.split(' ')) {
    if (word === '') continue;
    if (command === undefined && word !== 'kubectl') {
      units.push(word);
      continue;
    }
    command ??= [];
    command.push(word);
    if (/[;,)]$|[^.]\.$/.test(word)) {
      units.push(command.join(' '));
      command = undefined;
    }
  }
  if (command !== undefined) units.push(command.join(' '));
  return units;
}

/** One paragraph per check: summary, the first objects, the count of the rest, the fix. */
export function describeGroup(check: CheckId, findings: readonly Finding[], total = findings.length, situation?: Situation): string {
  return checkLines(check, findings, total, situation).join('\n');
}

/** How an authorized admin overrides the checks for this situation, as lines (the command on a line of its own). */
export function overrideLines(situation: Situation, checks: readonly CheckId[] | '*'): string[] {
  // `*` skips every check (what passes a request volume-guard cannot judge); quoted for the shell, `all` in a label.
  const every = checks === '*';
  const skip = every ? '*' : checks.join(',');
  const annotate = (target: string) =>
    `kubectl annotate ${target} volume-guard.io/skip=${every ? '"*"' : skip} volume-guard.io/skip-reason="<why>" volume-guard.io/skip-by=${WRITER_PLACEHOLDER}`;
  switch (situation.kind) {
    case 'cordon':
      if (situation.nodeGone !== undefined) return goneNodeOverride(situation, situation.nodeGone.owner, annotate);
      return [annotate(`node ${situation.node}`)];
    case 'eviction':
      return [annotate(`node ${situation.node}`)];
    case 'upgrade': {
      const ns = situation.namespace ? ` -n ${situation.namespace}` : '';
      if (situation.operation === 'UPDATE') return [annotate(`${situation.resource} ${situation.name}${ns}`), 'then apply the change again'];
      return [
        `add to the ${situation.kindName}'s metadata.annotations in its manifest, then create it again:`,
        `  volume-guard.io/skip: "${skip}"`,
        `  volume-guard.io/skip-reason: "<why>"`,
        `  volume-guard.io/skip-by: "<your user name>"`,
      ];
    }
    case 'helm':
      if (situation.operation === 'rollback') {
        // helm rollback takes no --labels, and copies the target revision's, which are not honored.
        return [annotate(`namespace ${situation.namespace}`)];
      }
      if (situation.controller !== undefined) {
        // A controller running Helm (Flux's helm-controller, a HelmChart job) sets no release labels an admin could
        // add, and retries by itself.
        return [annotate(`namespace ${situation.namespace}`), `then ${controllerRetry(situation.controller)}`];
      }
      return [
        `${helmCommand(situation)} ... --labels volume-guard.io/skip=${labelSkipValue(checks, situation.labelSkip)}` +
          ((situation.operation === 'upgrade' || isReplaceInstall(situation)) && situation.revision !== undefined
            ? `,volume-guard.io/skip-revision=${situation.revision}`
            : ''),
      ];
  }
}

/**
 * A release label's `volume-guard.io/skip` value: the checks refused, then those the record's counting label skips
 * already (Situation.labelSkip), separated by `_` (label values allow neither `,` nor `*`: `all` for every check).
 */
function labelSkipValue(checks: readonly CheckId[] | '*', kept: readonly CheckId[] | '*' = []): string {
  if (checks === '*' || kept === '*') return 'all';
  const value = [...checks, ...kept.filter((check) => !checks.includes(check))].join('_');
  // A label value holds at most 63 characters (the API server refuses the record otherwise): past that, `all` for this
  // one revision (skip-revision) is the override Helm can carry.
  return value.length > LABEL_VALUE_MAX ? 'all' : value;
}

/** Kubernetes' limit on a label value (validation.LabelValueMaxLength). */
const LABEL_VALUE_MAX = 63;

/**
 * The override of a node's removal when the node has no Node object left: the owner's skip when one is read for the
 * request (its controller then deletes the Machine again by itself), else none, and what to do instead.
 */
function goneNodeOverride(situation: Situation & { kind: 'cordon' }, owner: string | undefined, annotate: (target: string) => string): string[] {
  const none = `there is no Node ${situation.node} to annotate`;
  if (owner !== undefined) return [annotate(owner), `(${none}; this skip is read for the controller's own DELETE of the Machine, which it retries)`];
  return [
    `none: ${none}, and no other override is read for this DELETE`,
    `if its machine and disks are gone, the data is lost: delete what is listed (a PV with its claim), then ${retry(situation)}`,
    `if the machine is still there, bring it back as node ${situation.node} (same name) to reach the data`,
  ];
}

/**
 * Whether the message is within MAX_DENIAL_LENGTH with at most `maxListed` objects per check. Object lines are
 * added a row at a time across the checks and the answer is known as soon as the length is over, so a listing that
 * does not fit words only about as many lines as would fit. `complete`: "and N more" counted as the listing of every
 * finding would word it, the objects at hand only (a lower bound, see couldListMore).
 */
function listingFits(prepared: readonly PreparedCheckLines[], fixedLength: number, maxListed: number, complete = false): boolean {
  let sum = fixedLength;
  for (const group of prepared) {
    const listed = Math.min(maxListed, complete ? group.total : group.objectCount);
    for (const line of group.restLines(listed)) sum += line.length + 1;
  }
  if (sum > MAX_DENIAL_LENGTH) return false;
  for (let index = 0; index < maxListed; index++) {
    for (const group of prepared) {
      if (index >= group.objectCount) continue;
      sum += group.objectLine(index).length + 1;
      if (sum > MAX_DENIAL_LENGTH) return false;
    }
  }
  return true;
}

/**
 * An override line's bound. A command is only useful whole: the longest one volume-guard writes (three PVC names of
 * 253 characters in a reuse approval, its namespace, keys and placeholders) stays under it, so only a line built from
 * something unforeseen is cut.
 */
export const MAX_OVERRIDE_LINE = 1200;

/** The line that opens a denial's override, after its checks (a scale-down's extra listing goes before it). */
export const OVERRIDE_HEADING = 'Override (an authorized admin, after checking):';

/**
 * The whole denial, in lines, kept within MAX_DENIAL_LENGTH: when the groups do not fit, fewer objects are listed
 * per check (the audit command lists them all).
 */
export function denialMessage(input: {
  readonly action: string;
  readonly situation?: Situation;
  readonly groups: readonly { readonly check: CheckId; readonly findings: readonly Finding[]; readonly total: number }[];
  /** The override, as lines; the first is shown after "Override (an authorized admin, after checking):". */
  readonly override: readonly string[];
  /** Told whether more findings built could change the listing (ListingProbe). */
  readonly probe?: ListingProbe;
  /** Fits the `kubectl annotate` commands of a fix to the objects they annotate, as stored (fitOverrideToStored). */
  readonly fitCommands?: (text: string) => string;
}): string {
  const count = input.groups.reduce((n, group) => n + group.total, 0);
  const head = [verdictLine(input.action, count)];
  const note = situationNote(input.situation);
  if (note) head.push(note);
  const tail = [OVERRIDE_HEADING, ...input.override.map((line) => `  ${shorten(line, MAX_OVERRIDE_LINE)}`)];
  // Each group's lines are worded once; only how many objects are listed changes until the message fits.
  const prepared = input.groups.map((group) => new PreparedCheckLines(group.check, group.findings, group.total, input.situation, MAX_LISTED_PER_CHECK, input.fitCommands));
  // Lengths are added up (lines plus the newlines between them); the text is joined once, for the listing that fits.
  const length = (lines: readonly string[]): number => lines.reduce((sum, line) => sum + line.length + 1, 0);
  let fixed = length(head) + length(tail) - 1;
  for (const group of prepared) fixed += length(group.head) + length(group.fix);
  let fits = 0;
  for (const maxListed of LISTING_STEPS) {
    fits = maxListed;
    if (listingFits(prepared, fixed, maxListed)) break;
  }
  if (input.probe !== undefined) input.probe.couldListMore = couldListMore(prepared, fixed, fits);
  const body = prepared.flatMap((group) => group.lines(fits));
  // kubectl drain joins the refusals of several pods with ", " into one line per seam (apimachinery
  // pkg/util/errors aggregate.Error: "[a, b]"): an eviction's refusal ends its last line, the override command, so the
  // next refusal starts on a line of its own and the command is copied whole.
  return [...head, ...body, ...tail].join('\n') + (input.situation?.kind === 'eviction' ? '\n' : '');
}

/** The numbers of objects per check a denial tries to list, most first, until its message fits. */
const LISTING_STEPS: readonly number[] = [10, 7, 4, 3, 2, 1, 0];

/**
 * Filled in by denialMessage for a caller whose checks built fewer findings than a listing may show (a group
 * holding fewer than `MAX_LISTED_PER_CHECK` of a larger total): whether the message could differ had they built
 * up to that many.
 */
export interface ListingProbe {
  couldListMore: boolean;
}

/**
 * Whether the message chosen (`fits` objects per check) could change with more of some group's findings built. It
 * cannot when every group holds what it lists, and each longer listing was over the length even as a lower bound:
 * the lines of the objects at hand, and "and N more" as the complete listing would word it (more objects only add
 * lines; that line is the only one that shrinks).
 */
function couldListMore(prepared: readonly PreparedCheckLines[], fixedLength: number, fits: number): boolean {
  const short = (group: PreparedCheckLines): boolean => group.objectCount < Math.min(MAX_LISTED_PER_CHECK, group.total);
  if (!prepared.some(short)) return false;
  if (prepared.some((group) => short(group) && group.objectCount < Math.min(fits, group.total))) return true;
  for (const maxListed of LISTING_STEPS) {
    if (maxListed <= fits) break;
    if (listingFits(prepared, fixedLength, maxListed, true)) return true;
  }
  return false;
}

/**
 * Short warning lines for warn mode and for informational warnings. An object's line is wrapped whole into several
 * warnings (its reason is what the operator reads: a rollback's "this release's earlier data"). The API server (and
 * fitWarnings) drops a warning that reads the same as an earlier one, which a continuation of a repeated reason
 * does: objectWarning words such an object otherwise, so none reads half a sentence. `seen`: the lines of the
 * request's warnings so far, those of other checks' included (the same volume listed by two checks). The count of
 * the rest names its check, so two checks' counts differ.
 */
export function warningLines(
  check: CheckId,
  findings: readonly Finding[],
  total = findings.length,
  situation?: Situation,
  seen: Set<string> = new Set(),
): string[] {
  const listed = findings.slice(0, MAX_LISTED_PER_CHECK);
  const text = CHECK_TEXT[check];
  const lines = [...wrap(`volume-guard [${check}] ${text.summaryFor ? text.summaryFor(total, listed) : text.summary(total)}`)];
  // The first object of each reason, and the reason of the object just before: "same reason as above" only under
  // an object of that reason (objects A, B, A: the third names A's object, not "above", which reads as B's).
  const firsts = new Map<string, Finding>();
  let last: string | undefined;
  for (const finding of listed) {
    // An orphan PVC's line opens with its fate: the same reason is the same fate and words.
    const reason = `${finding.check === 'orphan-pvc' ? fateOf(finding, situation).fate : ''}\n${finding.reason}`;
    const first = firsts.get(reason);
    // A withheld object has no name to point at: its own line again rather than "same reason as PVC of another namespace".
    const earlier =
      first === undefined || (reason !== last && isWithheld(first))
        ? undefined
        : reason === last
          ? 'above'
          : `${shortKind(first.object.kind)} ${objectRef(first.object)}`;
    const object = objectWarning(finding, situation, earlier, seen);
    if (first === undefined) firsts.set(reason, finding);
    last = reason;
    for (const line of object) seen.add(line);
    lines.push(...object);
  }
  const rest = restCommand(check, situation, findings, total);
  if (total > listed.length) lines.push(truncate(`- [${check}] and ${total - listed.length} more${rest === undefined ? '' : ` (${rest})`}`));
  return lines;
}

/**
 * One object's warning lines: its line wrapped whole, unless a line of it was said already (`seen`) or its reason
 * repeats an earlier object's (`earlier`: `above`, the object just before, or `PVC shop/data-a-0`, one further up)
 * over several lines. Then, in one line: `same reason as <earlier>` with its related objects as they fit (a repeated
 * reason); `same <check> reason as <earlier>` without them (its line under an earlier check named them); else its
 * own reason (oneWarningLine).
 */
function objectWarning(finding: Finding, situation: Situation | undefined, earlier: string | undefined, seen: ReadonlySet<string>): string[] {
  const fresh = (lines: readonly string[]): boolean => !lines.some((line) => seen.has(line));
  const whole = wrap(`- ${wholeObjectLine(finding, situation)}`);
  if ((whole.length === 1 || earlier === undefined) && fresh(whole)) return whole;
  if (earlier !== undefined) {
    // Either only when its reason stays whole (a claim kept may cut it).
    const sameReason = `same reason as ${earlier}`;
    const same = `- ${objectLine({ ...finding, reason: sameReason }, situation, MAX_WARNING_LENGTH - 2, keepsClaim(finding))}`;
    if (same.endsWith(`: ${sameReason}`) && fresh([same])) return [same];
    const again = `same ${finding.check} reason as ${earlier}`;
    const bare = `- ${objectLine({ ...finding, reason: again, related: [] }, situation, MAX_WARNING_LENGTH - 2)}`;
    if (bare.endsWith(`: ${again}`) && fresh([bare])) return [bare];
  }
  return [oneWarningLine(finding, situation)];
}

/** Whether the line of the finding keeps its claim before its reason when cut: a volume's PVC, the name one knows. */
function keepsClaim(finding: Finding): boolean {
  return finding.related?.some((object) => object.kind === 'PersistentVolumeClaim') === true;
}

/**
 * An object's warning in one line: related objects give way to the reason, but a volume's PVC (the name the operator
 * knows) stays; the reason is cut (marked "…") only when it does not fit beside them.
 */
function oneWarningLine(finding: Finding, situation: Situation | undefined): string {
  return `- ${objectLine(finding, situation, MAX_WARNING_LENGTH - 2, keepsClaim(finding))}`;
}

/** Shortens a line at a word boundary, marking the cut with "…". */
export function shorten(line: string, max: number): string {
  if (line.length <= max) return line;
  const cut = line.lastIndexOf(' ', max - 1);
  return `${line.slice(0, cut > max / 2 ? cut : max - 1)}…`;
}

/** A warning of at most `max` characters, cut at a word boundary (prefer `wrap`, which loses nothing). */
export function truncate(line: string, max = MAX_WARNING_LENGTH): string {
  return shorten(line, max);
}

/** Splits a long warning into several of at most `max` characters at word boundaries; continuations are indented. */
export function wrap(text: string, max = MAX_WARNING_LENGTH): string[] {
  if (text.length <= max) return [text];
  const lines: string[] = [];
  let rest = text;
  let prefix = '';
  while (prefix.length + rest.length > max) {
    const room = max - prefix.length;
    let cut = rest.lastIndexOf(' ', room);
    if (cut <= room / 3) cut = room; // one very long word: cut it, no better place exists
    lines.push(`${prefix}${rest.slice(0, cut).trimEnd()}`);
    rest = rest.slice(cut).trimStart();
    prefix = '  ';
  }
  if (rest !== '') lines.push(`${prefix}${rest}`);
  return lines;
}

/**
 * Keeps warnings within what the API server passes on whole: each at most MAX_WARNING_LENGTH (wrapped), all
 * together under MAX_WARNINGS_BYTES; what does not fit is counted in a last line. No line repeats an earlier one (the
 * API server would drop it): a warning whose wrapped lines would repeat one is cut to a single line instead, and a
 * warning said already is said once.
 */
export function fitWarnings(warnings: readonly string[]): string[] {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const warning of warnings) {
    let wrapped = wrap(warning);
    if (wrapped.some((line) => seen.has(line))) wrapped = [truncate(warning)];
    if (seen.has(wrapped[0]!)) continue;
    for (const line of wrapped) {
      seen.add(line);
      lines.push(line);
    }
  }
  const kept: string[] = [];
  let bytes = 0;
  for (const [index, line] of lines.entries()) {
    const size = Buffer.byteLength(line) + 1;
    const reserve = index < lines.length - 1 ? 80 : 0;
    if (bytes + size + reserve > MAX_WARNINGS_BYTES) {
      kept.push(`volume-guard: ${lines.length - index} more warning lines not shown`);
      break;
    }
    kept.push(line);
    bytes += size;
  }
  return kept;
}
