// Longhorn's finalizer on a replica lets longhorn-manager clean up the replica's instance and data when the replica
// is deleted. A replica already being deleted (deletionTimestamp set: Longhorn itself, or a person, decided it goes)
// is no copy of its volume (Longhorn's own healthy test excludes it), and its finalizer only delays the removal of
// its data. When its node is gone, longhorn-manager cannot finish that cleanup and the replica hangs in Terminating:
// stripping the finalizer (the documented way out) loses nothing, the other replicas hold the data. Stripping it
// from a replica that is not being deleted still lets the replica vanish later without Longhorn: still refused.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { storageTeardownValidator } from '../../../src/admission/validators/storage-teardown.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, replica, volume } from '../../support/fixtures.ts';

const validator = storageTeardownValidator(defaultConfig());

function cluster(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.setLonghornInstalled(true);
  m.replaceAll('longhornNode', ['w1', 'w2'].map((name) => longhornNode({ name })));
  m.upsert('longhornVolume', volume({ name: 'data-a', pvcNamespace: 'shop', pvcName: 'data-a-pvc' }));
  m.upsert('longhornReplica', replica({ volumeName: 'data-a', nodeID: 'w1' }));
  m.upsert('longhornReplica', replica({ volumeName: 'data-a', nodeID: 'w2' }));
  m.upsert('longhornReplica', replica({ volumeName: 'data-a', nodeID: 'gone-node', deleting: true }));
  return m;
}

function strip(name: string, deletionTimestamp?: string): AdmissionRequest {
  const meta = (finalizers: string[]) => ({ name, namespace: 'longhorn-system', finalizers, ...(deletionTimestamp ? { deletionTimestamp } : {}) });
  return request({
    kind: { group: 'longhorn.io', version: 'v1beta2', kind: 'Replica' },
    resource: { group: 'longhorn.io', version: 'v1beta2', resource: 'replicas' },
    operation: 'UPDATE',
    namespace: 'longhorn-system',
    name,
    oldObject: { metadata: meta(['longhorn.io']), spec: { volumeName: 'data-a', nodeID: 'gone-node' } },
    object: { metadata: meta([]), spec: { volumeName: 'data-a', nodeID: 'gone-node' } },
  });
}

describe("Longhorn's finalizer stripped from a replica", () => {
  it('of a replica already being deleted (stuck Terminating on a gone node): allowed', () => {
    const decision = validator.handle(strip('data-a-r-gone-node', '2026-12-01T00:00:00Z'), context(cluster()));
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
  });

  it('of a replica not being deleted: still refused, naming its volume', () => {
    const decision = validator.handle(strip('data-a-r-w1'), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('longhorn-system/data-a');
  });
});
