// A StatefulSet re-created after `kubectl delete sts --cascade=orphan` (the documented way to change an immutable
// field) adopts the orphaned pods named for it; under `whenScaled: Delete` it condemns at once those outside its
// ordinals, and their PVCs go with them. Through the real API server and the real kubectl, Argo CD's identity
// creating it with fewer replicas than ran is refused naming the PVC that would go; a re-create covering every
// orphan passes, and so does a person's (pvcDelete.others is off by default).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { apply, boundClaim, createNode, deleteObjects, ensureNamespace, eventually, patchStatus } from '../harness/scenario.ts';

const NS = 'e2e-sts-recreate';
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';

function statefulSet(replicas: number): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS },
    spec: {
      replicas,
      serviceName: 'db',
      selector: { matchLabels: { app: 'e2e-recreate-db' } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' },
      template: { metadata: { labels: { app: 'e2e-recreate-db' } }, spec: { containers: [{ name: 'db', image: 'registry.invalid/db:2' }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  };
}

async function create(replicas: number, as?: string) {
  const file = await tempFile(`sts-recreate-${replicas}.json`, JSON.stringify(statefulSet(replicas)));
  return kubectl(['create', '-f', file, '--dry-run=server', ...(as ? [`--as=${as}`] : [])]);
}

describe('a StatefulSet re-created over the pods an orphaning delete left running', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    // The pod garbage collector deletes pods bound to a node that does not exist.
    await createNode('sr-node');
    await kubectl(['create', 'clusterrole', 'e2e-sts-creator', '--verb=get,list,create', '--resource=statefulsets.apps']);
    await kubectl(['create', 'clusterrolebinding', 'e2e-sts-creator-argo', '--clusterrole=e2e-sts-creator', `--user=${ARGO}`]);
    for (const ordinal of [0, 1]) {
      await boundClaim(NS, `data-db-${ordinal}`, 'Delete');
      // Left running by the orphaning delete: no owner reference any more.
      await apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `db-${ordinal}`, namespace: NS, labels: { app: 'e2e-recreate-db' } },
        spec: {
          nodeName: 'sr-node',
          automountServiceAccountToken: false,
          containers: [{ name: 'db', image: 'registry.invalid/db:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: `data-db-${ordinal}` } }],
        },
      });
      await patchStatus('pod', `db-${ordinal}`, { phase: 'Running' }, NS);
    }
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['clusterrolebinding', 'e2e-sts-creator-argo'],
      ['clusterrole', 'e2e-sts-creator'],
      ['node', 'sr-node'],
    );
  });

  it("refuses Argo CD's re-create with fewer replicas than ran, naming the PVC the condemned pod takes with it", async () => {
    const refused = await eventually(() => create(1, ARGO), (r) => r.code !== 0);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('denied the request');
    expect(refused.stderr).toContain('[pvc-delete]');
    expect(refused.stderr).toContain(`${NS}/data-db-1`);
    expect(refused.stderr).not.toContain(`${NS}/data-db-0`);
  });

  it('passes a re-create covering every orphan, and a person re-creating it by hand', async () => {
    const covering = await create(2, ARGO);
    expect(covering.code, covering.stderr).toBe(0);
    const byHand = await create(1);
    expect(byHand.code, byHand.stderr).toBe(0);
  });
});
