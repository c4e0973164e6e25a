// Which owners of a claim the garbage collector still finds alive when others are deleted (pkg/controller/
// garbagecollector: attemptToDeleteItem, classifyReferences).
import type { OwnerRef, PersistentVolumeClaimRecord } from '../cluster/records.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';

/**
 * An owner of the claim that the garbage collector finds solid once the owners whose uids are in `going` are gone,
 * so it keeps the claim (attemptToDeleteItem deletes a dependent only when no owner is solid; otherwise it just
 * drops the references to the gone owners). volume-guard counts an owner as staying only where it sees it: a
 * StatefulSet of that name in the claim's namespace whose uid is the reference's (a uid mismatch is dangling), not
 * being deleted (a foreground deletion makes it a waiting owner; a background or orphaning one is gone a moment
 * later) nor just admitted for deletion (the informers lag: `kubectl delete sts a b` judges b with a gone), not going
 * itself, and not owned by one that goes (the collector would delete it too). Owners of other
 * kinds (Pods, whose uid the model does not keep; an operator's resources) are not judged: the claim is reported,
 * and its reason names them (pvc-delete.ts).
 */
export function stayingOwner(snapshot: ClusterSnapshot, claim: Pick<PersistentVolumeClaimRecord, 'namespace' | 'ownerReferences'>, going: ReadonlySet<string>): OwnerRef | undefined {
  for (const ref of claim.ownerReferences) {
    if (ref.kind !== 'StatefulSet' || ref.uid === '' || going.has(ref.uid)) continue;
    const live = snapshot.statefulSet(claim.namespace, ref.name);
    if (live === undefined || live.uid !== ref.uid || live.deleting === true || snapshot.deletionAdmitted(ref.uid)) continue;
    if ((live.ownerUids ?? []).some((uid) => going.has(uid) || snapshot.deletionAdmitted(uid))) continue;
    return ref;
  }
  return undefined;
}
