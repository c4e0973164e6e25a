// ClusterModel.hasPodScratchClaims: whether any PVC is a pod's generic ephemeral claim, kept in step with every way a
// claim enters, changes or leaves the model (the checks skip the claim lookup of every volume when there is none).
import { describe, expect, it } from 'vitest';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { pvc } from '../../support/fixtures.ts';

const scratch = (name: string) => pvc({ namespace: 'app', name, ownerReferences: [{ kind: 'Pod', name: `${name}-pod`, uid: `uid-${name}` }] });

describe('ClusterModel.hasPodScratchClaims', () => {
  it('follows upserts, owner changes, removals and relists', () => {
    const m = new ClusterModel(VOLUME_SETS);
    expect(m.hasPodScratchClaims()).toBe(false);
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'app', name: 'data' }));
    expect(m.hasPodScratchClaims()).toBe(false);
    m.upsert('persistentVolumeClaim', scratch('tmp'));
    m.upsert('persistentVolumeClaim', scratch('tmp2'));
    expect(m.hasPodScratchClaims()).toBe(true);
    m.remove('persistentVolumeClaim', 'app/tmp');
    expect(m.hasPodScratchClaims()).toBe(true);
    // The pod's owner reference removed (orphaned by hand): no longer scratch.
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'app', name: 'tmp2' }));
    expect(m.hasPodScratchClaims()).toBe(false);
    m.replaceAll('persistentVolumeClaim', [scratch('tmp3'), pvc({ namespace: 'app', name: 'data' })]);
    expect(m.hasPodScratchClaims()).toBe(true);
    m.replaceAll('persistentVolumeClaim', [pvc({ namespace: 'app', name: 'data' })]);
    expect(m.hasPodScratchClaims()).toBe(false);
  });
});
