// `audit -o policyreport | kubectl apply --server-side -f -` on a cluster with many node-local PVs. Every
// cluster-scoped finding (PVs, nodes) goes into one ClusterPolicyReport; etcd refuses an object over 1.5 MiB by
// default (--max-request-bytes), the API server a body over 3 MiB. 2,000 local-path PVs on 40 nodes is no large cluster:
// the results go into several reports, <name>, <name>-2, …, none over the limit, every finding in one of them.
import { describe, expect, it } from 'vitest';
import { policyReports } from '../../../src/audit/policyreport.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { hostPathPV, namespace, node, pod, pvc } from '../../support/fixtures.ts';

const ETCD_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

describe('-o policyreport stays within what the API server stores', () => {
  it('splits a ClusterPolicyReport of 2,000 node-local PVs', () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.setLonghornInstalled(false);
    model.upsert('namespace', namespace({ name: 'apps' }));
    for (let n = 0; n < 40; n++) model.upsert('node', node({ name: `worker-${n}` }));
    for (let i = 0; i < 2_000; i++) {
      const nodeName = `worker-${i % 40}`;
      const claim = `data-app-${i}`;
      const pvName = `pvc-${i.toString(16).padStart(8, '0')}-1b2c-4d5e-8f90-a1b2c3d4e5f6`;
      model.upsert('persistentVolume', hostPathPV({ name: pvName, pinnedNode: nodeName, claimNamespace: 'apps', claimName: claim }));
      model.upsert('persistentVolumeClaim', pvc({ namespace: 'apps', name: claim, volumeName: pvName, storageClassName: 'local-path' }));
      model.upsert('pod', pod({ namespace: 'apps', name: `app-${i}`, nodeName, claimNames: [claim] }));
    }
    const report = buildAuditReport({ model, scope: { kind: 'cluster' }, cluster: { server: 'https://10.0.0.1:6443', context: 'prod' }, generatedAt: '2026-01-15T08:00:00.000Z' });
    expect(report.findings.length).toBe(2_000);
    for (const object of policyReports(report)) {
      const bytes = Buffer.byteLength(JSON.stringify(object));
      expect(bytes, `${object.kind} ${object.metadata.name}: ${object.results.length} results`).toBeLessThan(ETCD_MAX_REQUEST_BYTES);
    }
    const reports = policyReports(report);
    const cluster = reports.filter((object) => object.kind === 'ClusterPolicyReport');
    expect(cluster.length).toBeGreaterThan(1);
    expect(cluster[1]!.metadata.name).toBe(`${cluster[0]!.metadata.name}-2`);
    // A part after the first names its report (a later run empties it when no longer needed; node a's part 2 and
    // node a-2's report share a name).
    expect(cluster[0]!.metadata.annotations['volume-guard.io/part-of']).toBeUndefined();
    for (const part of cluster.slice(1)) expect(part.metadata.annotations['volume-guard.io/part-of']).toBe(cluster[0]!.metadata.name);
    expect(reports.reduce((sum, object) => sum + object.results.length, 0)).toBe(2_000);
  });
});
