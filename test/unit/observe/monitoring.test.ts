// The chart's alert rules and Grafana dashboard, checked like promtool would and more: every expression parses
// with Prometheus' own PromQL grammar, names only metrics and labels volume-guard really exports (read from a
// live registry), uses rate()/increase() on counters only, and every `$labels.x` / `{{x}}` it prints is a label
// its result keeps. Each alert has a summary, a description saying what to do, and a README runbook section. The
// dashboard is typed against Grafana's dashboard schema (@grafana/schema) at compile time and checked here for
// what the types cannot say (ids, grid, datasource, queries).
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ALERT_GROUPS, ALERT_PLACEHOLDERS, renderAlertGroups } from '../../../src/observe/alerts.ts';
import { dashboardQueries, grafanaDashboard } from '../../../src/observe/dashboard.ts';
import { RELEASE_LABELS } from '../../../src/cluster/records.ts';
import { analyzeQuery, metricCatalog, PROMETHEUS_DURATION } from '../../support/promql.ts';

const catalog = metricCatalog();
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const chartFile = (name: string): string => readFileSync(new URL(`../../../charts/volume-guard/files/${name}`, import.meta.url), 'utf8');

/** Grafana's variables replaced by values Prometheus accepts. */
function asPromql(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$job', 'volume-guard');
}

describe('alert rules (files/prometheus-rules.yaml)', () => {
  const groups = renderAlertGroups({ __VG_JOB__: 'vg', __VG_NAMESPACE__: 'ops', __VG_RISK_FOR__: '2h' });
  const rules = groups.flatMap((group) => group.rules);

  it('covers what operators need: risks standing, model stale, certificate expiring, denials spiking, no pod ready', () => {
    const metricsUsed = new Set(rules.flatMap((rule) => analyzeQuery(rule.expr, catalog).metrics));
    for (const metric of ['volume_guard_at_risk_volumes', 'volume_guard_nodes_blocked', 'volume_guard_orphan_pvcs', 'volume_guard_model_age_seconds', 'volume_guard_tls_cert_not_after_seconds', 'volume_guard_admission_requests_total', 'volume_guard_ready']) {
      expect(metricsUsed, metric).toContain(metric);
    }
    expect(new Set(rules.map((rule) => rule.alert)).size).toBe(rules.length);
  });

  for (const rule of renderAlertGroups().flatMap((group) => group.rules)) {
    it(`${rule.alert}: parses, and reads only exported metrics and labels`, () => {
      const analysis = analyzeQuery(rule.expr, catalog);
      expect(analysis.problems).toEqual([]);
      expect(analysis.metrics.length).toBeGreaterThan(0);
      expect(rule.for).toMatch(PROMETHEUS_DURATION);
      expect(['critical', 'warning', 'info']).toContain(rule.labels.severity);
      // Every label the annotations print is kept by the expression.
      for (const text of [rule.annotations.summary, rule.annotations.description]) {
        for (const [, label] of text.matchAll(/\$labels\.([a-zA-Z_]+)/g)) {
          expect(analysis.resultLabels, `${rule.alert} prints $labels.${label}`).toBeDefined();
          expect([...(analysis.resultLabels ?? [])]).toContain(label);
        }
      }
    });

    it(`${rule.alert}: says what to do, with a README runbook section`, () => {
      expect(rule.annotations.summary.length).toBeGreaterThan(10);
      expect(rule.annotations.description.length).toBeGreaterThan(80);
      expect(rule.annotations.description).toMatch(/\b(Run|Check|Find|Look|delete|fix)\b/);
      expect(rule.annotations.runbook_url).toMatch(new RegExp(`#${rule.alert.toLowerCase()}$`));
      expect(readme).toContain(`#### ${rule.alert}\n`);
      expect(rule.annotations.summary + rule.annotations.description).not.toMatch(/__VG_/);
    });
  }

  it('VolumeGuardOrphanedPVCs: advice that works from the namespace it carries, through the labels naming the release', () => {
    const description = rules.find((rule) => rule.alert === 'VolumeGuardOrphanedPVCs')?.annotations.description ?? '';
    // No placeholder the operator must know already: the release is found from the namespace.
    expect(description).not.toMatch(/NAMESPACE\/NAME|NS\/NAME/);
    const listing = description.indexOf('kubectl get pvc -n {{ $labels.namespace }} -L ');
    expect(listing).toBeGreaterThanOrEqual(0);
    const columns = /-L ([^ `]+)/.exec(description.slice(listing))?.[1]?.split(',');
    expect(columns).toEqual([...RELEASE_LABELS]);
    expect(description.indexOf('kubectl volume-guard audit --release {{ $labels.namespace }}/<release>')).toBeGreaterThan(listing);
    // The whole-cluster audit lists the releases not installed: pointed to first, before the listing by hand.
    const whole = description.indexOf('`kubectl volume-guard audit` lists the releases not installed');
    expect(whole).toBeGreaterThanOrEqual(0);
    expect(whole).toBeLessThan(listing);
  });

  it('tells readiness by volume_guard_ready, not `up` (a pod stuck unready still answers scrapes)', () => {
    const notReady = rules.find((rule) => rule.alert === 'VolumeGuardWebhookNotReady');
    expect(analyzeQuery(notReady?.expr ?? '', catalog).metrics).toEqual(['volume_guard_ready']);
    expect(rules.flatMap((rule) => analyzeQuery(rule.expr, catalog).metrics)).not.toContain('up');
  });

  it('fills every placeholder from the chart values', () => {
    const raw = JSON.stringify(ALERT_GROUPS);
    const used = new Set(raw.match(/__VG_[A-Z_]+__/g));
    expect([...used].sort()).toEqual(Object.keys(ALERT_PLACEHOLDERS).sort());
    const template = readFileSync(new URL('../../../charts/volume-guard/templates/prometheusrule.yaml', import.meta.url), 'utf8');
    for (const placeholder of used) expect(template).toContain(`replace "${placeholder}"`);
    expect(JSON.stringify(groups)).not.toMatch(/__VG_/);
    expect(groups.flatMap((group) => group.rules).map((rule) => rule.expr).join('\n')).toContain('job="vg", namespace="ops"');
  });

  it('is the file the chart ships, a valid rule groups document', () => {
    const file = parseYaml(chartFile('prometheus-rules.yaml')) as { groups: unknown };
    expect(file.groups).toEqual(JSON.parse(JSON.stringify(ALERT_GROUPS)));
  });

  it('the analyzer does catch what promtool would', () => {
    expect(analyzeQuery('sum(rate(volume_guard_admission_requests_total[5m]', catalog).problems.length).toBeGreaterThan(0);
    expect(analyzeQuery('volume_guard_at_risk_volume > 0', catalog).problems).toEqual(['unknown metric volume_guard_at_risk_volume']);
    expect(analyzeQuery('sum by (checks) (volume_guard_at_risk_volumes)', catalog).problems).toEqual(['grouping by checks, which no metric read there has']);
    expect(analyzeQuery('rate(volume_guard_model_age_seconds[5m])', catalog).problems).toEqual(['rate() over volume_guard_model_age_seconds, a gauge']);
    expect(analyzeQuery('rate(volume_guard_overrides_total)', catalog).problems.length).toBeGreaterThan(0);
  });
});

describe('Grafana dashboard (files/grafana-dashboard.json)', () => {
  const dashboard = grafanaDashboard();

  it('is the file the chart ships', () => {
    expect(JSON.parse(chartFile('grafana-dashboard.json'))).toEqual(JSON.parse(JSON.stringify(dashboard)));
  });

  it('every query parses and reads only exported metrics and labels; legends print kept labels', () => {
    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThanOrEqual(15);
    for (const query of queries) {
      const analysis = analyzeQuery(asPromql(query.expr), catalog);
      expect(analysis.problems, `${query.panel}: ${query.expr}`).toEqual([]);
    }
    for (const entry of dashboard.panels ?? []) {
      if (entry.type === 'row') continue;
      for (const target of (entry as { targets?: Record<string, unknown>[] }).targets ?? []) {
        const analysis = analyzeQuery(asPromql(String(target['expr'])), catalog);
        const labels = [...String(target['legendFormat']).matchAll(/\{\{\s*([a-zA-Z_]+)\s*\}\}/g)].map((match) => match[1]);
        if (analysis.resultLabels === undefined) continue;
        for (const label of labels) expect([...analysis.resultLabels], `${entry.title}: legend {{${label}}}`).toContain(label);
      }
    }
  });

  it('shows risks, admissions by decision and target, latency, overrides and model freshness', () => {
    const metrics = new Set(dashboardQueries(dashboard).flatMap((query) => analyzeQuery(asPromql(query.expr), catalog).metrics));
    for (const metric of [
      'volume_guard_at_risk_volumes',
      'volume_guard_nodes_blocked',
      'volume_guard_orphan_pvcs',
      'volume_guard_admission_requests_total',
      'volume_guard_admission_duration_seconds_bucket',
      'volume_guard_active_overrides',
      'volume_guard_overrides_total',
      'volume_guard_model_age_seconds',
    ]) {
      expect(metrics, metric).toContain(metric);
    }
  });

  it('has the structure Grafana needs to import it: ids, grid, data source variable, query refIds', () => {
    // The structural part of Grafana's dashboard schema that provisioning relies on (the full type is checked by tsc).
    const ajv = new Ajv({ allErrors: true, strict: false });
    const gridPos = { type: 'object', required: ['x', 'y', 'w', 'h'], properties: { x: { type: 'integer', minimum: 0, maximum: 23 }, y: { type: 'integer', minimum: 0 }, w: { type: 'integer', minimum: 1, maximum: 24 }, h: { type: 'integer', minimum: 1 } } };
    const validate = ajv.compile({
      type: 'object',
      required: ['uid', 'title', 'schemaVersion', 'panels', 'templating'],
      properties: {
        uid: { type: 'string', pattern: '^[a-zA-Z0-9_-]{1,40}$' },
        schemaVersion: { type: 'integer', minimum: 36 },
        panels: {
          type: 'array',
          items: {
            type: 'object',
            required: ['id', 'type', 'gridPos', 'title'],
            properties: {
              id: { type: 'integer' },
              gridPos,
              datasource: { type: 'object', required: ['type', 'uid'], properties: { type: { const: 'prometheus' }, uid: { const: '${datasource}' } } },
              targets: { type: 'array', minItems: 1, items: { type: 'object', required: ['refId', 'expr'] } },
            },
            if: { properties: { type: { not: { const: 'row' } } } },
            then: { required: ['datasource', 'targets'] },
          },
        },
        templating: { type: 'object', properties: { list: { type: 'array', contains: { type: 'object', properties: { name: { const: 'datasource' }, type: { const: 'datasource' }, query: { const: 'prometheus' } } } } } },
      },
    });
    const json = JSON.parse(JSON.stringify(dashboard)) as unknown;
    expect(validate(json), ajv.errorsText(validate.errors)).toBe(true);
    const panels = dashboard.panels ?? [];
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const entry of panels) {
      const pos = entry.gridPos;
      expect((pos?.x ?? 0) + (pos?.w ?? 0), entry.title).toBeLessThanOrEqual(24);
      const refIds = ((entry as { targets?: Record<string, unknown>[] }).targets ?? []).map((target) => target['refId']);
      expect(new Set(refIds).size).toBe(refIds.length);
    }
    // No two panels overlap on the grid.
    const cells = new Set<string>();
    for (const entry of panels) {
      const { x = 0, y = 0, w = 0, h = 0 } = entry.gridPos ?? {};
      for (let col = x; col < x + w; col++) for (let line = y; line < y + h; line++) {
        const cell = `${col},${line}`;
        expect(cells.has(cell), `${entry.title} overlaps at ${cell}`).toBe(false);
        cells.add(cell);
      }
    }
  });
});

describe("README's Metrics table", () => {
  const section = readme.slice(readme.indexOf('\n## Metrics\n'), readme.indexOf('\n## ', readme.indexOf('\n## Metrics\n') + 1));
  const rows = [...section.matchAll(/^\| `(volume_guard_[a-z_]+)` \| ([a-z]+) \|/gm)].map(([, name, type]) => ({ name: name!, type: type! }));
  /** What volume-guard exports of its own, by the name it is registered under (histograms without _bucket/_sum/_count). */
  const exported = new Map(
    [...catalog.entries()]
      .filter(([name]) => name.startsWith('volume_guard_') && !/_(sum|count)$/.test(name))
      .map(([name, info]) => (name.endsWith('_bucket') ? [name.slice(0, -'_bucket'.length), 'histogram'] : [name, info.type])),
  );

  it('lists every metric volume-guard exports, with its type, and nothing else', () => {
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.map((row) => row.name).sort()).toEqual([...exported.keys()].sort());
    for (const row of rows) expect(row.type, row.name).toBe(exported.get(row.name));
  });
});
