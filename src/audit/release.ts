// `audit --release NS/NAME`: what installing that Helm release again would hit (seed 000: uninstall, then a
// "fresh" install re-attached the old database).
//
// The audit does not read the release's payload (its manifest): the revisions' labels, listed metadata-only,
// say whether the release is installed, and the model says the rest. The StatefulSets the re-install would
// create are taken to be the live ones Helm annotated for the release (the same chart renders the same
// StatefulSets). Two kinds of findings:
//  - leftovers (critical): PVCs the orphan-pvc check reports for an install of this release now: labelled for it
//    (`app.kubernetes.io/instance` / `release`), no live owner, claimed by no live StatefulSet (one another release
//    took over keeps using them).
//    While the release is installed, PVCs Helm itself created for it (meta.helm.sh annotations) are its own live
//    resources, not leftovers.
//  - left behind (warning): PVCs that `helm uninstall` would leave in place (the claims of its StatefulSets but
//    those `helm.sh/resource-policy: keep` leaves running, which go on using them and a re-install adopts; PVCs
//    labelled for it that Helm did not create, PVCs Helm created for it that `helm.sh/resource-policy` keeps),
//    which the install after it would re-attach with their data.
//  - kept (critical, release not installed): PVCs Helm created for it (meta.helm.sh annotations) that
//    `helm.sh/resource-policy` kept through its uninstall: installing it again adopts them (adopted-by-helm), as
//    the webhook refuses. The policy is read on the live PVC, where Helm writes it.
// Not seen without the manifest: StatefulSet claims that carry no release label once their StatefulSet is gone.

import { PLANS, planFindings } from '../admission/plans.ts';
import { DEFAULT_NODE_LOCAL_OPTIONS } from '../checks/node-local-volume.ts';
import { isReuseApproved, pvcsLeftBehind, REUSE_APPROVED_TAG } from '../checks/orphan-pvc.ts';
import type { LeftBehindPvc } from '../checks/orphan-pvc.ts';
import { claimObject } from '../checks/affected.ts';
import { effectiveReclaimPolicy, RECYCLE_WITHOUT_RECYCLER } from '../checks/reclaim.ts';
import type { AffectedObject, Finding } from '../checks/types.ts';
import type { PersistentVolumeClaimRecord, StatefulSetRecord } from '../cluster/records.ts';
import type { ManifestStatefulSet, ParsedManifest } from '../helm/manifest.ts';
import type { HelmRelease } from '../helm/release.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION, HELM_RESOURCE_POLICY_ANNOTATION } from '../kube.ts';
import type { AuditModel } from './model.ts';
import type { ReleaseRevision } from './types.ts';

/** Statuses after which the release no longer exists for Helm (`helm install` of the name may run). */
const GONE_STATUSES: ReadonlySet<string> = new Set(['uninstalled', 'uninstalling']);

export interface ReleaseState {
  readonly installed: boolean;
  readonly revision?: number;
  readonly status?: string;
}

/** The latest revision decides: installed unless it is uninstalled (or being uninstalled), or there is none. */
export function releaseState(revisions: readonly ReleaseRevision[]): ReleaseState {
  let latest: ReleaseRevision | undefined;
  for (const revision of revisions) {
    if (!Number.isFinite(revision.version)) continue;
    if (latest === undefined || revision.version > latest.version) latest = revision;
  }
  if (latest === undefined) return { installed: false };
  return { installed: !GONE_STATUSES.has(latest.status), revision: latest.version, status: latest.status };
}

export interface ReleaseAudit {
  readonly findings: Finding[];
  readonly notes: string[];
}

/**
 * The live StatefulSet as the manifest of a re-install would declare it. Its `helm.sh/resource-policy: keep` too:
 * Helm wrote it from the manifest, the uninstall leaves such a StatefulSet running on its claims, and a re-install
 * adopts it, so its claims are neither left behind nor leftovers (as the webhook judges them).
 */
function asManifestStatefulSet(statefulSet: StatefulSetRecord): ManifestStatefulSet {
  return {
    namespace: statefulSet.namespace,
    name: statefulSet.name,
    replicas: statefulSet.replicas,
    replicasDeclared: true,
    ordinalsStart: statefulSet.ordinalsStart,
    ordinalsDeclared: true,
    claimTemplates: statefulSet.claimTemplates,
    selector: statefulSet.selector,
    retentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    whenScaledDeclared: true,
    // As an uninstall reads the manifest's policy: any value keeps it (the audit reads it off the live object).
    keep: statefulSet.helmPolicy === true,
    source: '',
  };
}

function createdByHelmFor(claim: PersistentVolumeClaimRecord | undefined, namespace: string, name: string): boolean {
  if (claim === undefined || claim.annotations[HELM_RELEASE_NAME_ANNOTATION] !== name) return false;
  const releaseNamespace = claim.annotations[HELM_RELEASE_NAMESPACE_ANNOTATION];
  return releaseNamespace === undefined || releaseNamespace === namespace;
}

/**
 * The tag of a PVC Helm created for the release and `helm.sh/resource-policy` keeps (any value: Helm deletes only
 * the documents without it): `helm uninstall` leaves it, and installing the release again adopts it (adopted-by-helm).
 */
export const KEPT_BY_POLICY_TAG = 'resource-policy-keep';

/** Created by Helm for the release and kept by `helm.sh/resource-policy` through an uninstall. */
function keptByPolicy(claim: PersistentVolumeClaimRecord | undefined, namespace: string, name: string): boolean {
  return createdByHelmFor(claim, namespace, name) && claim?.annotations[HELM_RESOURCE_POLICY_ANNOTATION] !== undefined;
}

/**
 * What a left-behind claim's PV does with the data once the claim is deleted, from its policy as the PV controller
 * carries it out (effectiveReclaimPolicy); '' for an unbound claim or a PV not seen. Recycle is said with its effect:
 * its recycler wipes an NFS or hostPath volume, and on any other source none serves it, so the data stays.
 */
function reclaimNote(policy: string): string {
  switch (policy) {
    case '':
      return '';
    case 'Recycle':
      return " (its PV's reclaim policy is Recycle, which wipes the data once the claim is deleted)";
    case RECYCLE_WITHOUT_RECYCLER:
      return " (its PV's reclaim policy is Recycle, which no recycler serves: deleting the claim keeps the data on a Failed PV)";
    default:
      return ` (its PV's reclaim policy is ${policy})`;
  }
}

function leftBehindReason(left: LeftBehindPvc, state: ReleaseState, release: string): string {
  const reclaim = reclaimNote(left.reclaimPolicy);
  const statefulSet = left.statefulSet ?? '';
  if (!state.installed) {
    return left.why === 'statefulset-claim'
      ? `StatefulSet ${statefulSet} still claims it though release ${release} is not installed; installing the release again adopts it with its data${reclaim}`
      : `labelled for release ${release}, which is not installed; installing the release again may adopt it with its data${reclaim}`;
  }
  return left.why === 'statefulset-claim'
    ? `helm uninstall leaves this claim of StatefulSet ${statefulSet} behind${reclaim}; installing the release again re-attaches its data`
    : `labelled for the release but not created by Helm: helm uninstall leaves it behind${reclaim}; installing the release again may re-attach its data`;
}

export function releaseFindings(model: AuditModel, namespace: string, name: string, state: ReleaseState): ReleaseAudit {
  const release: HelmRelease = {
    name,
    namespace,
    version: (state.revision ?? 0) + 1,
    status: 'pending-install',
    manifest: '',
    chartName: '',
    chartVersion: '',
    labels: {},
  };
  const manifest: ParsedManifest = {
    statefulSets: model.statefulSetsOfRelease(namespace, name).map(asManifestStatefulSet),
    persistentVolumeClaims: [],
    longhornManagers: [],
    documents: 0,
    parsedDocuments: 0,
  };
  const findings: Finding[] = [];
  const reported = new Set<string>();
  const notes: string[] = [];

  // What the helm-release plan finds for an install of the release now (its checks for upgrades find nothing here).
  for (const finding of planFindings(PLANS['helm-release'], model, { release, operation: 'install', manifest, chartUnseen: true }, { nodeLocal: DEFAULT_NODE_LOCAL_OPTIONS })) {
    const claim = finding.object.kind === 'PersistentVolumeClaim' ? model.persistentVolumeClaim(finding.object.namespace ?? '', finding.object.name) : undefined;
    if (state.installed && createdByHelmFor(claim, namespace, name)) continue;
    reported.add(`${finding.object.namespace ?? ''}/${finding.object.name}`);
    // The check words it for the install being judged ("this install"); an audit judges none: of an installed
    // release, it is a claim nothing of it uses; of one not installed, what installing it again would do (a Lost
    // one, a warning, keeps its own words: it holds no data).
    const labelled = finding.severity === 'critical' && finding.tags.includes('release-labelled');
    const unbound = finding.tags.includes('unbound');
    const reason = !labelled
      ? finding.reason
      : state.installed
        ? `labelled for release ${name} but owned by nothing live and claimed by no live StatefulSet; ` +
          (unbound ? 'not yet bound: installing the release again may take it over' : 'installing the release again may reuse its old data')
        : `labelled for release ${name} but owned by nothing live; ` +
          (unbound ? `not yet bound: installing ${name} again would take it over` : `installing ${name} again would adopt its old data`);
    findings.push({ ...finding, reason });
  }

  let helmManaged = 0;
  for (const left of pvcsLeftBehind(model, release, manifest)) {
    const key = `${left.namespace}/${left.name}`;
    if (reported.has(key)) continue;
    const claim = model.persistentVolumeClaim(left.namespace, left.name);
    // Kept by its resource policy: said below, with the ones no label names.
    if (left.why === 'release-labelled' && keptByPolicy(claim, namespace, name)) continue;
    if (left.why === 'release-labelled' && createdByHelmFor(claim, namespace, name)) {
      helmManaged += 1;
      continue;
    }
    const tags = [left.why, 'left-behind'];
    if (claim !== undefined && isReuseApproved(claim)) tags.push(REUSE_APPROVED_TAG);
    const related: AffectedObject[] = [];
    if (left.volumeName !== '') related.push({ kind: 'PersistentVolume', name: left.volumeName });
    if (left.statefulSet !== undefined) related.push({ kind: 'StatefulSet', namespace: left.namespace, name: left.statefulSet });
    findings.push({
      check: 'orphan-pvc',
      severity: 'warning',
      object: claimObject(left),
      reason: leftBehindReason(left, state, name),
      tags,
      related,
    });
  }
  // Helm's own PVCs of the release that its resource policy keeps: the live PVC carries the annotation.
  for (const claim of model.persistentVolumeClaimsAnnotatedForRelease(namespace, name)) {
    const key = `${claim.namespace}/${claim.name}`;
    if (claim.deleting || reported.has(key) || !keptByPolicy(claim, namespace, name)) continue;
    reported.add(key);
    findings.push(keptFinding(model, claim, state, name));
  }
  if (helmManaged > 0) {
    notes.push(
      `${helmManaged} PVC${helmManaged === 1 ? '' : 's'} of release ${namespace}/${name} ${helmManaged === 1 ? 'was' : 'were'} created by Helm itself ` +
        `without ${HELM_RESOURCE_POLICY_ANNOTATION}: helm uninstall deletes ${helmManaged === 1 ? 'it' : 'them'}`,
    );
  }
  return { findings, notes };
}

/**
 * A PVC Helm created for the release and its resource policy keeps: of a release not installed, kept through its
 * uninstall, what installing it again adopts (critical: the webhook refuses that install, adopted-by-helm); of one
 * installed, what `helm uninstall` would leave (a warning, left-behind).
 */
function keptFinding(model: AuditModel, claim: PersistentVolumeClaimRecord, state: ReleaseState, release: string): Finding {
  const policy = `${HELM_RESOURCE_POLICY_ANNOTATION}: ${claim.annotations[HELM_RESOURCE_POLICY_ANNOTATION] ?? ''}`;
  const unbound = claim.volumeName === '';
  const related: AffectedObject[] = unbound ? [] : [{ kind: 'PersistentVolume', name: claim.volumeName }];
  const approved = isReuseApproved(claim) ? [REUSE_APPROVED_TAG] : [];
  if (!state.installed) {
    return {
      check: 'orphan-pvc',
      severity: 'critical',
      object: claimObject(claim),
      reason:
        `created by Helm for release ${release} and kept by ${policy} through its uninstall; ` +
        (unbound ? `not yet bound: installing ${release} again would adopt it` : `installing ${release} again would adopt its old data`),
      tags: ['adopted-by-helm', KEPT_BY_POLICY_TAG, ...approved],
      related,
    };
  }
  const reclaim = unbound ? '' : effectiveReclaimPolicy(model.persistentVolume(claim.volumeName));
  return {
    check: 'orphan-pvc',
    severity: 'warning',
    object: claimObject(claim),
    reason:
      `kept by ${policy}: helm uninstall leaves it behind${reclaimNote(reclaim)}; ` +
      'installing the release again adopts its data',
    tags: [KEPT_BY_POLICY_TAG, 'left-behind', ...approved],
    related,
  };
}
