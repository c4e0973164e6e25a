// A copy on a node whose NoExecute taint the taint manager acts on is no copy for another
// node's cordon, taint or drain. The taint manager deletes every pod there that does not tolerate the taint for good
// (tainteviction processPodOnNode), Longhorn's instance-manager pods included (their tolerations are Longhorn's
// `taint-toleration` setting, none by default), so the replicas there stop and Longhorn counts them no more
// (datastore ListVolumePDBProtectedHealthyReplicasRO skips a replica whose instance manager is not running). A copy
// on a cordoned node is already refused so (`kubectl cordon b; kubectl cordon a`); `kubectl taint node b
// maint:NoExecute; kubectl taint node a maint:NoExecute` (or `kubectl drain a`) passed, leaving the volume with no
// running replica anywhere.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { Taint, Toleration } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, request } from '../../support/admission.ts';
import { detachedVolume, longhornNode, node, pod, replica } from '../../support/fixtures.ts';

const config = defaultConfig();
const MAINT: Taint = { key: 'maint', value: '', effect: 'NoExecute' };

/** vol-2: a detached volume of 2 replicas on node-a and node-b; node-b carries `maint:NoExecute`. */
function cluster(options: { instanceManagerTolerations?: Toleration[] } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  for (const name of ['node-a', 'node-b', 'node-c']) {
    model.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name }, ...(name === 'node-b' ? { taints: [MAINT] } : {}) }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  model.upsert('longhornVolume', detachedVolume({ name: 'vol-2', numberOfReplicas: 2 }));
  for (const nodeID of ['node-a', 'node-b']) model.upsert('longhornReplica', replica({ name: `vol-2-r-${nodeID}`, volumeName: 'vol-2', nodeID }));
  if (options.instanceManagerTolerations) {
    model.upsert(
      'pod',
      pod({
        namespace: 'longhorn-system',
        name: 'instance-manager-b',
        nodeName: 'node-b',
        labels: { 'longhorn.io/component': 'instance-manager' },
        noExecuteTolerations: options.instanceManagerTolerations,
      }),
    );
  }
  return model;
}

const taintA = request({
  kind: { group: '', version: 'v1', kind: 'Node' },
  resource: { group: '', version: 'v1', resource: 'nodes' },
  operation: 'UPDATE',
  name: 'node-a',
  object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, spec: { taints: [{ key: 'maint', effect: 'NoExecute' }] } },
  oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, spec: {} },
});

describe('copies on a node emptied by a NoExecute taint', () => {
  const validator = nodeCordonValidator(config);

  it('refuses the cordon of the node holding the other copy, as with a cordoned node', () => {
    const decision = validator.handle(cordonRequest('node-a'), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('[last-replica-on-node]');
    expect(decision.status!.message).toContain('vol-2');
    // (Wrapped over two lines with the volume's PVC: rev-ux.)
    expect(decision.status!.message.replace(/\s+/g, ' ')).toContain("node node-b, whose taint maint:NoExecute deletes Longhorn's instance-manager pod there");
  });

  it('refuses the same NoExecute taint on the node holding the other copy', () => {
    const decision = validator.handle(taintA, context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('vol-2');
  });

  it("counts the copy when Longhorn's instance-manager pod there tolerates the taint for good", () => {
    const tolerating = cluster({ instanceManagerTolerations: [{ key: 'maint', operator: 'Exists', value: '' }] });
    expect(validator.handle(cordonRequest('node-a'), context(tolerating)).allowed).toBe(true);
    // Tolerated for a while only: deleted once the seconds are past.
    const forAWhile = cluster({ instanceManagerTolerations: [{ key: 'maint', operator: 'Exists', value: '', tolerationSeconds: 60 }] });
    expect(validator.handle(cordonRequest('node-a'), context(forAWhile)).allowed).toBe(false);
  });
});
