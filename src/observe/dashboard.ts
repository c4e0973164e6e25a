// The chart's opt-in Grafana dashboard, written against Grafana's own dashboard schema types (@grafana/schema,
// the classic dashboard JSON that Grafana's sidecar provisions), and generated into
// charts/volume-guard/files/grafana-dashboard.json by npm run generate:chart. Every query is PromQL over metrics
// volume-guard exports (a test parses each one and checks the names against a live registry).

import type { Dashboard, DataSourceRef, Panel, RowPanel, VariableModel } from '@grafana/schema';

export const DASHBOARD_UID = 'volume-guard';

const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };
/** Every query is scoped to the chosen job (one volume-guard installation). */
const SEL = 'job=~"$job"';

interface Query {
  readonly expr: string;
  readonly legend: string;
}

let nextId = 1;

function panel(
  type: 'timeseries' | 'stat',
  title: string,
  description: string,
  queries: readonly Query[],
  gridPos: { x: number; y: number; w: number; h: number },
  unit = 'short',
  extra: Partial<Panel> = {},
): Panel {
  return {
    id: nextId++,
    type,
    title,
    description,
    datasource: DATASOURCE,
    gridPos,
    targets: queries.map((query, index) => ({
      refId: String.fromCharCode(65 + index),
      datasource: DATASOURCE,
      expr: query.expr,
      legendFormat: query.legend,
      range: true,
    })),
    fieldConfig: { defaults: { unit }, overrides: [] },
    options:
      type === 'stat'
        ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area' }
        : { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
    ...extra,
  };
}

function row(title: string, y: number): RowPanel {
  return { id: nextId++, type: 'row', title, collapsed: false, panels: [], gridPos: { x: 0, y, w: 24, h: 1 } };
}

function variables(): VariableModel[] {
  return [
    {
      name: 'datasource',
      label: 'Data source',
      type: 'datasource',
      query: 'prometheus',
      hide: 0,
    },
    {
      name: 'job',
      label: 'volume-guard job',
      type: 'query',
      datasource: DATASOURCE,
      query: { query: 'label_values(volume_guard_model_objects, job)', refId: 'job' },
      refresh: 2,
      includeAll: true,
      allValue: '.+',
      multi: false,
      hide: 0,
    },
  ];
}

export function grafanaDashboard(): Dashboard {
  nextId = 1;
  const panels: (Panel | RowPanel)[] = [
    row('Risks now: what the next upgrade, drain or Helm re-install would lose', 0),
    panel('stat', 'Volumes at risk', 'volume_guard_at_risk_volumes: volumes an upgrade or a node loss would lose now, per check (none for a check in mode off, nor for pvc-delete and storage-teardown, which are not counted).', [
      { expr: `max by (check) (volume_guard_at_risk_volumes{${SEL}})`, legend: '{{check}}' },
    ], { x: 0, y: 1, w: 12, h: 5 }),
    panel('stat', 'Nodes that cannot be drained', 'volume_guard_nodes_blocked: nodes whose cordon or drain volume-guard would refuse now, per check.', [
      { expr: `max by (check) (volume_guard_nodes_blocked{${SEL}})`, legend: '{{check}}' },
    ], { x: 12, y: 1, w: 12, h: 5 }),
    panel('timeseries', 'Risks over time', 'Volumes at risk and blocked nodes per check. A line that stays up means a risk nobody fixed.', [
      { expr: `max by (check) (volume_guard_at_risk_volumes{${SEL}})`, legend: 'volumes: {{check}}' },
      { expr: `max by (check) (volume_guard_nodes_blocked{${SEL}})`, legend: 'nodes blocked: {{check}}' },
    ], { x: 0, y: 6, w: 16, h: 8 }),
    panel('timeseries', 'Orphaned PVCs by namespace', 'volume_guard_orphan_pvcs: PVCs a Helm release left behind that a new install would adopt ("_other": namespaces past the series limit).', [
      { expr: `max by (namespace) (volume_guard_orphan_pvcs{${SEL}})`, legend: '{{namespace}}' },
    ], { x: 16, y: 6, w: 8, h: 8 }),
    row('Admissions', 14),
    panel('timeseries', 'Admission requests by decision', 'Requests per second by decision (allowed, denied, warned, errored, invalid).', [
      { expr: `sum by (decision) (rate(volume_guard_admission_requests_total{${SEL}}[$__rate_interval]))`, legend: '{{decision}}' },
    ], { x: 0, y: 15, w: 12, h: 8 }, 'reqps'),
    panel('timeseries', 'Denials by target', 'Denied requests per second by target (node-cordon, pod-eviction, upgrade, helm-release...).', [
      { expr: `sum by (target) (rate(volume_guard_admission_requests_total{${SEL}, decision="denied"}[$__rate_interval]))`, legend: '{{target}}' },
    ], { x: 12, y: 15, w: 12, h: 8 }, 'reqps'),
    panel('timeseries', 'Admission latency p50 / p99', 'Time from request to response inside volume-guard, per target.', [
      {
        expr: `histogram_quantile(0.99, sum by (le, target) (rate(volume_guard_admission_duration_seconds_bucket{${SEL}}[$__rate_interval])))`,
        legend: 'p99 {{target}}',
      },
      {
        expr: `histogram_quantile(0.5, sum by (le, target) (rate(volume_guard_admission_duration_seconds_bucket{${SEL}}[$__rate_interval])))`,
        legend: 'p50 {{target}}',
      },
    ], { x: 0, y: 23, w: 12, h: 8 }, 's'),
    panel('timeseries', 'Requests by target and operation', 'All requests per second, by target and operation.', [
      { expr: `sum by (target, operation) (rate(volume_guard_admission_requests_total{${SEL}}[$__rate_interval]))`, legend: '{{target}} {{operation}}' },
    ], { x: 12, y: 23, w: 12, h: 8 }, 'reqps'),
    row('Overrides', 31),
    panel('timeseries', 'Overrides in place', 'volume_guard_active_overrides: skip and reuse overrides on nodes, namespaces and PVCs, per kind and check they waive.', [
      { expr: `max by (kind, check) (volume_guard_active_overrides{${SEL}}) > 0`, legend: '{{kind}} {{check}}' },
    ], { x: 0, y: 32, w: 12, h: 8 }),
    panel('timeseries', 'Overrides honored', 'Requests that went through because an override waived a check, per check.', [
      { expr: `sum by (check) (increase(volume_guard_overrides_total{${SEL}}[$__rate_interval]))`, legend: '{{check}}' },
    ], { x: 12, y: 32, w: 12, h: 8 }),
    row('Model freshness', 40),
    panel('timeseries', 'Model age by resource', "Seconds since volume-guard's view of each resource was last confirmed current (0 while its watch is alive). Above model.maxStalenessSeconds, guarded operations get the stale policy.", [
      { expr: `max by (resource) (volume_guard_model_age_seconds{${SEL}})`, legend: '{{resource}}' },
    ], { x: 0, y: 41, w: 12, h: 8 }, 's'),
    panel('timeseries', 'Informer restarts', 'List/watch restarts per resource and reason; a steady rate of errors means volume-guard keeps losing the API server.', [
      { expr: `sum by (resource, reason) (increase(volume_guard_informer_restarts_total{${SEL}}[$__rate_interval])) > 0`, legend: '{{resource}} {{reason}}' },
    ], { x: 12, y: 41, w: 12, h: 8 }),
    panel('timeseries', 'Objects in the model', 'Objects held per resource.', [
      { expr: `max by (resource) (volume_guard_model_objects{${SEL}})`, legend: '{{resource}}' },
    ], { x: 0, y: 49, w: 8, h: 8 }),
    panel('stat', 'Risk gauges behind by', 'volume_guard_risk_pending_evaluations: nodes and namespaces changed but not yet re-evaluated (0: the risk panels are current).', [
      { expr: `max(volume_guard_risk_pending_evaluations{${SEL}})`, legend: 'pending' },
    ], { x: 8, y: 49, w: 8, h: 8 }),
    panel('stat', 'Serving certificate expires in', 'Time left before the certificate the API server checks expires.', [
      { expr: `min(volume_guard_tls_cert_not_after_seconds{${SEL}}) - time()`, legend: 'expires in' },
    ], { x: 16, y: 49, w: 8, h: 8 }, 's'),
  ];
  return {
    uid: DASHBOARD_UID,
    title: 'volume-guard',
    description: 'Data-loss risks volume-guard sees now, its admission decisions, overrides and the freshness of its view of the cluster.',
    tags: ['volume-guard', 'storage', 'kubernetes'],
    schemaVersion: 39,
    version: 1,
    editable: true,
    graphTooltip: 1,
    refresh: '1m',
    time: { from: 'now-24h', to: 'now' },
    timezone: 'browser',
    templating: { list: variables() },
    annotations: { list: [] },
    links: [],
    panels,
  };
}

/** The file the chart ships (generated). */
export function grafanaDashboardFile(): string {
  return `${JSON.stringify(grafanaDashboard(), null, 2)}\n`;
}

/** Every PromQL expression of the dashboard, with its panel's title. */
export function dashboardQueries(dashboard: Dashboard = grafanaDashboard()): { panel: string; expr: string }[] {
  const queries: { panel: string; expr: string }[] = [];
  const visit = (entry: Panel | RowPanel): void => {
    if (entry.type === 'row') {
      for (const inner of (entry as RowPanel).panels) visit(inner);
      return;
    }
    for (const target of (entry as Panel).targets ?? []) {
      if (typeof target['expr'] === 'string') queries.push({ panel: entry.title ?? '', expr: target['expr'] });
    }
  };
  for (const entry of dashboard.panels ?? []) visit(entry);
  return queries;
}
