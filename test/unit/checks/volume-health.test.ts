import { describe, expect, it } from 'vitest';
import { collectVolumeHealth, volumeHealthCheck } from '../../../src/checks/volume-health.ts';
import { detachedVolume, failedReplica, longhornNode, replica, volume } from '../../support/fixtures.ts';
import { clusterOf, withoutFullScans } from './helpers.ts';

describe('volume-health, cluster-wide (upgrade)', () => {
  it.each<[string, Parameters<typeof clusterOf>[0], string[]]>([
    ['healthy volume', { volumes: [volume({ name: 'v' })], replicas: [replica({ volumeName: 'v' })] }, []],
    [
      'degraded volume',
      { volumes: [volume({ name: 'v', robustness: 'degraded' })], replicas: [failedReplica({ volumeName: 'v' })] },
      ['robustness is degraded'],
    ],
    ['faulted volume', { volumes: [volume({ name: 'v', robustness: 'faulted' })] }, ['robustness is faulted']],
    [
      'detached volume with stopped replicas',
      {
        volumes: [detachedVolume({ name: 'v' })],
        replicas: [replica({ volumeName: 'v', nodeID: 'a', currentState: 'stopped' })],
      },
      [],
    ],
    [
      'attached volume with a stopped replica',
      {
        volumes: [volume({ name: 'v' })],
        replicas: [replica({ name: 'r1', volumeName: 'v', nodeID: 'w1', currentState: 'stopped' })],
      },
      ['replica r1 is stopped on node w1 while the volume is attached'],
    ],
    [
      'volume stuck attaching on a reformatted disk (seed 002)',
      {
        volumes: [volume({ name: 'v', state: 'attaching', robustness: 'unknown' })],
        replicas: [replica({ name: 'r1', volumeName: 'v', nodeID: 'w1', diskID: 'uuid-old', currentState: 'stopped' })],
        longhornNodes: [longhornNode({ name: 'w1', diskUUIDs: ['uuid-new'] })],
      },
      [
        'replica r1 is stopped on node w1 while the volume is attached; ' +
          'replica r1 on node w1 uses disk uuid-old, which no longer exists on that node',
      ],
    ],
    [
      // A live migration whose target engine failed: its inactive matching replica errs beside the active one.
      'attached volume whose inactive replica (spec.active false) is in error',
      {
        volumes: [volume({ name: 'v' })],
        replicas: [
          replica({ name: 'r1', volumeName: 'v', nodeID: 'w1' }),
          replica({ name: 'r1-twin', volumeName: 'v', nodeID: 'w1', currentState: 'error', inactive: true }),
        ],
      },
      [],
    ],
    [
      // Its status not written yet: no disk reported says nothing of the replica's disk (as copies read it).
      'replica on a Longhorn node that reports no disk',
      {
        volumes: [volume({ name: 'v' })],
        replicas: [replica({ name: 'r1', volumeName: 'v', nodeID: 'w1', diskID: 'uuid-1' })],
        longhornNodes: [longhornNode({ name: 'w1', diskUUIDs: [] })],
      },
      [],
    ],
    [
      'replica on a node Longhorn does not know',
      {
        volumes: [volume({ name: 'v' })],
        replicas: [replica({ name: 'r1', volumeName: 'v', nodeID: 'w9' })],
        longhornNodes: [],
      },
      ['replica r1 is on node w9, which Longhorn does not know'],
    ],
  ])('%s', (_label, records, expectedReasons) => {
    const findings = volumeHealthCheck(withoutFullScans(clusterOf(records)), {});
    expect(findings.map((f) => f.reason)).toEqual(expectedReasons);
  });

  it('names the volume, the problem replicas with their nodes, and the PVC', () => {
    const model = clusterOf({
      volumes: [volume({ name: 'v', robustness: 'degraded', currentNodeID: 'w1' })],
      replicas: [
        replica({ name: 'r-ok', volumeName: 'v', nodeID: 'w1' }),
        replica({ name: 'r-stopped', volumeName: 'v', nodeID: 'w2', currentState: 'stopped' }),
        replica({ name: 'r-disk', volumeName: 'v', nodeID: 'w3', diskID: 'uuid-old' }),
      ],
    });
    const [finding, ...rest] = volumeHealthCheck(model, {});
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      check: 'volume-health',
      severity: 'critical',
      object: { kind: 'Volume', namespace: 'longhorn-system', name: 'v', node: 'w2,w3' },
      tags: ['degraded', 'replica-stopped', 'replica-disk-missing', 'attached'],
      related: [
        { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'v-claim' },
        { kind: 'Replica', namespace: 'longhorn-system', name: 'r-stopped', node: 'w2' },
        { kind: 'Replica', namespace: 'longhorn-system', name: 'r-disk', node: 'w3' },
      ],
    });
    expect(finding?.reason).toBe(
      'robustness is degraded; replica r-stopped is stopped on node w2 while the volume is attached; ' +
        'replica r-disk on node w3 uses disk uuid-old, which no longer exists on that node',
    );
  });

  it('uses the attachment node for a volume-level problem', () => {
    const model = clusterOf({ volumes: [volume({ name: 'v', robustness: 'faulted', currentNodeID: 'w4' })] });
    expect(volumeHealthCheck(model, {})[0]?.object.node).toBe('w4');
  });

  it('caps what it builds and counts the rest', () => {
    const volumes = ['a', 'b', 'c'].map((name) => volume({ name, robustness: 'degraded' }));
    const capped = collectVolumeHealth(clusterOf({ volumes }), {}, { limit: 1 });
    expect(capped.findings).toHaveLength(1);
    expect(capped.total).toBe(3);
  });

  it('reports nothing when Longhorn is not installed', () => {
    const model = clusterOf({ volumes: [volume({ robustness: 'faulted' })], longhornInstalled: false });
    expect(volumeHealthCheck(model, {})).toEqual([]);
  });
});

describe('volume-health on a node', () => {
  it('reports only unhealthy volumes with a replica on that node', () => {
    const model = clusterOf({
      volumes: [volume({ name: 'on-w1', robustness: 'degraded' }), volume({ name: 'on-w2', robustness: 'degraded' })],
      replicas: [
        replica({ volumeName: 'on-w1', nodeID: 'w1' }),
        replica({ volumeName: 'on-w2', nodeID: 'w2' }),
        replica({ volumeName: 'healthy', nodeID: 'w1' }),
      ],
    });
    expect(volumeHealthCheck(withoutFullScans(model), { node: 'w1' }).map((f) => f.object.name)).toEqual(['on-w1']);
  });
});
