// PromQL checks for the chart's alert rules and dashboard, on the parse tree of Prometheus' own grammar
// (@prometheus-io/lezer-promql, the parser of the Prometheus UI): syntax errors, the metrics and labels each
// selector names, the labels a query's result keeps (for `$labels.x` and `{{x}}` legends), and counters under
// rate()/increase(). The metric catalog is read from a live prom-client registry with every volume-guard metric.

import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import type { Registry } from 'prom-client';
import { registerModelMetrics } from '../../src/cluster/metrics.ts';
import { VOLUME_SETS } from '../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../src/cluster/model.ts';
import { registerEventMetrics, registerRiskMetrics } from '../../src/observe/metrics.ts';
import { RiskTracker } from '../../src/observe/risks.ts';
import { createMetrics } from '../../src/server/metrics.ts';

/** Labels Prometheus adds to every series of a ServiceMonitor target. */
export const TARGET_LABELS: readonly string[] = ['job', 'instance', 'namespace', 'pod', 'service', 'endpoint', 'container'];

export interface MetricInfo {
  readonly type: string;
  readonly labels: ReadonlySet<string>;
}

/** Every series name volume-guard exposes (histograms as _bucket/_sum/_count), with its type and labels. */
export function metricCatalog(): Map<string, MetricInfo> {
  const metrics = createMetrics({ processMetrics: true });
  registerModelMetrics(metrics.registry);
  registerRiskMetrics(metrics.registry, new RiskTracker(new ClusterModel(VOLUME_SETS)));
  registerEventMetrics(metrics.registry);
  const catalog = new Map<string, MetricInfo>();
  const add = (registry: Registry): void => {
    for (const metric of registry.getMetricsAsArray()) {
      const raw = metric as unknown as { name: string; labelNames?: readonly string[]; type?: string };
      const type = String((metric as unknown as { type: unknown }).type ?? raw.type ?? 'untyped');
      const labels = new Set([...(raw.labelNames ?? []), ...TARGET_LABELS]);
      if (type === 'histogram') {
        catalog.set(`${raw.name}_bucket`, { type: 'counter', labels: new Set([...labels, 'le']) });
        catalog.set(`${raw.name}_sum`, { type: 'counter', labels });
        catalog.set(`${raw.name}_count`, { type: 'counter', labels });
      } else {
        catalog.set(raw.name, { type, labels });
      }
    }
  };
  add(metrics.registry);
  // Prometheus' own series for every target.
  catalog.set('up', { type: 'gauge', labels: new Set(TARGET_LABELS) });
  return catalog;
}

const RANGE_FUNCTIONS_ON_COUNTERS: ReadonlySet<string> = new Set(['rate', 'irate', 'increase', 'resets']);

export interface QueryAnalysis {
  readonly problems: string[];
  /** Metric names the query selects. */
  readonly metrics: string[];
  /** Labels its result keeps (for `by (...)` aggregations; undefined when not decided by the outermost aggregation). */
  readonly resultLabels: ReadonlySet<string> | undefined;
}

function text(source: string, node: SyntaxNode): string {
  return source.slice(node.from, node.to);
}

function children(node: SyntaxNode): SyntaxNode[] {
  const list: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) list.push(child);
  return list;
}

function descendants(node: SyntaxNode, name: string): SyntaxNode[] {
  const found: SyntaxNode[] = [];
  const cursor = node.cursor();
  do {
    if (cursor.name === name) found.push(cursor.node);
  } while (cursor.next() && cursor.from < node.to);
  return found.filter((n) => n.from >= node.from && n.to <= node.to);
}

/** The labels of the outermost aggregation's `by (...)` (through binary operators with scalars and filters). */
function outerLabels(source: string, node: SyntaxNode | null): Set<string> | undefined {
  if (node === null) return undefined;
  switch (node.name) {
    case 'PromQL':
    case 'ParenExpr':
      return outerLabels(source, node.firstChild?.name === '(' ? (node.firstChild.nextSibling ?? null) : node.firstChild);
    case 'BinaryExpr': {
      // `x > 0`, `x - time()`: the vector side's labels.
      const sides = children(node).filter((child) => !['Gtr', 'Lss', 'Eql', 'Neq', 'Gte', 'Lte', 'Sub', 'Add', 'Mul', 'Div', 'Mod', 'Pow', 'And', 'Or', 'Unless', 'BoolModifier', 'MatchingModifierClause'].includes(child.name));
      for (const side of sides) {
        const labels = outerLabels(source, side);
        if (labels !== undefined) return labels;
      }
      return undefined;
    }
    case 'AggregateExpr': {
      const modifier = children(node).find((child) => child.name === 'AggregateModifier');
      if (modifier === undefined) return new Set();
      const by = children(modifier).some((child) => child.name === 'By');
      if (!by) return undefined;
      return new Set(descendants(modifier, 'LabelName').map((label) => text(source, label)));
    }
    default:
      return undefined;
  }
}

/** Parses `expr` and checks it against the catalog. */
export function analyzeQuery(expr: string, catalog: ReadonlyMap<string, MetricInfo>): QueryAnalysis {
  const problems: string[] = [];
  const tree = parser.parse(expr);
  tree.iterate({
    enter(node) {
      if (node.type.isError) problems.push(`syntax error at ${node.from}: "${expr.slice(Math.max(0, node.from - 10), node.to + 10)}"`);
    },
  });
  const top = tree.topNode;
  const metrics: string[] = [];
  for (const selector of descendants(top, 'VectorSelector')) {
    const identifier = children(selector).find((child) => child.name === 'Identifier');
    if (identifier === undefined) {
      problems.push(`selector without a metric name: ${text(expr, selector)}`);
      continue;
    }
    const name = text(expr, identifier);
    if (name === 'vector') continue;
    metrics.push(name);
    const info = catalog.get(name);
    if (info === undefined) {
      problems.push(`unknown metric ${name}`);
      continue;
    }
    for (const label of descendants(selector, 'LabelName')) {
      const labelName = text(expr, label);
      if (!info.labels.has(labelName)) problems.push(`${name} has no label ${labelName}`);
    }
  }
  // Grouping labels must exist on some metric the aggregation reads.
  for (const aggregate of descendants(top, 'AggregateExpr')) {
    const modifier = children(aggregate).find((child) => child.name === 'AggregateModifier');
    if (modifier === undefined) continue;
    const read = descendants(aggregate, 'VectorSelector')
      .map((selector) => children(selector).find((child) => child.name === 'Identifier'))
      .filter((identifier): identifier is SyntaxNode => identifier !== undefined)
      .map((identifier) => catalog.get(text(expr, identifier)))
      .filter((info): info is MetricInfo => info !== undefined);
    for (const label of descendants(modifier, 'LabelName')) {
      const labelName = text(expr, label);
      if (read.length > 0 && !read.some((info) => info.labels.has(labelName))) problems.push(`grouping by ${labelName}, which no metric read there has`);
    }
  }
  // rate()/increase() only over counters, and over a range.
  for (const call of descendants(top, 'FunctionCall')) {
    const identifier = children(call).find((child) => child.name === 'FunctionIdentifier');
    const fn = identifier === undefined ? '' : text(expr, identifier);
    if (!RANGE_FUNCTIONS_ON_COUNTERS.has(fn)) continue;
    const body = children(call).find((child) => child.name === 'FunctionCallBody');
    const matrix = body === undefined ? [] : descendants(body, 'MatrixSelector');
    if (matrix.length === 0) {
      problems.push(`${fn}() needs a range vector`);
      continue;
    }
    for (const selector of descendants(matrix[0] as SyntaxNode, 'VectorSelector')) {
      const id = children(selector).find((child) => child.name === 'Identifier');
      const info = id === undefined ? undefined : catalog.get(text(expr, id));
      if (info !== undefined && info.type !== 'counter') problems.push(`${fn}() over ${text(expr, id as SyntaxNode)}, a ${info.type}`);
    }
  }
  return { problems, metrics, resultLabels: outerLabels(expr, top) };
}

/** A Prometheus duration (`5m`, `1h30m`, `0m`). */
export const PROMETHEUS_DURATION = /^((\d+)(ms|s|m|h|d|w|y))+$/;
