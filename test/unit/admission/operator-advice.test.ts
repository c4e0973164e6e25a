// What an operator reads through kubectl or helm, driven through the validators as the API server calls them: warn-mode
// warnings the API server keeps (every one unique and saying what it is about), fix commands that run as printed
// (never split across lines, counting the PVCs they leave out), advice that can work where it is given (one Longhorn
// node, a scale to zero, a GitOps controller), and the names an operator knows (a PVC over a volume's UUID).
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import { capWarnings, encodeAdmissionResponse } from '../../../src/server/codec.ts';
import { fitWarnings, MAX_WARNING_LENGTH, onlyLonghornNode, soleReplicaNode } from '../../../src/admission/messages.ts';
import type { AdmissionRequest, Decision, UserInfo } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { ADMIN, context, cordonRequest, harvesterUpgradeRequest, request, statefulSetDeleteRequest, withModes } from '../../support/admission.ts';
import { failedReplica, longhornNode, machine, namespace, node, pv, pvc, replica, volume, volumeWithReplicas } from '../../support/fixtures.ts';
import { devlakeManifest, releaseSecret } from '../helm/helm-fixtures.ts';

const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd'] };
const FLUX: UserInfo = { username: 'system:serviceaccount:flux-system:kustomize-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:flux-system'] };

const validator = (target: string, config: Config = defaultConfig()) => createValidators(config).find((v) => v.declaration.target === target)!;

function cluster(setup: (model: ClusterModel) => void): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  for (const name of ['longhorn-system', 'shop', 'capi']) model.upsert('namespace', namespace({ name }));
  setup(model);
  return model;
}

/** The volume and its replicas, with a Longhorn node for each node a replica is on. */
function addVolume(model: ClusterModel, v: ReturnType<typeof volumeWithReplicas>): void {
  model.upsert('longhornVolume', v.volume);
  for (const r of v.replicas) {
    model.upsert('longhornReplica', r);
    if (!model.longhornNode(r.nodeID)) model.upsert('longhornNode', longhornNode({ name: r.nodeID }));
  }
}

/** Nodes that are both Kubernetes and Longhorn nodes. */
function addNodes(model: ClusterModel, names: readonly string[]): void {
  for (const name of names) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
}

const message = (decision: Decision): string => decision.status?.message ?? '';
const words = (text: string): string => text.replace(/\s+/g, ' ');

describe('warn-mode warnings', () => {
  const warn = withModes({ 'single-replica': 'warn', 'last-replica-on-node': 'warn' });
  // 14 single-replica volumes with Longhorn's real names (pvc-<uuid>) on worker-node-1: both checks warn, 10 listed each.
  const model = cluster((m) => {
    addNodes(m, ['worker-node-1', 'worker-node-2']);
    for (let i = 0; i < 14; i++) {
      addVolume(m, volumeWithReplicas(`pvc-0a1b2c3d-4e5f-6789-abcd-ef01234567${10 + i}`, ['worker-node-1'], { pvcNamespace: 'shop', pvcName: `data-postgres-${i}` }));
    }
  });
  const decision = validator('node-cordon', warn).handle(cordonRequest('worker-node-1'), context(model, { config: warn }));
  const wire = encodeAdmissionResponse('uid', decision).response.warnings ?? [];

  it('are all different: the API server drops a warning identical to an earlier one', () => {
    expect(decision.allowed).toBe(true);
    expect(wire.length).toBeGreaterThan(20);
    expect(new Set(wire).size).toBe(wire.length);
  });

  it('name each object with its PVC, every warning within the width', () => {
    for (const warning of wire) expect(warning.length).toBeLessThanOrEqual(MAX_WARNING_LENGTH);
    for (let i = 0; i < 10; i++) {
      const first = wire.filter((warning) => new RegExp(`^- Volume longhorn-system/pvc-0a1b2c3d-4e5f-6789-abcd-ef01234567${10 + i}[ :]`).test(warning));
      expect(first).toHaveLength(2);
      expect(wire.join(' ')).toContain(`PVC shop/data-postgres-${i}`);
    }
  });

  it('read whole: an object whose reason repeats an earlier one says so, in one line, instead of half a sentence', () => {
    const line = (i: number, check: string): string | undefined => {
      const heading = wire.findIndex((warning) => warning.startsWith(`volume-guard [${check}]`));
      return wire.slice(heading).find((warning) => warning.startsWith(`- Volume longhorn-system/pvc-0a1b2c3d-4e5f-6789-abcd-ef01234567${10 + i}`));
    };
    for (let i = 1; i < 10; i++) {
      // Under the first check with its PVC; under the second (which the first named it under) with the check said.
      expect(line(i, 'last-replica-on-node')).toMatch(new RegExp(`\\(PVC shop/data-postgres-${i}\\): same reason as above$`));
      expect(line(i, 'single-replica')).toMatch(/[0-9]: same single-replica reason as above$/);
    }
    // The first object of each says its reason whole, over two lines.
    expect(wire).toContain('  replica is on node worker-node-1');
    expect(wire).toContain('  only replica is on node worker-node-1 (attached to node worker-node-1)');
  });

  it('name the check in the count of the rest, with the command that lists them', () => {
    expect(wire).toContain('- [single-replica] and 4 more (volume-guard audit --node worker-node-1)');
    expect(wire).toContain('- [last-replica-on-node] and 4 more (volume-guard audit --node worker-node-1)');
  });

  it('keep the indent of a continuation, and never repeat a line once wrapped', () => {
    expect(capWarnings(['volume-guard: a long warning', '  its continuation', '\u0007bell'])).toEqual(['volume-guard: a long warning', '  its continuation', 'bell']);
    const tail = 'x '.repeat(70).trim();
    const fitted = fitWarnings([`volume-guard: first ${'a'.repeat(100)} ${tail}`, `volume-guard: second ${'b'.repeat(100)} ${tail}`, 'volume-guard: same', 'volume-guard: same']);
    expect(new Set(fitted).size).toBe(fitted.length);
    expect(fitted.filter((line) => line.startsWith('volume-guard: second'))).toHaveLength(1);
    expect(fitted.filter((line) => line === 'volume-guard: same')).toHaveLength(1);
  });
});

describe('a last replica of a volume named by Longhorn (pvc-<uuid>)', () => {
  it('names the PVC in the denial, dropping the replica first when the line is too long', () => {
    const vn = 'pvc-3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60';
    const model = cluster((m) => {
      addNodes(m, ['worker-1', 'worker-2', 'worker-3']);
      m.upsert('longhornVolume', volume({ name: vn, numberOfReplicas: 3, robustness: 'degraded', currentNodeID: 'worker-2', pvcNamespace: 'shop', pvcName: 'data-postgres-0' }));
      m.upsert('longhornReplica', replica({ volumeName: vn, nodeID: 'worker-1', name: `${vn}-r-8c1d2e3f` }));
      m.upsert('longhornReplica', failedReplica({ volumeName: vn, nodeID: 'worker-2', name: `${vn}-r-0a9b8c7d` }));
    });
    const text = message(validator('node-cordon').handle(cordonRequest('worker-1'), context(model)));
    expect(text).toContain(`  Volume longhorn-system/${vn} (PVC shop/data-postgres-0, 1 more): only healthy replica is on node worker-1\n`);
  });
});

describe('the orphan-pvc fix over more PVCs than its commands name', () => {
  const claims = Array.from({ length: 5 }, (_, i) => `devlake-mysql-data-devlake-mysql-${i}`);
  const model = cluster((m) => {
    addNodes(m, ['node-1']);
    for (const name of claims) {
      m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name, labels: { 'app.kubernetes.io/instance': 'devlake' } }));
      m.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: 'shop', claimName: name, reclaimPolicy: 'Retain' }));
    }
  });
  const record = releaseSecret({ name: 'devlake', namespace: 'shop', version: 1, status: 'pending-install', manifest: devlakeManifest().replace(/replicas: 1/g, 'replicas: 5') });
  const install = request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: 'shop',
    name: 'sh.helm.release.v1.devlake.v1',
    object: record,
  });
  const text = message(validator('helm-release').handle(install, context(model)));

  it('says how many it names and where all of them are listed', () => {
    expect(text).toContain('[orphan-pvc] 5 existing PVCs would be adopted with old data');
    expect(text).toContain('(the commands name 3 of 5; all: volume-guard audit --release shop/devlake)');
  });

  it('keeps each kubectl command whole on a line', () => {
    const named = claims.slice(0, 3).join(' ');
    const lines = text.split('\n');
    expect(lines.filter((line) => line.includes('kubectl'))).toEqual([
      `       kubectl delete pvc -n shop ${named}`,
      `       kubectl annotate pvc -n shop ${named} volume-guard.io/reuse=true volume-guard.io/skip-by="<you>"`,
    ]);
    expect(words(text)).toContain(`old data obsolete: kubectl delete pvc -n shop ${named} meant to be reused: kubectl annotate pvc -n shop ${named}`);
  });
});

describe('advice on a cluster with one Longhorn node', () => {
  const solo = (nodes: readonly string[]) =>
    cluster((m) => {
      addNodes(m, nodes);
      addVolume(m, volumeWithReplicas('solo', ['node-1'], { pvcNamespace: 'shop', pvcName: 'data' }));
    });

  it('says no second copy can be made there: back the volume up, then override, and advises no rebuild first', () => {
    const text = words(message(validator('node-cordon').handle(cordonRequest('node-1'), context(solo(['node-1'])))));
    expect(text).toContain('[last-replica-on-node] 1 Longhorn volume has its only healthy replica on node-1');
    // No other node ever takes a copy there: what works leads, for both checks.
    const backUp =
      'Fix: node-1 is the only Longhorn node that takes replicas, so Longhorn can make no second copy on another node: back the volume up ' +
      '(a Longhorn backup to a backup target; a snapshot stays on node-1), then override.';
    expect(text.split(backUp)).toHaveLength(3);
    expect(text).not.toContain('let Longhorn rebuild');
    expect(text).not.toContain('raise numberOfReplicas');
    expect(text).toContain('kubectl annotate node node-1 volume-guard.io/skip=last-replica-on-node,single-replica');
  });

  it('says so for a Harvester upgrade of its one node too', () => {
    const text = words(message(validator('upgrade').handle(harvesterUpgradeRequest(), context(solo(['node-1'])))));
    expect(text).toContain('Fix: the cluster has one Longhorn node that takes replicas, so Longhorn can make no second copy on another node');
    expect(text).not.toContain('raise numberOfReplicas');
  });

  it('keeps the usual advice first, the sole-node advice after, while the other Longhorn node is only down', () => {
    const model = solo(['node-1', 'node-2']);
    model.upsert('node', node({ name: 'node-2', ready: 'False' }));
    model.upsert('longhornNode', longhornNode({ name: 'node-2', down: true }));
    const text = words(message(validator('node-cordon').handle(cordonRequest('node-1'), context(model))));
    expect(text).toContain('Fix: let Longhorn rebuild a healthy replica on another node');
    expect(text).toContain('Fix: raise numberOfReplicas to 2 or more');
    expect(text).toContain('But node-1 is the only Longhorn node that takes replicas, so Longhorn can make no second copy on another node: back the volume up');
  });

  it('keeps the rebuild advice while another node takes replicas', () => {
    const text = words(message(validator('node-cordon').handle(cordonRequest('node-1'), context(solo(['node-1', 'node-2'])))));
    expect(text).toContain('let Longhorn rebuild a healthy replica on another node');
    expect(text).not.toContain('the only Longhorn node');
    expect(text).toContain('raise numberOfReplicas to 2 or more (Longhorn UI, or kubectl -n longhorn-system edit volumes.longhorn.io solo)');
    // The command is never split across the fix's lines.
    expect(message(validator('node-cordon').handle(cordonRequest('node-1'), context(solo(['node-1', 'node-2']))))).toContain(
      'kubectl -n longhorn-system edit volumes.longhorn.io solo)',
    );
  });

  it("names Longhorn's namespace as configured in the raise command", () => {
    const config = { ...defaultConfig(), longhorn: { ...defaultConfig().longhorn, namespace: 'storage' } };
    const model = cluster((m) => {
      m.upsert('namespace', namespace({ name: 'storage' }));
      addNodes(m, ['node-1', 'node-2']);
      const v = volumeWithReplicas('solo', ['node-1'], { namespace: 'storage', pvcNamespace: 'shop', pvcName: 'data' }, { namespace: 'storage' });
      addVolume(m, v);
    });
    const text = words(message(validator('node-cordon', config).handle(cordonRequest('node-1'), context(model, { config }))));
    expect(text).toContain('kubectl -n storage edit volumes.longhorn.io solo');
  });
});

describe('a refused Machine removal', () => {
  const model = cluster((m) => {
    for (let i = 1; i <= 3; i++) {
      addNodes(m, [`node-${i}`]);
      m.upsert('machine', machine({ namespace: 'capi', name: `md-0-abc-${i - 1}`, nodeName: `node-${i}`, machineSet: 'md-0-abc', machineDeployment: 'md-0' }));
    }
    addVolume(m, volumeWithReplicas('solo', ['node-1'], { pvcNamespace: 'shop', pvcName: 'data' }));
  });
  const md = (replicas: number) => ({ apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'MachineDeployment', metadata: { name: 'md-0', namespace: 'capi' }, spec: { replicas, clusterName: 'c1' } });
  const scale = (to: number): AdmissionRequest =>
    request({
      kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment' },
      resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinedeployments' },
      operation: 'UPDATE',
      namespace: 'capi',
      name: 'md-0',
      object: md(to),
      oldObject: md(3),
    });

  it('names a Machine whose node passes to remove instead, by its fully qualified resource', () => {
    const text = message(validator('machine').handle(scale(2), context(model)));
    expect(text).toContain('annotate the Machine to remove instead: kubectl annotate machines.cluster.x-k8s.io md-0-abc-1 -n capi cluster.x-k8s.io/delete-machine=yes, or');
    expect(text).not.toContain('<name>');
    expect(text).toContain('kubectl annotate node node-1 volume-guard.io/skip=');
  });

  it('offers no Machine to mark when the scale-down removes them all', () => {
    const text = message(validator('machine').handle(scale(0), context(model)));
    expect(text).not.toContain('delete-machine=yes');
    expect(text).toContain('\n  kubectl annotate node node-1 volume-guard.io/skip=');
  });

  it('says to delete the Machine again, not to remove its node', () => {
    const deletion = request({
      kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'Machine' },
      resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machines' },
      operation: 'DELETE',
      namespace: 'capi',
      name: 'md-0-abc-0',
      oldObject: { apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Machine', metadata: { name: 'md-0-abc-0', namespace: 'capi' }, status: { nodeRef: { name: 'node-1' } } },
    });
    const text = words(message(validator('machine').handle(deletion, context(model))));
    expect(text).toContain('then delete Machine capi/md-0-abc-0 again.');
    expect(text).not.toContain('remove node-1 again');
  });
});

describe('the override guard asking for the writer', () => {
  const config: Config = { ...defaultConfig(), overrides: { ...defaultConfig().overrides, allowedUsers: [ARGO.username] } };
  const write = (user: UserInfo, operation: 'CREATE' | 'UPDATE', kind: 'PersistentVolumeClaim' | 'Node', meta: Record<string, unknown>): string => {
    const resource = kind === 'Node' ? 'nodes' : 'persistentvolumeclaims';
    const object = { apiVersion: 'v1', kind, metadata: meta };
    return message(
      validator('overrides', config).handle(
        request({
          kind: { group: '', version: 'v1', kind },
          resource: { group: '', version: 'v1', resource },
          operation,
          name: String(meta['name']),
          namespace: kind === 'Node' ? '' : 'shop',
          userInfo: user,
          object,
          oldObject: operation === 'UPDATE' ? { apiVersion: 'v1', kind, metadata: { name: meta['name'] } } : null,
        }),
        context(cluster(() => undefined), { config }),
      ),
    );
  };

  it("tells a GitOps service account to put skip-by in the object's manifest, not a kubectl annotate it cannot run", () => {
    const text = write(ARGO, 'CREATE', 'PersistentVolumeClaim', { name: 'data', namespace: 'shop', annotations: { 'volume-guard.io/reuse': 'true' } });
    expect(text).toContain('must record its writer');
    expect(text).toContain(`Add volume-guard.io/skip-by: "${ARGO.username}" to the PersistentVolumeClaim's metadata.annotations in its manifest`);
    expect(text).not.toContain('kubectl annotate');
  });

  it('gives a person the kubectl annotate of the object written, with what the write set', () => {
    const text = write(ADMIN, 'UPDATE', 'PersistentVolumeClaim', { name: 'data', namespace: 'shop', annotations: { 'volume-guard.io/reuse': 'true' } });
    // The command on a line of its own, so that it can be pasted.
    expect(text).toContain('Example:\n  kubectl annotate --overwrite pvc data -n shop volume-guard.io/reuse=true volume-guard.io/skip-by=admin');
    expect(text.split('\n').at(-1)).toBe('  kubectl annotate --overwrite pvc data -n shop volume-guard.io/reuse=true volume-guard.io/skip-by=admin');
    expect(text).not.toContain('...');
  });

  it('says a volume-guard.io label on a Node is never read: write annotations', () => {
    const text = write(ADMIN, 'UPDATE', 'Node', { name: 'n1', labels: { 'volume-guard.io/skip': 'node-local-volume' } });
    expect(text).toContain('volume-guard reads no volume-guard.io/ label on a Node, only annotations');
    expect(text).toContain('Example:\n  kubectl annotate --overwrite node n1 volume-guard.io/skip=node-local-volume volume-guard.io/skip-by=admin');
    // Labels are never read, so the step has nothing to record for them: no note about it.
    expect(text).not.toContain('override-writer');
  });
});

describe('a StatefulSet DELETE by a GitOps controller', () => {
  const model = cluster((m) => {
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 'uid-db', controller: true }] }));
    m.upsert('persistentVolume', pv({ name: 'pv-data-db-0', claimNamespace: 'shop', claimName: 'data-db-0', reclaimPolicy: 'Delete' }));
  });
  const refuse = (user: UserInfo, config = defaultConfig()): string =>
    words(message(validator('pvc-delete', config).handle(statefulSetDeleteRequest({ namespace: 'shop', name: 'db', uid: 'uid-db', user, whenDeleted: 'Delete' }), context(model, { config }))));

  it("says how the tool orphans the PVCs: it takes no --cascade flag", () => {
    const argo = refuse(ARGO);
    expect(argo).toContain('or delete with --cascade=orphan to keep the PVCs, and let the controller retry');
    expect(argo).toContain("Argo CD: set the Application's sync option PrunePropagationPolicy=orphan");
    expect(argo).toContain("A GitOps prune takes no --cascade flag: Argo CD's sync option PrunePropagationPolicy=orphan");
    const flux = refuse(FLUX);
    expect(flux).toContain('Flux: annotate the StatefulSet in Git kustomize.toolkit.fluxcd.io/prune: disabled');
    expect(flux).not.toContain("the Application's sync option");
  });

  it('says nothing of GitOps tools to a person deleting by hand', () => {
    const config = { ...defaultConfig(), pvcDelete: { ...defaultConfig().pvcDelete, others: 'enforce' as const } };
    const text = refuse(ADMIN, config);
    expect(text).toContain('or delete with --cascade=orphan to keep the PVCs, and let the delete be retried');
    expect(text).not.toContain('PrunePropagationPolicy');
  });
});

describe('soleReplicaNode: whether Longhorn has no other node for a copy', () => {
  type Entry = { name: string; down: boolean; refusesReplicas?: boolean };
  const counting = (entries: readonly Entry[]) => {
    let reads = 0;
    const snapshot = {
      *longhornNodes() {
        for (const entry of entries) {
          reads++;
          yield entry;
        }
      },
    } as unknown as Parameters<typeof soleReplicaNode>[0];
    return { snapshot, reads: () => reads };
  };
  const up = (name: string): Entry => ({ name, down: false });

  it('answers as the node counts say, for a node and for an upgrade (at most one other)', () => {
    expect(soleReplicaNode(counting([]).snapshot, 'a')()).toBe(false);
    expect(soleReplicaNode(counting([up('a')]).snapshot, 'a')()).toBe(true);
    expect(soleReplicaNode(counting([up('a'), up('b')]).snapshot, 'a')()).toBe(false);
    expect(soleReplicaNode(counting([up('a'), { name: 'b', down: true }, { name: 'c', down: false, refusesReplicas: true }]).snapshot, 'a')()).toBe(true);
    expect(soleReplicaNode(counting([up('a')]).snapshot)()).toBe(true);
    expect(soleReplicaNode(counting([up('a'), up('b')]).snapshot)()).toBe(false);
    expect(soleReplicaNode(counting([{ name: 'a', down: true }]).snapshot)()).toBe(true);
  });

  it('onlyLonghornNode: no other Longhorn node at all, down or refusing replicas included', () => {
    expect(onlyLonghornNode(counting([]).snapshot, 'a')()).toBe(false);
    expect(onlyLonghornNode(counting([up('a')]).snapshot, 'a')()).toBe(true);
    expect(onlyLonghornNode(counting([up('a'), { name: 'b', down: true }]).snapshot, 'a')()).toBe(false);
    expect(onlyLonghornNode(counting([up('a'), { name: 'b', down: false, refusesReplicas: true }]).snapshot, 'a')()).toBe(false);
    expect(onlyLonghornNode(counting([{ name: 'a', down: true }]).snapshot)()).toBe(true);
    expect(onlyLonghornNode(counting([up('a'), up('b')]).snapshot)()).toBe(false);
  });

  it('reads the nodes once per request and stops past the limit', () => {
    const many = counting(Array.from({ length: 5000 }, (_, i) => up(`n${i}`)));
    const ask = soleReplicaNode(many.snapshot, 'n0');
    expect(ask()).toBe(false);
    expect(ask()).toBe(false);
    expect(many.reads()).toBe(2);
  });
});
