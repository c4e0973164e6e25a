// A reboot daemon (kured) cordons a node, evicts its pods, reboots it and uncordons it once it is back, with its disks.
// Through the real API server with the real kubectl, as kured's service account (`kubectl --as`): a volume-guard of its
// own with `reboots.users` naming it, put in the shared one's place for this file (same registration, so the answers
// kubectl prints are its own), lets kured's cordon and its eviction of the pod using a local-path PV pinned to the node
// through with a warning, and refuses the same cordon and eviction by an admin. A Longhorn volume's single copy on
// another node still refuses kured's cordon of that node: a reboot stops its replicas.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureCluster, kubectl, type CommandResult } from '../harness/cluster.ts';
import { registerWebhooks, startGuard, type GuardInstance } from '../harness/guard.ts';
import {
  apply,
  applyBoundPair,
  createLonghornNode,
  createLonghornVolume,
  createNode,
  createPod,
  deleteObjects,
  ensureNamespace,
  eventually,
  isUnschedulable,
  LONGHORN_NS,
  must,
  setNodeReady,
} from '../harness/scenario.ts';

const shared = inject('guard');
const NODE = 'kr-1';
const LONGHORN_NODE = 'kr-2';
const NS = 'e2e-reboot-in-place';
const KURED = 'system:serviceaccount:kube-system:kured';
const ROLE = 'e2e-kured';
const CLAIM = 'data-db-0';
const POD = 'db-0';
const PV = 'pvc-7d1e0c2a-e2e-reboot-in-place';
const VOLUME = 'kr-single';
const CORDON_DENIED = 'admission webhook "node-cordon.volume-guard.io" denied the request';
const EVICTION_DENIED = 'admission webhook "pod-eviction.volume-guard.io" denied the request';
let guard: GuardInstance | undefined;
/** The shared volume-guard's registration, pointed at this file's volume-guard meanwhile. */
let sharedName: string | undefined;

/** The name of the webhook configuration that calls the shared volume-guard (the e2e setup's). */
async function sharedRegistration(): Promise<string> {
  const listed = await must(kubectl(['get', 'validatingwebhookconfigurations', '-o', 'json']), 'list webhook configurations');
  const items = (JSON.parse(listed.stdout) as { items: { metadata: { name: string }; webhooks?: { clientConfig?: { url?: string } }[] }[] }).items;
  const found = items.find((item) => /^volume-guard-test-\d+$/.test(item.metadata.name) && item.webhooks?.some((webhook) => webhook.clientConfig?.url?.startsWith(shared.url)));
  if (found === undefined) throw new Error(`no webhook configuration calls the shared volume-guard at ${shared.url}`);
  return found.metadata.name;
}

/** An eviction of db-0 (policy/v1), as kubectl drain sends it, by `user` (the admin when undefined). */
function evict(user?: string, dryRun = false): Promise<CommandResult> {
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: POD, namespace: NS }, ...(dryRun ? { deleteOptions: { dryRun: ['All'] } } : {}) };
  return kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${POD}/eviction`, '-f', '-', ...(user ? [`--as=${user}`] : [])], {
    input: JSON.stringify(eviction),
  });
}

const asKured = (...args: string[]) => kubectl([...args, `--as=${KURED}`]);
const words = (r: CommandResult): string => r.stderr.replace(/\s+/g, ' ');

describe("a reboot daemon's reboot in place of a node with a local-path PV", () => {
  beforeAll(async () => {
    const cluster = await ensureCluster();
    guard = await startGuard(cluster, { name: 'reboot-in-place', config: { reboots: { users: [KURED] } } });
    await ensureNamespace(NS);
    await ensureNamespace(LONGHORN_NS);
    await createNode(NODE);
    await setNodeReady(NODE, 'True');
    await kubectl(['delete', 'clusterrolebinding', ROLE, '--ignore-not-found']);
    await kubectl(['delete', 'clusterrole', ROLE, '--ignore-not-found']);
    // What kured's chart grants for its drain (nodes: get, patch; pods: list; evictions: create), for the impersonation.
    await apply(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: ROLE },
        rules: [
          { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'patch', 'update'] },
          { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'delete'] },
          { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: ROLE },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ROLE },
        subjects: [{ kind: 'ServiceAccount', name: 'kured', namespace: 'kube-system' }],
      },
    );
    // local-path's PV for db-0's claim: a hostPath pinned to kr-1.
    await applyBoundPair(
      {
        metadata: { name: PV, annotations: { 'pv.kubernetes.io/provisioned-by': 'rancher.io/local-path' } },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Delete',
          storageClassName: 'local-path',
          hostPath: { path: `/opt/local-path-provisioner/${PV}_${NS}_${CLAIM}`, type: 'DirectoryOrCreate' },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [NODE] }] }] } },
        },
      },
      { name: CLAIM, namespace: NS, storageClassName: 'local-path' },
    );
    await createPod({ name: POD, namespace: NS, node: NODE, claims: [CLAIM] });
    // kr-2 holds the single copy of a Longhorn volume.
    await createNode(LONGHORN_NODE);
    await setNodeReady(LONGHORN_NODE, 'True');
    await createLonghornNode(LONGHORN_NODE);
    await createLonghornVolume({ name: VOLUME, numberOfReplicas: 1, replicas: [{ node: LONGHORN_NODE }] });
    // In the shared volume-guard's place (kubectl apply replaces its registration; it waits until this one is called).
    sharedName = await sharedRegistration();
    await registerWebhooks(guard, { name: sharedName });
  }, 180_000);

  afterAll(async () => {
    // The shared volume-guard back in its place before anything else.
    if (sharedName !== undefined) await registerWebhooks(shared, { name: sharedName });
    await guard?.stop();
    await kubectl(['uncordon', NODE]);
    await deleteObjects(
      ['pod', POD, '-n', NS, '--grace-period=0', '--force'],
      ['pvc', CLAIM, '-n', NS],
      ['pv', PV],
      ['replicas.longhorn.io', '-l', `longhornvolume=${VOLUME}`, '-n', LONGHORN_NS],
      ['volumes.longhorn.io', VOLUME, '-n', LONGHORN_NS],
      ['nodes.longhorn.io', LONGHORN_NODE, '-n', LONGHORN_NS],
      ['clusterrolebinding', ROLE],
      ['clusterrole', ROLE],
      ['node', NODE, LONGHORN_NODE],
    );
  }, 180_000);

  it("allows kured's dry-run cordon with the reboot's warning; refuses an admin's", async () => {
    // Until this volume-guard's model has seen the PV and the pod, the cordon reads as one of a node without data.
    const dry = await eventually(() => asKured('cordon', NODE, '--dry-run=server'), (r) => words(r).includes('reboots node'));
    expect(dry.code).toBe(0);
    expect(dry.stderr).not.toContain('denied');
    expect(words(dry)).toContain(`${KURED} (reboots.users/groups) reboots node ${NODE} in place:`);
    expect(words(dry)).toContain(`1 node-local PV stays on its disks (${PV}); pods using it wait until the node is back`);
    expect(await isUnschedulable(NODE)).toBe(false);

    const byAdmin = await kubectl(['cordon', NODE, '--dry-run=server']);
    expect(byAdmin.stderr).toContain(CORDON_DENIED);
    expect(byAdmin.stderr).toContain('[node-local-volume]');
    expect(byAdmin.stderr).toContain(PV);
  });

  it("allows kured's cordon, dry-run and real evictions of the pod using the PV, and uncordon; refuses an admin's eviction", async () => {
    const cordoned = await must(asKured('cordon', NODE), 'cordon as kured');
    expect(cordoned.stderr).not.toContain('denied');
    expect(await isUnschedulable(NODE)).toBe(true);

    const byAdmin = await eventually(() => evict(), (r) => r.stderr.includes(EVICTION_DENIED));
    expect(byAdmin.code).not.toBe(0);
    expect(byAdmin.stderr).toContain(PV);

    const preview = await evict(KURED, true);
    expect(preview.stderr).not.toContain('denied');
    expect(preview.code).toBe(0);
    expect(words(preview)).toContain(`reboots node ${NODE} in place:`);
    expect((await kubectl(['get', 'pod', POD, '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}'])).stdout).toBe('');

    const byKured = await evict(KURED);
    expect(byKured.stderr).not.toContain('denied');
    expect(byKured.code).toBe(0);
    expect(words(byKured)).toContain(`1 node-local PV stays on its disks (${PV}); pods using it wait until the node is back`);
    // Evicted: deleted gracefully (no kubelet here to finish it), or gone.
    const after = await kubectl(['get', 'pod', POD, '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}']);
    expect(after.code !== 0 || after.stdout !== '').toBe(true);

    // Back from its reboot: kured uncordons it.
    const uncordoned = await must(asKured('uncordon', NODE), 'uncordon as kured');
    expect(uncordoned.stderr).not.toContain('denied');
    expect(await isUnschedulable(NODE)).toBe(false);
  });

  it("still refuses kured's cordon of a node holding a Longhorn volume's single copy", async () => {
    const refused = await eventually(() => asKured('cordon', LONGHORN_NODE, '--dry-run=server'), (r) => r.stderr.includes(CORDON_DENIED));
    expect(refused.stderr).toContain('[single-replica]');
    expect(refused.stderr).toContain(`${LONGHORN_NS}/${VOLUME}`);
    expect(await isUnschedulable(LONGHORN_NODE)).toBe(false);
  });
});
