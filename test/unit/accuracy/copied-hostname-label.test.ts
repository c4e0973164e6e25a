// A node that carries another node's `kubernetes.io/hostname` value (`kubectl label node w2
// kubernetes.io/hostname=w1 --overwrite`), against a local PV whose affinity is `kubernetes.io/hostname In [w1]`.
// The scheduler's volume binding matches a bound PV's affinity against the node's labels only (CheckNodeAffinity,
// used by pkg/scheduler/framework/plugins/volumebinding), so the PV's pod may now be placed on w2, where the PV's
// directory is missing (a `local` PV fails to mount) or made empty (a hostPath PV of type DirectoryOrCreate). The
// data stays on w1's disk. Is the copy a way around the checks? No, decided here with no behaviour change:
// - the PV is read as the scheduler reads it, no longer pinned: the pod using it is judged where it runs, so the
//   cordon of w1 and the eviction of the pod stay refused (the pod could land on w2, away from its data);
// - the value still names w1 (namedNode), so the removal of w1 (Node DELETE) stays refused for it, used or not;
// - only an unused one no longer holds w1's cordon, the reading of every affinity that names a node but is open
//   (named-node-open-affinity.test.ts): a cordon and drain move nothing of data no pod uses.
// The kubelet writes its own hostname value back at its next start (updateDefaultLabels, pkg/kubelet).
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNode, transformPersistentVolume } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, NODE_KIND, nodeObject, request } from '../../support/admission.ts';
import { pod, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();

/** w1, and w2 labelled kubernetes.io/hostname=w1; local PV pv-local pinned by hostname In [w1], claim default/data. */
function cluster(options: { mounted: boolean; nodes?: readonly string[] }): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  for (const name of options.nodes ?? ['w1', 'w2']) {
    model.upsert('node', transformNode({ metadata: { name, labels: { 'kubernetes.io/hostname': 'w1' } }, spec: {} })!);
  }
  model.upsert(
    'persistentVolume',
    transformPersistentVolume({
      metadata: { name: 'pv-local' },
      spec: {
        local: { path: '/mnt/disks/a' },
        claimRef: { namespace: 'default', name: 'data' },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['w1'] }] }] } },
      },
      status: { phase: 'Bound' },
    })!,
  );
  model.upsert('persistentVolumeClaim', pvc({ name: 'data', volumeName: 'pv-local' }));
  if (options.mounted) model.upsert('pod', pod({ name: 'db-0', nodeName: 'w1', controllerKind: 'StatefulSet', claimNames: ['data'] }));
  return model;
}

const nodeDelete = (name: string) => request({ ...NODE_KIND, operation: 'DELETE', name, oldObject: nodeObject(name, false) });
const cordon = (model: ClusterModel, name: string) => nodeCordonValidator(config).handle(cordonRequest(name), context(model));
const remove = (model: ClusterModel, name: string) => nodeCordonValidator(config).handle(nodeDelete(name), context(model));

describe("a node carrying another node's kubernetes.io/hostname value", () => {
  it('unpins the PV as the scheduler reads it, but its removal still names the node the value names', () => {
    const model = cluster({ mounted: false });
    expect(model.persistentVolume('pv-local')?.pinnedNode).toBe('');
    const removal = remove(model, 'w1');
    expect(removal.allowed).toBe(false);
    expect(removal.status?.message).toContain('pv-local');
    // The copy node holds nothing of it.
    expect(remove(model, 'w2').allowed).toBe(true);
  });

  it('an unused one no longer holds the cordon (a cordon moves nothing of data no pod uses)', () => {
    expect(cordon(cluster({ mounted: false }), 'w1').allowed).toBe(true);
  });

  it('a used one still refuses the cordon and the eviction: the pod could land on w2, away from its data', () => {
    const model = cluster({ mounted: true });
    const refused = cordon(model, 'w1');
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('pv-local');
    const eviction = podEvictionValidator(config).handle(evictionRequest('db-0'), context(model));
    expect(eviction.allowed).toBe(false);
    expect(eviction.status?.message).toContain('pv-local');
  });
});
