// The audit report: what `volume-guard audit` prints, as one plain object. `--output json` writes it as is, so
// every field here is part of the documented schema `volume-guard.io/audit/v1` (additions only, never renames).

import type { ResourceKind } from '../cluster/records.ts';
import type { AffectedObject, CheckId, Severity } from '../checks/types.ts';

export const AUDIT_API_VERSION = 'volume-guard.io/audit/v1';

/** The flags of `volume-guard audit`, as src/audit/command.ts parses them for src/audit/run.ts. */
export interface AuditOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly node?: string;
  readonly release?: { readonly namespace: string; readonly name: string };
  readonly output: 'table' | 'json' | 'policyreport';
  readonly timeout: number;
  readonly config?: string;
  /** Findings of checks in `warn` mode fail the exit code too. */
  readonly strict?: boolean;
}

/** What the audit looked at: the whole cluster, what a cordon of one node hits, or a Helm release re-install. */
export type AuditScope =
  | { readonly kind: 'cluster' }
  | { readonly kind: 'node'; readonly node: string }
  | {
      readonly kind: 'release';
      readonly namespace: string;
      readonly name: string;
      /** The release's revisions as its records' labels tell (metadata only), in any order. */
      readonly revisions: readonly ReleaseRevision[];
    };

export interface ReleaseRevision {
  readonly version: number;
  readonly status: string;
  /** Its `volume-guard.io/` labels (release-label overrides), when read. */
  readonly labels?: Readonly<Record<string, string>>;
  /** The kind of object the record is stored in: Secret (the default driver) or ConfigMap (HELM_DRIVER=configmap). */
  readonly store?: 'Secret' | 'ConfigMap';
}

/** A finding of a check, with what it blocks and how to get past it. */
export interface AuditFinding {
  readonly check: CheckId;
  readonly severity: Severity;
  readonly object: AffectedObject;
  /** Why it is risky, one sentence without trailing period. */
  readonly reason: string;
  readonly tags: readonly string[];
  readonly related: readonly AffectedObject[];
  /**
   * The operation this risk would make lose data, the one the webhook refuses for it: `upgrade`, `rollout of
   * MachineDeployment ns/md`, `cordon/drain of node n1`, `drain and removal of node n1 (...)`, `removal of node n1 (...)`, `Node DELETE of node n1 (...)`,
   * `re-install of Helm release ns/x`; `no operation (node n1 no longer exists)` for data on a node without a Node
   * object that no Cluster API Machine names any more. Every form: report.ts OPERATION_FORMS (the JSON schema lists them).
   */
  readonly operation: string;
  /** What to do about it (the same text the webhook's denials give). */
  readonly fix: string;
  /** The command an authorized admin runs to accept the risk anyway. */
  readonly override: string;
  /** The lingering override that already accepts this risk, when one does: `annotation volume-guard.io/skip on Node n1`. */
  readonly overriddenBy?: string;
  /** Present when the check is configured in `warn` mode: the finding does not fail the audit unless --strict. */
  readonly mode?: 'warn';
}

/** An override annotation or label still present on an object. */
export interface LingeringOverride {
  /** Node, Namespace, PersistentVolume, PersistentVolumeClaim, Volume (Longhorn), or an upgrade kind (Upgrade, Plan...). */
  readonly object: { readonly kind: string; readonly namespace?: string; readonly name: string };
  readonly field: 'annotation' | 'label';
  /** volume-guard.io/skip, volume-guard.io/reuse, volume-guard.io/delete or harvesterhci.io/skipSingleReplicaDetachedVol. */
  readonly key: string;
  readonly value: string;
  /** The checks it skips (every check for `*`); for reuse, orphan-pvc; for delete, pvc-delete. Empty when it is not honored. */
  readonly checks: readonly CheckId[];
  /** Entries of a skip value that name no check (ignored by volume-guard). */
  readonly unknown: readonly string[];
  /** What it does, in words: `skips node-local-volume`, `not honored: the value must be "true"`. */
  readonly effect: string;
  /** When volume-guard consults it: `cordon of this node`, `Helm releases in this namespace`... */
  readonly appliesTo: string;
  /** volume-guard.io/skip-reason next to it, '' when none was given. */
  readonly reason: string;
  /** volume-guard.io/skip-by: who wrote it (held equal to the writer by the override guard); '' when none. */
  readonly writer: string;
  /** volume-guard.io/skip-until as written (RFC 3339), '' when it does not expire. */
  readonly until: string;
}

/**
 * The totals of `volume-guard.io/audit/v1` count findings, as they always have: `critical` is the number of findings
 * with severity critical. The whole-cluster audit lists a risk once per operation it blocks (a degraded volume under
 * the upgrade and each node's cordon), so its findings outnumber its risks: `distinct` counts each risk once.
 */
export interface AuditSummary {
  /** Findings in all, overridden ones included (a lingering override accepts a risk, it does not remove it). */
  readonly risks: number;
  readonly critical: number;
  readonly warning: number;
  /** Findings already accepted by a lingering override (with overriddenBy). */
  readonly overridden: number;
  /** Findings per check; every check id, 0 when it found nothing. */
  readonly byCheck: Readonly<Record<CheckId, number>>;
  readonly overrides: number;
  /** The same totals counting each distinct risk once (risks.ts), however many operations it blocks. */
  readonly distinct: AuditDistinctCounts;
}

/** Totals of distinct risks: findings alike but for their operation, fix, override and overriddenBy count once. */
export interface AuditDistinctCounts {
  readonly risks: number;
  readonly critical: number;
  readonly warning: number;
  /** Risks a lingering override accepts at every operation they block. */
  readonly overridden: number;
  /** Risks per check; every check id, 0 when it found nothing. */
  readonly byCheck: Readonly<Record<CheckId, number>>;
}

export interface AuditCluster {
  readonly server: string;
  readonly context: string;
  readonly longhornInstalled: boolean;
  /** Objects in the model, by resource kind. */
  readonly objects: Readonly<Record<ResourceKind, number>>;
}

export interface AuditReport {
  readonly apiVersion: typeof AUDIT_API_VERSION;
  /** RFC 3339. */
  readonly generatedAt: string;
  readonly cluster: AuditCluster;
  readonly scope: AuditScopeSummary;
  readonly summary: AuditSummary;
  readonly findings: readonly AuditFinding[];
  readonly overrides: readonly LingeringOverride[];
  /** What the audit could not look at, or what the reader should know to read it right. */
  readonly notes: readonly string[];
  /** The configuration the findings were judged with (added after notes: fields are only ever added). */
  readonly config: AuditConfigSource;
}

/**
 * Which configuration the audit judged with: volume-guard's default one (no --config; VOLUME_GUARD_* variables
 * still apply), which may not be the deployed webhook's, or the file given.
 */
export type AuditConfigSource = { readonly source: 'default' } | { readonly source: 'file'; readonly file: string };

/** The scope as reported: for a release, what its Secrets say about it. */
export type AuditScopeSummary =
  /** nodes: how many nodes the per-node checks ran for (Node objects plus nodes named only by replicas or PVs). */
  | { readonly kind: 'cluster'; readonly nodes: number }
  | {
      readonly kind: 'node';
      readonly node: string;
      /**
       * Present when no Node object of that name exists (a node known from its replicas or pinned PVs, or from a
       * Cluster API Machine still naming it): nothing to cordon or drain, so what its removal hits fails the exit code.
       */
      readonly withoutNodeObject?: true;
    }
  | {
      readonly kind: 'release';
      readonly namespace: string;
      readonly name: string;
      /** Whether the release is installed now (latest revision neither uninstalled nor uninstalling). */
      readonly installed: boolean;
      /** Latest revision and its status; absent when the release has no revision left. */
      readonly revision?: number;
      readonly status?: string;
    };
