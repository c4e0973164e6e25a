// A Deployment whose replicas bind a host port (hostPort, or hostNetwork, where the API server defaults each
// containerPort's hostPort to it) and write to a hostPath: the scheduler's NodePorts filter refuses a node where a pod
// already uses that port with that protocol on an overlapping host IP (HostPortInfo.CheckConflict: 0.0.0.0 overlaps
// every IP). With a replica on every other node, the evicted pod's replacement can only take its own node back (free
// once the evicted pod is gone): the eviction loses nothing. A node counts as refused only on evidence: a pod there
// whose ports volume-guard keeps (one writing to a hostPath), running and not being deleted.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { NodeRecord, PodRecord } from '../../../src/cluster/records.ts';
import { transformNode, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { context, evictionRequest } from '../../support/admission.ts';

const config = defaultConfig();
type Raw = Record<string, unknown>;

function rawNode(name: string): NodeRecord {
  return transformNode({
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2020-01-01T00:00:00Z' }] },
  })!;
}

interface ReplicaOptions {
  readonly ports?: readonly Raw[];
  readonly deleting?: boolean;
  readonly hostPath?: boolean;
  readonly tolerations?: readonly Raw[];
}

/** A replica proxy-6b-<suffix> of the ReplicaSet proxy-6b on `node`, binding host port 8443 and writing to /srv/proxy. */
function replica(suffix: string, node: string, options: ReplicaOptions = {}): PodRecord {
  const hostPath = options.hostPath ?? true;
  return transformPod({
    metadata: {
      name: `proxy-6b-${suffix}`,
      namespace: 'default',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'proxy-6b', uid: 'u-rs', controller: true }],
      ...(options.deleting === true ? { deletionTimestamp: '2020-01-01T00:00:00Z' } : {}),
    },
    spec: {
      nodeName: node,
      ...(options.tolerations === undefined ? {} : { tolerations: options.tolerations }),
      containers: [
        {
          name: 'c',
          ports: options.ports ?? [{ containerPort: 8443, hostPort: 8443, protocol: 'TCP' }],
          volumeMounts: hostPath ? [{ name: 'data', mountPath: '/data' }] : [],
        },
      ],
      volumes: hostPath ? [{ name: 'data', hostPath: { path: '/srv/proxy' } }] : [],
    },
    status: { phase: 'Running' },
  })!;
}

function modelOf(nodes: readonly NodeRecord[], pods: readonly PodRecord[]): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  for (const node of nodes) model.upsert('node', node);
  for (const pod of pods) model.upsert('pod', pod);
  return model;
}

const evict = (model: ClusterModel) => podEvictionValidator(config).handle(evictionRequest('proxy-6b-x1'), context(model));
const twoNodes = (): NodeRecord[] => [rawNode('node-1'), rawNode('node-2')];

describe('a hostPath replica binding a host port, evicted from a schedulable node', () => {
  it('comes back to its node when the other node runs a replica on that port', () => {
    const decision = evict(modelOf(twoNodes(), [replica('x1', 'node-1'), replica('x2', 'node-2')]));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });

  it('comes back when the other replica binds the port on one host IP and it on every IP (0.0.0.0 overlaps)', () => {
    const other = replica('x2', 'node-2', { ports: [{ containerPort: 8443, hostPort: 8443, hostIP: '10.0.0.2' }] });
    expect(evict(modelOf(twoNodes(), [replica('x1', 'node-1'), other])).allowed).toBe(true);
  });

  it('is refused when the other node is free', () => {
    const decision = evict(modelOf([...twoNodes(), rawNode('node-3')], [replica('x1', 'node-1'), replica('x2', 'node-2')]));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('/srv/proxy');
  });

  it('is refused when the other replica binds the port with another protocol', () => {
    const other = replica('x2', 'node-2', { ports: [{ containerPort: 8443, hostPort: 8443, protocol: 'UDP' }] });
    expect(evict(modelOf(twoNodes(), [replica('x1', 'node-1'), other])).allowed).toBe(false);
  });

  it('is refused when both bind the port on different host IPs', () => {
    const own = replica('x1', 'node-1', { ports: [{ containerPort: 8443, hostPort: 8443, hostIP: '10.0.0.1' }] });
    const other = replica('x2', 'node-2', { ports: [{ containerPort: 8443, hostPort: 8443, hostIP: '10.0.0.2' }] });
    expect(evict(modelOf(twoNodes(), [own, other])).allowed).toBe(false);
  });

  it('is refused when the other replica is being deleted', () => {
    expect(evict(modelOf(twoNodes(), [replica('x1', 'node-1'), replica('x2', 'node-2', { deleting: true })])).allowed).toBe(false);
  });

  it('is refused when the pod on the other node keeps no data on a hostPath (its ports are not kept)', () => {
    expect(evict(modelOf(twoNodes(), [replica('x1', 'node-1'), replica('x2', 'node-2', { hostPath: false })])).allowed).toBe(false);
  });

  it('is refused when a container port binds no host port', () => {
    const ports = [{ containerPort: 8443 }];
    expect(evict(modelOf(twoNodes(), [replica('x1', 'node-1', { ports }), replica('x2', 'node-2', { ports })])).allowed).toBe(false);
  });

  it('is refused when another replica on its own node holds the port (it goes Pending)', () => {
    const pods = [replica('x1', 'node-1'), replica('x1b', 'node-1'), replica('x2', 'node-2')];
    expect(evict(modelOf(twoNodes(), pods)).allowed).toBe(false);
  });
});

describe('the at_risk_volumes gauge of hostPath replicas tolerating every taint and binding a host port', () => {
  it('counts them once the replica holding the port on another node goes', () => {
    const model = new ClusterModel(VOLUME_SETS);
    const tracker = new RiskTracker(model, {});
    const sink = tracker.sink();
    const atRisk = (): number => {
      expect(tracker.flush()).toBe(true);
      return tracker.counts().atRiskVolumes['node-local-volume'];
    };
    const everything = [{ operator: 'Exists' }];
    for (const node of twoNodes()) sink.upsert('node', node);
    sink.upsert('pod', replica('x1', 'node-1', { tolerations: everything }));
    sink.upsert('pod', replica('x2', 'node-2', { tolerations: everything }));
    expect(atRisk()).toBe(0);
    sink.remove('pod', 'default/proxy-6b-x2');
    expect(atRisk()).toBe(1);
  });
});
