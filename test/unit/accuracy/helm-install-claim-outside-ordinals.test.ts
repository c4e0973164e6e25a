// `helm uninstall` leaves the StatefulSet's PVCs; a fresh `helm install` of the same release declaring fewer replicas,
// or ordinals.start past them, does not claim them now: the StatefulSet controller only creates and mounts
// `<template>-<statefulset>-<ordinal>` for the ordinals start..start+replicas-1 (stateful_set_utils.go
// getStartOrdinal/getEndOrdinal, podInOrdinalRange). Such a PVC is still refused at the install (release-labelled:
// a later `kubectl scale` of the StatefulSet, judged then only as that release's own claim, would re-attach it), but
// the refusal said "this install may reuse its old data", which the install does not do (found by black-box testing
// with Helm 3 against the real API server: `helm install --set start=1` over data-r2-db-0). It now says whose claim
// it is, which ordinals the install runs, and what re-attaches it.
import { describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { releaseSecret, statefulSetManifest } from '../helm/helm-fixtures.ts';

const NS = 'app';
const LABELS = { 'app.kubernetes.io/instance': 'db' };

function install(manifest: string) {
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: NS,
    name: 'sh.helm.release.v1.db.v1',
    userInfo: ADMIN,
    object: releaseSecret({ name: 'db', namespace: NS, version: 1, status: 'pending-install', manifest }),
  });
}

/** data-db-0 (bound, old data) and data-db-2 (never bound), left by an earlier install of release db. */
function leftovers(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('persistentVolume', pv({ name: 'pv-0', claimNamespace: NS, claimName: 'data-db-0', reclaimPolicy: 'Retain' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-0', volumeName: 'pv-0', labels: LABELS }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-2', phase: 'Pending', volumeName: '', labels: LABELS }));
  return model;
}

const message = (manifest: string): string =>
  (helmReleaseValidator(defaultConfig()).handle(install(manifest), context(leftovers())).status?.message ?? '').replace(/\s+/g, ' ');

describe('helm install over leftover claims at ordinals its StatefulSet does not run', () => {
  it('ordinals.start 1: data-db-0 refused as a claim of db at ordinal 0, outside ordinals 1..1, re-attached by a later scale', () => {
    const words = message(statefulSetManifest({ replicas: 1, start: 1 }));
    expect(words).toContain('refused the install of Helm release app/db');
    expect(words).toContain(
      'PVC app/data-db-0 (PV pv-0): labelled for release db but owned by nothing live; the claim of StatefulSet db at ordinal 0, ' +
        'which this install does not run (ordinals 1..1): a later scale-up or ordinals change would re-attach its old data',
    );
    expect(words).toContain(
      'PVC app/data-db-2: labelled for release db but owned by nothing live, not yet bound; the claim of StatefulSet db at ordinal 2, ' +
        'which this install does not run (ordinals 1..1): a later scale-up or ordinals change would take it over',
    );
    expect(words).not.toContain('this install may');
  });

  it('0 replicas: says so', () => {
    expect(message(statefulSetManifest({ replicas: 0 }))).toContain(
      'the claim of StatefulSet db at ordinal 0, which this install does not run (0 replicas): a later scale-up or ordinals change would re-attach its old data',
    );
  });

  it('a claim the install runs keeps its statefulset-claim reason; a PVC no declared StatefulSet claims keeps "this install may"', () => {
    const words = message(statefulSetManifest({ replicas: 1 }));
    expect(words).toContain('PVC app/data-db-0 (PV pv-0, StatefulSet app/db): left by an earlier release; the StatefulSet db would re-attach its old data');
    expect(words).toContain('the claim of StatefulSet db at ordinal 2, which this install does not run (ordinals 0..0)');
    const other = message(statefulSetManifest({ name: 'cache', replicas: 1 }));
    expect(other).toContain('PVC app/data-db-0 (PV pv-0): labelled for release db but owned by nothing live; this install may reuse its old data');
  });
});
