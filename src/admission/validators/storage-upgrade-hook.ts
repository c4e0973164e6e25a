// The hook helm-release.ts calls (issue 20.3): a Helm upgrade or rollback of the storage system, recognised by the
// release record (never the release name, which is the user's), is an upgrade like any other and gets the
// storage-upgrade checks: refused while volumes are faulted or have no healthy copy. A record ships Longhorn when
// its chart is named `longhorn`, or when its manifest renders longhorn-manager in Longhorn's namespace: a chart
// bundling Longhorn as a subchart (Harvester's `harvester`, an all-in-one platform chart) has its own name, and
// Helm's later write of the DaemonSet passes as Helm's own (storage-teardown.ts), so the record is the one place
// such an upgrade is seen. The record holds no previous revision and volume-guard watches no DaemonSet, so every
// upgrade or rollback of such a release is judged, as every one of the `longhorn` chart always was.
import type { CappedFindings, CapOptions } from '../../checks/collect.ts';
import { collectStorageUpgradeRisk } from '../../checks/storage-teardown.ts';
import type { CheckId } from '../../checks/types.ts';
import type { ClusterSnapshot } from '../../cluster/snapshot.ts';
import type { ParsedManifest } from '../../helm/manifest.ts';
import type { HelmRelease, ReleaseOperation } from '../../helm/release.ts';

/** Chart names of the storage systems whose upgrade volume-guard judges whatever their manifest renders. */
export const STORAGE_CHARTS: readonly string[] = ['longhorn'];

export interface StorageUpgradeCheck {
  readonly check: CheckId;
  readonly collect: (snapshot: ClusterSnapshot, cap: CapOptions) => CappedFindings;
}

/** What the hook reads of a release operation. */
export interface StorageUpgradeTarget {
  readonly release: Pick<HelmRelease, 'chartName'>;
  readonly operation: ReleaseOperation;
  readonly manifest: Pick<ParsedManifest, 'longhornManagers'>;
  /** config.longhorn.namespace; omitted (the audit's installs), only the chart name counts. */
  readonly longhornNamespace?: string;
}

/** The manifest renders Longhorn's manager in Longhorn's namespace (a manager elsewhere is not the Longhorn guarded). */
export function rendersLonghorn(manifest: Pick<ParsedManifest, 'longhornManagers'>, longhornNamespace: string): boolean {
  return manifest.longhornManagers.some((manager) => manager.namespace === longhornNamespace);
}

/** The check to run for this release operation, or undefined when it is not an upgrade of the storage system. */
export function storageUpgradeCheck(target: StorageUpgradeTarget): StorageUpgradeCheck | undefined {
  if (target.operation === 'install') return undefined;
  const ships =
    STORAGE_CHARTS.includes(target.release.chartName) ||
    (target.longhornNamespace !== undefined && rendersLonghorn(target.manifest, target.longhornNamespace));
  return ships ? { check: 'volume-health', collect: collectStorageUpgradeRisk } : undefined;
}
