// `volume-guard audit -o policyreport | kubectl apply --server-side -f -` run again after a risk is fixed: the
// namespace's PolicyReport from the earlier run must follow (emptied: no result, summary 0), not keep its `fail`
// results forever. kubectl apply cannot delete, so the audit prints, emptied, every report of its own scope an
// earlier run left (listed metadata-only, label app.kubernetes.io/managed-by=volume-guard) that it has nothing to
// say in now: a namespace's, or a part (`NAME-2`, …) no longer needed. Reports of another scope are left alone.
import { createServer as createHttpServer } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { listStoredPolicyReports } from '../../../src/audit/load.ts';
import { policyReports, reportName, type StoredReport } from '../../../src/audit/policyreport.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import type { AuditReport, AuditScope } from '../../../src/audit/types.ts';
import { CLUSTER, GENERATED_AT, goldenModel, UPGRADE_OBJECTS } from './golden-cluster.ts';

function audit(scope: AuditScope = { kind: 'cluster' }): AuditReport {
  return buildAuditReport({ model: goldenModel(), scope, cluster: CLUSTER, generatedAt: GENERATED_AT, upgradeObjects: UPGRADE_OBJECTS });
}

const MANAGED = { 'app.kubernetes.io/managed-by': 'volume-guard' };

function stored(kind: StoredReport['kind'], name: string, namespace: string | undefined, scope: string, annotations: Record<string, string> = {}): StoredReport {
  return { kind, name, ...(namespace !== undefined ? { namespace } : {}), labels: { ...MANAGED, 'volume-guard.io/scope': scope }, annotations };
}

const ZERO = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };

describe('audit -o policyreport after a risk is fixed', () => {
  const report = audit();
  const printed = policyReports(report);
  const namespaces = printed.filter((r) => r.kind === 'PolicyReport').map((r) => r.metadata.namespace);

  it('empties the report an earlier run left in a namespace that has no risk now', () => {
    expect(namespaces).not.toContain('fixed');
    const reports = policyReports(report, [stored('PolicyReport', 'volume-guard', 'fixed', 'cluster')]);
    const emptied = reports.filter((r) => r.metadata.namespace === 'fixed');
    expect(emptied).toEqual([
      {
        apiVersion: 'wgpolicyk8s.io/v1alpha2',
        kind: 'PolicyReport',
        metadata: {
          name: 'volume-guard',
          namespace: 'fixed',
          labels: { ...MANAGED, 'volume-guard.io/scope': 'cluster' },
          annotations: { 'volume-guard.io/generated-at': GENERATED_AT, 'volume-guard.io/config': printed[1]!.metadata.annotations['volume-guard.io/config'] },
        },
        summary: ZERO,
        results: [],
      },
    ]);
    // The rest is what the audit prints without earlier reports, first.
    expect(reports.slice(0, printed.length)).toEqual(printed);
    expect(reports).toHaveLength(printed.length + 1);
  });

  it('does not print twice a namespace that still has risks', () => {
    const still = namespaces[0]!;
    const reports = policyReports(report, [stored('PolicyReport', 'volume-guard', still, 'cluster')]);
    expect(reports).toEqual(printed);
  });

  it('empties the parts no longer needed (NAME-2, …), of a namespace and of the ClusterPolicyReport', () => {
    const still = namespaces[0]!;
    const reports = policyReports(report, [
      stored('PolicyReport', 'volume-guard-2', still, 'cluster', { 'volume-guard.io/part-of': 'volume-guard' }),
      stored('ClusterPolicyReport', 'volume-guard-2', undefined, 'cluster', { 'volume-guard.io/part-of': 'volume-guard' }),
    ]);
    const extra = reports.slice(printed.length);
    expect(extra.map((r) => [r.kind, r.metadata.namespace, r.metadata.name, r.results.length, r.summary])).toEqual([
      ['ClusterPolicyReport', undefined, 'volume-guard-2', 0, ZERO],
      ['PolicyReport', still, 'volume-guard-2', 0, ZERO],
    ]);
    // A part still names the report it belongs to; only the ClusterPolicyReport names the server.
    expect(extra[0]!.metadata.annotations['volume-guard.io/part-of']).toBe('volume-guard');
    expect(extra[0]!.metadata.annotations['volume-guard.io/server']).toBe(CLUSTER.server);
    expect(extra[1]!.metadata.annotations['volume-guard.io/server']).toBeUndefined();
  });

  it("leaves another scope's reports alone, and another node's whose name looks like a part", () => {
    const node = audit({ kind: 'node', node: 'node-1' });
    const base = reportName(node);
    const own = policyReports(node);
    const reports = policyReports(node, [
      // The whole-cluster audit's report, and another scope's report of the same name.
      stored('PolicyReport', 'volume-guard', 'fixed', 'cluster'),
      stored('PolicyReport', base, 'fixed', 'release'),
      // Node node-1-2's report (no part-of): not a part of node-1's.
      stored('PolicyReport', `${base}-2`, 'fixed', 'node'),
      stored('ClusterPolicyReport', `${base}-2`, undefined, 'node'),
      // Not volume-guard's.
      { kind: 'PolicyReport', name: base, namespace: 'fixed', labels: { 'volume-guard.io/scope': 'node' }, annotations: {} },
    ]);
    expect(reports).toEqual(own);
    // node-1's own earlier report there is emptied.
    const emptied = policyReports(node, [stored('PolicyReport', base, 'fixed', 'node')]).slice(own.length);
    expect(emptied.map((r) => [r.metadata.namespace, r.metadata.name, r.results])).toEqual([['fixed', base, []]]);
  });
});

describe('listStoredPolicyReports', () => {
  function kubeConfigFor(server: string): KubeConfig {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'c', server, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return config;
  }

  /** An API server answering the metadata lists of the two report kinds with `answers[resource]`. */
  async function reportServer(answers: Record<string, { status: number; body: object }>) {
    const asked: string[] = [];
    const server = createHttpServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      asked.push(`${url.pathname}?${url.searchParams.toString()} ${request.headers.accept ?? ''}`);
      const resource = url.pathname.split('/').pop() ?? '';
      const answer = answers[resource] ?? { status: 404, body: { kind: 'Status', code: 404, reason: 'NotFound', message: 'the server could not find the requested resource' } };
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return { url: `http://127.0.0.1:${address.port}`, asked, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  const list = (...items: object[]) => ({ status: 200, body: { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: {}, items } });

  it("lists both kinds metadata-only, volume-guard's of the scope, with their labels and annotations", async () => {
    const server = await reportServer({
      policyreports: list({ metadata: { name: 'volume-guard', namespace: 'fixed', labels: { ...MANAGED, 'volume-guard.io/scope': 'cluster' } } }),
      clusterpolicyreports: list({ metadata: { name: 'volume-guard-2', labels: { ...MANAGED, 'volume-guard.io/scope': 'cluster' }, annotations: { 'volume-guard.io/part-of': 'volume-guard' } } }),
    });
    try {
      const read = await listStoredPolicyReports(kubeConfigFor(server.url), 'cluster', 5_000);
      expect(read.notes).toEqual([]);
      expect(read.reports).toEqual([
        stored('PolicyReport', 'volume-guard', 'fixed', 'cluster'),
        stored('ClusterPolicyReport', 'volume-guard-2', undefined, 'cluster', { 'volume-guard.io/part-of': 'volume-guard' }),
      ]);
      expect(server.asked).toEqual([
        '/apis/wgpolicyk8s.io/v1alpha2/policyreports?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dvolume-guard%2Cvolume-guard.io%2Fscope%3Dcluster&limit=500 application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
        '/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dvolume-guard%2Cvolume-guard.io%2Fscope%3Dcluster&limit=500 application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
      ]);
    } finally {
      await server.close();
    }
  });

  it('takes no CRD (404) as no earlier report, and a 403 as a note saying what stays stale and what to do', async () => {
    const server = await reportServer({
      clusterpolicyreports: { status: 403, body: { kind: 'Status', code: 403, reason: 'Forbidden', message: 'clusterpolicyreports.wgpolicyk8s.io is forbidden: User "alice" cannot list resource "clusterpolicyreports"' } },
    });
    try {
      const read = await listStoredPolicyReports(kubeConfigFor(server.url), 'cluster', 5_000);
      expect(read.reports).toEqual([]);
      expect(read.notes).toEqual([
        'earlier PolicyReports not listed (clusterpolicyreports.wgpolicyk8s.io is forbidden: User "alice" cannot list resource "clusterpolicyreports"): ' +
          'one whose risks are gone is not emptied; grant list on policyreports and clusterpolicyreports (wgpolicyk8s.io), ' +
          'or delete them first: kubectl delete policyreport,clusterpolicyreport -A -l app.kubernetes.io/managed-by=volume-guard',
      ]);
    } finally {
      await server.close();
    }
  });
});
