// Every way to empty a node, through the real API server with the real kubectl: taints, Node DELETE, evictions on
// an unschedulable node (kubectl drain), pod DELETEs of kubectl drain --disable-eviction, Cluster API Machine
// deletion and MachineSet / KubeadmControlPlane scale-down, the upgrade kinds' rollout fields, and override writes through status.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubectl, paths, tempFile } from '../harness/cluster.ts';
import { admissionCount as countAdmissions } from '../harness/guard.ts';
import {
  apply,
  createLonghornNode,
  createLonghornVolume,
  createNode,
  createPod,
  createPodOnLocalVolume,
  deleteObjects,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  must,
  patchStatus,
} from '../harness/scenario.ts';

const NS = 'nodeops-e2e';
const DATA = 'nops-data'; // a local PV in use by db-0
const LH = 'nops-lh'; // the only replica of a detached single-replica Longhorn volume
const CLEAN = 'nops-clean'; // nothing
const DRAIN = 'nops-drain'; // unschedulable from the start: a local PV used by db-1, and web-0 without volumes
const GONE = 'nops-gone'; // nothing, deleted by the test
const NODES = [DATA, LH, CLEAN, DRAIN, GONE];

const guard = inject('guard');
const admissionCount = (target: string) => countAdmissions(guard, target);

const denied = (stderr: string, webhook: string) => stderr.includes(`admission webhook "${webhook}.volume-guard.io" denied the request`);

async function jsonpath(args: string[], path: string): Promise<string> {
  return (await kubectl([...args, '-o', `jsonpath=${path}`])).stdout;
}

describe('everything that empties a node is judged', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await ensureNamespace(LONGHORN_NS);
    for (const node of [DATA, LH, CLEAN, GONE]) await createNode(node);
    await apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: DRAIN, labels: { 'kubernetes.io/hostname': DRAIN } }, spec: { unschedulable: true } });
    await createPodOnLocalVolume({ pod: 'db-0', node: DATA, namespace: NS, pv: 'nops-data-pv', claim: 'data-db-0' });
    await createLonghornNode(LH);
    await createLonghornVolume({ name: 'nops-vol', numberOfReplicas: 1, state: 'detached', replicas: [{ node: LH }] });
    await createPodOnLocalVolume({ pod: 'db-1', node: DRAIN, namespace: NS, pv: 'nops-drain-pv', claim: 'data-db-1' });
    await createPod({ name: 'web-0', namespace: NS, node: DRAIN });
    await createPod({ name: 'web-2', namespace: NS, node: CLEAN });
    // alice may write node and Plan status as far as RBAC goes: the override guard is what stops her.
    await kubectl(['create', 'clusterrole', 'nops-status-writer', '--verb=get,patch,update', '--resource=nodes/status,nodes,plans.upgrade.cattle.io/status,plans.upgrade.cattle.io']);
    await kubectl(['create', 'clusterrolebinding', 'nops-alice-status', '--clusterrole=nops-status-writer', '--user=alice']);
    // The model has seen the scenario once a dry-run cordon of the data node is refused.
    await eventually(() => kubectl(['cordon', DATA, '--dry-run=server']), (r) => r.stderr.includes('denied'));
  });

  afterAll(async () => {
    // Node and Machine DELETEs are judged too: the admin's override lets the cleanup through whatever the model
    // still holds.
    for (const node of NODES) {
      await kubectl(['uncordon', node]);
      for (const key of ['maintenance-', 'drain-', 'node.kubernetes.io/out-of-service-']) await kubectl(['taint', 'node', node, key]);
      await kubectl(['annotate', 'node', node, '--overwrite', 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=e2e cleanup', 'volume-guard.io/skip-by=admin']);
    }
    await eventually(() => kubectl(['delete', 'machines.cluster.x-k8s.io', '--all', '-n', NS]), (r) => r.code === 0);
    await deleteObjects(
      ['machinesets.cluster.x-k8s.io', '--all', '-n', NS],
      ['machinedeployments.cluster.x-k8s.io', '--all', '-n', NS],
      ['kubeadmcontrolplanes.controlplane.cluster.x-k8s.io', '--all', '-n', NS],
      ['rolebinding', 'nops-kcp-machine-deleter', '-n', NS],
      ['role', 'nops-machine-deleter', '-n', NS],
      ['plans.upgrade.cattle.io', '--all', '-n', NS],
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', 'nops-data-pv', 'nops-drain-pv'],
      ['replicas.longhorn.io', '-l', 'longhornvolume=nops-vol', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'nops-vol', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', LH, '-n', LONGHORN_NS],
      ['clusterrolebinding', 'nops-alice-status'],
      ['clusterrole', 'nops-status-writer'],
      ['node', ...NODES],
    );
  });

  describe('taints and Node DELETE', () => {
    it('refuses kubectl taint NoExecute on a node holding data, naming the taint and the data', async () => {
      const result = await kubectl(['taint', 'node', DATA, 'drain=now:NoExecute']);
      expect(result.code).not.toBe(0);
      expect(denied(result.stderr, 'node-cordon')).toBe(true);
      expect(result.stderr).toContain(`taint drain=now:NoExecute of node ${DATA}`);
      expect(result.stderr).toContain('nops-data-pv');
      expect(await jsonpath(['get', 'node', DATA], '{.spec.taints}')).not.toContain('"drain"');
      // NoSchedule too (the cluster autoscaler's way); it names the single-replica volume on that node.
      const noSchedule = await kubectl(['taint', 'node', LH, 'ToBeDeletedByClusterAutoscaler=1:NoSchedule']);
      expect(denied(noSchedule.stderr, 'node-cordon')).toBe(true);
      expect(noSchedule.stderr).toContain('nops-vol');
    });

    it('allows taints on a node without data, condition taints, and PreferNoSchedule', async () => {
      await must(kubectl(['taint', 'node', CLEAN, 'maintenance=now:NoSchedule']), 'taint clean node');
      await must(kubectl(['taint', 'node', DATA, 'node.kubernetes.io/out-of-service=nodeshutdown:NoExecute']), 'out-of-service taint');
      await must(kubectl(['taint', 'node', DATA, 'maintenance=soon:PreferNoSchedule']), 'PreferNoSchedule');
      await must(kubectl(['taint', 'node', DATA, 'node.kubernetes.io/out-of-service-', 'maintenance-']), 'untaint');
    });

    it('allows the taint once an admin annotated the node', async () => {
      await must(
        kubectl(['annotate', 'node', LH, 'volume-guard.io/skip=single-replica,last-replica-on-node', 'volume-guard.io/skip-reason=volume backed up', 'volume-guard.io/skip-by=admin']),
        'annotate',
      );
      const tainted = await eventually(() => kubectl(['taint', 'node', LH, 'maintenance=now:NoSchedule']), (r) => r.code === 0);
      expect(tainted.code, tainted.stderr).toBe(0);
      expect(tainted.stderr).toContain('overridden by node nops-lh');
      await must(kubectl(['taint', 'node', LH, 'maintenance-']), 'untaint');
      await must(kubectl(['annotate', 'node', LH, 'volume-guard.io/skip-', 'volume-guard.io/skip-reason-']), 'remove override');
    });

    it('refuses kubectl delete node for a node holding data; deletes one without', async () => {
      const refused = await eventually(() => kubectl(['delete', 'node', LH]), (r) => r.code !== 0);
      expect(denied(refused.stderr, 'node-cordon')).toBe(true);
      expect(refused.stderr).toContain(`deletion of node ${LH}`);
      expect((await kubectl(['get', 'node', LH])).code).toBe(0);
      // A collection DELETE (DELETE /api/v1/nodes?...) is admitted node by node with no name in the request: the
      // node is read from the object deleted, and refused the same.
      const collection = await kubectl(['delete', '--raw', `/api/v1/nodes?fieldSelector=metadata.name%3D${LH}`]);
      expect(collection.code).not.toBe(0);
      expect(collection.stderr).toContain(`deletion of node ${LH}`);
      expect((await kubectl(['get', 'node', LH])).code).toBe(0);
      await must(kubectl(['delete', 'node', GONE]), 'delete clean node');
    });
  });

  describe('drains', () => {
    it('on an unschedulable node refuses the eviction of a pod without volumes, by the node-wide checks', async () => {
      const drained = await kubectl(['drain', DRAIN, '--force', '--ignore-daemonsets', '--timeout=15s'], { timeoutMs: 60_000 });
      expect(drained.code).not.toBe(0);
      expect(denied(drained.stderr, 'pod-eviction')).toBe(true);
      expect(drained.stderr).toContain(`eviction of pod ${NS}/web-0`);
      expect(drained.stderr).toContain('nops-drain-pv');
      expect(await jsonpath(['get', 'pod', 'web-0', '-n', NS], '{.metadata.deletionTimestamp}')).toBe('');
    });

    it('on a schedulable node evicts a pod without data', async () => {
      const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-2', namespace: NS } };
      const file = await tempFile('nops-eviction.json', JSON.stringify(eviction));
      const result = await kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/web-2/eviction`, '-f', file]);
      expect(result.code, result.stderr).toBe(0);
    });

    it('kubectl drain --disable-eviction: the DELETE of the pod with data is refused, the others go', async () => {
      const drained = await kubectl(['drain', DRAIN, '--disable-eviction', '--force', '--ignore-daemonsets', '--grace-period=0', '--timeout=15s'], {
        timeoutMs: 60_000,
      });
      expect(drained.code).not.toBe(0);
      expect(denied(drained.stderr, 'pod-delete')).toBe(true);
      expect(drained.stderr).toContain(`deletion of pod ${NS}/db-1 on node ${DRAIN} (being drained)`);
      expect(drained.stderr).toContain('nops-drain-pv');
      expect(await jsonpath(['get', 'pod', 'db-1', '-n', NS], '{.metadata.deletionTimestamp}')).toBe('');
      // kubectl drain deletes pods one by one and stops at the first refusal. web-0 keeps nothing on the node: its
      // DELETE is not even sent to volume-guard.
      const before = await admissionCount('pod-delete');
      await must(kubectl(['delete', 'pod', 'web-0', '-n', NS, '--wait=false']), 'delete web-0');
      expect(await admissionCount('pod-delete')).toBe(before);
    });
  });

  describe('overrides written through the status subresource', () => {
    it('refuses alice writing a skip annotation through nodes/status; an admin may', async () => {
      const patch = JSON.stringify({ metadata: { annotations: { 'volume-guard.io/skip': '*' } } });
      const byAlice = await kubectl(['patch', 'node', CLEAN, '--subresource=status', '--type=merge', '-p', patch], { kubeconfig: paths.kubeconfigUser });
      expect(byAlice.code).not.toBe(0);
      expect(denied(byAlice.stderr, 'overrides')).toBe(true);
      expect(byAlice.stderr).toContain('alice may not write annotation volume-guard.io/skip on Node');
      expect(await jsonpath(['get', 'node', CLEAN], "{.metadata.annotations['volume-guard\\.io/skip']}")).toBe('');
      // An admin may, naming themselves as the writer (skip-by is held equal to the requester).
      const signed = JSON.stringify({ metadata: { annotations: { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' } } });
      await must(kubectl(['patch', 'node', CLEAN, '--subresource=status', '--type=merge', '-p', signed]), 'admin status patch');
      await must(kubectl(['annotate', 'node', CLEAN, 'volume-guard.io/skip-']), 'remove');
    });
  });

  describe('upgrade kinds: only rollout fields are upgrades', () => {
    it('Plan: a label or a lower concurrency is not an upgrade; a new node selector, version or higher concurrency is', async () => {
      // A single-replica volume exists, so the CREATE itself is an upgrade to refuse; an admin's override passes it.
      const plan = { apiVersion: 'upgrade.cattle.io/v1', kind: 'Plan', metadata: { name: 'nops-status', namespace: NS }, spec: { concurrency: 1, nodeSelector: {} } };
      const file = await tempFile('nops-plan.json', JSON.stringify(plan));
      const refusedCreate = await kubectl(['create', '-f', file]);
      expect(denied(refusedCreate.stderr, 'upgrade')).toBe(true);
      await apply({ ...plan, metadata: { ...plan.metadata, annotations: { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' } } });
      await must(kubectl(['annotate', 'plan.upgrade.cattle.io', 'nops-status', '-n', NS, 'volume-guard.io/skip-']), 'drop override');
      await must(kubectl(['label', 'plan.upgrade.cattle.io', 'nops-status', '-n', NS, 'team=platform']), 'label');
      const selector = await eventually(
        // A selector reaching the node of the single-replica volume (one matching no Node upgrades none and passes).
        () =>
          kubectl(['patch', 'plan.upgrade.cattle.io', 'nops-status', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { nodeSelector: { matchLabels: { 'kubernetes.io/hostname': LH } } } })]),
        (r) => r.code !== 0,
      );
      expect(denied(selector.stderr, 'upgrade')).toBe(true);
      expect(selector.stderr).toContain('spec.nodeSelector changed');
      const concurrency = await kubectl(['patch', 'plan.upgrade.cattle.io', 'nops-status', '-n', NS, '--type=merge', '-p', '{"spec":{"concurrency":3}}']);
      expect(concurrency.stderr).toContain('spec.concurrency changed');
      // Fields the upgrade.cattle.io/digest annotation lists are in the plan's hash: an env change re-runs it.
      const envs = (value: string) => JSON.stringify({ spec: { upgrade: { image: 'rancher/k3s-upgrade', envs: [{ name: 'MODE', value }] } } });
      await must(kubectl(['patch', 'plan.upgrade.cattle.io', 'nops-status', '-n', NS, '--type=merge', '-p', envs('a')]), 'env without digest');
      await must(kubectl(['patch', 'plan.upgrade.cattle.io', 'nops-status', '-n', NS, '--type=merge', '-p', envs('b')]), 'env change without digest');
      const digest = await kubectl(['annotate', 'plan.upgrade.cattle.io', 'nops-status', '-n', NS, 'upgrade.cattle.io/digest=spec.upgrade.envs']);
      expect(denied(digest.stderr, 'upgrade')).toBe(true);
      expect(digest.stderr).toContain('upgrade.cattle.io/digest changed');
      // Concurrency is not in the plan's hash: lowering it starts no node (0, like absent, starts none), and at 0
      // with no node applying (status.applying) a new version or digest starts none either.
      await must(kubectl(['patch', 'plan.upgrade.cattle.io', 'nops-status', '-n', NS, '--type=merge', '-p', '{"spec":{"concurrency":0}}']), 'lower concurrency');
      await must(kubectl(['annotate', 'plan.upgrade.cattle.io', 'nops-status', '-n', NS, 'upgrade.cattle.io/digest=spec.upgrade.envs']), 'digest at concurrency 0');
      // Status is not an upgrade either.
      await patchStatus('plans.upgrade.cattle.io', 'nops-status', { latestVersion: 'v1.31.0+k3s1' }, NS);

      // alice's annotation through the Plan's status is refused or dropped: it never lands.
      const patch = JSON.stringify({ metadata: { annotations: { 'volume-guard.io/skip': '*' } } });
      const byAlice = await kubectl(['patch', 'plan.upgrade.cattle.io', 'nops-status', '-n', NS, '--subresource=status', '--type=merge', '-p', patch], {
        kubeconfig: paths.kubeconfigUser,
      });
      const stored = await jsonpath(['get', 'plan.upgrade.cattle.io', 'nops-status', '-n', NS], "{.metadata.annotations['volume-guard\\.io/skip']}");
      expect(stored).toBe('');
      if (byAlice.code !== 0) expect(denied(byAlice.stderr, 'overrides')).toBe(true);
    });

    it('MachineDeployment: labels and replicas pass; the template version and rolloutAfter are refused', async () => {
      const md = {
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'MachineDeployment',
        metadata: { name: 'nops-md', namespace: NS },
        spec: {
          clusterName: 'c1',
          replicas: 2,
          selector: { matchLabels: { pool: 'a' } },
          template: {
            metadata: { labels: { pool: 'a' } },
            spec: {
              clusterName: 'c1',
              version: 'v1.30.1',
              bootstrap: { configRef: { apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1', kind: 'KubeadmConfigTemplate', name: 'nops-md' } },
              infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: 'nops-md-a' },
            },
          },
        },
      };
      await apply(md);
      await must(kubectl(['label', 'md', 'nops-md', '-n', NS, 'team=platform']), 'label');
      await must(kubectl(['patch', 'md', 'nops-md', '-n', NS, '--type=merge', '-p', '{"spec":{"replicas":3,"template":{"metadata":{"labels":{"pool":"a","tier":"x"}}}}}']), 'in-place');
      const version = await kubectl(['patch', 'md', 'nops-md', '-n', NS, '--type=merge', '-p', '{"spec":{"template":{"spec":{"version":"v1.31.0"}}}}']);
      expect(denied(version.stderr, 'upgrade')).toBe(true);
      expect(version.stderr).toContain(`MachineDeployment ${NS}/nops-md (spec.template.spec.version changed)`);
      const after = await kubectl(['patch', 'md', 'nops-md', '-n', NS, '--type=merge', '-p', '{"spec":{"rolloutAfter":"2026-12-24T00:00:00Z"}}']);
      expect(after.stderr).toContain('spec.rolloutAfter changed');
      // The same template under a new apiVersion is the same template for Cluster API: nothing rolls.
      await must(
        kubectl(['patch', 'md', 'nops-md', '-n', NS, '--type=merge', '-p', '{"spec":{"template":{"spec":{"infrastructureRef":{"apiVersion":"infrastructure.cluster.x-k8s.io/v1beta2"}}}}}']),
        'apiVersion bump',
      );
    });

    it('KubeadmControlPlane: rolloutAfter and a kubeadm change are upgrades; replicas and join discovery are not', async () => {
      await apply({
        apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1',
        kind: 'KubeadmControlPlane',
        metadata: { name: 'nops-cp', namespace: NS },
        spec: { version: 'v1.30.1', replicas: 3, kubeadmConfigSpec: { joinConfiguration: { discovery: { bootstrapToken: { token: 'aaaaaa.0123456789abcdef', apiServerEndpoint: '10.0.0.1:6443' } } } }, machineTemplate: { infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: 'cp-a' } } },
      });
      await must(kubectl(['patch', 'kcp', 'nops-cp', '-n', NS, '--type=merge', '-p', '{"spec":{"replicas":5}}']), 'replicas');
      const rollout = await kubectl(['patch', 'kcp', 'nops-cp', '-n', NS, '--type=merge', '-p', '{"spec":{"rolloutAfter":"2026-12-24T00:00:00Z"}}']);
      expect(denied(rollout.stderr, 'upgrade')).toBe(true);
      expect(rollout.stderr).toContain('spec.rolloutAfter changed');
      // KCP ignores join discovery when it compares machines with the spec; any other kubeadm change rolls them.
      const discovery = (token: string) => ({ joinConfiguration: { discovery: { bootstrapToken: { token, apiServerEndpoint: '10.0.0.1:6443' } } } });
      await must(kubectl(['patch', 'kcp', 'nops-cp', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { kubeadmConfigSpec: discovery('abcdef.0123456789abcdef') } })]), 'discovery');
      await must(kubectl(['patch', 'kcp', 'nops-cp', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { kubeadmConfigSpec: discovery('ghijkl.0123456789abcdef') } })]), 'rotated token');
      const files = await kubectl(['patch', 'kcp', 'nops-cp', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { kubeadmConfigSpec: { ...discovery('mnopqr.0123456789abcdef'), files: [{ path: '/etc/motd', content: 'hi' }] } } })]);
      expect(denied(files.stderr, 'upgrade')).toBe(true);
      expect(files.stderr).toContain('spec.kubeadmConfigSpec changed');
      // The DNS add-on is updated in place (Cluster API skips it when it compares Machines with the spec, since 1.7):
      // a change passes whichever version the client writes.
      const dns = (tag: string) => JSON.stringify({ spec: { kubeadmConfigSpec: { clusterConfiguration: { dns: { imageTag: tag } } } } });
      await must(kubectl(['patch', 'kubeadmcontrolplanes.v1beta2.controlplane.cluster.x-k8s.io', 'nops-cp', '-n', NS, '--type=merge', '-p', dns('v1.12.0')]), 'DNS at v1beta2');
      await must(kubectl(['patch', 'kubeadmcontrolplanes.v1beta1.controlplane.cluster.x-k8s.io', 'nops-cp', '-n', NS, '--type=merge', '-p', dns('v1.12.1')]), 'DNS at v1beta1');
    });
  });

  describe('Cluster API machine removal', () => {
    beforeAll(async () => {
      const machine = (name: string, extra: Record<string, unknown> = {}) => ({
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Machine',
        metadata: { name, namespace: NS, labels: { 'cluster.x-k8s.io/set-name': 'nops-ms', 'cluster.x-k8s.io/deployment-name': 'nops-md2' }, ...extra },
        spec: { clusterName: 'c1' },
      });
      await apply(machine('nops-m-data'), machine('nops-m-clean'), {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'MachineSet',
        metadata: { name: 'nops-ms', namespace: NS },
        spec: { clusterName: 'c1', replicas: 2 },
      });
      await patchStatus('machines.cluster.x-k8s.io', 'nops-m-data', { nodeRef: { name: DATA } }, NS);
      await patchStatus('machines.cluster.x-k8s.io', 'nops-m-clean', { nodeRef: { name: CLEAN } }, NS);
    });

    it('refuses deleting the Machine of a node holding data', async () => {
      const result = await kubectl(['delete', 'machines.cluster.x-k8s.io', 'nops-m-data', '-n', NS]);
      expect(result.code).not.toBe(0);
      expect(denied(result.stderr, 'machine')).toBe(true);
      expect(result.stderr).toContain(`deletion of Machine ${NS}/nops-m-data (node ${DATA})`);
      expect(result.stderr).toContain('nops-data-pv');
    });

    it('refuses kubectl scale of the MachineSet while any Machine may go; marking the clean one lets it through', async () => {
      const refused = await eventually(() => kubectl(['scale', 'machinesets.cluster.x-k8s.io', 'nops-ms', '-n', NS, '--replicas=1']), (r) => r.code !== 0);
      expect(denied(refused.stderr, 'machine')).toBe(true);
      expect(refused.stderr).toContain(`scale-down of MachineSet ${NS}/nops-ms from 2 to 1`);
      expect(refused.stderr).toContain('nops-m-data');
      // A replicas patch of the object carries its deletion order: under Random (the default) Cluster API takes the
      // Machines by name, nops-m-clean before nops-m-data, so it passes (dry run); Oldest could take either.
      const patch = (order?: string) =>
        kubectl(['patch', 'machinesets.cluster.x-k8s.io', 'nops-ms', '-n', NS, '--type=merge', '--dry-run=server', '-p', JSON.stringify({ spec: { replicas: 1, ...(order ? { deletion: { order } } : {}) } })]);
      const byName = await patch();
      expect(byName.stderr).not.toContain('denied');
      expect(byName.code).toBe(0);
      const oldest = await patch('Oldest');
      expect(denied(oldest.stderr, 'machine')).toBe(true);
      await must(kubectl(['annotate', 'machines.cluster.x-k8s.io', 'nops-m-clean', '-n', NS, 'cluster.x-k8s.io/delete-machine=yes']), 'mark');
      const scaled = await eventually(() => kubectl(['scale', 'machinesets.cluster.x-k8s.io', 'nops-ms', '-n', NS, '--replicas=1']), (r) => r.code === 0);
      expect(scaled.code, scaled.stderr).toBe(0);
      await must(kubectl(['delete', 'machines.cluster.x-k8s.io', 'nops-m-clean', '-n', NS]), 'delete the clean Machine');
    });

    it('refuses kubectl scale of a KubeadmControlPlane while any control-plane Machine may go; marking the clean one lets it through', async () => {
      const cpMachine = (name: string) => ({
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Machine',
        metadata: { name, namespace: NS, labels: { 'cluster.x-k8s.io/control-plane-name': 'nops-cp2' } },
        spec: { clusterName: 'c1' },
      });
      await apply(cpMachine('nops-cp2-data'), cpMachine('nops-cp2-clean'), {
        apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1',
        kind: 'KubeadmControlPlane',
        metadata: { name: 'nops-cp2', namespace: NS },
        spec: { version: 'v1.30.1', replicas: 2, kubeadmConfigSpec: {}, machineTemplate: { infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: 'cp-a' } } },
      });
      await patchStatus('machines.cluster.x-k8s.io', 'nops-cp2-data', { nodeRef: { name: DATA } }, NS);
      await patchStatus('machines.cluster.x-k8s.io', 'nops-cp2-clean', { nodeRef: { name: CLEAN } }, NS);
      // KCP picks by failure domain and age, not by name: either Machine may go.
      const refused = await eventually(() => kubectl(['scale', 'kcp', 'nops-cp2', '-n', NS, '--replicas=1']), (r) => r.code !== 0);
      expect(denied(refused.stderr, 'machine')).toBe(true);
      expect(refused.stderr).toContain(`scale-down of KubeadmControlPlane ${NS}/nops-cp2 from 2 to 1`);
      expect(refused.stderr).toContain('nops-cp2-data');
      expect(refused.stderr).toContain('nops-data-pv');
      expect(await jsonpath(['get', 'kcp', 'nops-cp2', '-n', NS], '{.spec.replicas}')).toBe('2');
      await must(kubectl(['annotate', 'machines.cluster.x-k8s.io', 'nops-cp2-clean', '-n', NS, 'cluster.x-k8s.io/delete-machine=yes']), 'mark');
      const scaled = await eventually(() => kubectl(['scale', 'kcp', 'nops-cp2', '-n', NS, '--replicas=1']), (r) => r.code === 0);
      expect(scaled.code, scaled.stderr).toBe(0);
    });

    it("carries a KubeadmControlPlane's own skip, accepted for its rollout, to the DELETE of its outdated Machine", async () => {
      await apply(
        {
          apiVersion: 'cluster.x-k8s.io/v1beta2',
          kind: 'Machine',
          metadata: { name: 'nops-cp3-old', namespace: NS, labels: { 'cluster.x-k8s.io/control-plane-name': 'nops-cp3' } },
          spec: { clusterName: 'c1' },
        },
        {
          apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2',
          kind: 'KubeadmControlPlane',
          metadata: { name: 'nops-cp3', namespace: NS },
          spec: { version: 'v1.30.1', replicas: 1, kubeadmConfigSpec: {}, machineTemplate: { infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: 'cp-a' } } },
        },
      );
      await patchStatus('machines.cluster.x-k8s.io', 'nops-cp3-old', { nodeRef: { name: DATA } }, NS);
      // KCP deletes the outdated Machine itself once its replacement is up: without the skip, refused for DATA's data.
      const refused = await eventually(() => kubectl(['delete', 'machines.cluster.x-k8s.io', 'nops-cp3-old', '-n', NS, '--dry-run=server']), (r) => r.code !== 0);
      expect(denied(refused.stderr, 'machine')).toBe(true);
      expect(refused.stderr).toContain('nops-data-pv');
      await must(
        kubectl(['annotate', 'kcp', 'nops-cp3', '-n', NS, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=data moved off', 'volume-guard.io/skip-by=admin']),
        'skip on the KubeadmControlPlane',
      );
      // KubeadmControlPlane's controller (its service account) deletes it: carried. A person's DELETE is not.
      await apply(
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'nops-machine-deleter', namespace: NS }, rules: [{ apiGroups: ['cluster.x-k8s.io'], resources: ['machines'], verbs: ['get', 'delete'] }] },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'nops-kcp-machine-deleter', namespace: NS },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'nops-machine-deleter' },
          subjects: [{ kind: 'ServiceAccount', name: 'capi-kubeadm-control-plane-manager', namespace: 'capi-kubeadm-control-plane-system' }],
        },
      );
      const kcp = '--as=system:serviceaccount:capi-kubeadm-control-plane-system:capi-kubeadm-control-plane-manager';
      const carried = await eventually(() => kubectl(['delete', 'machines.cluster.x-k8s.io', 'nops-cp3-old', '-n', NS, '--dry-run=server', kcp]), (r) => r.code === 0, 30_000);
      expect(carried.code, carried.stderr).toBe(0);
      expect(carried.stderr).toContain(`KubeadmControlPlane ${NS}/nops-cp3`);
      const byPerson = await kubectl(['delete', 'machines.cluster.x-k8s.io', 'nops-cp3-old', '-n', NS, '--dry-run=server']);
      expect(denied(byPerson.stderr, 'machine')).toBe(true);
    });
  });
});
