// What a pod's slim record keeps of its inline node-local data: owner kind, hostPath paths with a writable
// flag, StatefulSet emptyDirs, and its scheduling constraint summarised — nothing else of the spec.
import { describe, expect, it } from 'vitest';
import { normaliseHostPath, transformPersistentVolume, transformPod } from '../../../src/cluster/transforms.ts';

const owner = (kind: string, controller = true) => ({ apiVersion: 'apps/v1', kind, name: 'owner', uid: 'u', controller });

function podWith(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
  return transformPod({
    metadata: { name: 'p', namespace: 'ns', ownerReferences: [owner('ReplicaSet')], ...metadata },
    spec: { nodeName: 'n1', ...spec },
    status: { phase: 'Running' },
  });
}

describe('transformPod: inline hostPath volumes', () => {
  it('is writable when any container mounts it without readOnly (init and ephemeral containers count)', () => {
    const record = podWith({
      volumes: [
        { name: 'rw', hostPath: { path: '/data/app/' } },
        { name: 'ro', hostPath: { path: '/data/ro' } },
        { name: 'mixed', hostPath: { path: '/data//mixed/./x' } },
        { name: 'init', hostPath: { path: '/data/init', type: 'DirectoryOrCreate' } },
        { name: 'unmounted', hostPath: { path: '/data/unused' } },
        { name: 'sock', hostPath: { path: '/data/agent.sock', type: 'Socket' } },
        { name: 'tty', hostPath: { path: '/dev/ttyS0', type: 'CharDevice' } },
        { name: 'cfg', configMap: { name: 'c' } },
      ],
      initContainers: [{ name: 'i', volumeMounts: [{ name: 'init', mountPath: '/i' }] }],
      containers: [
        {
          name: 'a',
          env: [{ name: 'PASSWORD', value: 'secret-value' }],
          volumeMounts: [
            { name: 'rw', mountPath: '/rw' },
            { name: 'ro', mountPath: '/ro', readOnly: true },
            { name: 'mixed', mountPath: '/m1', readOnly: true },
            { name: 'sock', mountPath: '/s' },
          ],
        },
        { name: 'b', volumeMounts: [{ name: 'mixed', mountPath: '/m2', subPath: 'y' }] },
      ],
    });
    expect(record?.controllerKind).toBe('ReplicaSet');
    expect(record?.hostPaths).toEqual([
      { path: '/data/app', writable: true },
      { path: '/data/ro', writable: false },
      { path: '/data/mixed/x', writable: true },
      { path: '/data/init', writable: true },
      { path: '/data/unused', writable: false },
    ]);
    expect(JSON.stringify(record)).not.toContain('secret-value');
    expect(record?.emptyDirs).toEqual([]);
  });

  it('drops them for DaemonSet pods and static pods, which always come back to their node', () => {
    const volumes = [{ name: 'v', hostPath: { path: '/data' } }];
    const containers = [{ name: 'c', volumeMounts: [{ name: 'v', mountPath: '/v' }] }];
    const daemon = podWith({ volumes, containers }, { ownerReferences: [owner('DaemonSet')] });
    expect(daemon?.controllerKind).toBe('DaemonSet');
    expect(daemon?.hostPaths).toEqual([]);
    const mirror = podWith(
      { volumes, containers },
      { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'n', controller: true }], annotations: { 'kubernetes.io/config.mirror': 'abc' } },
    );
    expect(mirror?.controllerKind).toBe('Node');
    expect(mirror?.hostPaths).toEqual([]);
    const bare = podWith({ volumes, containers }, { ownerReferences: [owner('ReplicaSet', false)] });
    expect(bare?.controllerKind).toBe('');
    expect(bare?.hostPaths).toEqual([{ path: '/data', writable: true }]);
  });

  it('keeps the scheduling constraint only for pods with inline data', () => {
    const nodeSelector = { 'kubernetes.io/hostname': 'n1' };
    const withData = podWith({
      nodeSelector,
      volumes: [{ name: 'v', hostPath: { path: '/data' } }],
      containers: [{ name: 'c', volumeMounts: [{ name: 'v', mountPath: '/v' }] }],
    });
    expect(withData?.nodeSelector).toEqual([
      { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] }], matchFields: [] },
    ]);
    expect(podWith({ nodeSelector, containers: [{ name: 'c' }] })?.nodeSelector).toEqual([]);
  });
});

describe('transformPod: emptyDir of StatefulSet pods', () => {
  const spec = {
    volumes: [
      { name: 'data', emptyDir: {} },
      { name: 'shm', emptyDir: { medium: 'Memory' } },
      { name: 'ro', emptyDir: {} },
    ],
    containers: [{ name: 'c', volumeMounts: [{ name: 'data', mountPath: '/d' }, { name: 'shm', mountPath: '/dev/shm' }, { name: 'ro', mountPath: '/r', readOnly: true }] }],
  };

  it('keeps the writable disk-backed ones of StatefulSet pods', () => {
    // A Memory emptyDir (tmpfs, /dev/shm) is lost at any reboot of the node as well: no drain decision keeps it.
    expect(podWith(spec, { ownerReferences: [owner('StatefulSet')] })?.emptyDirs).toEqual(['data']);
  });

  it('ignores them for other pods', () => {
    expect(podWith(spec)?.emptyDirs).toEqual([]);
    expect(podWith(spec)?.nodeSelector).toEqual([]);
  });
});

describe('normaliseHostPath', () => {
  it.each([
    ['/var/log/', '/var/log'],
    ['//var//lib/./data', '/var/lib/data'],
    ['/var/log/../lib', '/var/lib'],
    ['/../..', '/'],
    ['/', '/'],
    ['relative/dir', '/relative/dir'],
  ])('%s → %s', (input, expected) => {
    expect(normaliseHostPath(input)).toBe(expected);
  });
});

describe('node affinities are shared between records', () => {
  it('equal selectors are one object; different ones are not', () => {
    const zonal = (name: string, zone: string) =>
      transformPersistentVolume({
        metadata: { name },
        spec: {
          csi: { driver: 'ebs.csi.aws.com' },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: [zone] }] }] } },
        },
      });
    const a = zonal('a', 'us-east-1a');
    const b = zonal('b', 'us-east-1a');
    const c = zonal('c', 'us-east-1b');
    expect(a?.nodeAffinity).toBe(b?.nodeAffinity);
    expect(a?.nodeAffinity).not.toBe(c?.nodeAffinity);
    expect(c?.nodeAffinity).toEqual([
      { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['us-east-1b'] }], matchFields: [] },
    ]);
  });
});
