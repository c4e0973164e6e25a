// Seed 000 at scale: a fresh `helm install` whose StatefulSet of 14 replicas would adopt 14 claims an earlier
// release left. The refusal names every one of them (the operator decides on each: delete, or approve its reuse),
// listing the first ones with their fate and naming the rest on the "and N more" line.
// Where all of them are listed: `volume-guard audit --release` only where it lists them. It reads no manifest, and of
// the PVCs no live StatefulSet of the release claims it lists those labelled for the release: a StatefulSet's
// leftover claims often carry no release label, and a refused first install stores no release record, so there the
// audit finds nothing (and exits 2, "not found"); kubectl lists them instead.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { MAX_DENIAL_LENGTH, MAX_LINE_LENGTH } from '../../../src/admission/messages.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { releaseFindings } from '../../../src/audit/release.ts';
import { context } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { releaseRecordRequest } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const helm = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await helm.close?.();
});

function manifest(replicas: number): string {
  return `---
# Source: db/templates/statefulset.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  replicas: ${replicas}
  serviceName: db
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
        - name: db
          image: db:1
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 1Gi
`;
}

function leftovers(count: number, prefix = 'data-db', labels: Record<string, string> = {}): ClusterModel {
  const model = new ClusterModel();
  model.upsert('namespace', namespace({ name: NS }));
  for (let ordinal = 0; ordinal < count; ordinal++) {
    const claim = `${prefix}-${ordinal}`;
    model.upsert('persistentVolume', pv({ name: `pv-${claim}`, claimNamespace: NS, claimName: claim, reclaimPolicy: 'Retain' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: claim, volumeName: `pv-${claim}`, labels, creationTimestamp: '2025-06-01T00:00:00Z' }));
  }
  return model;
}

describe('a Helm install over more leftover claims than a denial lists', () => {
  it('names every claim, within the denial length and the line width', async () => {
    const decision = await helm.handle(
      releaseRecordRequest({ name: 'db', namespace: NS, version: 1, status: 'pending-install', manifest: manifest(14) }),
      context(leftovers(14)),
    );
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    for (let ordinal = 0; ordinal < 14; ordinal++) expect(message).toMatch(new RegExp(`${NS}/data-db-${ordinal}(?![0-9])`));
    expect(message).toContain('[orphan-pvc] 14 ');
    // Named, all of them: no command needed (the audit would list none of them: they are not labelled for db).
    expect(message).toContain('  and 4 more: shop/data-db-10, shop/data-db-11, shop/data-db-12, shop/data-db-13\n');
    expect(message.length).toBeLessThanOrEqual(MAX_DENIAL_LENGTH);
    for (const line of message.split('\n')) if (!line.startsWith('  kubectl') && !line.includes('kubectl annotate')) expect(line.length).toBeLessThanOrEqual(MAX_LINE_LENGTH + 2);
  });

  it('counts them when their names would not fit', async () => {
    const long = `data-${'x'.repeat(150)}`;
    const model = leftovers(40, `${long}-db`);
    const many = manifest(40).replace('name: data\n', `name: ${long}\n`);
    const decision = await helm.handle(releaseRecordRequest({ name: 'db', namespace: NS, version: 1, status: 'pending-install', manifest: many }), context(model));
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    expect(message).toMatch(new RegExp(`and \\d+ more; all of them: kubectl get pvc -n shop \\| grep '\\^${long}-db-'\n`));
    expect(message).not.toContain('volume-guard audit');
    expect(message.length).toBeLessThanOrEqual(MAX_DENIAL_LENGTH);
  });

  it('points to the audit only where it lists every one of them: PVCs labelled for the release', async () => {
    const refused = async (model: ClusterModel): Promise<string> =>
      (await helm.handle(releaseRecordRequest({ name: 'db', namespace: NS, version: 1, status: 'pending-install', manifest: manifest(14) }), context(model))).status
        ?.message ?? '';
    const listedByAudit = (model: ClusterModel): string[] => releaseFindings(model, NS, 'db', { installed: false }).findings.map((f) => f.object.name);

    const unlabelled = leftovers(14);
    expect(listedByAudit(unlabelled)).toEqual([]);
    const text = await refused(unlabelled);
    expect(text).not.toContain('volume-guard audit');
    // The fix's commands name 3: the rest are listed by kubectl, every leftover's name starting so.
    expect(text).toContain("(the commands name 3 of 14; all: kubectl get pvc -n shop | grep '^data-db-');");
    const prefix = /grep '\^([^']*)'/.exec(text)?.[1] ?? '';
    for (let ordinal = 0; ordinal < 14; ordinal++) expect(`data-db-${ordinal}`.startsWith(prefix)).toBe(true);
    // Nothing ties them to a release.
    expect(text).toContain('PVC shop/data-db-0 (PV pv-data-db-0, StatefulSet shop/db): exists with no owner; the StatefulSet db would re-attach its old data');

    const labelled = leftovers(14, 'data-db', { 'app.kubernetes.io/instance': 'db' });
    expect(listedByAudit(labelled)).toHaveLength(14);
    const audited = await refused(labelled);
    expect(audited).toContain('and 4 more: shop/data-db-10, shop/data-db-11, shop/data-db-12, shop/data-db-13; all of them: volume-guard audit --release shop/db\n');
    expect(audited).toContain('(the commands name 3 of 14; all: volume-guard audit --release shop/db);');
    expect(audited).toContain('left by an earlier release; the StatefulSet db would re-attach its old data');
  });
});
