// A PV pinned to a node by a CSI driver nodeLocal.csiDrivers does not list is judged as network storage (issue 12.4:
// data locality comes from the source or a configurable list of drivers), so a cordon passes; the operator is told,
// in a warning naming the driver, since only they know whether it keeps data on the node's disks.
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { hostnameAffinity, node, pod, pv, pvc } from '../../support/fixtures.ts';

const cordon = (config: Config) => createValidators(config).find((v) => v.declaration.target === 'node-cordon')!;

function clusterWith(driver: string): ClusterModel {
  const model = new ClusterModel();
  for (const name of ['w1', 'w2']) model.upsert('node', node({ name }));
  model.upsert('persistentVolume', pv({ name: 'pv-db', driver, storageClassName: 'fast', pinnedNode: 'w1', nodeAffinity: hostnameAffinity('w1'), claimNamespace: 'shop', claimName: 'data-db-0' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', volumeName: 'pv-db' }));
  model.upsert('pod', pod({ namespace: 'shop', name: 'db-0', nodeName: 'w1', claimNames: ['data-db-0'], controllerKind: 'StatefulSet' }));
  return model;
}

describe('a PV pinned to the node by a CSI driver not listed as node-local', () => {
  it('passes the cordon as network storage, with a warning naming the driver and the setting', () => {
    const decision = cordon(defaultConfig()).handle(cordonRequest('w1'), context(clusterWith('local.csi.example.com')));
    expect(decision.allowed).toBe(true);
    expect((decision.warnings ?? []).join(' ')).toContain('1 PV on w1 pinned to it by CSI driver local.csi.example.com, judged as network storage');
    expect((decision.warnings ?? []).join(' ')).toContain('nodeLocal.csiDrivers');
  });

  it('is refused once the driver is listed, and a listed driver gets no such warning', () => {
    const base = defaultConfig();
    const config = { ...base, nodeLocal: { ...base.nodeLocal, csiDrivers: [...base.nodeLocal.csiDrivers, 'local.csi.example.com'] } };
    const decision = cordon(config).handle(cordonRequest('w1'), context(clusterWith('local.csi.example.com'), { config }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('pv-db');
    const listed = cordon(defaultConfig()).handle(cordonRequest('w1'), context(clusterWith('topolvm.io')));
    expect(listed.allowed).toBe(false);
    expect((listed.warnings ?? []).join(' ')).not.toContain('judged as network storage');
  });

  it('says nothing for a node holding no such PV, nor for Longhorn volumes', () => {
    const decision = cordon(defaultConfig()).handle(cordonRequest('w2'), context(clusterWith('local.csi.example.com')));
    expect((decision.warnings ?? []).join(' ')).not.toContain('judged as network storage');
    const longhorn = cordon(defaultConfig()).handle(cordonRequest('w1'), context(clusterWith('driver.longhorn.io')));
    expect((longhorn.warnings ?? []).join(' ')).not.toContain('judged as network storage');
  });

  it('says nothing when node-local-volume is off: no PV is judged either way', () => {
    const base = defaultConfig();
    const config = { ...base, checks: { ...base.checks, 'node-local-volume': { ...base.checks['node-local-volume'], mode: 'off' as const } } };
    const decision = cordon(config).handle(cordonRequest('w1'), context(clusterWith('local.csi.example.com'), { config }));
    expect(decision.allowed).toBe(true);
    expect((decision.warnings ?? []).join(' ')).not.toContain('judged as network storage');
  });
});
