// A claim bound to a Longhorn PV whose Longhorn volume volume-guard does not know (the volume informer a moment behind
// for a volume just created, or longhorn.namespace set to where Longhorn keeps no volumes): the eviction is not
// refused for it, and the webhook logs once per volume, at warn, what to check.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import type { ValidationContext } from '../../../src/admission/validator.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';
import { csiPV, longhornNode, node, pod, pv, pvc, replica } from '../../support/fixtures.ts';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly volume?: string;
  readonly pvc?: string;
}

function logged(model: ClusterModel): { context: ValidationContext; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as LogLine);
      done();
    },
  });
  return { context: { ...context(model), log: pino({ level: 'warn' }, stream) }, lines };
}

/** db on node-1 mounting `claim`, bound to `pvName`: a Longhorn PV unless `driver` says otherwise. */
function cluster(claim: string, pvName: string, driver?: string): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('node', node({ name: 'node-1' }));
  model.upsert('longhornNode', longhornNode({ name: 'node-1' }));
  model.upsert('persistentVolume', driver === undefined ? pv({ name: pvName, claimName: claim }) : csiPV(driver, { name: pvName, claimName: claim }));
  model.upsert('persistentVolumeClaim', pvc({ name: claim, volumeName: pvName }));
  model.upsert('pod', pod({ name: 'db', nodeName: 'node-1', claimNames: [claim], controllerKind: 'StatefulSet' }));
  return model;
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const evict = podEvictionValidator(defaultConfig());

describe('a Longhorn PV whose Longhorn volume volume-guard does not know', () => {
  it('is not refused at an eviction; logged once at warn, naming the PVC and longhorn.namespace', async () => {
    const model = cluster('data', 'pvc-unknown-1');
    const { context: ctx, lines } = logged(model);
    expect(evict.handle(evictionRequest('db', { namespace: 'default' }), ctx).allowed).toBe(true);
    expect(evict.handle(evictionRequest('db', { namespace: 'default' }), ctx).allowed).toBe(true);
    await flush();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, volume: 'pvc-unknown-1', pvc: 'default/data' });
    expect(lines[0]!.msg).toContain('PVC default/data is bound to Longhorn PV pvc-unknown-1');
    expect(lines[0]!.msg).toContain('longhorn.namespace (longhorn-system)');
  });

  it('a claim bound to another driver\'s PV is no Longhorn volume: nothing logged', async () => {
    const model = cluster('nfs-data', 'pv-nfs', 'nfs.csi.k8s.io');
    const { context: ctx, lines } = logged(model);
    expect(evict.handle(evictionRequest('db', { namespace: 'default' }), ctx).allowed).toBe(true);
    await flush();
    expect(lines).toEqual([]);
  });

  it('a replica on a cordoned node whose volume is unknown: the cordon passes, logged once', async () => {
    const model = cluster('data-2', 'pvc-unknown-2');
    model.upsert('longhornReplica', { ...replica({ volumeName: 'pvc-unknown-2', nodeID: 'node-1' }), name: 'pvc-unknown-2-r-0' });
    const { context: ctx, lines } = logged(model);
    expect(nodeCordonValidator(defaultConfig()).handle(cordonRequest('node-1'), ctx).allowed).toBe(true);
    await flush();
    expect(lines.map((line) => line.volume)).toEqual(['pvc-unknown-2']);
    expect(lines[0]!.msg).toContain('a Longhorn replica names volume pvc-unknown-2');
  });
});
