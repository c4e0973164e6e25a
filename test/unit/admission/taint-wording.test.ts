// A refused taint is worded as the taint it is: `kubectl taint nodes node-3 maintenance=now:NoExecute` makes the taint
// manager delete the pods at once (no cordon, no drain), and the step after the fix is the taint again.
import { expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, NODE_KIND, request } from '../../support/admission.ts';
import { localPV, namespace, node, pod, pvc } from '../../support/fixtures.ts';

const validator = createValidators(defaultConfig()).find((x) => x.declaration.target === 'node-cordon')!;

it('a refused NoExecute taint is not advised as a cordon', () => {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: 'default' }));
  model.upsert('node', node({ name: 'node-3' }));
  model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-3', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'node-3', claimNames: ['db-data'], controllerKind: 'StatefulSet' }));
  const nodeObj = (taints: unknown[]) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-3', annotations: {} }, spec: { taints } });
  // `kubectl taint nodes node-3 maintenance=now:NoExecute`: the taint manager deletes db-0 at once (no cordon, no drain).
  const taint = request({ ...NODE_KIND, operation: 'UPDATE', name: 'node-3', object: nodeObj([{ key: 'maintenance', value: 'now', effect: 'NoExecute' }]), oldObject: nodeObj([]) });
  const decision = validator.handle(taint, context(model));
  const text = decision.status?.message ?? '';
  expect(decision.allowed).toBe(false);
  expect(text).toContain('taint maintenance=now:NoExecute of node node-3');
  // The note says the operation loses nothing itself; a NoExecute taint deletes the pods now.
  expect(text).not.toContain('The cordon itself loses nothing');
  // The retry named is the operation refused, not a cordon nobody ran.
  expect(text).not.toContain('cordon node-3 again');
  expect(text).toContain('The taint manager would delete the pods that do not tolerate it at once');
});

it('a refused NoSchedule taint says the taint itself loses nothing', () => {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: 'default' }));
  model.upsert('node', node({ name: 'node-3' }));
  model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-3', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'node-3', claimNames: ['db-data'], controllerKind: 'StatefulSet' }));
  const nodeObj = (taints: unknown[]) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-3', annotations: {} }, spec: { taints } });
  const taint = request({ ...NODE_KIND, operation: 'UPDATE', name: 'node-3', object: nodeObj([{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]), oldObject: nodeObj([]) });
  const text = validator.handle(taint, context(model)).status?.message ?? '';
  expect(text).toContain('The taint itself loses nothing; the drain or maintenance that follows would.');
});
