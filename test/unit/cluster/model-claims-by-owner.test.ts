// ClusterModel.persistentVolumeClaimsOwnedBy: the PVCs whose ownerReferences name a uid, kept in step with every way a
// claim enters, changes or leaves the model (the owner-delete webhook answers most DELETEs from this one lookup).
import { describe, expect, it } from 'vitest';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { OwnerRef } from '../../../src/cluster/records.ts';
import { namespace, pvc } from '../../support/fixtures.ts';

const CLUSTER: OwnerRef = { kind: 'Cluster', name: 'db', uid: 'uid-cluster', controller: true };
const BACKUP: OwnerRef = { kind: 'Backup', name: 'nightly', uid: 'uid-backup' };
const owned = (namespace: string, name: string, ...owners: OwnerRef[]) => pvc({ namespace, name, ownerReferences: owners });
const names = (m: ClusterModel, uid: string): string[] => m.persistentVolumeClaimsOwnedBy(uid).map((c) => `${c.namespace}/${c.name}`).sort();

describe('ClusterModel.persistentVolumeClaimsOwnedBy', () => {
  it('follows upserts, owner changes, removals and relists, in every namespace', () => {
    const m = new ClusterModel(VOLUME_SETS);
    expect(names(m, 'uid-cluster')).toEqual([]);
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'plain' }));
    m.upsert('persistentVolumeClaim', owned('shop', 'db-1', CLUSTER));
    m.upsert('persistentVolumeClaim', owned('other', 'db-1', CLUSTER, BACKUP));
    expect(names(m, 'uid-cluster')).toEqual(['other/db-1', 'shop/db-1']);
    expect(names(m, 'uid-backup')).toEqual(['other/db-1']);
    // An owner dropped (orphaned by the garbage collector) or added.
    m.upsert('persistentVolumeClaim', owned('other', 'db-1', BACKUP));
    expect(names(m, 'uid-cluster')).toEqual(['shop/db-1']);
    m.upsert('persistentVolumeClaim', owned('shop', 'plain', BACKUP));
    expect(names(m, 'uid-backup')).toEqual(['other/db-1', 'shop/plain']);
    m.remove('persistentVolumeClaim', 'shop/db-1');
    expect(names(m, 'uid-cluster')).toEqual([]);
    m.replaceAll('persistentVolumeClaim', [owned('shop', 'db-2', CLUSTER), pvc({ namespace: 'shop', name: 'plain' })]);
    expect(names(m, 'uid-cluster')).toEqual(['shop/db-2']);
    expect(names(m, 'uid-backup')).toEqual([]);
  });

  it('files a claim naming one uid twice once, and never under an empty uid', () => {
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('persistentVolumeClaim', owned('shop', 'db-1', CLUSTER, { ...CLUSTER, kind: 'Database' }, { kind: 'Gone', name: 'x', uid: '' }));
    expect(names(m, 'uid-cluster')).toEqual(['shop/db-1']);
    expect(names(m, '')).toEqual([]);
  });
});

describe('ClusterModel.namespacesOwnedBy', () => {
  it('follows upserts, owner changes, removals and relists', () => {
    const m = new ClusterModel(VOLUME_SETS);
    const names = (uid: string): string[] => m.namespacesOwnedBy(uid).map((n) => n.name).sort();
    m.upsert('namespace', namespace({ name: 'plain' }));
    m.upsert('namespace', namespace({ name: 'solar-prod', ownerUids: ['uid-tenant'] }));
    m.upsert('namespace', namespace({ name: 'solar-dev', ownerUids: ['uid-tenant', 'uid-profile'] }));
    expect(names('uid-tenant')).toEqual(['solar-dev', 'solar-prod']);
    m.upsert('namespace', namespace({ name: 'solar-dev', ownerUids: ['uid-profile'] }));
    expect(names('uid-tenant')).toEqual(['solar-prod']);
    m.remove('namespace', 'solar-prod');
    expect(names('uid-tenant')).toEqual([]);
    m.replaceAll('namespace', [namespace({ name: 'solar-test', ownerUids: ['uid-tenant'] })]);
    expect(names('uid-tenant')).toEqual(['solar-test']);
    expect(names('uid-profile')).toEqual([]);
  });
});
