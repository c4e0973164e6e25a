// The workload webhooks skip volume-guard's own pods and Helm release records (matchCondition
// `not-volume-guard-itself`) by exact name: a prefix also skipped another release `<release>.x` or a StatefulSet
// `<fullname>-db` in the same namespace. The regular expressions are checked here against names formed as Kubernetes
// forms them; test/unit/chart-render.test.ts holds the chart's rendering of them equal to these.
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import {
  deploymentPodNamePattern,
  helmReleaseRecordPattern,
  ownObjectKey,
  ownObjectsCondition,
  selfConditions,
  selfExclusionCondition,
  selfNamePattern,
} from '../../../src/admission/webhooks.ts';
import { defaultConfig } from '../../../src/config.ts';

/** The characters of a pod-template-hash (rand.SafeEncodeString) and of generateName's random suffix. */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const word = (length: number, offset = 0) => Array.from({ length }, (_, i) => ALPHABET[(i * 7 + offset) % ALPHABET.length]).join('');

/** A pod of Deployment `deployment`: ReplicaSet `<deployment>-<hash>`, generateName `<rs>-` cut to 58, 5 random. */
const podOf = (deployment: string, hash: string, random = word(5, 3)) => `${deployment}-${hash}-`.slice(0, 58) + random;

/** A name of `length` characters ending in `base` (or cut from its start), like a chart fullname. */
const nameOf = (length: number, base = 'vg.vault-volume-guard') => (base.length >= length ? base.slice(0, length) : `${'r'.repeat(length - base.length)}${base}`);

describe("the pods of volume-guard's Deployment", () => {
  it.each([1, 15, 21, 40, 46, 47, 50, 55, 56, 57, 58, 60, 63])('a name of %i characters: every pod of it matches, whatever its hash', (length) => {
    const deployment = nameOf(length);
    const pattern = new RegExp(deploymentPodNamePattern(deployment));
    for (let hashLength = 1; hashLength <= 10; hashLength++) {
      const pod = podOf(deployment, word(hashLength));
      expect(pod.length).toBeLessThanOrEqual(63);
      expect(pattern.test(pod), `${pod} (hash of ${hashLength})`).toBe(true);
    }
  });

  it.each([1, 15, 40, 46, 47, 50, 55, 56, 57])('a name of %i characters: no StatefulSet pod or bare name of the namespace matches', (length) => {
    const deployment = nameOf(length);
    const pattern = new RegExp(deploymentPodNamePattern(deployment));
    const others = [
      // a StatefulSet <fullname>-db: <sts>-<ordinal>
      `${deployment}-db-0`,
      `${deployment}-db-12`,
      // the Deployment's name; names one character short or long
      deployment,
      `${deployment}-${word(4)}-${word(4)}`,
      `${deployment}-${word(4)}-${word(6)}`,
      `${deployment}-${word(11)}-${word(5)}`,
      `${deployment}x-${word(4)}-${word(5)}`,
      // the same letters where the name has a dot
      ...(deployment.includes('.') ? [`${deployment.replace('.', 'x')}-${word(4)}-${word(5)}`] : []),
    ].filter((name) => name.length <= 63);
    for (const name of others) expect(pattern.test(name), name).toBe(false);
  });

  // Up to 46 characters no pod name is cut, so only this Deployment's pods match. Beyond, the API server's cut makes
  // the pods of a Deployment named `<fullname>-db...` as long as these, and sometimes the same characters: Kubernetes
  // itself cannot tell them apart there (the chart's default fullname, `<release>-volume-guard`, is far shorter).
  it.each([1, 15, 40, 46])('a name of %i characters: the pods of another Deployment do not match', (length) => {
    const deployment = nameOf(length);
    const pattern = new RegExp(deploymentPodNamePattern(deployment));
    for (let hashLength = 1; hashLength <= 10; hashLength++) {
      for (const other of [`${deployment}-db`, `${deployment}x`, `${deployment}-volume-guard`]) {
        const pod = podOf(other, word(hashLength));
        expect(pattern.test(pod), pod).toBe(false);
      }
    }
  });

  it('reads as the issue wrote it for the chart default', () => {
    expect(deploymentPodNamePattern('vg-volume-guard')).toBe('^vg-volume-guard-[a-z0-9]{1,10}-[a-z0-9]{5}$');
    // Longer names: the forms generateName's cut leaves, as alternatives.
    expect(deploymentPodNamePattern(nameOf(50))).toMatch(/^\^\(\?:.*\|.*\)\$$/);
    expect(deploymentPodNamePattern(nameOf(60))).toBe(`^${nameOf(60).slice(0, 58).replace('.', '\\.')}[a-z0-9]{5}$`);
  });
});

describe("volume-guard's Helm release records", () => {
  const pattern = new RegExp(helmReleaseRecordPattern('vg'));

  it('match every revision of the release', () => {
    for (const name of ['sh.helm.release.v1.vg.v1', 'sh.helm.release.v1.vg.v2', 'sh.helm.release.v1.vg.v137']) expect(pattern.test(name), name).toBe(true);
  });

  it("do not take in another release's records (Helm accepts dotted release names)", () => {
    for (const name of [
      'sh.helm.release.v1.vg.vault.v1',
      'sh.helm.release.v1.vg.v1.v1',
      'sh.helm.release.v1.vg-2.v1',
      'sh.helm.release.v1.vgx.v1',
      'shxhelmxreleasexv1xvgxv1',
      'sh.helm.release.v1.vg.v',
      'sh.helm.release.v1.vg.v1x',
    ]) {
      expect(pattern.test(name), name).toBe(false);
    }
  });

  it("escape the release name's dots", () => {
    const dotted = new RegExp(helmReleaseRecordPattern('vg.vault'));
    expect(dotted.test('sh.helm.release.v1.vg.vault.v3')).toBe(true);
    expect(dotted.test('sh.helm.release.v1.vgxvault.v3')).toBe(false);
  });
});

describe('the matchCondition', () => {
  const self = { namespace: 'vg-system', deployment: 'vg-volume-guard', release: 'vg' };

  it.each(['pods', 'helm-releases'] as const)('for %s, matches the pattern given as a CEL string literal', (workload) => {
    const { expression } = selfExclusionCondition(workload, self);
    const literal = /request\.name\.matches\('((?:[^'\\]|\\.)*)'\)\)$/.exec(expression)?.[1];
    expect(literal, expression).toBeDefined();
    // CEL reads `\\` in a string literal as one backslash.
    expect(literal!.replace(/\\(.)/g, '$1')).toBe(selfNamePattern(workload, self));
    expect(expression).toMatch(/^!\(request\.namespace (== 'vg-system'|in \['vg-system'\]) && has\(request\.name\) && /);
    expect(expression).not.toContain('startsWith');
  });

  // Flux's helm-controller keeps a HelmRelease's records in its own namespace (flux-system) or spec.storageNamespace.
  it("for release records, also in the storage namespaces Helm SDK users keep them in (helm.storageNamespaces); pods only in volume-guard's", () => {
    const flux = { ...self, storageNamespaces: ['flux-system', 'vg-system', 'team-a'] };
    expect(selfExclusionCondition('helm-releases', flux).expression).toMatch(/^!\(request\.namespace in \['vg-system', 'flux-system', 'team-a'\] && has\(request\.name\) && /);
    expect(selfExclusionCondition('pods', flux).expression).toMatch(/^!\(request\.namespace == 'vg-system' && /);
  });
});

describe("the owner-delete webhook and volume-guard's own objects", () => {
  const ownObjects = [
    { namespace: 'vg-system', group: 'apps', resource: 'deployments', name: 'vg-volume-guard' },
    { namespace: 'vg-system', group: '', resource: 'configmaps', name: 'vg-volume-guard' },
    { namespace: '', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'vg-volume-guard' },
  ];
  const self = { namespace: 'vg-system', deployment: 'vg-volume-guard', release: "vg'x", ownObjects };

  /** The keys the condition lists, read back from its CEL list literal. */
  const listed = (expression: string) => {
    const list = / in \[((?:'(?:[^'\\]|\\.)*'(?:, )?)*)\] && has\(oldObject\.metadata\.labels\)/.exec(expression)?.[1];
    expect(list, expression).toBeDefined();
    return [...list!.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((match) => match[1]!.replace(/\\(.)/g, '$1'));
  };
  /** What the condition's key expression forms from a request: namespace ('' cluster-scoped), group, resource, name. */
  const key = (namespace: string, group: string, resource: string, name: string) => `${namespace}/${group}/${resource}/${name}`;

  it("skips exactly the release's objects (namespace, group, resource, name), and only while they carry the chart's labels", () => {
    const { name, expression } = ownObjectsCondition(self);
    expect(name).toBe('not-volume-guard-objects');
    expect(listed(expression)).toEqual([...ownObjects.map((object) => ownObjectKey(object))].sort());
    expect(expression).toContain(
      "((has(request.namespace) ? request.namespace : '') + '/' + request.resource.group + '/' + request.resource.resource + '/' + request.name) in [",
    );
    expect(expression).toContain("oldObject.metadata.labels['app.kubernetes.io/part-of'] == 'volume-guard'");
    expect(expression).toContain("oldObject.metadata.labels['app.kubernetes.io/instance'] == 'vg\\'x'");
    // On DELETE `object` is null: only oldObject may be read, and only once it is known not to be null; the items of
    // a collection DELETE have no name.
    expect(expression.startsWith('!(oldObject != null && has(request.name) && ')).toBe(true);
    expect(expression).not.toMatch(/(?<!old)[Oo]bject\./);
  });

  // The chart's labels can be set by anyone who may label an object: by labels alone, a CloudNativePG Cluster in the
  // release namespace (`default`) or a cluster-scoped owner (a Capsule Tenant) had its prune, and its PVCs, unjudged.
  it('does not skip an object labelled like the chart that is not one of its objects', () => {
    const keys = listed(ownObjectsCondition({ ...self, namespace: 'default', ownObjects: ownObjects.map((object) => ({ ...object, namespace: object.namespace && 'default' })) }).expression);
    expect(keys).toContain(key('default', 'apps', 'deployments', 'vg-volume-guard'));
    for (const forged of [
      key('default', 'postgresql.cnpg.io', 'clusters', 'pg'),
      key('', 'capsule.clastix.io', 'tenants', 'team-a'),
      // Its names, but another resource, group or namespace.
      key('default', 'postgresql.cnpg.io', 'clusters', 'vg-volume-guard'),
      key('default', 'apps', 'statefulsets', 'vg-volume-guard'),
      key('team-a', 'apps', 'deployments', 'vg-volume-guard'),
      key('', 'capsule.clastix.io', 'clusterroles', 'vg-volume-guard'),
      key('default', '', 'configmaps', 'vg-volume-guard-db'),
    ]) {
      expect(keys, forged).not.toContain(forged);
    }
  });

  it('is added to the owner-delete webhook only, and not without a release or its objects', () => {
    const declarations = createValidators(defaultConfig()).map((validator) => validator.declaration);
    const withOwn = declarations.filter((declaration) => selfConditions(declaration, self).some((condition) => condition.name === 'not-volume-guard-objects'));
    expect(withOwn.map((declaration) => declaration.target)).toEqual(['owner-delete']);
    expect(selfConditions(withOwn[0]!, { ...self, release: '' })).toEqual([]);
    expect(selfConditions(withOwn[0]!, { ...self, ownObjects: [] })).toEqual([]);
  });
});
