// A system-upgrade-controller Plan upgrading k3s in place, through the real API server with the real kubectl: its
// Job's pod on w1 runs `kubectl cordon w1` and `kubectl drain w1` as the Plan's service account, then replaces the
// k3s binary and restarts the node with its disks. The local-path PV pinned to w1 is there when it is back, so that
// Job's cordon and eviction pass with a warning naming the Plan and the PV; the same cordon and eviction by an admin
// are refused. The Job is a real batch/v1 Job shaped as the controller makes it (its name cut as wrangler's
// SafeConcatName cuts it); kube-controller-manager's Job controller creates its pod (pinned to w1 by nodeName; no
// kubelet runs it here, so it stays Pending, as while its drain init container runs).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, type CommandResult } from '../harness/cluster.ts';
import { apply, applyBoundPair, createNode, createPod, deleteObjects, ensureNamespace, eventually, isUnschedulable, must } from '../harness/scenario.ts';

const NODE = 'w1';
const NS = 'e2e-suc-in-place';
const SUC_NS = 'system-upgrade';
const SUC_SA = 'system-upgrade';
const SUC = `system:serviceaccount:${SUC_NS}:${SUC_SA}`;
const PLAN = 'k3s-agent';
const IMAGE = 'rancher/k3s-upgrade:v1.31.4-k3s1';
const CLAIM = 'data-db-0';
const POD = 'db-0';
const PV = 'pvc-5f0c2d1e-e2e-suc-in-place';
const ROLE = 'e2e-suc-upgrader';
const CORDON_DENIED = 'admission webhook "node-cordon.volume-guard.io" denied the request';
const EVICTION_DENIED = 'admission webhook "pod-eviction.volume-guard.io" denied the request';

/** The Plan's latest hash as system-upgrade-controller computes it: a sha224, in hex (56 digits). */
const PLAN_HASH = createHash('sha224').update('v1.31.4-k3s1').update(SUC_SA).digest('hex');

/**
 * wrangler's SafeConcatName, with which system-upgrade-controller names its Jobs: the words joined by `-`; from 64
 * characters on, the first 57 (56 when the 57th is no lowercase letter or digit), `-` and the start of the sha256 of
 * the whole, in hex, 63 characters in all.
 */
function safeConcatName(...words: string[]): string {
  const whole = words.join('-');
  if (whole.length < 64) return whole;
  const digest = createHash('sha256').update(whole).digest('hex');
  return /[a-z0-9]/.test(whole.charAt(56)) ? `${whole.slice(0, 57)}-${digest.slice(0, 5)}` : `${whole.slice(0, 56)}-${digest.slice(0, 6)}`;
}

const JOB = safeConcatName('apply', PLAN, 'on', NODE, 'with', PLAN_HASH);

/** The Job system-upgrade-controller creates for the Plan on w1 (job.go New), the fields volume-guard reads included. */
function upgradeJob(): unknown {
  const labels = {
    'upgrade.cattle.io/controller': 'system-upgrade-controller',
    'upgrade.cattle.io/exclusive': 'false',
    'upgrade.cattle.io/node': NODE,
    'upgrade.cattle.io/plan': PLAN,
    'upgrade.cattle.io/version': 'v1.31.4-k3s1',
    [`plan.upgrade.cattle.io/${PLAN}`]: PLAN_HASH,
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: JOB, namespace: SUC_NS, labels },
    spec: {
      backoffLimit: 2,
      template: {
        metadata: { labels },
        spec: {
          // Where the scheduler would put it: its required node affinity names w1 only.
          nodeName: NODE,
          serviceAccountName: SUC_SA,
          automountServiceAccountToken: false,
          restartPolicy: 'Never',
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [NODE] }] }],
              },
            },
          },
          tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
          volumes: [{ name: 'host-root', hostPath: { path: '/', type: 'Directory' } }],
          initContainers: [
            { name: 'drain', image: 'rancher/kubectl:v1.31.4', args: ['drain', NODE, '--pod-selector', '!upgrade.cattle.io/controller', '--ignore-daemonsets', '--delete-emptydir-data'] },
          ],
          containers: [{ name: 'upgrade', image: IMAGE, volumeMounts: [{ name: 'host-root', mountPath: '/host' }] }],
        },
      },
    },
  };
}

/** An eviction of db-0 (policy/v1), as kubectl drain sends it, by `user` (the admin when undefined). */
function evict(user?: string): Promise<CommandResult> {
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: POD, namespace: NS } };
  return kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${POD}/eviction`, '-f', '-', ...(user ? [`--as=${user}`] : [])], {
    input: JSON.stringify(eviction),
  });
}

const cordonAsSuc = (...extra: string[]) => kubectl(['cordon', NODE, `--as=${SUC}`, ...extra]);
const words = (r: CommandResult): string => r.stderr.replace(/\s+/g, ' ');

describe("a system-upgrade-controller Plan's in-place k3s upgrade of a node with a local-path PV", () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await ensureNamespace(SUC_NS);
    await createNode(NODE);
    await kubectl(['delete', 'clusterrolebinding', ROLE, '--ignore-not-found']);
    await kubectl(['delete', 'clusterrole', ROLE, '--ignore-not-found']);
    // What the Plan's service account may do (system-upgrade-controller's chart grants more): cordon and drain.
    await apply(
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SUC_SA, namespace: SUC_NS } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: ROLE },
        rules: [
          { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'patch', 'update'] },
          { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
          { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: ROLE },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ROLE },
        subjects: [{ kind: 'ServiceAccount', name: SUC_SA, namespace: SUC_NS }],
      },
    );
    // local-path's PV for db-0's claim: a hostPath under k3s' storage directory, pinned to w1.
    await applyBoundPair(
      {
        metadata: { name: PV, annotations: { 'pv.kubernetes.io/provisioned-by': 'rancher.io/local-path' } },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Delete',
          storageClassName: 'local-path',
          hostPath: { path: `/var/lib/rancher/k3s/storage/${PV}_${NS}_${CLAIM}`, type: 'DirectoryOrCreate' },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [NODE] }] }] } },
        },
      },
      { name: CLAIM, namespace: NS, storageClassName: 'local-path' },
    );
    await createPod({ name: POD, namespace: NS, node: NODE, claims: [CLAIM] });
    // Until the Job's pod exists, anyone's cordon of w1 is refused: the data would be stranded.
    const before = await eventually(() => cordonAsSuc('--dry-run=server'), (r) => r.stderr.includes(CORDON_DENIED));
    expect(before.stderr).toContain(CORDON_DENIED);
    await apply(upgradeJob());
    const pod = await eventually(
      () => kubectl(['get', 'pod', '-n', SUC_NS, '-l', `batch.kubernetes.io/job-name=${JOB}`, '-o', 'jsonpath={.items[*].spec.nodeName}']),
      (r) => r.stdout === NODE,
      60_000,
    );
    expect(pod.stdout, 'the Job controller created the Job pod on w1').toBe(NODE);
  }, 180_000);

  afterAll(async () => {
    await kubectl(['uncordon', NODE]);
    // The Job first, or its controller would replace the pod deleted.
    await kubectl(['delete', 'job', JOB, '-n', SUC_NS, '--ignore-not-found', '--cascade=background', '--wait=true', '--timeout=60s']);
    await deleteObjects(
      ['pod', '-l', `batch.kubernetes.io/job-name=${JOB}`, '-n', SUC_NS, '--grace-period=0', '--force'],
      ['pod', POD, '-n', NS, '--grace-period=0', '--force'],
      ['pvc', CLAIM, '-n', NS],
      ['pv', PV],
      ['clusterrolebinding', ROLE],
      ['clusterrole', ROLE],
      ['serviceaccount', SUC_SA, '-n', SUC_NS],
      ['node', NODE],
    );
  });

  it("allows the Plan service account's cordon with the in-place warning; refuses an admin's", async () => {
    const dry = await eventually(() => cordonAsSuc('--dry-run=server'), (r) => r.code === 0 && !r.stderr.includes('denied'));
    expect(dry.stderr).not.toContain('denied');

    const cordoned = await cordonAsSuc();
    expect(cordoned.stderr).not.toContain('denied');
    expect(cordoned.code).toBe(0);
    expect(words(cordoned)).toContain(`Plan ${SUC_NS}/${PLAN} upgrades node ${NODE} in place:`);
    expect(words(cordoned)).toContain(`1 node-local PV stays on its disks (${PV}); pods using it wait until the node is back`);
    expect(await isUnschedulable(NODE)).toBe(true);

    await must(kubectl(['uncordon', NODE]), 'uncordon');
    const byAdmin = await kubectl(['cordon', NODE]);
    expect(byAdmin.stderr).toContain(CORDON_DENIED);
    expect(byAdmin.stderr).toContain('[node-local-volume]');
    expect(byAdmin.stderr).toContain(PV);
    expect(await isUnschedulable(NODE)).toBe(false);
  });

  it("allows the Plan service account's eviction of the pod using the PV on cordoned w1; refuses an admin's", async () => {
    await must(cordonAsSuc(), 'cordon as the Plan service account');
    expect(await isUnschedulable(NODE)).toBe(true);

    const byAdmin = await eventually(() => evict(), (r) => r.stderr.includes(EVICTION_DENIED));
    expect(byAdmin.code).not.toBe(0);
    expect(byAdmin.stderr).toContain(EVICTION_DENIED);
    expect(byAdmin.stderr).toContain(PV);
    expect((await kubectl(['get', 'pod', POD, '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}'])).stdout).toBe('');

    const bySuc = await evict(SUC);
    expect(bySuc.stderr).not.toContain('denied');
    expect(bySuc.code).toBe(0);
    expect(words(bySuc)).toContain(`1 node-local PV stays on its disks (${PV}); pods using it wait until the node is back`);
    // Evicted: deleted gracefully (no kubelet here to finish it), or gone.
    const after = await kubectl(['get', 'pod', POD, '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}']);
    expect(after.code !== 0 || after.stdout !== '').toBe(true);
  });
});
