// Helm releases, through the Secret Helm's storage driver writes before it touches any resource. A CREATE of a
// pending revision (install, upgrade, rollback) is checked for PVCs the release would silently adopt or strand;
// a denial aborts Helm cleanly. Everything else Helm writes is never denied: an uninstall, the deployed, failed
// and superseded transitions and the history pruning happen after resources changed, and Helm cannot recover
// from a refusal there (it would leave a release half uninstalled or stuck pending). Uninstalls get warnings.
import { collectOrphanPvc, pvcsLeftBehind, REUSE_APPROVED_TAG } from '../../checks/orphan-pvc.ts';
import { storageUpgradeCheck } from './storage-upgrade-hook.ts';
import type { Config } from '../../config.ts';
import { ManifestError, parseManifest } from '../../helm/manifest.ts';
import { decodeReleaseSecret, readReleaseSecretLabels, releaseOperation, ReleaseDecodeError, type HelmRelease } from '../../helm/release.ts';
import { CheckResults, decide, staleModelDecision, unknownWarnings } from '../context.ts';
import { MAX_LISTED_PER_CHECK, plural, truncate } from '../messages.ts';
import { metaOf } from '../objects.ts';
import { REUSE_KEY, skipFrom, SKIP_KEY, whyNotHonored, type OverrideSource } from '../overrides.ts';
import { allowed, denied, type AdmissionRequest, type Decision, type WebhookDeclaration } from '../types.ts';
import type { ValidationContext, Validator } from '../validator.ts';

const declaration: WebhookDeclaration = {
  name: 'helm-release.volume-guard.io',
  target: 'helm-release',
  rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['secrets'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' }],
  objectSelector: { matchLabels: { owner: 'helm' } },
  // Only release records, and of their updates only the move to `uninstalling` (for its warning).
  matchConditions: [
    {
      name: 'helm-release-record',
      expression:
        "object.type == 'helm.sh/release.v1' && (request.operation == 'CREATE' || " +
        "(has(object.metadata.labels) && 'status' in object.metadata.labels && object.metadata.labels['status'] == 'uninstalling'))",
    },
  ],
};

function describeOperation(operation: string, release: { namespace: string; name: string; version: number }): string {
  return `${operation} of Helm release ${release.namespace}/${release.name} (revision ${release.version})`;
}

function overrideHint(namespace: string, name: string): string {
  return (
    `re-run helm with --labels ${SKIP_KEY}=<checks>, annotate the PVCs ${REUSE_KEY}=true if their data is meant ` +
    `to be reused, or delete them (kubectl delete pvc -n ${namespace} ...) if it is not; release ${name}`
  );
}

export function helmReleaseValidator(_config: Config): Validator {
  return {
    declaration,
    handle(request, context) {
      if (request.operation === 'UPDATE') return uninstallWarnings(request, context);
      if (request.operation !== 'CREATE') return allowed();
      const labels = metaOf(request.object)?.labels ?? {};
      const secretName = `${request.namespace}/${request.name || metaOf(request.object)?.name || ''}`;
      // The release label override (`helm install --labels`) is readable without decoding the payload; the
      // writer is the user running helm now.
      const overrides: OverrideSource[] = [];
      const warnings = unknownWarnings('release label', labels);
      const labelSkip = skipFrom('release label', labels, request.userInfo);
      if (labelSkip) overrides.push(labelSkip);
      const namespaceAnnotations = context.snapshot.namespace(request.namespace)?.annotations;
      const namespaceSkip = skipFrom(`namespace ${request.namespace}`, namespaceAnnotations, undefined, { now: context.now });
      if (namespaceSkip) overrides.push(namespaceSkip);
      warnings.push(...unknownWarnings(`namespace ${request.namespace}`, namespaceAnnotations));

      let release: HelmRelease;
      let manifest;
      try {
        release = decodeReleaseSecret(request.object, { namespace: request.namespace }).release;
        manifest = parseManifest(release.manifest, release.namespace);
      } catch (error) {
        if (!(error instanceof ReleaseDecodeError || error instanceof ManifestError)) throw error;
        return unreadable(context, secretName, error.message, overrides, warnings);
      }
      const operation = releaseOperation(release.status);
      if (!operation) return allowed(warnings);
      const action = describeOperation(operation, release);
      const stale = staleModelDecision(context, action, overrides);
      if (stale) return stale;

      // The admin's `volume-guard.io/reuse: "true"` on a PVC (policed by the override guard when written).
      overrides.push({
        where: `annotation ${REUSE_KEY} on the PVCs`,
        checks: [],
        tags: [{ check: 'orphan-pvc', tag: REUSE_APPROVED_TAG }],
        reason: 'their data is meant to be reused',
      });
      const { snapshot } = context;
      const results = new CheckResults(context, true).run('orphan-pvc', (cap) =>
        collectOrphanPvc(snapshot, { release, operation, manifest }, cap),
      );
      // Issue 20.3: an upgrade or rollback of the storage system's own chart is an upgrade like any other.
      const storage = storageUpgradeCheck(release, operation);
      if (storage) results.run(storage.check, (cap) => storage.collect(snapshot, cap));
      return decide(context, {
        action,
        findings: results.findings,
        totals: results.totals,
        overrides,
        overrideHint: overrideHint(release.namespace, release.name),
        warnings,
        situation: { kind: 'helm', operation, namespace: release.namespace, release: release.name },
      });
    },
  };
}

/** A release volume-guard cannot read is denied with the reason (never allowed unchecked), unless overridden. */
function unreadable(
  context: ValidationContext,
  secretName: string,
  reason: string,
  overrides: readonly OverrideSource[],
  warnings: string[],
): Decision {
  const honored = overrides.find(
    (source) => source.checks.includes('orphan-pvc') && whyNotHonored(source, context.config.overrides) === undefined,
  );
  if (context.config.checks['orphan-pvc'].mode !== 'enforce' || honored) {
    return allowed([...warnings, truncate(`volume-guard: Helm release Secret ${secretName} not checked: ${reason}`)]);
  }
  return denied(
    `volume-guard cannot check Helm release Secret ${secretName}: ${reason}. It refuses what it cannot check; ` +
      `if this is a real Helm release, an authorized admin can re-run helm with --labels ${SKIP_KEY}=orphan-pvc.`,
    { warnings, checks: ['orphan-pvc'] },
  );
}

/** `helm uninstall`: allowed always, with a warning naming the PVCs (and their data) it leaves behind. */
function uninstallWarnings(request: AdmissionRequest, context: ValidationContext): Decision {
  let status = '';
  try {
    status = readReleaseSecretLabels(request.object).status;
  } catch {
    return allowed();
  }
  if (status !== 'uninstalling' || context.config.checks['orphan-pvc'].mode === 'off') return allowed();
  let release: HelmRelease;
  try {
    release = decodeReleaseSecret(request.object, { namespace: request.namespace }).release;
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'unreadable';
    return allowed([truncate(`volume-guard: cannot list the PVCs this uninstall leaves behind: ${reason}`)]);
  }
  let left;
  try {
    left = pvcsLeftBehind(context.snapshot, release);
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'unreadable manifest';
    return allowed([truncate(`volume-guard: cannot list the PVCs this uninstall leaves behind: ${reason}`)]);
  }
  if (left.length === 0) return allowed();
  const lines = [
    truncate(`volume-guard: uninstalling ${release.namespace}/${release.name} leaves ${plural(left.length, 'PVC', 'PVCs')} and data behind;`),
    truncate(`a later install of ${release.name} would re-attach ${left.length === 1 ? 'it' : 'them'} (delete if the data is obsolete)`),
  ];
  for (const claim of left.slice(0, MAX_LISTED_PER_CHECK)) {
    const pv = claim.volumeName ? `PV ${claim.volumeName}, reclaim ${claim.reclaimPolicy || 'unknown'}` : 'unbound';
    lines.push(truncate(`- PVC ${claim.namespace}/${claim.name} (${pv})`));
  }
  if (left.length > MAX_LISTED_PER_CHECK) lines.push(`- and ${left.length - MAX_LISTED_PER_CHECK} more`);
  return allowed(lines);
}
