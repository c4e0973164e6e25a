// A local PV's node affinity is matched by the scheduler's volume binding and by the kubelet against a Node made
// of the node's labels only (storage helpers' CheckNodeAffinity). The scheduler's term matching skips matchFields
// when that Node has no fields (nodeaffinity's nodeSelectorTerm.match): a `metadata.name` term, In or NotIn, lets
// the PV onto every node. A PV "hostname In [w1] OR metadata.name In [w2]" mounts anywhere: it is not pinned to
// w1, so a pod using it need not come back to w1 and its data does not follow it there.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNode, transformPersistentVolume } from '../../../src/cluster/transforms.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import type { UserInfo } from '../../../src/admission/types.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';
import { pod, pvc } from '../../support/fixtures.ts';

const DESCHEDULER: UserInfo = { username: 'system:serviceaccount:kube-system:descheduler', groups: ['system:serviceaccounts'] };
const withRestarters: Config = { ...defaultConfig(), evictions: { restartUsers: [DESCHEDULER.username], restartGroups: [] } };

function cluster(terms: unknown[], options: { mounted?: boolean } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  for (const name of ['w1', 'w2']) model.upsert('node', transformNode({ metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: {} })!);
  const record = transformPersistentVolume({
    metadata: { name: 'pv-local' },
    spec: {
      local: { path: '/mnt/disks/a' },
      claimRef: { namespace: 'default', name: 'data' },
      nodeAffinity: { required: { nodeSelectorTerms: terms } },
    },
    status: { phase: 'Bound' },
  })!;
  model.upsert('persistentVolume', record);
  model.upsert('persistentVolumeClaim', pvc({ name: 'data', volumeName: 'pv-local' }));
  if (options.mounted === true) model.upsert('pod', pod({ name: 'db-0', nodeName: 'w1', controllerKind: 'StatefulSet', claimNames: ['data'] }));
  return model;
}

const hostnameW1 = { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['w1'] }] };
const nameTerm = (operator: string, value: string) => ({ matchFields: [{ key: 'metadata.name', operator, values: [value] }] });

describe('a PV affinity term on metadata.name', () => {
  it('with In lets the PV onto every node: not pinned to w1, an unused one does not hold the cordon', () => {
    const model = cluster([hostnameW1, nameTerm('In', 'w2')]);
    expect(model.persistentVolume('pv-local')?.pinnedNode).toBe('');
    expect(nodeCordonValidator(defaultConfig()).handle(cordonRequest('w1'), context(model)).allowed).toBe(true);
  });

  it('alone, it pins nothing either: the data is where the pod using it runs', () => {
    const model = cluster([nameTerm('In', 'w1')], { mounted: true });
    expect(model.persistentVolume('pv-local')?.pinnedNode).toBe('');
    const decision = nodeCordonValidator(defaultConfig()).handle(cordonRequest('w1'), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('pv-local');
  });

  it('does not bring the restarted pod back to w1: a restart identity may not evict it', () => {
    const model = cluster([hostnameW1, nameTerm('In', 'w2')], { mounted: true });
    const decision = podEvictionValidator(withRestarters).handle(evictionRequest('db-0', { user: DESCHEDULER }), context(model, { config: withRestarters }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('pv-local');
  });

  it('with the hostname term alone the PV is pinned to w1, and the restart passes', () => {
    const model = cluster([hostnameW1], { mounted: true });
    expect(model.persistentVolume('pv-local')?.pinnedNode).toBe('w1');
    const decision = podEvictionValidator(withRestarters).handle(evictionRequest('db-0', { user: DESCHEDULER }), context(model, { config: withRestarters }));
    expect(decision.allowed).toBe(true);
  });

  it('with NotIn lets it onto every node too: not pinned, the cordon passes', () => {
    const model = cluster([hostnameW1, nameTerm('NotIn', 'w1')]);
    expect(model.persistentVolume('pv-local')?.pinnedNode).toBe('');
    expect(nodeCordonValidator(defaultConfig()).handle(cordonRequest('w1'), context(model)).allowed).toBe(true);
  });

  it('an invalid field requirement still makes its term match nothing', () => {
    const model = cluster([hostnameW1, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['w1', 'w2'] }] }]);
    expect(model.persistentVolume('pv-local')?.pinnedNode).toBe('w1');
  });
});
