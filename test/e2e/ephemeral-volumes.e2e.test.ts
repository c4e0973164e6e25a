// Generic ephemeral volumes (`spec.volumes[].ephemeral`), through the real API server, kube-controller-manager and
// kubectl: the ephemeral-volume controller creates the claim `<pod>-<volume>` owned by the pod, and the garbage
// collector deletes it (and its PV) with the pod wherever the pod goes. A drain cannot save that scratch data, so a
// node-local PV behind it refuses neither the drain's evictions nor its cordon; a pod's ordinary claim on a local PV
// of the next node still does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import {
  apply,
  createBoundLocalVolume,
  createNode,
  createPod,
  deleteObjects,
  ensureNamespace,
  eventually,
  isUnschedulable,
  must,
  patchStatus,
} from '../harness/scenario.ts';

const NS = 'e2e-ephemeral';
const SCRATCH_NODE = 'eph-n1';
const DATA_NODE = 'eph-n2';
const POD = 'cache-0';
const CLAIM = `${POD}-scratch`;

describe('generic ephemeral volumes are deleted with their pod: no drain step is refused for them', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(SCRATCH_NODE);
    await createNode(DATA_NODE);
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: POD, namespace: NS },
      spec: {
        nodeName: SCRATCH_NODE,
        automountServiceAccountToken: false,
        containers: [{ name: 'app', image: 'registry.invalid/cache:1', volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }],
        volumes: [
          {
            name: 'scratch',
            ephemeral: {
              volumeClaimTemplate: {
                spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'local-storage', resources: { requests: { storage: '1Gi' } } },
              },
            },
          },
        ],
      },
    });
    await patchStatus('pod', POD, { phase: 'Running' }, NS);
    // The ephemeral-volume controller (kube-controller-manager) creates the claim, owned by the pod.
    const owner = await eventually(
      () => kubectl(['get', 'pvc', CLAIM, '-n', NS, '-o', 'jsonpath={.metadata.ownerReferences[0].kind}']),
      (r) => r.stdout === 'Pod',
      60_000,
    );
    expect(owner.stdout).toBe('Pod');
    const uid = (await must(kubectl(['get', 'pvc', CLAIM, '-n', NS, '-o', 'jsonpath={.metadata.uid}']), 'claim uid')).stdout;
    // The local PV a static provisioner would have made for it, on the pod's node, bound to the claim.
    await apply({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'eph-scratch-pv' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: 'local-storage',
        local: { path: '/mnt/disks/eph-scratch' },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [SCRATCH_NODE] }] }] } },
        claimRef: { namespace: NS, name: CLAIM, uid },
      },
    });
    await patchStatus('pv', 'eph-scratch-pv', { phase: 'Bound' });
    await eventually(
      () => kubectl(['get', 'pvc', CLAIM, '-n', NS, '-o', 'jsonpath={.spec.volumeName}/{.status.phase}']),
      (r) => r.stdout === 'eph-scratch-pv/Bound',
      60_000,
    );
    // The control: an ordinary claim on a local PV of the other node.
    await createBoundLocalVolume({ pv: 'eph-data-pv', node: DATA_NODE, namespace: NS, claim: 'data' });
    await createPod({ name: 'db-0', namespace: NS, node: DATA_NODE, claims: ['data'] });
  }, 180_000);

  afterAll(async () => {
    await kubectl(['uncordon', SCRATCH_NODE, DATA_NODE]);
    await deleteObjects(
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', 'eph-scratch-pv', 'eph-data-pv'],
      ['node', SCRATCH_NODE, DATA_NODE],
    );
  });

  it('kubectl drain --dry-run=server of the node passes; of the node holding an ordinary claim it is refused', async () => {
    const drained = await eventually(
      () => kubectl(['drain', SCRATCH_NODE, '--dry-run=server', '--ignore-daemonsets', '--force', '--timeout=20s']),
      (r) => r.code === 0,
    );
    expect(drained.stderr).not.toContain('denied');
    expect(drained.stdout).toContain(`node/${SCRATCH_NODE} drained (server dry run)`);
    const refused = await kubectl(['drain', DATA_NODE, '--dry-run=server', '--ignore-daemonsets', '--force', '--timeout=20s']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('pod-eviction.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('eph-data-pv');
  });

  it('a cordon passes, and on the cordoned node the eviction passes too (node-wide checks)', async () => {
    const cordon = await kubectl(['cordon', SCRATCH_NODE]);
    expect(cordon.stderr).not.toContain('denied');
    expect(await isUnschedulable(SCRATCH_NODE)).toBe(true);
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: POD, namespace: NS }, deleteOptions: { dryRun: ['All'] } };
    const evicted = await kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${POD}/eviction`, '-f', '-'], { input: JSON.stringify(eviction) });
    expect(evicted.stderr).toBe('');
    expect(evicted.code).toBe(0);
    // The other node's cordon is still refused for its local PV.
    const refused = await kubectl(['cordon', DATA_NODE]);
    expect(refused.stderr).toContain('eph-data-pv');
    expect(await isUnschedulable(DATA_NODE)).toBe(false);
  });
});
