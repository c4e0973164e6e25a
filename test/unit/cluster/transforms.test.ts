import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  claimNamesOfPod,
  intern,
  namedNodeOf,
  transformLonghornNode,
  transformLonghornReplica,
  transformLonghornVolume,
  transformNamespace,
  transformNode,
  transformPersistentVolume,
  transformPersistentVolumeClaim,
  transformPod,
  transformStatefulSet,
} from '../../../src/cluster/transforms.ts';
import { recordKey } from '../../../src/cluster/records.ts';
import { keyOfObject } from '../../../src/cluster/resources.ts';

const hostnameTerm = (node: string) => ({
  matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }],
});

describe('transformNode', () => {
  it('keeps the name, the cordon flag and only volume-guard annotations', () => {
    const record = transformNode({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: 'worker-1',
        resourceVersion: '42',
        labels: { 'kubernetes.io/hostname': 'worker-1' },
        annotations: { 'volume-guard.io/skip': 'node-local-volume', 'node.alpha.kubernetes.io/ttl': '0' },
      },
      spec: { unschedulable: true, podCIDR: '10.0.0.0/24' },
      status: { capacity: { cpu: '4' }, images: [{ names: ['a'], sizeBytes: 1 }] },
    });
    expect(record).toEqual({
      name: 'worker-1',
      unschedulable: true,
      ready: '',
      readySince: 0,
      annotations: { 'volume-guard.io/skip': 'node-local-volume' },
      labels: { 'kubernetes.io/hostname': 'worker-1' },
    });
  });

  it('reads an absent spec.unschedulable as schedulable', () => {
    expect(transformNode({ metadata: { name: 'n' }, spec: {} })?.unschedulable).toBe(false);
    expect(transformNode({ metadata: { name: 'n' } })?.unschedulable).toBe(false);
  });

  it('returns undefined for an object without a name', () => {
    expect(transformNode({ metadata: {} })).toBeUndefined();
    expect(transformNode({})).toBeUndefined();
    expect(transformNode(null)).toBeUndefined();
  });
});

describe('transformNamespace', () => {
  it('keeps only volume-guard annotations', () => {
    expect(
      transformNamespace({
        metadata: { name: 'apps', annotations: { 'volume-guard.io/skip': 'all', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
        status: { phase: 'Active' },
      }),
    ).toEqual({ name: 'apps', annotations: { 'volume-guard.io/skip': 'all' } });
  });

  it("keeps the Helm release that rendered it, and a live keep policy only when exactly 'keep'", () => {
    const helm = { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': 'shop' };
    expect(transformNamespace({ metadata: { name: 'shop', annotations: { ...helm, 'helm.sh/resource-policy': 'keep' } } })).toEqual({
      name: 'shop',
      annotations: {},
      helmReleaseName: 'db',
      helmReleaseNamespace: 'shop',
      helmKeep: true,
    });
    // Helm's update() compares the live value exactly: `Keep` is deleted.
    expect(transformNamespace({ metadata: { name: 'shop', annotations: { ...helm, 'helm.sh/resource-policy': 'Keep' } } })?.helmKeep).toBeUndefined();
  });

  it('marks a namespace being deleted', () => {
    const record = transformNamespace({ metadata: { name: 'apps', deletionTimestamp: '2026-01-01T00:00:00Z' }, status: { phase: 'Terminating' } });
    expect(record).toEqual({ name: 'apps', annotations: {}, deleting: true });
  });

  it("keeps only its owners' uids (a Capsule Tenant's) and their apiVersion/kind, once each", () => {
    const tenant = { apiVersion: 'capsule.clastix.io/v1beta2', kind: 'Tenant', name: 'solar', uid: 'uid-tenant', controller: true, blockOwnerDeletion: true };
    const record = transformNamespace({ metadata: { name: 'solar-prod', ownerReferences: [tenant, { ...tenant, kind: 'Other' }, { ...tenant, uid: '' }] } });
    expect(record).toEqual({ name: 'solar-prod', annotations: {}, ownerUids: ['uid-tenant'], ownerTypes: ['capsule.clastix.io/v1beta2/Tenant', 'capsule.clastix.io/v1beta2/Other'] });
  });

  it('keeps no owner types when no owner is a custom resource (only a CRD DELETE reads them)', () => {
    const owner = { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'uid-x' };
    expect(transformNamespace({ metadata: { name: 'a', ownerReferences: [owner] } })).toEqual({ name: 'a', annotations: {}, ownerUids: ['uid-x'] });
    // Beside a custom resource's, a built-in owner stays: it keeps the namespace from going with that kind.
    const tenant = { apiVersion: 'capsule.clastix.io/v1beta2', kind: 'Tenant', name: 'solar', uid: 'uid-tenant' };
    expect(transformNamespace({ metadata: { name: 'b', ownerReferences: [tenant, owner] } })?.ownerTypes).toEqual(['capsule.clastix.io/v1beta2/Tenant', 'v1/ConfigMap']);
  });

  it('shares one empty annotation map between records without annotations', () => {
    const a = transformNamespace({ metadata: { name: 'a' } });
    const b = transformNamespace({ metadata: { name: 'b', annotations: { other: 'x' } } });
    expect(a?.annotations).toEqual({});
    expect(a?.annotations).toBe(b?.annotations);
  });
});

describe('transformPersistentVolume', () => {
  const localPv = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: 'local-pv-1', annotations: { 'pv.kubernetes.io/provisioned-by': 'local-volume-provisioner-worker-1' } },
    spec: {
      capacity: { storage: '10Gi' },
      local: { path: '/mnt/disks/ssd1' },
      storageClassName: 'local-storage',
      persistentVolumeReclaimPolicy: 'Retain',
      claimRef: { kind: 'PersistentVolumeClaim', namespace: 'db', name: 'data-db-0', uid: 'u1' },
      nodeAffinity: { required: { nodeSelectorTerms: [hostnameTerm('worker-1')] } },
    },
    status: { phase: 'Bound' },
  };

  it('detects a local PV pinned to its node', () => {
    expect(transformPersistentVolume(localPv)).toEqual({
      name: 'local-pv-1',
      source: 'local',
      driver: 'local-volume-provisioner-worker-1',
      storageClassName: 'local-storage',
      nodeAffinity: [
        { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['worker-1'] }], matchFields: [] },
      ],
      namedNode: 'worker-1',
      pinnedNode: 'worker-1',
      claimNamespace: 'db',
      claimName: 'data-db-0',
      phase: 'Bound',
      reclaimPolicy: 'Retain',
      hostDirectory: '/mnt/disks/ssd1',
    });
  });

  it('keeps only the volume-guard.io/ annotations of PVs and Longhorn volumes (their delete approvals), and none when absent', () => {
    const annotations = { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'erin', 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
    const approved = transformPersistentVolume({ ...localPv, metadata: { ...localPv.metadata, annotations: { ...localPv.metadata.annotations, ...annotations } } });
    expect(approved?.annotations).toEqual({ 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'erin' });
    expect(transformPersistentVolume(localPv)).not.toHaveProperty('annotations');
    const volume = { metadata: { name: 'vol-1', namespace: 'longhorn-system', annotations }, spec: { numberOfReplicas: 3 }, status: {} };
    expect(transformLonghornVolume(volume)?.annotations).toEqual({ 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'erin' });
    expect(transformLonghornVolume({ ...volume, metadata: { name: 'vol-1', namespace: 'longhorn-system' } })).not.toHaveProperty('annotations');
    const sts = { metadata: { name: 'db', namespace: 'app', annotations: { 'volume-guard.io/skip': 'orphan-pvc', 'meta.helm.sh/release-name': 'db' } }, spec: {} };
    expect(transformStatefulSet(sts)?.annotations).toEqual({ 'volume-guard.io/skip': 'orphan-pvc' });
    expect(transformStatefulSet({ ...sts, metadata: { name: 'db', namespace: 'app' } })).not.toHaveProperty('annotations');
  });

  it('detects hostPath PVs (e.g. Rancher local-path) and their provisioner', () => {
    const record = transformPersistentVolume({
      metadata: { name: 'pvc-123', annotations: { 'pv.kubernetes.io/provisioned-by': 'rancher.io/local-path' } },
      spec: {
        hostPath: { path: '/opt/local-path-provisioner/pvc-123', type: 'DirectoryOrCreate' },
        nodeAffinity: { required: { nodeSelectorTerms: [hostnameTerm('node-a')] } },
        storageClassName: 'local-path',
        persistentVolumeReclaimPolicy: 'Delete',
      },
      status: { phase: 'Bound' },
    });
    expect(record?.source).toBe('hostPath');
    expect(record?.driver).toBe('rancher.io/local-path');
    expect(record?.pinnedNode).toBe('node-a');
    expect(record?.claimName).toBe('');
  });

  it('takes the CSI driver from spec.csi over the provisioned-by annotation', () => {
    const record = transformPersistentVolume({
      metadata: { name: 'pvc-9', annotations: { 'pv.kubernetes.io/provisioned-by': 'something-else' } },
      spec: { csi: { driver: 'driver.longhorn.io', volumeHandle: 'pvc-9' } },
    });
    expect(record?.source).toBe('csi');
    expect(record?.driver).toBe('driver.longhorn.io');
    expect(record?.pinnedNode).toBe('');
  });

  it('reports NFS as nfs (with hostPath the only sources kube-controller-manager can recycle), others (iSCSI, ...) as other', () => {
    expect(transformPersistentVolume({ metadata: { name: 'nfs' }, spec: { nfs: { server: 'x', path: '/' } } })?.source).toBe('nfs');
    expect(transformPersistentVolume({ metadata: { name: 'iscsi' }, spec: { iscsi: { targetPortal: 'x:3260', iqn: 'iqn.x', lun: 0 } } })?.source).toBe('other');
  });

  it('recognises provisioner-specific node keys and matchFields on metadata.name', () => {
    for (const key of ['openebs.io/nodename', 'topology.topolvm.io/node', 'topology.topolvm.cybozu.com/node', 'topology.hostpath.csi/node']) {
      const spec = { csi: { driver: 'x' }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key, operator: 'In', values: ['n1'] }] }] } } };
      expect(namedNodeOf(spec), key).toBe('n1');
    }
    expect(namedNodeOf({ nodeAffinity: { required: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }] } } })).toBe(
      'n2',
    );
  });

  it('is not pinned when the affinity allows more than one node', () => {
    const terms = (...nodeSelectorTerms: unknown[]) => ({ nodeAffinity: { required: { nodeSelectorTerms } } });
    // several values
    expect(namedNodeOf(terms({ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['a', 'b'] }] }))).toBe('');
    // terms are ORed: two different nodes
    expect(namedNodeOf(terms(hostnameTerm('a'), hostnameTerm('b')))).toBe('');
    // one term pins, another does not constrain the node at all
    expect(namedNodeOf(terms(hostnameTerm('a'), { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['z1'] }] }))).toBe('');
    // NotIn / Exists select many nodes
    expect(namedNodeOf(terms({ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'NotIn', values: ['a'] }] }))).toBe('');
    expect(namedNodeOf(terms({ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'Exists' }] }))).toBe('');
    // zone only
    expect(namedNodeOf(terms({ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['z1'] }] }))).toBe('');
    // a key that is not a node identity
    expect(namedNodeOf(terms({ matchExpressions: [{ key: 'topology.kubernetes.io/hostname', operator: 'In', values: ['a'] }] }))).toBe('');
    // no affinity
    expect(namedNodeOf({})).toBe('');
    expect(namedNodeOf(undefined)).toBe('');
  });

  it('is pinned when every term names the same node, other requirements notwithstanding', () => {
    const spec = {
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: 'kubernetes.io/hostname', operator: 'In', values: ['a'] },
                { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['z1'] },
              ],
            },
            hostnameTerm('a'),
          ],
        },
      },
    };
    expect(namedNodeOf(spec)).toBe('a');
  });

  it('selects no single node when one term ANDs two different nodes', () => {
    const spec = {
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: 'kubernetes.io/hostname', operator: 'In', values: ['a'] },
                { key: 'openebs.io/nodename', operator: 'In', values: ['b'] },
              ],
            },
          ],
        },
      },
    };
    expect(namedNodeOf(spec)).toBe('');
  });
});

describe('transformPersistentVolumeClaim', () => {
  it("keeps release labels, Velero's restore label, volume-guard and Helm annotations, owners and timestamps", () => {
    const record = transformPersistentVolumeClaim({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'data-devlake-mysql-0',
        namespace: 'devlake',
        uid: 'pvc-uid',
        resourceVersion: '99',
        creationTimestamp: '2024-05-01T10:00:00Z',
        labels: {
          'app.kubernetes.io/instance': 'devlake',
          'app.kubernetes.io/name': 'mysql',
          release: 'devlake',
          'volume-guard.io/protect': 'true',
          'velero.io/restore-name': 'devlake-20261206',
          'velero.io/backup-name': 'devlake',
        },
        annotations: {
          'meta.helm.sh/release-name': 'devlake',
          'meta.helm.sh/release-namespace': 'devlake',
          'volume-guard.io/skip': 'orphan-claims',
          'pv.kubernetes.io/bind-completed': 'yes',
        },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'devlake-mysql', uid: 'sts-uid', controller: true }],
        finalizers: ['kubernetes.io/pvc-protection'],
      },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'longhorn', volumeName: 'pvc-abc', resources: { requests: { storage: '5Gi' } } },
      status: { phase: 'Bound', capacity: { storage: '5Gi' } },
    });
    expect(record).toEqual({
      namespace: 'devlake',
      name: 'data-devlake-mysql-0',
      uid: 'pvc-uid',
      volumeName: 'pvc-abc',
      phase: 'Bound',
      storageClassName: 'longhorn',
      labels: { 'app.kubernetes.io/instance': 'devlake', release: 'devlake', 'volume-guard.io/protect': 'true', 'velero.io/restore-name': 'devlake-20261206' },
      annotations: { 'meta.helm.sh/release-name': 'devlake', 'meta.helm.sh/release-namespace': 'devlake', 'volume-guard.io/skip': 'orphan-claims' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'devlake-mysql', uid: 'sts-uid', controller: true }],
      creationTimestamp: '2024-05-01T10:00:00Z',
      deleting: false,
    });
  });

  it('marks a claim with a deletionTimestamp as deleting and defaults absent fields', () => {
    const record = transformPersistentVolumeClaim({
      metadata: { name: 'c', namespace: 'ns', deletionTimestamp: '2024-05-01T10:00:00Z' },
    });
    expect(record).toMatchObject({ deleting: true, volumeName: '', phase: '', storageClassName: '', ownerReferences: [], labels: {}, annotations: {} });
  });

  it('drops non-string label values and malformed owner references', () => {
    const record = transformPersistentVolumeClaim({
      metadata: { name: 'c', namespace: 'ns', labels: { release: 7 }, ownerReferences: ['junk', { kind: 'Pod', name: 'p', uid: 'u' }] },
    });
    expect(record?.labels).toEqual({});
    expect(record?.ownerReferences).toEqual([{ kind: 'Pod', name: 'p', uid: 'u' }]);
  });
});

describe('transformPod', () => {
  it('keeps node, phase and every claim it mounts, generic ephemeral volumes included', () => {
    const record = transformPod({
      metadata: { name: 'web-0', namespace: 'shop' },
      spec: {
        nodeName: 'worker-2',
        containers: [{ name: 'c', image: 'nginx' }],
        volumes: [
          { name: 'data', persistentVolumeClaim: { claimName: 'data-web-0' } },
          { name: 'config', configMap: { name: 'cm' } },
          { name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'] } } } },
          { name: 'again', persistentVolumeClaim: { claimName: 'data-web-0', readOnly: true } },
        ],
      },
      status: { phase: 'Running', conditions: [] },
    });
    expect(record).toEqual({
      namespace: 'shop',
      name: 'web-0',
      nodeName: 'worker-2',
      phase: 'Running',
      deleting: false,
      claimNames: ['data-web-0', 'web-0-scratch'],
      controllerKind: '',
      hostPaths: [],
      emptyDirs: [],
      nodeSelector: [],
    });
  });

  it('has no node before scheduling and no claims without PVC volumes', () => {
    expect(transformPod({ metadata: { name: 'p', namespace: 'n' }, spec: { volumes: [{ name: 'tmp', emptyDir: {} }] } })).toEqual({
      namespace: 'n',
      name: 'p',
      nodeName: '',
      phase: '',
      deleting: false,
      claimNames: [],
      controllerKind: '',
      hostPaths: [],
      emptyDirs: [],
      nodeSelector: [],
    });
    expect(claimNamesOfPod('p', undefined)).toEqual([]);
    expect(transformPod({ metadata: { name: 'p', namespace: 'n', deletionTimestamp: '2026-12-01T00:00:00Z' }, spec: {} })?.deleting).toBe(true);
  });
});

describe('transformStatefulSet', () => {
  it('keeps replicas, claim templates, selector and the Helm release annotations', () => {
    const record = transformStatefulSet({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: {
        name: 'devlake-mysql',
        namespace: 'devlake',
        uid: 'sts-uid',
        annotations: { 'meta.helm.sh/release-name': 'devlake', 'meta.helm.sh/release-namespace': 'devlake', other: 'x' },
      },
      spec: {
        replicas: 3,
        selector: { matchLabels: { 'app.kubernetes.io/instance': 'devlake', 'app.kubernetes.io/name': 'mysql' } },
        template: { metadata: { labels: {} }, spec: { containers: [] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: {} }, { metadata: { name: 'logs' } }, { spec: {} }],
      },
    });
    expect(record).toEqual({
      namespace: 'devlake',
      name: 'devlake-mysql',
      uid: 'sts-uid',
      replicas: 3,
      ordinalsStart: 0,
      creationTimestamp: '',
      whenScaled: 'Retain',
      claimTemplates: ['data', 'logs'],
      selector: { 'app.kubernetes.io/instance': 'devlake', 'app.kubernetes.io/name': 'mysql' },
      helmReleaseName: 'devlake',
      helmReleaseNamespace: 'devlake',
      helmKeep: false,
    });
    const kept = transformStatefulSet({ metadata: { name: 's', namespace: 'n', annotations: { 'helm.sh/resource-policy': 'keep' } }, spec: {} });
    expect(kept?.helmKeep).toBe(true);
    // An upgrade's delete reads the live annotation exactly: Helm deletes a StatefulSet annotated "Keep".
    for (const policy of [' keep', 'Keep', 'KEEP ']) {
      expect(transformStatefulSet({ metadata: { name: 's', namespace: 'n', annotations: { 'helm.sh/resource-policy': policy } }, spec: {} })?.helmKeep).toBe(false);
    }
  });

  it("records the spec fields the Helm release's field manager owns (managedFields), whatever that manager is called", () => {
    const helmFields = (spec: Record<string, unknown>) => ({
      'f:metadata': { 'f:annotations': { '.': {}, 'f:meta.helm.sh/release-name': {}, 'f:meta.helm.sh/release-namespace': {} } },
      'f:spec': spec,
    });
    const sts = (managedFields: unknown[]) =>
      transformStatefulSet({ metadata: { name: 's', namespace: 'n', annotations: { 'meta.helm.sh/release-name': 'r' }, managedFields }, spec: { replicas: 3 } });
    // Helm 3 (operation Update) set the replicas; Flux's helm-controller under its own name set ordinals and whenScaled.
    expect(sts([{ manager: 'helm', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: helmFields({ 'f:replicas': {}, 'f:serviceName': {} }) }])?.releaseSets).toEqual({
      replicas: true,
    });
    const flux = helmFields({ 'f:ordinals': { '.': {}, 'f:start': {} }, 'f:persistentVolumeClaimRetentionPolicy': { 'f:whenScaled': {} } });
    expect(sts([{ manager: 'helm-controller', operation: 'Apply', fieldsV1: flux }])?.releaseSets).toEqual({ ordinalsStart: true, whenScaled: true });
    // The replicas owned by another manager (kubectl scale through the scale subresource, an autoscaler): not the release's.
    const scaled = [
      { manager: 'helm', operation: 'Update', fieldsV1: helmFields({ 'f:serviceName': {} }) },
      { manager: 'kubectl', operation: 'Update', subresource: 'scale', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
    ];
    expect(sts(scaled)).not.toHaveProperty('releaseSets');
    expect(sts([])).not.toHaveProperty('releaseSets');
    expect(sts([{ manager: 'helm', fieldsV1: 'garbage' }, 42, null])).not.toHaveProperty('releaseSets');
  });

  it('defaults replicas to 1 like the API server, keeps 0, and works without Helm', () => {
    expect(transformStatefulSet({ metadata: { name: 's', namespace: 'n' }, spec: {} })).toMatchObject({
      replicas: 1,
      claimTemplates: [],
      selector: {},
      helmReleaseName: '',
      helmReleaseNamespace: '',
    });
    expect(transformStatefulSet({ metadata: { name: 's', namespace: 'n' }, spec: { replicas: 0 } })?.replicas).toBe(0);
    expect(
      transformStatefulSet({
        metadata: { name: 's', namespace: 'n' },
        spec: { ordinals: { start: 3 }, persistentVolumeClaimRetentionPolicy: { whenScaled: 'Delete', whenDeleted: 'Retain' } },
      }),
    ).toMatchObject({ ordinalsStart: 3, whenScaled: 'Delete' });
  });

  it('keeps whether it is being deleted and the uids of its own owners (what the garbage collector reads of an owner)', () => {
    const plain = transformStatefulSet({ metadata: { name: 's', namespace: 'n', uid: 'u' }, spec: {} });
    expect(plain).not.toHaveProperty('deleting');
    expect(plain).not.toHaveProperty('ownerUids');
    const owned = transformStatefulSet({
      metadata: {
        name: 's',
        namespace: 'n',
        uid: 'u',
        deletionTimestamp: '2026-12-04T13:00:00Z',
        finalizers: ['foregroundDeletion'],
        ownerReferences: [{ apiVersion: 'example.io/v1', kind: 'Database', name: 'shop', uid: 'db-uid', controller: true }, { kind: 'X', name: 'no-uid' }],
      },
      spec: {},
    });
    expect(owned).toMatchObject({ deleting: true, ownerUids: ['db-uid'] });
  });
});

describe('Longhorn transforms', () => {
  it('narrows a Longhorn volume', () => {
    const record = transformLonghornVolume({
      apiVersion: 'longhorn.io/v1beta2',
      kind: 'Volume',
      metadata: { name: 'pvc-abc', namespace: 'longhorn-system', finalizers: ['longhorn.io'] },
      spec: { numberOfReplicas: 1, dataLocality: 'disabled', size: '5368709120' },
      status: {
        state: 'detached',
        robustness: 'unknown',
        currentNodeID: '',
        kubernetesStatus: { namespace: 'devlake', pvcName: 'data-devlake-mysql-0', pvName: 'pvc-abc', workloadsStatus: [{ podName: 'x' }] },
      },
    });
    expect(record).toEqual({
      namespace: 'longhorn-system',
      name: 'pvc-abc',
      numberOfReplicas: 1,
      state: 'detached',
      robustness: 'unknown',
      currentNodeID: '',
      pvName: 'pvc-abc',
      pvcNamespace: 'devlake',
      pvcName: 'data-devlake-mysql-0',
      deleting: false,
    });
  });

  it('leaves numberOfReplicas at 0 when it is missing or not a number', () => {
    expect(transformLonghornVolume({ metadata: { name: 'v', namespace: 'l' } })?.numberOfReplicas).toBe(0);
    expect(transformLonghornVolume({ metadata: { name: 'v', namespace: 'l' }, spec: { numberOfReplicas: '3' } })?.numberOfReplicas).toBe(0);
  });

  it('narrows a Longhorn replica', () => {
    const record = transformLonghornReplica({
      metadata: { name: 'pvc-abc-r-1', namespace: 'longhorn-system', labels: { longhornvolume: 'pvc-abc' }, deletionTimestamp: '2024-01-01T00:00:00Z' },
      spec: {
        volumeName: 'pvc-abc',
        nodeID: 'worker-1',
        diskID: '7b6c0e3a-uuid',
        healthyAt: '2024-01-01T00:00:00Z',
        failedAt: '',
        desireState: 'running',
        dataDirectoryName: 'pvc-abc-1234',
      },
      status: { currentState: 'stopped', instanceManagerName: 'im' },
    });
    expect(record).toEqual({
      namespace: 'longhorn-system',
      name: 'pvc-abc-r-1',
      volumeName: 'pvc-abc',
      nodeID: 'worker-1',
      diskID: '7b6c0e3a-uuid',
      healthyAt: '2024-01-01T00:00:00Z',
      failedAt: '',
      desireState: 'running',
      currentState: 'stopped',
      deleting: true,
    });
  });

  it('marks a replica whose spec.active is false inactive, and only then', () => {
    const raw = (spec: Record<string, unknown>) => ({ metadata: { name: 'r', namespace: 'longhorn-system' }, spec: { volumeName: 'v', ...spec } });
    expect(transformLonghornReplica(raw({ active: false }))?.inactive).toBe(true);
    expect(transformLonghornReplica(raw({ active: true }))).not.toHaveProperty('inactive');
    expect(transformLonghornReplica(raw({}))).not.toHaveProperty('inactive');
  });

  it('collects the disk UUIDs of a Longhorn node, skipping empty ones', () => {
    const record = transformLonghornNode({
      metadata: { name: 'worker-1', namespace: 'longhorn-system' },
      spec: { disks: { 'default-disk': { path: '/var/lib/longhorn' } } },
      status: {
        diskStatus: {
          'default-disk': { diskUUID: 'uuid-1', conditions: [] },
          'new-disk': { diskUUID: '' },
          'second-disk': { diskUUID: 'uuid-2' },
          broken: 'not an object',
        },
      },
    });
    // No Ready or Schedulable condition, no allowScheduling: Longhorn's replica scheduler places nothing there.
    expect(record).toEqual({ namespace: 'longhorn-system', name: 'worker-1', diskUUIDs: ['uuid-1', 'uuid-2'], down: false, refusesReplicas: true });
    expect(transformLonghornNode({ metadata: { name: 'n', namespace: 'l' } })?.diskUUIDs).toEqual([]);
  });

  it('lists the disks whose Ready condition is False (Longhorn keeps their recorded UUID)', () => {
    const record = transformLonghornNode({
      metadata: { name: 'worker-1', namespace: 'longhorn-system' },
      status: {
        diskStatus: {
          reformatted: { diskUUID: 'uuid-1', conditions: [{ type: 'Ready', status: 'False', reason: 'DiskFilesystemChanged' }] },
          fine: { diskUUID: 'uuid-2', conditions: [{ type: 'Ready', status: 'True' }, { type: 'Schedulable', status: 'False' }] },
          fresh: { diskUUID: 'uuid-3' },
        },
      },
    });
    expect(record?.diskUUIDs).toEqual(['uuid-1', 'uuid-2', 'uuid-3']);
    expect(record?.notReadyDiskUUIDs).toEqual(['uuid-1']);
  });
});

describe('keys and interning', () => {
  it('keys a raw object the way recordKey keys its record', () => {
    const pvc = { metadata: { name: 'c', namespace: 'ns' } };
    const pv = { metadata: { name: 'v' } };
    expect(keyOfObject(pvc)).toBe(recordKey(transformPersistentVolumeClaim(pvc)!));
    expect(keyOfObject(pv)).toBe(recordKey(transformPersistentVolume(pv)!));
    expect(keyOfObject({ metadata: {} })).toBeUndefined();
  });

  it('returns one shared string per distinct value', () => {
    const a = ['work', 'er-7'].join('');
    const b = ['wor', 'ker-7'].join('');
    expect(intern(a)).toBe(intern(b));
  });
});

describe('transforms on arbitrary input', () => {
  const transforms = [
    transformNode,
    transformNamespace,
    transformPersistentVolume,
    transformPersistentVolumeClaim,
    transformPod,
    transformStatefulSet,
    transformLonghornVolume,
    transformLonghornReplica,
    transformLonghornNode,
  ];

  it('never throw, and return a record exactly when metadata.name is a non-empty string', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), (metadata, spec, status) => {
        for (const transform of transforms) {
          const raw = { metadata, spec, status };
          const record = transform(raw);
          const named = typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) && typeof (metadata as { name?: unknown }).name === 'string' && (metadata as { name: string }).name !== '';
          expect(record !== undefined).toBe(named);
        }
      }),
      { numRuns: 500 },
    );
  });
});
