// node-local-volume, inline data: writable hostPath volumes of pods their controller would move (seed 003), and
// StatefulSet pods keeping data in an emptyDir (a warning by default, issue 20.6).
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_NODE_LOCAL_OPTIONS,
  collectNodeLocalVolume,
  dataHostPaths,
  isUnderPrefix,
  nodeLocalOptions,
  nodeLocalOptionsOf,
  NODE_LOCAL_DRIVERS,
  SYSTEM_HOST_PATH_PREFIXES,
} from '../../../src/checks/node-local-volume.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { podNodeSelector } from '../../../src/cluster/node-affinity.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { NodeRecord, PodRecord } from '../../../src/cluster/records.ts';
import { defaultConfig, loadConfig } from '../../../src/config.ts';
import { csiPV, hostPathPV, node, pod, pvc } from '../../support/fixtures.ts';

const hostnameIs = (value: string) => [
  { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [value] }], matchFields: [] },
];
const zoneIs = (value: string) => [
  { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: [value] }], matchFields: [] },
];

const writer = (fields: Partial<PodRecord> = {}): PodRecord =>
  pod({
    namespace: 'shop',
    name: 'cache-7f9c-x2',
    nodeName: 'w1',
    controllerKind: 'ReplicaSet',
    hostPaths: [{ path: '/srv/cache', writable: true }],
    ...fields,
  });

const NODES: NodeRecord[] = [
  node({ name: 'w1', labels: { 'kubernetes.io/hostname': 'w1', 'topology.kubernetes.io/zone': 'a' } }),
  node({ name: 'w2', labels: { 'kubernetes.io/hostname': 'w2', 'topology.kubernetes.io/zone': 'a' } }),
  node({ name: 'w3', labels: { 'kubernetes.io/hostname': 'w3', 'topology.kubernetes.io/zone': 'b' } }),
];

function modelOf(pods: readonly PodRecord[]): ClusterModel {
  const model = new ClusterModel();
  model.replaceAll('node', NODES);
  model.replaceAll('pod', pods);
  return model;
}

const cordon = (pods: readonly PodRecord[], options = DEFAULT_NODE_LOCAL_OPTIONS) =>
  collectNodeLocalVolume(modelOf(pods), { node: 'w1' }, {}, options).findings;

describe('node-local-volume: inline hostPath (cordon of w1)', () => {
  it('denies a ReplicaSet pod writing to a hostPath, naming the pod and the path', () => {
    const [finding, ...rest] = cordon([writer()]);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      check: 'node-local-volume',
      severity: 'critical',
      object: { kind: 'Pod', namespace: 'shop', name: 'cache-7f9c-x2', node: 'w1' },
      tags: ['in-use', 'inline-hostPath'],
    });
    expect(finding?.reason).toBe(
      'writes to hostPath /srv/cache; its ReplicaSet would recreate it on another node without that data',
    );
  });

  it.each<[string, Partial<PodRecord>, boolean]>([
    ['StatefulSet pod', { controllerKind: 'StatefulSet' }, true],
    ['Job pod', { controllerKind: 'Job' }, true],
    ['a custom controller', { controllerKind: 'Rollout' }, true],
    ['DaemonSet pod', { controllerKind: 'DaemonSet' }, false],
    ['static pod (mirror)', { controllerKind: 'Node' }, false],
    ['bare pod: nobody recreates it, the data stays for it', { controllerKind: '' }, false],
    ['read-only mount', { hostPaths: [{ path: '/srv/cache', writable: false }] }, false],
    ['system path /var/log', { hostPaths: [{ path: '/var/log/app', writable: true }] }, false],
    ['system path /var/lib/kubelet', { hostPaths: [{ path: '/var/lib/kubelet/pods', writable: true }] }, false],
    ['/var/logs is not under /var/log', { hostPaths: [{ path: '/var/logs', writable: true }] }, true],
    ['finished pod', { phase: 'Succeeded' }, false],
    ['pinned to w1 by nodeSelector hostname', { nodeSelector: hostnameIs('w1') }, false],
    ['pinned to w1 by affinity on metadata.name', { nodeSelector: [{ matchExpressions: [], matchFields: [{ key: 'metadata.name', operator: 'In', values: ['w1'] }] }] }, false],
    ['nodeSelector on a zone of two nodes', { nodeSelector: zoneIs('a') }, true],
    [
      'nodeSelector on a zone, affinity an empty term or hostname w1: the empty term matches no node, so only w1',
      {
        nodeSelector: podNodeSelector({
          nodeSelector: { 'topology.kubernetes.io/zone': 'a' },
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{}, hostnameIs('w1')[0]] } } },
        }),
      },
      false,
    ],
    ['nodeSelector on hostname of two nodes', { nodeSelector: hostnameIs('w1').map((t) => ({ ...t, matchExpressions: [{ ...t.matchExpressions[0]!, values: ['w1', 'w2'] }] })) }, true],
  ])('%s → denied: %s', (_name, fields, denied) => {
    expect(cordon([writer(fields)]).length).toBe(denied ? 1 : 0);
  });

  it('a pod kept on w1 by a PV pinned there comes back to its host path; a claim pinned elsewhere or a scratch claim does not hold it', () => {
    const model = modelOf([
      writer({ claimNames: ['cache-index'] }),
      writer({ name: 'other-x3', claimNames: ['network', 'other-x3-scratch'] }),
    ]);
    model.replaceAll('persistentVolume', [
      // Pinned to w1 by a network driver: not node-local, yet the scheduler keeps the pod on w1.
      csiPV('ebs.csi.aws.com', { name: 'pv-index', pinnedNode: 'w1', claimNamespace: 'shop', claimName: 'cache-index' }),
      csiPV('ebs.csi.aws.com', { name: 'pv-network', pinnedNode: '', claimNamespace: 'shop', claimName: 'network' }),
      csiPV('topolvm.io', { name: 'pv-scratch', pinnedNode: 'w1', claimNamespace: 'shop', claimName: 'other-x3-scratch' }),
    ]);
    model.replaceAll('persistentVolumeClaim', [
      pvc({ namespace: 'shop', name: 'cache-index', volumeName: 'pv-index' }),
      pvc({ namespace: 'shop', name: 'network', volumeName: 'pv-network' }),
      pvc({ namespace: 'shop', name: 'other-x3-scratch', volumeName: 'pv-scratch', ownerReferences: [{ kind: 'Pod', name: 'other-x3', uid: 'u' }] }),
    ]);
    const findings = collectNodeLocalVolume(model, { node: 'w1' }).findings;
    expect(findings.map((f) => f.object.name)).toEqual(['other-x3']);
  });

  it('names every data path once, the system ones left out', () => {
    const pods = [
      writer({
        hostPaths: [
          { path: '/srv/a', writable: true },
          { path: '/var/log', writable: true },
          { path: '/srv/b', writable: true },
          { path: '/srv/a', writable: true },
        ],
      }),
    ];
    expect(cordon(pods)[0]?.reason).toBe('writes to hostPaths /srv/a, /srv/b; its ReplicaSet would recreate it on another node without that data');
  });

  it('uses the configured prefixes', () => {
    const options = nodeLocalOptions(NODE_LOCAL_DRIVERS, ['/srv/'], 'warn');
    expect(cordon([writer()], options)).toEqual([]);
    expect(cordon([writer({ hostPaths: [{ path: '/var/log/x', writable: true }] })], options)).toHaveLength(1);
  });

  it('on eviction judges the evicted pod only', () => {
    const evicted = writer();
    const model = modelOf([evicted, writer({ name: 'other' })]);
    const findings = collectNodeLocalVolume(model, { node: 'w1', claims: [], pod: evicted }).findings;
    expect(findings.map((f) => f.object.name)).toEqual(['cache-7f9c-x2']);
    expect(collectNodeLocalVolume(model, { node: 'w1', claims: [] }).findings).toEqual([]);
  });
});

describe('node-local-volume: StatefulSet emptyDir', () => {
  const db = (fields: Partial<PodRecord> = {}) =>
    pod({ namespace: 'db', name: 'pg-0', nodeName: 'w1', controllerKind: 'StatefulSet', emptyDirs: ['data'], ...fields });

  it('warns by default, naming the pod and its volume', () => {
    const findings = cordon([db()]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'warning', object: { kind: 'Pod', namespace: 'db', name: 'pg-0' }, tags: ['in-use', 'emptyDir'] });
    expect(findings[0]?.reason).toBe('StatefulSet pod keeps data in emptyDir data, emptied when the pod is evicted');
  });

  it('is lost even when the pod is pinned to the node (the emptyDir goes with the pod)', () => {
    expect(cordon([db({ nodeSelector: hostnameIs('w1') })])).toHaveLength(1);
  });

  it('denies in enforce mode, is skipped when off', () => {
    expect(cordon([db()], nodeLocalOptions(NODE_LOCAL_DRIVERS, SYSTEM_HOST_PATH_PREFIXES, 'enforce'))[0]?.severity).toBe('critical');
    expect(cordon([db()], nodeLocalOptions(NODE_LOCAL_DRIVERS, SYSTEM_HOST_PATH_PREFIXES, 'off'))).toEqual([]);
  });
});

describe('prefixes and configuration', () => {
  it('matches whole path segments', () => {
    expect(isUnderPrefix('/var/log', ['/var/log'])).toBe(true);
    expect(isUnderPrefix('/var/log/pods/x', ['/var/log'])).toBe(true);
    expect(isUnderPrefix('/var/logs', ['/var/log'])).toBe(false);
    expect(isUnderPrefix('/anything', ['/'])).toBe(true);
    expect(dataHostPaths(writer({ hostPaths: [{ path: '/etc/app', writable: true }] }))).toEqual([]);
    // Container runtimes' state: containerd, Docker, CRI-O and podman (/var/lib/containers/storage).
    for (const path of ['/var/lib/containerd', '/var/lib/docker', '/var/lib/containers/storage']) {
      expect(dataHostPaths(writer({ hostPaths: [{ path, writable: true }] }))).toEqual([]);
    }
  });

  it('defaults: the built-in lists and emptyDir warnings', () => {
    const config = defaultConfig();
    expect(config.nodeLocal.csiDrivers).toEqual(NODE_LOCAL_DRIVERS);
    expect(config.nodeLocal.ignoredHostPathPrefixes).toEqual(SYSTEM_HOST_PATH_PREFIXES);
    expect(config.nodeLocal.statefulSetEmptyDir).toBe('warn');
    for (const prefix of ['/var/log', '/proc', '/sys', '/dev', '/run', '/etc', '/var/lib/kubelet']) {
      expect(SYSTEM_HOST_PATH_PREFIXES).toContain(prefix);
    }
    expect(nodeLocalOptionsOf(config)).toBe(nodeLocalOptionsOf(config));
  });

  it('reads the environment, and refuses a relative prefix', () => {
    const config = loadConfig({
      env: {
        VOLUME_GUARD_NODE_LOCAL_CSI_DRIVERS: 'vendor.example.com/local',
        VOLUME_GUARD_NODE_LOCAL_IGNORED_HOST_PATH_PREFIXES: '/srv/scratch/,/tmp',
        VOLUME_GUARD_NODE_LOCAL_STATEFUL_SET_EMPTY_DIR: 'enforce',
      },
    });
    const options = nodeLocalOptionsOf(config);
    expect([...options.drivers]).toEqual(['vendor.example.com/local']);
    expect(options.ignoredHostPathPrefixes).toEqual(['/srv/scratch', '/tmp']);
    expect(options.statefulSetEmptyDir).toBe('enforce');
    expect(() => loadConfig({ env: { VOLUME_GUARD_NODE_LOCAL_IGNORED_HOST_PATH_PREFIXES: 'var/log' } })).toThrow(
      /nodeLocal\.ignoredHostPathPrefixes\[0\] must match pattern/,
    );
  });
});

describe('node-local-volume: node-local PVs no affinity pins (hostPath PVs of minikube, MicroK8s)', () => {
  const unpinnedPV = hostPathPV({ name: 'pvc-hp', driver: 'k8s.io/minikube-hostpath', pinnedNode: '', claimNamespace: 'shop', claimName: 'data' });
  const claim = pvc({ namespace: 'shop', name: 'data', volumeName: 'pvc-hp' });
  const user = (fields: Partial<PodRecord> = {}) => pod({ namespace: 'shop', name: 'db-0', nodeName: 'w1', claimNames: ['data'], ...fields });

  function model(pods: readonly PodRecord[], pvs = [unpinnedPV]): ClusterModel {
    const m = modelOf(pods);
    m.replaceAll('persistentVolume', pvs);
    m.replaceAll('persistentVolumeClaim', [claim]);
    return m;
  }

  it('keeps its data on the node of the running pod that mounts it', () => {
    const findings = collectNodeLocalVolume(model([user()]), { node: 'w1' }).findings;
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ object: { kind: 'PersistentVolume', name: 'pvc-hp', node: 'w1' }, tags: ['in-use', 'hostPath', 'unpinned'] });
    expect(findings[0]?.reason).toBe(
      'hostPath PV keeps the data of claim shop/data on node w1, where its pod runs, mounted by 1 pod',
    );
    expect(collectNodeLocalVolume(model([user()]), { node: 'w2' }).findings).toEqual([]);
  });

  it('is not reported without a running pod, nor for network storage', () => {
    expect(collectNodeLocalVolume(model([user({ phase: 'Succeeded' })]), { node: 'w1' }).findings).toEqual([]);
    expect(collectNodeLocalVolume(model([]), { node: 'w1' }).findings).toEqual([]);
    const network = csiPV('ebs.csi.aws.com', { name: 'pvc-hp', claimNamespace: 'shop', claimName: 'data' });
    expect(collectNodeLocalVolume(model([user()], [network]), { node: 'w1' }).findings).toEqual([]);
  });

  it('is found among network PVs no node pins either, and for a CSI driver configured node-local', () => {
    const network = csiPV('driver.longhorn.io', { name: 'pvc-net', pinnedNode: '', claimNamespace: 'shop', claimName: 'other' });
    const both = model([user({ claimNames: ['other', 'data'] })], [network, unpinnedPV]);
    expect(collectNodeLocalVolume(both, { node: 'w1' }).findings.map((f) => f.object.name)).toEqual(['pvc-hp']);
    const zfs = csiPV('zfs.csi.openebs.io', { name: 'pvc-hp', pinnedNode: '', claimNamespace: 'shop', claimName: 'data' });
    const options = { ...DEFAULT_NODE_LOCAL_OPTIONS, drivers: new Set(['zfs.csi.openebs.io']) };
    expect(collectNodeLocalVolume(model([user()], [zfs]), { node: 'w1' }, {}, options).findings.map((f) => f.object.name)).toEqual(['pvc-hp']);
    expect(collectNodeLocalVolume(model([user()], [zfs]), { node: 'w1' }, {}, { ...options, drivers: new Set() }).findings).toEqual([]);
  });

  it('blocks the eviction of the pod that mounts it', () => {
    const evicted = user();
    const findings = collectNodeLocalVolume(model([evicted]), { node: 'w1', claims: [{ namespace: 'shop', name: 'data' }], pod: evicted }).findings;
    expect(findings.map((f) => f.object.name)).toEqual(['pvc-hp']);
  });
});

describe('audit: what cordoning the node would hit, inline data included', () => {
  it('lists the hostPath writer as critical and the emptyDir StatefulSet pod as a warning, with the configured options', () => {
    const model = modelOf([writer(), pod({ namespace: 'db', name: 'pg-0', nodeName: 'w1', controllerKind: 'StatefulSet', emptyDirs: ['data'] })]);
    const input = { model, scope: { kind: 'node', node: 'w1' } as const, cluster: { server: 's', context: 'c' }, generatedAt: '2026-01-01T00:00:00Z' };
    const report = buildAuditReport(input);
    expect(report.findings.map((f) => [f.severity, f.object.kind, f.object.name, f.tags])).toEqual([
      ['critical', 'Pod', 'cache-7f9c-x2', ['in-use', 'inline-hostPath']],
      ['warning', 'Pod', 'pg-0', ['in-use', 'emptyDir']],
    ]);
    const quiet = buildAuditReport({ ...input, nodeLocal: nodeLocalOptions(NODE_LOCAL_DRIVERS, ['/srv'], 'off') });
    expect(quiet.findings).toEqual([]);
  });
});
