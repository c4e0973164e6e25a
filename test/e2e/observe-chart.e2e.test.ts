// The chart's monitoring options (issue 16) with each option on and off: helm lint --strict, helm template, and a
// server-side dry-run of what they render on the real API server (a PrometheusRule CRD with the operator's
// structural schema for rule groups, written for this test; the ServiceMonitor CRD as chart.e2e installs it).
// The rendered rules are the generated ones with the placeholders filled from the values, and every expression
// parses; the dashboard ConfigMap carries the sidecar label and the generated JSON.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { helm, kubectl, paths, tempFile, type CommandResult } from '../harness/cluster.ts';
import { renderAlertGroups } from '../../src/observe/alerts.ts';
import { grafanaDashboard } from '../../src/observe/dashboard.ts';
import { analyzeQuery, metricCatalog } from '../support/promql.ts';

const CHART_DIR = join(paths.root, 'charts', 'volume-guard');
const NAMESPACE = 'vg-obs-chart';
const RELEASE = 'vg-obs';
const FULLNAME = `${RELEASE}-volume-guard`;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: any;
}

async function must(result: Promise<CommandResult>, what: string): Promise<CommandResult> {
  const done = await result;
  if (done.code !== 0) throw new Error(`${what} failed (exit ${done.code}): ${done.stderr || done.stdout}`);
  return done;
}

async function template(args: readonly string[]): Promise<K8sObject[]> {
  const result = await must(helm(['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, ...args]), 'helm template');
  return parseAllDocuments(result.stdout).map((document) => document.toJS() as K8sObject).filter((object) => object !== null);
}

const stringMap = { type: 'object', additionalProperties: { type: 'string' } };

/** prometheus-operator's PrometheusRule, with the structural schema of its rule groups (no unknown fields). */
const PROMETHEUS_RULE_CRD: K8sObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'prometheusrules.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: { kind: 'PrometheusRule', plural: 'prometheusrules', singular: 'prometheusrule', listKind: 'PrometheusRuleList', shortNames: ['promrule'] },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            required: ['spec'],
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: {
                type: 'object',
                properties: {
                  groups: {
                    type: 'array',
                    'x-kubernetes-list-type': 'map',
                    'x-kubernetes-list-map-keys': ['name'],
                    items: {
                      type: 'object',
                      required: ['name'],
                      properties: {
                        name: { type: 'string', minLength: 1 },
                        interval: { type: 'string', pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' },
                        limit: { type: 'integer' },
                        rules: {
                          type: 'array',
                          items: {
                            type: 'object',
                            required: ['expr'],
                            properties: {
                              alert: { type: 'string' },
                              record: { type: 'string' },
                              expr: { 'x-kubernetes-int-or-string': true },
                              for: { type: 'string', pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' },
                              keep_firing_for: { type: 'string', minLength: 1 },
                              labels: stringMap,
                              annotations: stringMap,
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

/** As chart.e2e.test.ts installs it (same object, so the two files never fight over it). */
const SERVICE_MONITOR_CRD: K8sObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'servicemonitors.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: { kind: 'ServiceMonitor', plural: 'servicemonitors', singular: 'servicemonitor', listKind: 'ServiceMonitorList' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

async function applyObjects(name: string, objects: readonly K8sObject[], extra: readonly string[] = []): Promise<CommandResult> {
  const file = await tempFile(name, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  return kubectl(['apply', '-f', file, ...extra]);
}

beforeAll(async () => {
  await must(applyObjects('obs-crds.json', [PROMETHEUS_RULE_CRD, SERVICE_MONITOR_CRD]), 'monitoring CRDs');
  await must(kubectl(['wait', '--for=condition=Established', 'crd/prometheusrules.monitoring.coreos.com', 'crd/servicemonitors.monitoring.coreos.com', '--timeout=60s']), 'CRDs established');
  await must(applyObjects('obs-namespace.json', [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }]), 'namespace');
}, 120_000);

const ON = ['--set', 'serviceMonitor.enabled=true', '--set', 'prometheusRule.enabled=true', '--set', 'grafanaDashboard.enabled=true'];

describe('helm lint --strict with the monitoring options', { timeout: 120_000 }, () => {
  it.each([
    ['all on', ON],
    ['all off, events off', ['--set', 'config.events.enabled=false']],
    ['custom values', [...ON, '--set', 'prometheusRule.riskFor=1h30m', '--set', 'prometheusRule.labels.release=kps', '--set', 'grafanaDashboard.namespace=monitoring']],
  ])('passes with %s', async (_label, args) => {
    const result = await helm(['lint', '--strict', CHART_DIR, ...args]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });

  it('refuses a window that is not a duration', async () => {
    const result = await helm(['lint', '--strict', CHART_DIR, '--set', 'prometheusRule.riskFor=six hours']);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('schema');
  });
});

describe('helm template with each option on and off', { timeout: 120_000 }, () => {
  it('renders none of them by default but the events role', async () => {
    const objects = await template([]);
    const kinds = objects.map((object) => object.kind);
    expect(kinds).not.toContain('PrometheusRule');
    expect(kinds).not.toContain('ServiceMonitor');
    expect(objects.filter((object) => object.kind === 'ConfigMap' && object.metadata.labels?.['grafana_dashboard'])).toEqual([]);
    expect(objects.filter((object) => object.metadata.name === `${FULLNAME}-events`).map((object) => object.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding']);
    const off = await template(['--set', 'config.events.enabled=false']);
    expect(off.filter((object) => object.metadata.name === `${FULLNAME}-events`)).toEqual([]);
    const config = off.find((object) => object.kind === 'ConfigMap' && object.metadata.name === FULLNAME);
    expect(JSON.stringify(config?.['data'])).toContain('enabled: false');
  });

  it('fills the rules from the values and the release, and each expression parses against the exported metrics', async () => {
    const objects = await template([...ON, '--set', 'prometheusRule.riskFor=2h', '--set', 'prometheusRule.labels.release=kps', '--set', 'config.model.maxStalenessSeconds=300']);
    const rule = objects.find((object) => object.kind === 'PrometheusRule');
    expect(rule?.metadata).toMatchObject({ name: FULLNAME, namespace: NAMESPACE, labels: { release: 'kps' } });
    const expected = renderAlertGroups({ __VG_JOB__: FULLNAME, __VG_NAMESPACE__: NAMESPACE, __VG_RISK_FOR__: '2h', __VG_STALE_SECONDS__: '300' });
    expect(rule?.['spec'].groups).toEqual(JSON.parse(JSON.stringify(expected)));
    const catalog = metricCatalog();
    for (const group of rule?.['spec'].groups ?? []) {
      for (const entry of group.rules) expect(analyzeQuery(entry.expr, catalog).problems, entry.alert).toEqual([]);
    }
    // The ServiceMonitor's job is the Service's name, which the rules select.
    const service = objects.find((object) => object.kind === 'Service');
    expect(service?.metadata.name).toBe(FULLNAME);
    expect(objects.find((object) => object.kind === 'ServiceMonitor')?.['spec'].endpoints[0].honorLabels).toBe(true);
  });

  it('puts the dashboard in a ConfigMap labelled for the sidecar, in the namespace asked for', async () => {
    const objects = await template([...ON, '--set', 'grafanaDashboard.namespace=monitoring', '--set', 'grafanaDashboard.annotations.grafana_folder=Storage']);
    const configMap = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === `${FULLNAME}-dashboard`);
    expect(configMap?.metadata).toMatchObject({ namespace: 'monitoring', labels: { grafana_dashboard: '1' }, annotations: { grafana_folder: 'Storage' } });
    expect(JSON.parse(configMap?.['data']['volume-guard.json'])).toEqual(JSON.parse(JSON.stringify(grafanaDashboard())));
  });
});

describe('server-side dry-run of the monitoring objects on the real API server', { timeout: 120_000 }, () => {
  it.each([
    ['all on', ON],
    ['all on, events off', [...ON, '--set', 'config.events.enabled=false']],
  ])('accepts what renders with %s', async (label, args) => {
    const wanted = new Set(['PrometheusRule', 'ServiceMonitor', 'ConfigMap', 'ClusterRole', 'ClusterRoleBinding', 'ServiceAccount', 'Service']);
    const objects = (await template(args)).filter((object) => wanted.has(object.kind));
    expect(objects.map((object) => object.kind)).toEqual(expect.arrayContaining(['PrometheusRule', 'ServiceMonitor', 'ConfigMap']));
    const result = await must(applyObjects(`obs-${label.replace(/\W+/g, '-')}.json`, objects, ['--server-side', '--dry-run=server', '--validate=strict', '--force-conflicts']), `dry-run ${label}`);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(objects.length);
    for (const line of lines) expect(line).toMatch(/ (serverside-applied|created|configured|unchanged) \(server dry run\)$/);
  });

  it('the PrometheusRule schema is enforced: a rule without expr is refused', async () => {
    const bad = { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'obs-bad', namespace: NAMESPACE }, spec: { groups: [{ name: 'g', rules: [{ alert: 'A' }] }] } };
    // kubectl's own validation off: the API server alone refuses it.
    const result = await applyObjects('obs-bad-rule.json', [bad], ['--server-side', '--dry-run=server', '--validate=false']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/expr: Required value/);
  });
});
