// `kubectl drain` joins the refusals of several pods into one error, ", " between them inside brackets (apimachinery
// pkg/util/errors aggregate.Error, used by kubectl pkg/drain evictPods): an eviction's refusal ends with a line break,
// so the next one starts a line of its own and the override command on the last line is copied whole.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, evictionRequest } from '../../support/admission.ts';
import { localPV, namespace, node, pod, pvc } from '../../support/fixtures.ts';

const evictions = podEvictionValidator(defaultConfig());

/** node-1 cordoned (being drained), with `count` local PVs pinned there, each mounted by shop/db-<i>. */
function drainingNode(count: number): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.upsert('node', node({ name: 'node-1', unschedulable: true, labels: { 'kubernetes.io/hostname': 'node-1' } }));
  model.upsert('namespace', namespace({ name: 'shop' }));
  for (let i = 0; i < count; i++) {
    model.upsert('persistentVolume', localPV({ name: `pv-${i}`, claimNamespace: 'shop', claimName: `data-${i}`, pinnedNode: 'node-1' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: `data-${i}`, volumeName: `pv-${i}`, storageClassName: 'local-storage' }));
    model.upsert('pod', pod({ namespace: 'shop', name: `db-${i}`, claimNames: [`data-${i}`], controllerKind: 'StatefulSet' }));
  }
  return model;
}

const refusal = (model: ClusterModel, name: string): string => {
  const decision = evictions.handle(evictionRequest(name, { namespace: 'shop' }), context(model));
  expect(decision.allowed).toBe(false);
  return decision.status?.message ?? '';
};

describe("a drain's refused evictions, as kubectl drain joins them", () => {
  it('each ends with a line break: the override command of every refusal stays a whole line', () => {
    const model = drainingNode(3);
    const refusals = ['db-1', 'db-2'].map((name) => refusal(model, name));
    for (const text of refusals) expect(text.endsWith('\n')).toBe(true);
    const printed = `[${refusals.join(', ')}]`;
    const overrideLines = printed.split('\n').filter((line) => line.includes('kubectl annotate node node-1'));
    expect(overrideLines).toHaveLength(2);
    for (const line of overrideLines) expect(line).toMatch(/skip-by="<you>"$/);
  });
});
