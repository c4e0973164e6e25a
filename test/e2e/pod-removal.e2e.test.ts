// Pod removals that take nothing off their node, through the real API server and kubectl:
// - a static pod's mirror on a node being drained that holds a local PV: kubectl drain never evicts it and the
//   kubelet recreates it on the same node, so its eviction is allowed while any other pod's eviction there is
//   refused (DaemonSet pods likewise: test/unit/accuracy/pod-removal.test.ts);
// - a finished (Succeeded) pod mounting that node's local PV: it uses none of its volumes, so its eviction from a
//   schedulable node and its DELETE on a node being drained (TTL-after-finished, CronJob history, pod GC) pass,
//   while the running pod on the same claim stays refused;
// - a pod already being deleted: evicting it again (as kubectl drain does) changes nothing and passes;
// - kube-controller-manager's own DELETE of a running pod on the node being drained (the garbage collector after
//   `kubectl delete sts` or `helm uninstall`, the StatefulSet controller scaling down) passes: no drain deletes as
//   it, and the pod's claim stays; the same DELETE by a person (kubectl drain --disable-eviction) stays refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { apply, createBoundLocalVolume, createPod, deleteObjects, ensureNamespace, eventually, must, patchStatus } from '../harness/scenario.ts';

const NS = 'e2e-pod-removal';
const DRAINING = 'pr-draining';
const SCHEDULABLE = 'pr-schedulable';
const MIRROR = `node-agent-${DRAINING}`;

/** A server-side dry-run eviction (what kubectl drain sends, without evicting): allowed, denied, or the error. */
async function evictDryRun(pod: string): Promise<{ answer: string; stderr: string }> {
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: NS }, deleteOptions: { dryRun: ['All'] } };
  const file = await tempFile(`pr-evict-${pod}-${process.pid}.json`, JSON.stringify(eviction));
  const r = await kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}/eviction`, '-f', file]);
  return { answer: r.code === 0 ? 'allowed' : /denied the request/.test(r.stderr) ? 'denied' : `error: ${r.stderr.trim()}`, stderr: r.stderr };
}

/** A pod as the kubelet leaves it once its containers exited 0, mounting `claim`. */
async function finishedPod(name: string, node: string, claim: string): Promise<void> {
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: {
      nodeName: node,
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      containers: [{ name: 'backup', image: 'registry.invalid/backup:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
    },
  });
  await patchStatus('pod', name, { phase: 'Succeeded' }, NS);
}

describe('pod removals that move no data', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await apply(
      { apiVersion: 'v1', kind: 'Node', metadata: { name: DRAINING, labels: { 'kubernetes.io/hostname': DRAINING, 'e2e-pod-removal': 'yes' } }, spec: { unschedulable: true } },
      { apiVersion: 'v1', kind: 'Node', metadata: { name: SCHEDULABLE, labels: { 'kubernetes.io/hostname': SCHEDULABLE } } },
    );
    await createBoundLocalVolume({ pv: 'pr-draining-pv', node: DRAINING, namespace: NS, claim: 'draining-data' });
    await createBoundLocalVolume({ pv: 'pr-schedulable-pv', node: SCHEDULABLE, namespace: NS, claim: 'schedulable-data' });
    // A static pod's mirror on the draining node, as its kubelet writes it (annotated, owned by the Node).
    const nodeUid = (await must(kubectl(['get', 'node', DRAINING, '-o', 'jsonpath={.metadata.uid}']), 'node uid')).stdout;
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: MIRROR,
        namespace: NS,
        annotations: { 'kubernetes.io/config.mirror': 'e2e-pod-removal', 'kubernetes.io/config.source': 'file' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: DRAINING, uid: nodeUid, controller: true }],
      },
      spec: { nodeName: DRAINING, automountServiceAccountToken: false, containers: [{ name: 'agent', image: 'registry.invalid/agent:1' }] },
    });
    await patchStatus('pod', MIRROR, { phase: 'Running' }, NS);
    // Then a finished pod that mounted each node's local PV, and last the running pod writing to it. Pods reach
    // volume-guard's model in the order they were written: once a running pod's refusal shows, the pods before it
    // are known as they are.
    await finishedPod('backup-draining', DRAINING, 'draining-data');
    await finishedPod('backup-schedulable', SCHEDULABLE, 'schedulable-data');
    // A pod being deleted already (no kubelet here to finish: it stays Terminating) on the schedulable node's claim.
    await createPod({ name: 'db-going', namespace: NS, node: SCHEDULABLE, claims: ['schedulable-data'] });
    await must(kubectl(['delete', 'pod', 'db-going', '-n', NS, '--wait=false']), 'delete db-going');
    await createPod({ name: 'db-draining', namespace: NS, node: DRAINING, claims: ['draining-data'] });
    await createPod({ name: 'db-schedulable', namespace: NS, node: SCHEDULABLE, claims: ['schedulable-data'] });
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['rolebinding,role', 'pr-deleter', '-n', NS],
      ['pvc', '--all', '-n', NS],
      ['pv', 'pr-draining-pv', 'pr-schedulable-pv'],
      ['node', DRAINING, SCHEDULABLE],
    );
  });

  it("allows evicting a static pod's mirror from the node being drained, where every other eviction is refused", async () => {
    // The finished pod's eviction there is refused by the node-wide checks alone (kubectl drain evicts finished
    // pods: a step of the drain), which shows the model holds the node as unschedulable, its PV and its pods.
    const backup = await eventually(() => evictDryRun('backup-draining'), (r) => r.answer === 'denied');
    expect(backup.answer).toBe('denied');
    expect(backup.stderr).toContain('pr-draining-pv');
    await eventually(() => evictDryRun('db-draining'), (r) => r.answer === 'denied');
    // The kubelet recreates the mirror pod on this node, and no drain evicts it.
    const agent = await evictDryRun(MIRROR);
    expect(agent.stderr).toBe('');
    expect(agent.answer).toBe('allowed');
  });

  it('allows evicting a finished pod from a schedulable node; the running pod on the same claim stays refused', async () => {
    const db = await eventually(() => evictDryRun('db-schedulable'), (r) => r.answer === 'denied');
    expect(db.stderr).toContain('pr-schedulable-pv');
    const backup = await evictDryRun('backup-schedulable');
    expect(backup.stderr).toBe('');
    expect(backup.answer).toBe('allowed');
  });

  it('allows evicting a pod already being deleted (kubectl drain evicts it again and waits)', async () => {
    await eventually(() => evictDryRun('db-schedulable'), (r) => r.answer === 'denied');
    const going = await evictDryRun('db-going');
    expect(going.stderr).not.toContain('denied');
    expect(going.answer).toBe('allowed');
  });

  it('allows deleting a finished pod on a node being drained (the garbage collector of a finished Job)', async () => {
    // The running pod's DELETE there is refused (kubectl drain --disable-eviction)...
    const db = await eventually(() => kubectl(['delete', 'pod', 'db-draining', '-n', NS, '--dry-run=server']), (r) => r.code !== 0);
    expect(db.stderr).toContain('admission webhook "pod-delete.volume-guard.io" denied the request');
    // ...the finished pod's is not.
    const backup = await must(kubectl(['delete', 'pod', 'backup-draining', '-n', NS, '--dry-run=server']), 'delete the finished pod');
    expect(backup.stderr).not.toContain('denied');
    expect(backup.stdout).toContain('pod "backup-draining" deleted');
  });

  it("allows kube-controller-manager's DELETE of a running pod there, which a person's DELETE is refused", async () => {
    const db = await eventually(() => kubectl(['delete', 'pod', 'db-draining', '-n', NS, '--dry-run=server']), (r) => r.code !== 0);
    expect(db.stderr).toContain('admission webhook "pod-delete.volume-guard.io" denied the request');
    for (const controller of ['generic-garbage-collector', 'statefulset-controller']) {
      const deleted = await must(
        kubectl(['delete', 'pod', 'db-draining', '-n', NS, '--dry-run=server', `--as=system:serviceaccount:kube-system:${controller}`]),
        `delete as ${controller}`,
      );
      expect(deleted.stderr).not.toContain('denied');
      expect(deleted.stdout).toContain('pod "db-draining" deleted');
    }
    // A service account of that name in another namespace is no controller: let it delete pods here, and it is refused.
    await apply(
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'pr-deleter', namespace: NS }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['delete'] }] },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'pr-deleter', namespace: NS },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pr-deleter' },
        subjects: [{ kind: 'ServiceAccount', name: 'generic-garbage-collector', namespace: 'default' }],
      },
    );
    const tenant = await eventually(
      () => kubectl(['delete', 'pod', 'db-draining', '-n', NS, '--dry-run=server', '--as=system:serviceaccount:default:generic-garbage-collector']),
      (r) => !/forbidden/i.test(r.stderr),
    );
    expect(tenant.stderr).toContain('admission webhook "pod-delete.volume-guard.io" denied the request');
  });
});
