// The chart's opt-in PrometheusRule: the alert rules, written once here and generated into
// charts/volume-guard/files/prometheus-rules.yaml (npm run generate:chart). The chart fills the placeholders from
// its values (prometheusRule.*) and the release: which job scrapes volume-guard, how long a risk may stand...
// Every annotation says what to do; README.md's "Runbook" has a section per alert (anchor = alert name).

import { stringify } from 'yaml';
import { RELEASE_LABELS } from '../cluster/records.ts';

/** Placeholders the chart template replaces (`replace "__VG_JOB__" ...`), with the chart's defaults. */
export const ALERT_PLACEHOLDERS = {
  /** The Prometheus job of volume-guard's scrape target (the ServiceMonitor's: the Service's name; prometheusRule.job). */
  __VG_JOB__: 'volume-guard',
  __VG_NAMESPACE__: 'volume-guard',
  /** How long a risk may be present before it alerts (the window to fix it before maintenance). */
  __VG_RISK_FOR__: '6h',
  /** The model's staleness bound in seconds (model.maxStalenessSeconds). */
  __VG_STALE_SECONDS__: '120',
  /** Days before the serving certificate expires. */
  __VG_CERT_DAYS__: '14',
  /** Denials per target within 15 minutes that count as a spike. */
  __VG_DENIALS__: '20',
  /** README runbook base URL (anchors are the alert names in lower case). */
  __VG_RUNBOOK__: 'https://github.com/volume-guard/volume-guard/blob/main/README.md',
} as const;

export type AlertPlaceholder = keyof typeof ALERT_PLACEHOLDERS;

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: { readonly severity: 'critical' | 'warning' | 'info' };
  readonly annotations: { readonly summary: string; readonly description: string; readonly runbook_url: string };
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

const SELECTOR = 'job="__VG_JOB__", namespace="__VG_NAMESPACE__"';

/**
 * Lists a namespace's PVCs with the labels that tie a PVC to its Helm release (what the risk gauges read): the
 * orphaned-PVC alert carries only the namespace, the release name is in these columns.
 */
export const ORPHAN_LISTING = `kubectl get pvc -n {{ $labels.namespace }} -L ${RELEASE_LABELS.join(',')}`;

/**
 * How long a risk alert remembers the last risk values while no volume-guard pod has any: the risk series have no
 * samples until a pod's first full list is evaluated (a 0 then would be a false all-clear), so across a restart
 * neither a pending alert's `for` clock starts over nor a firing one resolves. Longer than a restart, short enough
 * that a pod never synced stops vouching for old values (VolumeGuardModelStale fires then).
 */
export const RISK_GAP = '15m';

/** Present while some volume-guard pod's risk series are current (the gauge has samples only then). */
const RISK_READY = `volume_guard_risk_pending_evaluations{${SELECTOR}}`;

/**
 * A risk gauge aggregated by `by`: its current values; while no pod has any (a restart, before the first list is
 * evaluated), the last ones seen within RISK_GAP.
 */
function riskNow(series: string, by: string): string {
  return `(max by (${by}) (${series}) or (max by (${by}) (last_over_time(${series}[${RISK_GAP}])) unless on () ${RISK_READY}))`;
}

function runbook(alert: string): string {
  return `__VG_RUNBOOK__#${alert.toLowerCase()}`;
}

function rule(alert: string, fields: Omit<AlertRule, 'alert' | 'annotations'> & { summary: string; description: string }): AlertRule {
  return {
    alert,
    expr: fields.expr,
    for: fields.for,
    labels: fields.labels,
    annotations: { summary: fields.summary, description: fields.description, runbook_url: runbook(alert) },
  };
}

export const ALERT_GROUPS: readonly RuleGroup[] = [
  {
    name: 'volume-guard.risks',
    rules: [
      rule('VolumeGuardVolumesAtRisk', {
        expr: `${riskNow(`volume_guard_at_risk_volumes{${SELECTOR}, check!="orphan-pvc"}`, 'check')} > 0`,
        for: '__VG_RISK_FOR__',
        labels: { severity: 'warning' },
        summary: '{{ $value }} volumes at risk of data loss ({{ $labels.check }})',
        description:
          'For more than __VG_RISK_FOR__, {{ $value }} volumes have been at risk per the {{ $labels.check }} check: the next upgrade, drain or ' +
          'node loss can lose their data. Run `kubectl volume-guard audit` to list them; raise their replica count, repair ' +
          'degraded volumes or move node-local data before any maintenance.',
      }),
      rule('VolumeGuardNodesBlocked', {
        expr: `${riskNow(`volume_guard_nodes_blocked{${SELECTOR}}`, 'check')} > 0`,
        for: '__VG_RISK_FOR__',
        labels: { severity: 'warning' },
        summary: '{{ $value }} nodes cannot be drained ({{ $labels.check }})',
        description:
          'For more than __VG_RISK_FOR__, volume-guard would refuse the cordon or drain of {{ $value }} nodes because of {{ $labels.check }}; ' +
          'an upgrade that drains nodes will stop there. Run `kubectl volume-guard audit` (or `--node NAME`) to see why, ' +
          'and fix the volumes before the maintenance window.',
      }),
      rule('VolumeGuardOrphanedPVCs', {
        // Its own `namespace` label is the PVCs' namespace (the ServiceMonitor honors it): select by job alone.
        expr: `${riskNow(`volume_guard_orphan_pvcs{job="__VG_JOB__"}`, 'namespace')} > 0`,
        for: '__VG_RISK_FOR__',
        labels: { severity: 'info' },
        summary: '{{ $value }} PVCs left behind by Helm releases in {{ $labels.namespace }}',
        description:
          'PVCs labelled for a Helm release that nothing of the release uses have stayed for more than __VG_RISK_FOR__ in namespace ' +
          '{{ $labels.namespace }}. A new install of the release would adopt their old data. `kubectl volume-guard audit` lists the ' +
          'releases not installed and their PVCs (the whole cluster). Or find the release in the last columns of ' +
          `\`${ORPHAN_LISTING}\` ("_other", the namespaces beyond the series limit: use -A), then run ` +
          '`kubectl volume-guard audit --release {{ $labels.namespace }}/<release>` for its PVCs; delete them, or, if the data is meant to be ' +
          'reused, annotate volume-guard.io/reuse=true volume-guard.io/skip-by="<you>" on them.',
      }),
    ],
  },
  {
    name: 'volume-guard.health',
    rules: [
      rule('VolumeGuardModelStale', {
        expr: `max by (resource) (volume_guard_model_age_seconds{${SELECTOR}}) > __VG_STALE_SECONDS__`,
        for: '5m',
        labels: { severity: 'critical' },
        summary: 'volume-guard has not seen {{ $labels.resource }} for {{ $value | humanizeDuration }}',
        description:
          "volume-guard's view of {{ $labels.resource }} is older than its staleness bound: guarded operations get model.stalePolicy " +
          '(deny by default), so cordons, upgrades and Helm installs are refused. Check the pod log for informer errors and ' +
          'volume_guard_informer_restarts_total, its RBAC (list/watch), and the API server.',
      }),
      rule('VolumeGuardCertificateExpiring', {
        expr: `min(volume_guard_tls_cert_not_after_seconds{${SELECTOR}}) - time() < __VG_CERT_DAYS__ * 86400`,
        for: '1h',
        labels: { severity: 'warning' },
        summary: "volume-guard's serving certificate expires in {{ $value | humanizeDuration }}",
        description:
          'The certificate the API server checks when calling the webhook expires within __VG_CERT_DAYS__ days; after that every guarded ' +
          'operation fails (failurePolicy Fail) or is let through unchecked (Ignore). Check that cert-manager renews the Certificate ' +
          '(kubectl describe certificate -n __VG_NAMESPACE__). A chart-generated certificate is kept by a plain helm upgrade: rotate it ' +
          'with helm upgrade --reset-then-reuse-values --set tls.generated.rotate=true, then once more with rotate=false (left true, every upgrade rotates).',
      }),
      rule('VolumeGuardDenialsSpiking', {
        expr: `sum by (target) (increase(volume_guard_admission_requests_total{${SELECTOR}, decision="denied"}[15m])) > __VG_DENIALS__`,
        for: '0m',
        labels: { severity: 'warning' },
        summary: '{{ $value | humanize }} {{ $labels.target }} requests denied in 15 minutes',
        description:
          'Something keeps retrying operations volume-guard refuses (an upgrade controller cordoning, a drain loop, a Helm retry). ' +
          'Find the requester in the Events (kubectl get events -A --field-selector reason=DataLossRisk) or in volume-guard\'s admission log lines, ' +
          'then fix the risk it names or pause the automation.',
      }),
      rule('VolumeGuardWebhookNotReady', {
        // volume_guard_ready, not `up`: a pod stuck unready still answers scrapes (endpoints discovery scrapes
        // not-ready addresses) while the API server has no webhook to call. Absent (no pod scraped) counts as 0.
        expr: `(max(volume_guard_ready{${SELECTOR}}) or vector(0)) == 0`,
        for: '5m',
        labels: { severity: 'critical' },
        summary: 'No volume-guard pod is ready',
        description:
          'For 5 minutes no volume-guard pod has been ready (or none was scraped). Guarded operations fail (failurePolicy Fail) or pass ' +
          'unchecked (Ignore). Check the pods (kubectl get pods -n __VG_NAMESPACE__) and their log: /readyz turns ready only after the ' +
          'first full list of the cluster (RBAC, API server reachable). If the pods are ready, check the ServiceMonitor.',
      }),
      rule('VolumeGuardErrors', {
        expr: `sum(rate(volume_guard_admission_requests_total{${SELECTOR}, decision="errored"}[5m])) > 0`,
        for: '10m',
        labels: { severity: 'warning' },
        summary: 'volume-guard fails to decide on admission requests',
        description:
          'volume-guard answered admission requests with an error for 10 minutes: those operations were refused or let through by the ' +
          "failure policy without a check. Look for 'errored' lines in the volume-guard log.",
      }),
    ],
  },
];

/** The `groups:` document the chart puts under the PrometheusRule's spec. */
export function prometheusRulesFile(): string {
  const header =
    '# Generated by scripts/generate-chart.ts from src/observe/alerts.ts (edit there, then npm run generate:chart).\n' +
    '# __VG_*__ placeholders are filled by templates/prometheusrule.yaml from the values.\n';
  return header + stringify({ groups: ALERT_GROUPS }, { lineWidth: 0 });
}

/** The rules with the placeholders filled (tests; what the chart renders with these values). */
export function renderAlertGroups(values: Readonly<Partial<Record<AlertPlaceholder, string>>> = {}): RuleGroup[] {
  const filled = { ...ALERT_PLACEHOLDERS, ...values };
  const fill = (text: string): string => text.replace(/__VG_[A-Z_]+__/g, (token) => filled[token as AlertPlaceholder] ?? token);
  return ALERT_GROUPS.map((group) => ({
    name: group.name,
    rules: group.rules.map((entry) => ({
      alert: entry.alert,
      expr: fill(entry.expr),
      for: fill(entry.for),
      labels: entry.labels,
      annotations: {
        summary: fill(entry.annotations.summary),
        description: fill(entry.annotations.description),
        runbook_url: fill(entry.annotations.runbook_url),
      },
    })),
  }));
}
