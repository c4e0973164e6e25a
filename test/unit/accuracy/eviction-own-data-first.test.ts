// `kubectl drain` prints each refused eviction as `error when evicting pods/"db-13" -n "shop": …`: on a node being
// drained the answer holds the node-wide checks, capped at the few objects a denial lists, and the evicted pod's own
// data must be among them, first, whatever its name sorts as. Other namespaces' data (named only as counted risks)
// comes after the requester's own.
import { describe, expect, it } from 'vitest';
import { ownDataFirst, podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import type { Finding } from '../../../src/checks/types.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, evictionRequest } from '../../support/admission.ts';
import { localPV, longhornNode, longhornSetting, namespace, node, pod, pv, pvc, replica, volume } from '../../support/fixtures.ts';

const evictions = podEvictionValidator(defaultConfig());

/** node-1 cordoned, 14 local PVs pinned there, alternately of namespaces `other` and `shop`, each mounted by `db-<i>`. */
function drainingNode(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.upsert('node', node({ name: 'node-1', unschedulable: true, labels: { 'kubernetes.io/hostname': 'node-1' } }));
  for (const name of ['shop', 'other']) model.upsert('namespace', namespace({ name }));
  for (let i = 0; i < 14; i++) {
    const ns = i % 2 === 1 ? 'shop' : 'other';
    model.upsert('persistentVolume', localPV({ name: `pv-${i}`, claimNamespace: ns, claimName: `data-${i}`, pinnedNode: 'node-1' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: ns, name: `data-${i}`, volumeName: `pv-${i}`, storageClassName: 'local-storage' }));
    model.upsert('pod', pod({ namespace: ns, name: `db-${i}`, claimNames: [`data-${i}`], controllerKind: 'StatefulSet' }));
  }
  return model;
}

const objectLines = (message: string): string[] => message.split('\n').filter((line) => /^ {2}PV /.test(line));
/** The object lines and the line counting other namespaces' PVs. */
const listingLines = (message: string): string[] => message.split('\n').filter((line) => /^ {2}(PV |\d+ PVs )/.test(line));

describe('eviction on a node being drained: the evicted pod’s own data is named first', () => {
  it('names the PV of shop/db-13 first, though ten others sort before it', () => {
    const refused = evictions.handle(evictionRequest('db-13', { namespace: 'shop' }), context(drainingNode()));
    expect(refused.allowed).toBe(false);
    const message = refused.status?.message ?? '';
    expect(message).toContain('[node-local-volume] 14 objects keep data only on node-1');
    expect(objectLines(message)[0]).toContain('PV pv-13 (PVC shop/data-13, Pod shop/db-13)');
    // Still 14 in all: the listed ones, other namespaces' counted on one line, and the rest (not built) counted, of
    // any namespace (shop's pv-11 is among them).
    const listed = objectLines(message).length;
    const withheld = Number(/^ {2}(\d+) PVs of other namespaces, each: /m.exec(message)?.[1]);
    expect(withheld).toBeGreaterThan(1);
    expect(message).toContain(`and ${14 - listed - withheld} more, of any namespace; all of them: volume-guard audit --node node-1`);
  });

  it("lists the requester's namespace before the withheld data of other namespaces", () => {
    const refused = evictions.handle(evictionRequest('db-1', { namespace: 'shop' }), context(drainingNode()));
    const lines = listingLines(refused.status?.message ?? '');
    expect(lines[0]).toContain('PV pv-1 (PVC shop/data-1, Pod shop/db-1)');
    // Other namespaces' PVs come last, counted on one line.
    const firstWithheld = lines.findIndex((line) => line.includes('of other namespaces'));
    expect(firstWithheld).toBe(lines.length - 1);
    expect(lines.slice(0, firstWithheld).every((line) => line.includes('shop/'))).toBe(true);
  });

  it('adds an unbuilt finding of its own only to a check whose count it is in', () => {
    const finding = (name: string, check: Finding['check'] = 'node-local-volume'): Finding => ({
      check,
      severity: 'critical',
      object: { kind: 'PersistentVolume', name },
      reason: 'r',
      tags: [],
    });
    const all = () => true;
    // Cut (3 counted, 2 built): pv-9 goes first.
    expect(ownDataFirst([finding('a'), finding('b')], { 'node-local-volume': 3 }, [finding('pv-9')], all).map((f) => f.object.name)).toEqual(['pv-9', 'a', 'b']);
    // Not cut: the node-wide check did not find it, nothing is added.
    expect(ownDataFirst([finding('a')], { 'node-local-volume': 1 }, [finding('pv-9')], all).map((f) => f.object.name)).toEqual(['a']);
    // Another check found nothing: nothing is added to it.
    expect(ownDataFirst([finding('a')], { 'node-local-volume': 1 }, [finding('v', 'last-replica-on-node')], all)).toHaveLength(1);
  });

  it("lists the requester's namespace first for a finished pod too (no data of its own)", () => {
    const model = drainingNode();
    model.upsert('pod', pod({ namespace: 'shop', name: 'job-x', phase: 'Succeeded', controllerKind: 'Job' } as Parameters<typeof pod>[0]));
    const lines = listingLines(evictions.handle(evictionRequest('job-x', { namespace: 'shop' }), context(model)).status?.message ?? '');
    const firstWithheld = lines.findIndex((line) => line.includes('of other namespaces'));
    expect(firstWithheld).toBe(lines.length - 1);
    expect(lines.slice(0, firstWithheld).every((line) => line.includes('shop/'))).toBe(true);
  });

  it('never lists first a volume of its own that Longhorn moves off the node (block-for-eviction)', () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.setLonghornInstalled(true);
    model.upsert('node', node({ name: 'w1', unschedulable: true }));
    model.upsert('node', node({ name: 'w2' }));
    model.upsert('namespace', namespace({ name: 'app' }));
    model.replaceAll('longhornNode', ['w1', 'w2'].map((name) => longhornNode({ name })));
    model.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
    // 14 strict-local volumes stay (Longhorn cannot move them), past the listing cap.
    for (let i = 0; i < 14; i++) {
      const name = `a${String(i).padStart(2, '0')}`;
      model.upsert('longhornVolume', volume({ name, numberOfReplicas: 1, currentNodeID: 'w1', strictLocal: true, pvcNamespace: 'app', pvcName: name, pvName: name }));
      model.upsert('longhornReplica', replica({ volumeName: name, nodeID: 'w1' }));
    }
    // The pod's own volume: an ordinary single copy, which the policy moves to w2 before the drain goes on.
    model.upsert('longhornVolume', volume({ name: 'zz-live', numberOfReplicas: 1, currentNodeID: 'w1', pvName: 'zz-live', pvcNamespace: 'app', pvcName: 'db' }));
    model.upsert('longhornReplica', replica({ volumeName: 'zz-live', nodeID: 'w1' }));
    model.upsert('persistentVolume', pv({ name: 'zz-live', claimNamespace: 'app', claimName: 'db' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'app', name: 'db', volumeName: 'zz-live' }));
    model.upsert('pod', pod({ namespace: 'app', name: 'db-0', nodeName: 'w1', claimNames: ['db'] }));
    const refused = evictions.handle(evictionRequest('db-0', { namespace: 'app' }), context(model));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).not.toContain('zz-live');
  });
});
