// Which nodes are leaving or cordoned is kept on every write to the nodes, whether or not the model keeps volume sets:
// a model built without them (the tests' scripted informers, tools reading the nodes alone) answers the same.
import { describe, expect, it } from 'vitest';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { node } from '../../support/fixtures.ts';

describe.each([
  ['without volume sets', () => new ClusterModel()],
  ['with volume sets', () => new ClusterModel(VOLUME_SETS)],
])('ClusterModel node tracking %s', (_name, build) => {
  it('anyNodeLeaving follows a node an autoscaler removes, through upserts, removals and relists', () => {
    const model = build();
    model.upsert('node', node({ name: 'n1', leaving: true }));
    expect(model.nodeLeaving('n1')).toBe('autoscaler');
    expect(model.anyNodeLeaving()).toBe(true);
    model.upsert('node', node({ name: 'n1' }));
    expect(model.anyNodeLeaving()).toBe(false);
    model.replaceAll('node', [node({ name: 'n1' }), node({ name: 'n2', leaving: true })]);
    expect(model.anyNodeLeaving()).toBe(true);
    model.remove('node', 'n2');
    expect(model.anyNodeLeaving()).toBe(false);
  });

  it('anyNodeCordoned follows a cordoned node', () => {
    const model = build();
    model.upsert('node', node({ name: 'n1', unschedulable: true }));
    expect(model.anyNodeCordoned()).toBe(true);
    model.remove('node', 'n1');
    expect(model.anyNodeCordoned()).toBe(false);
  });
});
