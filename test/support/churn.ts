// Random model changes of every kind, shared by the gauge and audit agreement tests.
import { type ClusterModel } from '../../src/cluster/model.ts';
import { recordKey, type ModelSink } from '../../src/cluster/records.ts';
import {
  FAILED_AT,
  harvesterUpgrade,
  hostnameAffinity,
  hostPathPV,
  localPV,
  longhornNode,
  longhornSetting,
  machine,
  machineOwner,
  namespace,
  node,
  pod,
  pvc,
  replica,
  statefulSet,
  volume,
} from './fixtures.ts';

export const NODES = ['n0', 'n1', 'n2', 'n3', 'n4'];
const ZONE = 'storage.example.com/disk';

export function step(sink: ModelSink, model: ClusterModel, random: () => number, i: number): string {
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];
  const n = pick(NODES) as string;
  const action = Math.floor(random() * 22);
  switch (action) {
    case 0: {
      const r = pick([...model.records('longhornReplica')]);
      if (r) sink.upsert('longhornReplica', random() < 0.5 ? { ...r, failedAt: FAILED_AT, desireState: 'stopped', currentState: 'stopped' } : { ...r, failedAt: '', desireState: 'running', currentState: 'running' });
      return `replica flip ${r?.name}`;
    }
    case 1: {
      const r = pick([...model.records('longhornReplica')]);
      if (r) sink.remove('longhornReplica', recordKey(r));
      return `replica remove ${r?.name}`;
    }
    case 2: {
      const name = `v${i}`;
      const count = 1 + Math.floor(random() * 3);
      sink.upsert('longhornVolume', volume({ name, numberOfReplicas: count, currentNodeID: n, pvcNamespace: pick(['a', 'b']) as string }));
      for (let k = 0; k < count; k++) {
        const nodeID = pick(NODES) as string;
        sink.upsert('longhornReplica', replica({ name: `${name}-r${k}`, volumeName: name, nodeID }));
      }
      return `volume add ${name}`;
    }
    case 3: {
      const v = pick([...model.records('longhornVolume')]);
      if (!v) return 'noop';
      const change = pick(['degraded', 'healthy', 'faulted', 'detached', 'attached', 'replicas1', 'replicas2', 'deleting'] as const);
      const next =
        change === 'degraded' || change === 'healthy' || change === 'faulted'
          ? { ...v, robustness: change }
          : change === 'detached'
            ? { ...v, state: 'detached', robustness: 'unknown', currentNodeID: '' }
            : change === 'attached'
              ? { ...v, state: 'attached', robustness: 'healthy', currentNodeID: n }
              : change === 'deleting'
                ? { ...v, deleting: true }
                : { ...v, numberOfReplicas: change === 'replicas1' ? 1 : 2 };
      sink.upsert('longhornVolume', next);
      return `volume ${v.name} ${change}`;
    }
    case 4: {
      const change = pick(['disks-gone', 'up', 'down', 'evict', 'remove'] as const);
      const base = longhornNode({ name: n });
      if (change === 'remove') sink.remove('longhornNode', recordKey(base));
      else sink.upsert('longhornNode', change === 'disks-gone' ? { ...base, diskUUIDs: [] } : change === 'down' ? { ...base, down: true } : change === 'evict' ? { ...base, evictionRequested: true } : base);
      return `longhornNode ${n} ${change}`;
    }
    case 5: {
      const target = model.node(n);
      const change = pick(['add', 'remove', 'down', 'up', 'cordon', 'leaving', 'taint', 'zone-a', 'zone-b', 'nozone'] as const);
      const base = target ?? node({ name: n, labels: { 'kubernetes.io/hostname': n } });
      if (change === 'remove') sink.remove('node', n);
      else if (change === 'add') sink.upsert('node', base);
      else if (change === 'down') sink.upsert('node', { ...base, ready: 'Unknown', readySince: 0 });
      else if (change === 'up') sink.upsert('node', { ...base, ready: 'True', unschedulable: false, leaving: undefined, taints: undefined });
      else if (change === 'cordon') sink.upsert('node', { ...base, unschedulable: true });
      else if (change === 'leaving') sink.upsert('node', { ...base, leaving: true, unschedulable: true });
      else if (change === 'taint') sink.upsert('node', { ...base, taints: [{ key: 'maint', value: '', effect: 'NoExecute' }] });
      else {
        const labels: Record<string, string> = { ...base.labels };
        if (change === 'nozone') delete labels[ZONE];
        else labels[ZONE] = change as string;
        sink.upsert('node', { ...base, labels });
      }
      return `node ${n} ${change}`;
    }
    case 6: {
      const base = model.node(n);
      if (!base) return 'noop';
      const skip = pick(['node-local-volume', 'last-replica-on-node', 'single-replica,volume-health', '*', undefined]);
      sink.upsert('node', { ...base, annotations: skip === undefined ? {} : { 'volume-guard.io/skip': skip, 'volume-guard.io/skip-by': 'admin' } });
      return `node ${n} skip ${skip}`;
    }
    case 7: {
      const name = `pv${i}`;
      const claimNamespace = pick(['a', 'b']) as string;
      const kind = pick(['pinned', 'zone', 'hostpath'] as const);
      const record =
        kind === 'pinned'
          ? localPV({ name, pinnedNode: n, nodeAffinity: hostnameAffinity(n), claimNamespace, claimName: `c${i}` })
          : kind === 'zone'
            ? localPV({ name, pinnedNode: '', namedNode: '', nodeAffinity: [{ matchExpressions: [{ key: ZONE, operator: 'In', values: ['zone-a'] }], matchFields: [] }], claimNamespace, claimName: `c${i}` })
            : hostPathPV({ name, pinnedNode: '', namedNode: '', nodeAffinity: [], claimNamespace, claimName: `c${i}` });
      sink.upsert('persistentVolume', record);
      sink.upsert('persistentVolumeClaim', pvc({ namespace: claimNamespace, name: `c${i}`, volumeName: name, labels: random() < 0.4 ? { 'app.kubernetes.io/instance': 'rel' } : {} }));
      if (random() < 0.7) sink.upsert('pod', pod({ namespace: claimNamespace, name: `p${i}`, nodeName: n, claimNames: [`c${i}`], controllerKind: pick(['', 'StatefulSet', 'ReplicaSet']) as string }));
      return `pv ${name} ${kind} on ${n}`;
    }
    case 8: {
      const p = pick([...model.records('persistentVolume')]);
      if (p) sink.remove('persistentVolume', recordKey(p));
      return `pv remove ${p?.name}`;
    }
    case 9: {
      const c = pick([...model.records('persistentVolumeClaim')]);
      if (!c) return 'noop';
      const change = pick(['label', 'unlabel', 'unbind', 'reuse', 'deleting', 'remove', 'release-label'] as const);
      if (change === 'remove') sink.remove('persistentVolumeClaim', recordKey(c));
      else if (change === 'label') sink.upsert('persistentVolumeClaim', { ...c, labels: { ...c.labels, 'app.kubernetes.io/instance': 'rel' } });
      else if (change === 'release-label') sink.upsert('persistentVolumeClaim', { ...c, labels: { ...c.labels, release: 'other' } });
      else if (change === 'unlabel') sink.upsert('persistentVolumeClaim', { ...c, labels: {} });
      else if (change === 'unbind') sink.upsert('persistentVolumeClaim', { ...c, volumeName: '', phase: 'Pending' });
      else if (change === 'reuse') sink.upsert('persistentVolumeClaim', { ...c, annotations: { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin' } });
      else sink.upsert('persistentVolumeClaim', { ...c, deleting: true });
      return `pvc ${c.namespace}/${c.name} ${change}`;
    }
    case 10: {
      const p = pick([...model.records('pod')]);
      if (!p) return 'noop';
      const change = pick(['move', 'remove', 'succeeded', 'deleting', 'orphan'] as const);
      if (change === 'remove') sink.remove('pod', recordKey(p));
      else if (change === 'move') sink.upsert('pod', { ...p, nodeName: n });
      else if (change === 'succeeded') sink.upsert('pod', { ...p, phase: 'Succeeded' });
      else if (change === 'deleting') sink.upsert('pod', { ...p, deleting: true });
      else sink.upsert('pod', { ...p, controllerKind: '' });
      return `pod ${p.namespace}/${p.name} ${change}`;
    }
    case 11: {
      const ns = pick(['a', 'b']) as string;
      const change = pick(['helm', 'plain', 'remove'] as const);
      const name = pick(['db', 'cache']) as string;
      if (change === 'remove') sink.remove('statefulSet', `${ns}/${name}`);
      else sink.upsert('statefulSet', statefulSet({ namespace: ns, name, replicas: 1 + Math.floor(random() * 2), claimTemplates: ['data'], ...(change === 'helm' ? { helmReleaseName: 'rel', helmReleaseNamespace: ns } : {}) }));
      if (random() < 0.5) sink.upsert('persistentVolumeClaim', pvc({ namespace: ns, name: `data-${name}-0`, volumeName: '', labels: { 'app.kubernetes.io/instance': 'rel' } }));
      return `sts ${ns}/${name} ${change}`;
    }
    case 12: {
      const ns = pick(['a', 'b']) as string;
      const skip = random() < 0.5;
      sink.upsert('namespace', namespace({ name: ns, annotations: skip ? { 'volume-guard.io/skip': 'orphan-pvc', 'volume-guard.io/skip-by': 'admin' } : {} }));
      return `namespace ${ns} skip=${skip}`;
    }
    case 13: {
      const name = pick(['node-drain-policy', 'replica-soft-anti-affinity']) as string;
      const value = name === 'node-drain-policy' ? (pick(['block-for-eviction', 'block-if-contains-last-replica', 'always-allow', 'block-for-eviction-if-contains-last-replica']) as string) : (pick(['true', 'false']) as string);
      sink.upsert('longhornSetting', longhornSetting(name, value));
      return `setting ${name}=${value}`;
    }
    case 14: {
      const name = `m-${n}`;
      const change = pick(['add', 'deleting', 'remove', 'renode'] as const);
      const existing = model.get('machine', `default/${name}`);
      if (change === 'remove') sink.remove('machine', `default/${name}`);
      else if (change === 'add') sink.upsert('machine', machine({ name, nodeName: n, machineDeployment: 'md-a', machineSet: 'md-a-1' }));
      else if (change === 'deleting') sink.upsert('machine', { ...(existing ?? machine({ name, nodeName: n, machineDeployment: 'md-a', machineSet: 'md-a-1' })), deleting: true });
      else if (existing) sink.upsert('machine', { ...existing, nodeName: pick(NODES) as string });
      return `machine ${name} ${change}`;
    }
    case 15: {
      const skip = random() < 0.5;
      sink.upsert('machineDeployment', machineOwner({ name: 'md-a', annotations: skip ? { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' } : {} }));
      return `md skip=${skip}`;
    }
    case 16: {
      const states: Record<string, string> = {};
      for (const name of NODES) if (random() < 0.4) states[name] = pick(['Upgrading', 'Succeeded', 'Images preloaded']) as string;
      if (random() < 0.3) sink.remove('harvesterUpgrade', 'harvester-system/hvst-upgrade-1');
      else sink.upsert('harvesterUpgrade', harvesterUpgrade({ nodeStates: states }));
      return `harvester ${JSON.stringify(states)}`;
    }
    case 17: {
      sink.upsert('pod', pod({ namespace: pick(['a', 'b']) as string, name: `h${i}`, nodeName: n, hostPaths: [{ path: `/data/${i}`, writable: true }] }));
      return `hostpath pod on ${n}`;
    }
    case 18: {
      const tolerate = random() < 0.5;
      sink.upsert(
        'pod',
        pod({
          namespace: 'longhorn-system',
          name: `im-${n}`,
          nodeName: n,
          labels: { 'longhorn.io/component': 'instance-manager' },
          ...(tolerate ? { noExecuteTolerations: [{ key: 'maint', operator: 'Exists', value: '' }] } : {}),
        }),
      );
      return `instance manager ${n} tolerate=${tolerate}`;
    }
    case 19: {
      sink.upsert('pod', pod({ namespace: pick(['a', 'b']) as string, name: `e${i}`, nodeName: n, controllerKind: 'StatefulSet', emptyDirs: ['scratch'] }));
      return `emptyDir pod on ${n}`;
    }
    case 20: {
      const c = pick([...model.records('persistentVolumeClaim')]);
      const p = pick([...model.records('persistentVolume')]);
      if (c && p) sink.upsert('persistentVolumeClaim', { ...c, volumeName: p.name, phase: 'Bound' });
      return `pvc rebind ${c?.name} -> ${p?.name}`;
    }
    default: {
      const p = pick([...model.records('persistentVolume')]);
      if (p) sink.upsert('persistentVolume', { ...p, phase: pick(['Released', 'Bound', 'Available']) as string, reclaimPolicy: pick(['Retain', 'Delete']) as string });
      return `pv phase ${p?.name}`;
    }
  }
}
