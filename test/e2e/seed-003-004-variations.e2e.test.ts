// Seeds 003 and 004, variations the write-ups do not list: node-local data of other provisioners (OpenEBS
// LocalPV-LVM pinned by `openebs.io/nodename`, TopoLVM by `topology.topolvm.io/node`), kubectl drain with
// --disable-eviction on a node whose cordon volume-guard refuses, and the no-risk cases (a zonal disk, the node's own
// kubelet files) that must drain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, applyBoundPair, boundClaim, createNode, createPod, deleteObjects, ensureNamespace, eventually } from '../harness/scenario.ts';

const NS = 'h6-variations';
const LVM_NODE = 'h6-lvm';
const TOPOLVM_NODE = 'h6-topolvm';
const ZONAL_NODE = 'h6-zonal';

const jsonpath = async (args: string[], path: string) => (await kubectl([...args, '-o', `jsonpath=${path}`])).stdout;

function csiPv(name: string, driver: string, key: string, value: string): { metadata: { name: string }; spec: Record<string, unknown> } {
  return {
    metadata: { name },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: `sc-${name}`,
      csi: { driver, volumeHandle: `${name}-handle` },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key, operator: 'In', values: [value] }] }] } },
    },
  };
}

describe('seeds 003/004 variations: other provisioners, drain --disable-eviction, no-risk drains', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(LVM_NODE, { 'openebs.io/nodename': LVM_NODE });
    await createNode(TOPOLVM_NODE, { 'topology.topolvm.io/node': TOPOLVM_NODE });
    await createNode(ZONAL_NODE, { 'topology.ebs.csi.aws.com/zone': 'h6-zone-a' });
    await applyBoundPair(csiPv('h6-lvm-pv', 'local.csi.openebs.io', 'openebs.io/nodename', LVM_NODE), { name: 'data-db-0', namespace: NS, storageClassName: 'sc-h6-lvm-pv' });
    await createPod({ name: 'db-0', namespace: NS, node: LVM_NODE, claims: ['data-db-0'] });
    await applyBoundPair(csiPv('h6-topolvm-pv', 'topolvm.io', 'topology.topolvm.io/node', TOPOLVM_NODE), { name: 'archive', namespace: NS, storageClassName: 'sc-h6-topolvm-pv' });
    // A pod keeping nothing on the TopoLVM node: no eviction of a drain there touches the unused volume.
    await createPod({ name: 'cache-0', namespace: NS, node: TOPOLVM_NODE });
    await applyBoundPair(csiPv('h6-ebs-pv', 'ebs.csi.aws.com', 'topology.ebs.csi.aws.com/zone', 'h6-zone-a'), { name: 'data-web-0', namespace: NS, storageClassName: 'sc-h6-ebs-pv' });
    await createPod({ name: 'web-0', namespace: NS, node: ZONAL_NODE, claims: ['data-web-0'] });
    // A pod mounting only the kubelet's own directory (a CSI node plugin, a log agent): the node's files, not data.
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'agent', namespace: NS },
      spec: {
        nodeName: ZONAL_NODE,
        automountServiceAccountToken: false,
        containers: [{ name: 'agent', image: 'registry.invalid/agent:1', volumeMounts: [{ name: 'kubelet', mountPath: '/var/lib/kubelet' }] }],
        volumes: [{ name: 'kubelet', hostPath: { path: '/var/lib/kubelet', type: 'Directory' } }],
      },
    });
  }, 120_000);

  afterAll(async () => {
    // The refused drain's cordon makes the admin's pod DELETEs on h6-lvm a drain's for a while: the node's override
    // lets the clean-up through.
    await kubectl(['annotate', 'node', LVM_NODE, 'volume-guard.io/skip=*', 'volume-guard.io/skip-by=admin', '--overwrite']);
    for (const node of [LVM_NODE, TOPOLVM_NODE, ZONAL_NODE]) await kubectl(['uncordon', node]);
    await deleteObjects(
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', 'h6-lvm-pv', 'h6-topolvm-pv', 'h6-ebs-pv', 'pv-h6-variations-data-pg-0', 'pv-h6-variations-data-pg-1'],
      ['node', LVM_NODE, TOPOLVM_NODE, ZONAL_NODE],
    );
  });

  it('refuses the cordon of a node holding an unused TopoLVM volume pinned by topology.topolvm.io/node', async () => {
    const refused = await eventually(() => kubectl(['cordon', TOPOLVM_NODE, '--dry-run=server']), (r) => r.stderr.includes('denied'));
    expect(refused.stderr).toContain('[node-local-volume]');
    expect(refused.stderr).toContain('h6-topolvm-pv');
    expect(refused.stderr).toContain('not mounted by any pod');
  });

  // kubectl 1.36: when the cordon is refused, `kubectl drain` prints the refusal and goes on evicting the pods of the
  // still schedulable node; none of them uses the TopoLVM volume, so before volume-guard took those evictions for the
  // drain's (its user's cordon refused moments ago), kubectl evicted them all and printed "node/h6-topolvm drained".
  it('kubectl drain --dry-run=server of a node whose cordon is refused for data no pod uses: its evictions are refused too', async () => {
    await eventually(() => kubectl(['cordon', TOPOLVM_NODE, '--dry-run=server']), (r) => r.stderr.includes('h6-topolvm-pv'));
    const preview = await kubectl(['drain', TOPOLVM_NODE, '--dry-run=server', '--force', '--ignore-daemonsets', '--grace-period=0', '--timeout=15s'], { timeoutMs: 60_000 });
    expect(preview.stderr).toContain('admission webhook "node-cordon.volume-guard.io" denied the request');
    expect(preview.code).not.toBe(0);
    expect(preview.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(preview.stderr).toContain(`eviction of pod ${NS}/cache-0 (node ${TOPOLVM_NODE} is being drained: your cordon of it was refused`);
    expect(preview.stderr).toContain('h6-topolvm-pv');
    expect(preview.stdout).not.toContain('drained');
    expect(await jsonpath(['get', 'pod', 'cache-0', '-n', NS], '{.metadata.deletionTimestamp}')).toBe('');
  });

  // kubectl 1.36: when the cordon is refused, `kubectl drain --disable-eviction` prints the refusal and goes on
  // DELETEing the pods of the still schedulable node (before volume-guard judged these as restarts, the pod on the LVM
  // volume went and kubectl printed "node/h6-lvm drained", exit 0). The refused cordon now marks the node as being drained.
  it('kubectl drain --dry-run=server --disable-eviction previews the same refusal, changing nothing', async () => {
    await eventually(() => kubectl(['cordon', LVM_NODE, '--dry-run=server']), (r) => r.stderr.includes('h6-lvm-pv'));
    const preview = await kubectl(['drain', LVM_NODE, '--dry-run=server', '--disable-eviction', '--force', '--ignore-daemonsets', '--grace-period=0', '--timeout=15s'], {
      timeoutMs: 60_000,
    });
    expect(preview.stderr).toContain('admission webhook "node-cordon.volume-guard.io" denied the request');
    expect(preview.code).not.toBe(0);
    expect(preview.stderr).toContain('admission webhook "pod-delete.volume-guard.io" denied the request');
    expect(await jsonpath(['get', 'pod', 'db-0', '-n', NS], '{.metadata.deletionTimestamp}')).toBe('');
  });

  it('kubectl drain --disable-eviction of a schedulable node: the cordon is refused, and so is the DELETE of the pod on the LVM volume', async () => {
    await eventually(() => kubectl(['cordon', LVM_NODE, '--dry-run=server']), (r) => r.stderr.includes('h6-lvm-pv'));
    const drained = await kubectl(['drain', LVM_NODE, '--disable-eviction', '--force', '--ignore-daemonsets', '--grace-period=0', '--timeout=15s'], { timeoutMs: 60_000 });
    expect(drained.stderr).toContain('admission webhook "node-cordon.volume-guard.io" denied the request');
    expect(await jsonpath(['get', 'node', LVM_NODE], '{.spec.unschedulable}')).toBe('');
    expect(drained.code).not.toBe(0);
    expect(drained.stderr).toContain('admission webhook "pod-delete.volume-guard.io" denied the request');
    expect(drained.stderr).toContain(`deletion of pod ${NS}/db-0 on node ${LVM_NODE} (being drained: your cordon of it was refused)`);
    expect(drained.stdout).not.toContain('drained');
    expect(await jsonpath(['get', 'pod', 'db-0', '-n', NS], '{.metadata.deletionTimestamp}')).toBe('');
  });

  it('drains a node whose pod uses a zonal disk and the kubelet directory: nothing stays behind', async () => {
    const drained = await eventually(
      () => kubectl(['drain', ZONAL_NODE, '--force', '--ignore-daemonsets', '--grace-period=0', '--timeout=15s'], { timeoutMs: 60_000 }),
      (r) => r.code === 0,
      40_000,
    );
    expect(drained.stderr).not.toContain('denied');
    expect(await jsonpath(['get', 'node', ZONAL_NODE], '{.spec.unschedulable}')).toBe('true');
  });

  // Seed 000 through GitOps, with `spec.ordinals.start` (StatefulSetStartOrdinal, GA in 1.31): a StatefulSet starting
  // at ordinal 1 claims data-pg-1.., never data-pg-0; only a leftover PVC inside its ordinal range is re-attached.
  it('a StatefulSet starting at ordinal 1 re-attaches an orphaned data-pg-1, not an orphaned data-pg-0', async () => {
    const statefulSet = (replicas: number) => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'pg', namespace: NS },
      spec: {
        replicas,
        ordinals: { start: 1 },
        serviceName: 'pg',
        selector: { matchLabels: { app: 'h6-pg' } },
        template: {
          metadata: { labels: { app: 'h6-pg' } },
          spec: { automountServiceAccountToken: false, containers: [{ name: 'pg', image: 'registry.invalid/pg:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] }] },
        },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    });
    await boundClaim(NS, 'data-pg-0', 'Retain');
    const outside = await eventually(
      () => kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(statefulSet(1)) }),
      (r) => r.code === 0,
    );
    expect(outside.stderr).not.toContain('denied');
    await boundClaim(NS, 'data-pg-1', 'Retain');
    const inside = await eventually(
      () => kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(statefulSet(1)) }),
      (r) => r.stderr.includes('denied'),
    );
    expect(inside.stderr).toContain('[orphan-pvc]');
    expect(inside.stderr).toContain(`${NS}/data-pg-1`);
    expect(inside.stderr).not.toContain('data-pg-0');
  });
});
