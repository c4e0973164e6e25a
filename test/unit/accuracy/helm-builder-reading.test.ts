// Helm creates what its builder (k8s.io/cli-runtime, `.Unstructured().Flatten()`) makes of the manifest: YAML read by
// go-yaml v2, whose line breaks are LF, CR, NEL, LS and PS (YAML 1.1), and any object with an `items` key decoded by
// apimachinery as a list whose items are created instead of it, an item with neither kind nor apiVersion taking the
// list's kind less `List` and its apiVersion (decodeToList). Each install below gives Helm a StatefulSet `db` (as
// that builder, cli-runtime v0.36.3, reads each text) that would re-attach the Retained volume of data-db-0: refused,
// naming the claim, or refused as unreadable where the YAML reader here cannot read the text Go reads.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { releaseRecordRequest } from '../helm/helm-fixtures.ts';

const NS = 'apps';
const validator = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await validator.close?.();
});

function leftoverClaim(): ClusterModel {
  const model = new ClusterModel();
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('persistentVolume', pv({ name: 'pv-data-db-0', claimNamespace: NS, claimName: 'data-db-0', reclaimPolicy: 'Retain' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-0', volumeName: 'pv-data-db-0' }));
  return model;
}

const install = (document: string) =>
  releaseRecordRequest({ name: 'r', namespace: NS, version: 1, status: 'pending-install', manifest: `---\n# Source: c/templates/db.yaml\n${document}` });

const SPEC = 'spec: {replicas: 1, selector: {matchLabels: {a: b}}, volumeClaimTemplates: [{metadata: {name: data}}]}';

describe('helm install of a StatefulSet hidden from a YAML 1.2 reading, or in an apimachinery list', () => {
  it.each([
    ['an escaped CR line break in a List item kind', `apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: "Stateful\\\r    Set"\n  metadata: {name: db}\n  ${SPEC}\n`],
    ['an escaped LS line break in a List item kind', `apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: "Stateful\\\u2028    Set"\n  metadata: {name: db}\n  ${SPEC}\n`],
    ['a kind key after a NEL that ends a comment', `apiVersion: apps/v1\nkind: ConfigMap\nmetadata: {name: db} # from a template\u0085kind: StatefulSet\n${SPEC}\n`],
    ['a StatefulSetList whose item has no kind', `apiVersion: apps/v1\nkind: StatefulSetList\nitems:\n- metadata: {name: db}\n  ${SPEC}\n`],
    ['a ConfigMap with an items list', `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\nitems:\n- apiVersion: apps/v1\n  kind: StatefulSet\n  metadata: {name: db}\n  ${SPEC}\n`],
  ])('is refused: %s', (_name, document) => {
    const decision = validator.handle(install(document), context(leftoverClaim()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`${NS}/data-db-0`);
  });

  it('is refused as unreadable when Go joins an escaped CR line break the YAML reader here refuses (under-indented)', () => {
    // Go reads `Set"` in column 0 as the rest of StatefulSet; the yaml package refuses the scalar.
    const document = `apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: "Stateful\\\rSet"\n  metadata: {name: db}\n  ${SPEC}\n`;
    const decision = validator.handle(install(document), context(leftoverClaim()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('c/templates/db.yaml is not valid YAML');
  });
});
