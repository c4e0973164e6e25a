// A longhorn-manager image change (a Longhorn upgrade outside Helm) refused for a faulted volume. Longhorn
// rebuilds a replica only from a healthy one (longhorn-manager controller/volume_controller.go: a faulted volume has
// none, and is salvaged or restored, never rebuilt), so "wait until Longhorn has rebuilt the replicas" cannot work
// there; the fix must lead with what does (salvage, or restore from a backup), as it does for the same volume at a
// cordon, a Harvester upgrade or a Helm upgrade of the longhorn chart (volume-health's fixFor).
import { expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, namespace, replica, volume } from '../../support/fixtures.ts';

const validator = createValidators(defaultConfig()).find((v) => v.declaration.target === 'storage-upgrade')!;
const manager = (image: string) => ({
  metadata: { name: 'longhorn-manager', namespace: 'longhorn-system', annotations: {} },
  spec: { template: { spec: { containers: [{ name: 'longhorn-manager', image }] } } },
});

it('tells a faulted volume to be salvaged or restored, not to wait for a rebuild that never comes', () => {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('namespace', namespace({ name: 'longhorn-system' }));
  model.upsert('longhornVolume', volume({ name: 'faulted', robustness: 'faulted', numberOfReplicas: 2, state: 'detached', currentNodeID: '' }));
  for (const n of ['w1', 'w2']) {
    model.upsert('longhornNode', longhornNode({ name: n }));
    model.upsert('longhornReplica', replica({ volumeName: 'faulted', nodeID: n, failedAt: '2024-05-02T10:00:00Z', currentState: 'stopped', desireState: 'stopped' }));
  }
  const upgrade: AdmissionRequest = request({
    kind: { group: 'apps', version: 'v1', kind: 'DaemonSet' },
    resource: { group: 'apps', version: 'v1', resource: 'daemonsets' },
    operation: 'UPDATE',
    namespace: 'longhorn-system',
    name: 'longhorn-manager',
    object: manager('longhornio/longhorn-manager:v1.9.0'),
    oldObject: manager('longhornio/longhorn-manager:v1.8.1'),
  });
  const decision = validator.handle(upgrade, context(model));
  expect(decision.allowed).toBe(false);
  const text = (decision.status?.message ?? '').replace(/\s+/g, ' ');
  const fix = text.slice(text.indexOf('Fix:'), text.indexOf('Override'));
  expect(fix, text).not.toContain('wait until Longhorn has rebuilt');
  expect(fix, text).toContain('salvage');
  expect(fix, text).toContain('backup');
});
