// A GitOps prune of a statically provisioned Longhorn volume: deleting the Volume object makes Longhorn delete its
// replicas and data. Through the real API server with the real kubectl (Longhorn's CRDs installed, the volume written
// as Longhorn leaves it): Argo CD's controller deleting it is refused naming the PVC in front of it; a person deleting
// by hand (pvcDelete.others off by default), Longhorn's own service account, and Argo CD once the volume is marked
// `volume-guard.io/delete: "true"` pass. Dry runs: nothing is deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { createLonghornVolume, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const LH = 'longhorn-system';
const VOLUME = 'e2e-lh-static';
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
const LONGHORN = `system:serviceaccount:${LH}:longhorn-service-account`;

const deleteAs = (user?: string) =>
  kubectl(['delete', 'volumes.longhorn.io', VOLUME, '-n', LH, '--dry-run=server', ...(user ? [`--as=${user}`] : [])]);

describe('pvc-delete at a Longhorn Volume DELETE', () => {
  beforeAll(async () => {
    await ensureNamespace(LH);
    await kubectl(['delete', 'clusterrolebinding', 'e2e-lh-volume-deleters']);
    await kubectl(['delete', 'clusterrole', 'e2e-lh-volume-deleter']);
    await must(kubectl(['create', 'clusterrole', 'e2e-lh-volume-deleter', '--verb=get,list,delete', '--resource=volumes.longhorn.io']), 'clusterrole');
    await must(
      kubectl(['create', 'clusterrolebinding', 'e2e-lh-volume-deleters', '--clusterrole=e2e-lh-volume-deleter', `--user=${ARGO}`, `--user=${LONGHORN}`]),
      'clusterrolebinding',
    );
    await createLonghornVolume({ name: VOLUME, state: 'detached', replicas: [], claim: { namespace: 'e2e-lh-app', name: 'data' } });
  });

  afterAll(async () => {
    await deleteObjects(['volumes.longhorn.io', VOLUME, '-n', LH], ['clusterrolebinding', 'e2e-lh-volume-deleters'], ['clusterrole', 'e2e-lh-volume-deleter']);
  });

  it("refuses Argo CD's controller deleting it, naming the PVC that loses its data", async () => {
    const refused = await eventually(() => deleteAs(ARGO), (r) => r.code !== 0);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`deletion of Longhorn volume ${LH}/${VOLUME} by ${ARGO}`);
    expect(refused.stderr).toContain('PVC e2e-lh-app/data loses its data');
  });

  it("passes people by hand, Longhorn's own service account, and Argo CD once the volume is marked", async () => {
    for (const user of [undefined, LONGHORN]) {
      const passed = await deleteAs(user);
      expect(passed.stderr).not.toContain('denied');
      expect(passed.code).toBe(0);
    }
    await must(kubectl(['annotate', 'volumes.longhorn.io', VOLUME, '-n', LH, 'volume-guard.io/delete=true', 'volume-guard.io/skip-by=admin']), 'approve');
    const approved = await eventually(() => deleteAs(ARGO), (r) => r.code === 0);
    expect(approved.stderr).not.toContain('denied');
    expect(approved.code).toBe(0);
  });
});
