// A PV write to reclaim policy Recycle on a source no recycler serves (CSI, local, ...) loses nothing: the PV
// controller's recycleVolumeOperation (pkg/controller/volume/persistentvolume/pv_controller.go) finds no
// RecyclableVolumePlugin (only pkg/volume/hostpath and pkg/volume/nfs are) and marks the PV Failed with its data. The
// handler passes it (pv-recycle-without-recycler.test.ts); the matchCondition must not send it either: a call that can
// only pass is wasted, and under failurePolicy Fail a volume-guard outage would refuse it. A PVC DELETE is sent
// whatever its PV says (Retain too): a matchCondition sees the request's objects only, never the PV the claim names.
import { describe, expect, it } from 'vitest';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { defaultConfig } from '../../../src/config.ts';

const condition = (pvcDeleteValidator(defaultConfig()).declaration.matchConditions ?? []).map((entry) => entry.expression).join(' ');

describe('pvc-delete matchCondition: a PV write to Recycle is sent only where a recycler wipes the volume', () => {
  it('reads Recycle as destroying only on a hostPath or NFS source, Delete on any', () => {
    expect(condition).not.toContain("persistentVolumeReclaimPolicy in ['Delete', 'Recycle']");
    expect(condition).toContain(
      "(object.spec.persistentVolumeReclaimPolicy == 'Delete' || (object.spec.persistentVolumeReclaimPolicy == 'Recycle' && (has(object.spec.hostPath) || has(object.spec.nfs))))",
    );
  });

  it('the PV CREATE and UPDATE conditions both use it', () => {
    const uses = condition.split("object.spec.persistentVolumeReclaimPolicy == 'Recycle' && (has(object.spec.hostPath) || has(object.spec.nfs))").length - 1;
    expect(uses).toBe(2);
  });
});
