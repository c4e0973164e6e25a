// The hook helm-release.ts calls (issue 20.3): a Helm upgrade or rollback of the storage system itself, recognised
// by the chart name in the release record (not the release name, which is the user's), is an upgrade like any other
// and gets the storage-upgrade checks: refused while volumes are faulted or have no healthy copy.
import type { CappedFindings, CapOptions } from '../../checks/collect.ts';
import { collectStorageUpgradeRisk } from '../../checks/storage-teardown.ts';
import type { CheckId } from '../../checks/types.ts';
import type { ClusterSnapshot } from '../../cluster/snapshot.ts';
import type { HelmRelease, ReleaseOperation } from '../../helm/release.ts';

/** Chart names of the storage systems whose upgrade volume-guard judges. */
export const STORAGE_CHARTS: readonly string[] = ['longhorn'];

export interface StorageUpgradeCheck {
  readonly check: CheckId;
  readonly collect: (snapshot: ClusterSnapshot, cap: CapOptions) => CappedFindings;
}

/** The check to run for this release operation, or undefined when it is not an upgrade of a storage chart. */
export function storageUpgradeCheck(
  release: Pick<HelmRelease, 'chartName'>,
  operation: ReleaseOperation,
): StorageUpgradeCheck | undefined {
  if (operation === 'install' || !STORAGE_CHARTS.includes(release.chartName)) return undefined;
  return { check: 'volume-health', collect: collectStorageUpgradeRisk };
}
