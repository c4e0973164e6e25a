import { describe, expect, it } from 'vitest';
import {
  anchorKeys,
  isGroupKey,
  parseNodeSelector,
  persistentVolumeNodeSelector,
  pinnedByIdentityOf,
  pinnedNodeOf,
  pinnedPodNodeOf,
  podMatchesNoNodeEver,
  podNodeSelector,
  selectorMatches,
  termMatches,
  type NodeLookup,
  type NodeSelector,
  type NodeSelectorRequirement,
  type NodeSelectorTerm,
} from '../../../src/cluster/node-affinity.ts';
import type { NodeRecord } from '../../../src/cluster/records.ts';
import { node } from '../../support/fixtures.ts';

const expr = (key: string, operator: string, values: string[] = []): NodeSelectorRequirement => ({ key, operator, values });
const term = (matchExpressions: NodeSelectorRequirement[], matchFields: NodeSelectorRequirement[] = []): NodeSelectorTerm => ({
  matchExpressions,
  matchFields,
});

const worker = node({
  name: 'worker-1',
  labels: {
    'kubernetes.io/hostname': 'worker-1',
    'topology.kubernetes.io/zone': 'z1',
    'example.com/cores': '16',
    'example.com/gen': 'v2',
    empty: '',
  },
});

describe('termMatches: one term, the scheduler semantics', () => {
  it.each<[string, NodeSelectorTerm, boolean]>([
    ['In, value present', term([expr('topology.kubernetes.io/zone', 'In', ['z0', 'z1'])]), true],
    ['In, other value', term([expr('topology.kubernetes.io/zone', 'In', ['z2'])]), false],
    ['In, key absent', term([expr('absent', 'In', ['x'])]), false],
    ['In, empty label value', term([expr('empty', 'In', [''])]), true],
    ['NotIn, value present', term([expr('topology.kubernetes.io/zone', 'NotIn', ['z1'])]), false],
    ['NotIn, other value', term([expr('topology.kubernetes.io/zone', 'NotIn', ['z2'])]), true],
    ['NotIn, key absent matches', term([expr('absent', 'NotIn', ['x'])]), true],
    ['Exists', term([expr('example.com/gen', 'Exists')]), true],
    ['Exists, key absent', term([expr('absent', 'Exists')]), false],
    ['DoesNotExist, key absent', term([expr('absent', 'DoesNotExist')]), true],
    ['DoesNotExist, key present', term([expr('example.com/gen', 'DoesNotExist')]), false],
    ['Gt, larger label', term([expr('example.com/cores', 'Gt', ['8'])]), true],
    ['Gt, equal label', term([expr('example.com/cores', 'Gt', ['16'])]), false],
    ['Lt, larger bound', term([expr('example.com/cores', 'Lt', ['32'])]), true],
    ['Lt, negative bound', term([expr('example.com/cores', 'Lt', ['-1'])]), false],
    ['Gt, non-integer label never matches', term([expr('example.com/gen', 'Gt', ['1'])]), false],
    ['Lt, non-integer label never matches', term([expr('example.com/gen', 'Lt', ['100'])]), false],
    ['Gt, key absent', term([expr('absent', 'Gt', ['1'])]), false],
    ['Gt, explicit sign and leading zeros', term([expr('example.com/cores', 'Gt', ['+015'])]), true],
    ['Lt, bound beyond int64: invalid term', term([expr('example.com/cores', 'Lt', ['9223372036854775808'])]), false],
    ['Gt, int64 minimum', term([expr('example.com/cores', 'Gt', ['-9223372036854775808'])]), true],
    ['Gt, non-integer bound: invalid term', term([expr('example.com/cores', 'Gt', ['1.5'])]), false],
    ['Gt, two values: invalid term', term([expr('example.com/cores', 'Gt', ['1', '2'])]), false],
    ['In without values: invalid term', term([expr('topology.kubernetes.io/zone', 'In', [])]), false],
    ['Exists with values: invalid term', term([expr('example.com/gen', 'Exists', ['v2'])]), false],
    ['unknown operator: invalid term', term([expr('example.com/gen', 'Equals', ['v2'])]), false],
    ['empty key: invalid term', term([expr('', 'DoesNotExist')]), false],
    ['empty term matches nothing', term([]), false],
    ['expressions are ANDed', term([expr('topology.kubernetes.io/zone', 'In', ['z1']), expr('example.com/gen', 'In', ['v1'])]), false],
    ['expressions are ANDed, all met', term([expr('topology.kubernetes.io/zone', 'In', ['z1']), expr('example.com/gen', 'In', ['v2'])]), true],
    ['matchFields metadata.name In', term([], [expr('metadata.name', 'In', ['worker-1'])]), true],
    ['matchFields metadata.name In, other node', term([], [expr('metadata.name', 'In', ['worker-2'])]), false],
    ['matchFields metadata.name NotIn', term([], [expr('metadata.name', 'NotIn', ['worker-2'])]), true],
    ['matchFields with two values: invalid term', term([], [expr('metadata.name', 'In', ['worker-1', 'worker-2'])]), false],
    ['matchFields on another field: invalid term', term([], [expr('spec.podCIDR', 'In', ['x'])]), false],
    ['matchFields Exists: invalid term', term([], [expr('metadata.name', 'Exists')]), false],
    ['matchFields ANDed with expressions', term([expr('example.com/gen', 'In', ['v2'])], [expr('metadata.name', 'In', ['worker-1'])]), true],
  ])('%s', (_name, selectorTerm, expected) => {
    expect(termMatches(selectorTerm, worker)).toBe(expected);
  });
});

describe('selectorMatches: terms are ORed', () => {
  it('matches when any valid term does, an invalid term failing alone', () => {
    const invalid = term([expr('example.com/cores', 'Gt', ['many'])]);
    const zone = term([expr('topology.kubernetes.io/zone', 'In', ['z1'])]);
    expect(selectorMatches([invalid, zone], worker)).toBe(true);
    expect(selectorMatches([invalid], worker)).toBe(false);
    expect(selectorMatches([term([])], worker)).toBe(false);
  });

  it('an absent selector matches every node', () => {
    expect(selectorMatches([], worker)).toBe(true);
  });
});

describe('parseNodeSelector', () => {
  it('reads terms, expressions and fields, and turns malformed values into an invalid term', () => {
    const selector = parseNodeSelector({
      nodeSelectorTerms: [
        { matchExpressions: [{ key: 'openebs.io/nodeid', operator: 'In', values: ['n1'] }] },
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] },
        { matchExpressions: [{ key: 'k', operator: 'In', values: [42] }] },
      ],
    });
    expect(selector).toHaveLength(3);
    expect(selector[0]).toEqual(term([expr('openebs.io/nodeid', 'In', ['n1'])]));
    expect(selector[1]).toEqual(term([], [expr('metadata.name', 'In', ['n2'])]));
    expect(termMatches(selector[2] as NodeSelectorTerm, node({ labels: { k: '42' } }))).toBe(false);
  });

  it.each([undefined, null, 'x', {}, { nodeSelectorTerms: 'x' }, { nodeSelectorTerms: [] }])('no terms from %j', (raw) => {
    expect(parseNodeSelector(raw)).toEqual([]);
  });
});

describe('podNodeSelector: nodeSelector ANDed into every affinity term', () => {
  it('combines both', () => {
    const selector = podNodeSelector({
      nodeSelector: { 'kubernetes.io/hostname': 'worker-1' },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, { matchExpressions: [{ key: 'b', operator: 'Exists' }] }],
          },
        },
      },
    });
    expect(selector).toEqual([
      term([expr('a', 'Exists'), expr('kubernetes.io/hostname', 'In', ['worker-1'])]),
      term([expr('b', 'Exists'), expr('kubernetes.io/hostname', 'In', ['worker-1'])]),
    ]);
  });

  // The scheduler keeps nodeSelector apart from the affinity terms and drops an empty term (it matches no node,
  // GetRequiredNodeAffinity / NewLazyErrorNodeSelector): ANDing the labels into it would make it match their nodes.
  it('leaves an empty affinity term empty: it still matches no node', () => {
    const selector = podNodeSelector({
      nodeSelector: { 'topology.kubernetes.io/zone': 'z1' },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{}, { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['worker-2'] }] }],
          },
        },
      },
    });
    expect(selectorMatches(selector, worker)).toBe(false);
    const other = node({ name: 'worker-2', labels: { 'kubernetes.io/hostname': 'worker-2', 'topology.kubernetes.io/zone': 'z1' } });
    expect(selectorMatches(selector, other)).toBe(true);
    expect(pinnedNodeOf(selector, lookupOf([worker, other]))).toBe('worker-2');
  });

  it('nodeSelector alone is one term; nothing is no constraint', () => {
    expect(podNodeSelector({ nodeSelector: { disk: 'ssd' } })).toEqual([term([expr('disk', 'In', ['ssd'])])]);
    expect(podNodeSelector({})).toEqual([]);
    expect(podNodeSelector(undefined)).toEqual([]);
  });
});

/** A lookup over a fixed list of nodes, the way the model answers (group keys are not indexed). */
function lookupOf(nodes: readonly NodeRecord[]): NodeLookup {
  return {
    node: (name) => nodes.find((n) => n.name === name),
    nodesLabelled: (key, value) => (isGroupKey(key) ? [] : nodes.filter((n) => n.labels[key] === value)),
  };
}

const cluster = lookupOf([
  node({ name: 'n1', labels: { 'kubernetes.io/hostname': 'n1-host', 'openebs.io/nodeid': 'id-1', 'topology.kubernetes.io/zone': 'a', rank: '1' } }),
  node({ name: 'n2', labels: { 'kubernetes.io/hostname': 'n2', 'openebs.io/nodeid': 'id-2', 'topology.kubernetes.io/zone': 'a', rank: '2' } }),
  node({ name: 'n3', labels: { 'kubernetes.io/hostname': 'n3', 'openebs.io/nodeid': 'shared', 'topology.kubernetes.io/zone': 'b', rank: '3' } }),
  node({ name: 'n4', labels: { 'kubernetes.io/hostname': 'n4', 'openebs.io/nodeid': 'shared', 'topology.kubernetes.io/zone': 'c', rank: '4' } }),
]);

describe('pinnedNodeOf: the one node a PV can ever mount on', () => {
  const single = (...requirements: NodeSelectorRequirement[]): NodeSelector => [term(requirements)];
  it.each<[string, NodeSelector, string, string?]>([
    ['hostname label whose value is not the node name', single(expr('kubernetes.io/hostname', 'In', ['n1-host'])), 'n1'],
    ['a custom key (OpenEBS ZFS-LocalPV nodeid)', single(expr('openebs.io/nodeid', 'In', ['id-2'])), 'n2'],
    ['metadata.name field', [term([], [expr('metadata.name', 'In', ['n3'])])], 'n3'],
    ['a key two nodes share', single(expr('openebs.io/nodeid', 'In', ['shared'])), ''],
    ['a zone of several nodes', single(expr('topology.kubernetes.io/zone', 'In', ['a'])), ''],
    ['a zone of one node: the next node of that zone could mount it', single(expr('topology.kubernetes.io/zone', 'In', ['b'])), ''],
    ['a zone plus the hostname', single(expr('topology.kubernetes.io/zone', 'In', ['a']), expr('kubernetes.io/hostname', 'In', ['n2'])), 'n2'],
    ['hostname In two nodes', single(expr('kubernetes.io/hostname', 'In', ['n2', 'n3'])), ''],
    ['hostname In a live node and a gone one', single(expr('kubernetes.io/hostname', 'In', ['n2', 'gone'])), 'n2'],
    ['hostname NotIn: open, a joining node matches', single(expr('kubernetes.io/hostname', 'NotIn', ['n1-host', 'n3', 'n4'])), ''],
    ['Exists: open', single(expr('openebs.io/nodeid', 'Exists')), ''],
    ['Gt narrowing to one node: open', single(expr('rank', 'Gt', ['3'])), ''],
    ['terms ORed, both naming the same node', [term([expr('kubernetes.io/hostname', 'In', ['n2'])]), term([], [expr('metadata.name', 'In', ['n2'])])], 'n2'],
    ['terms ORed, naming two nodes', [term([expr('kubernetes.io/hostname', 'In', ['n2'])]), term([expr('kubernetes.io/hostname', 'In', ['n3'])])], ''],
    ['terms ORed, one of them open', [term([expr('kubernetes.io/hostname', 'In', ['n2'])]), term([expr('rank', 'Lt', ['2'])])], ''],
    ['an invalid term beside a pinning one', [term([expr('rank', 'Gt', ['x'])]), term([expr('kubernetes.io/hostname', 'In', ['n2'])])], 'n2'],
    ['hostname and a requirement the node fails', single(expr('kubernetes.io/hostname', 'In', ['n2']), expr('rank', 'Gt', ['5'])), ''],
    ['no live node: the named fallback', single(expr('kubernetes.io/hostname', 'In', ['gone'])), 'gone', 'gone'],
    ['several live nodes: never the fallback', single(expr('openebs.io/nodeid', 'In', ['shared'])), '', 'n3'],
    ['no terms: the fallback (fixtures, records without an affinity)', [], 'x', 'x'],
  ])('%s', (_name, selector, expected, fallback) => {
    expect(pinnedNodeOf(selector, cluster, fallback)).toBe(expected);
  });
});

// A pod is pinned by its node's identity only: a shared label one node carries today names a group an autoscaler
// adds a node to when the pod goes Pending.
describe('pinnedPodNodeOf: the one node a pod can ever run on', () => {
  const labelled = lookupOf([
    node({ name: 'n1', labels: { 'kubernetes.io/hostname': 'n1-host', 'openebs.io/nodeid': 'id-1', disktype: 'ssd', rank: '1' } }),
    node({ name: 'n2', labels: { 'kubernetes.io/hostname': 'n2', 'openebs.io/nodeid': 'id-2', rank: '2' } }),
  ]);
  const single = (...requirements: NodeSelectorRequirement[]): NodeSelector => [term(requirements)];
  it.each<[string, NodeSelector, string]>([
    ['hostname', single(expr('kubernetes.io/hostname', 'In', ['n1-host'])), 'n1'],
    ['metadata.name field', [term([], [expr('metadata.name', 'In', ['n2'])])], 'n2'],
    ['an identity key of a node-local driver', single(expr('openebs.io/nodeid', 'In', ['id-2'])), 'n2'],
    ['a shared label one node carries today', single(expr('disktype', 'In', ['ssd'])), ''],
    ['a shared label plus the hostname', single(expr('disktype', 'In', ['ssd']), expr('kubernetes.io/hostname', 'In', ['n1-host'])), 'n1'],
    ['a custom key only one node carries', single(expr('rank', 'In', ['2'])), ''],
    ['no constraint', [], ''],
  ])('%s', (_name, selector, expected) => {
    expect(pinnedPodNodeOf(selector, labelled)).toBe(expected);
  });

  it('the same shared label pins a PV (its driver labels each node with its own value)', () => {
    expect(pinnedNodeOf(single(expr('disktype', 'In', ['ssd'])), labelled)).toBe('n1');
  });

  // n3 may join (again) and match: the drained pod could start there without the data it left on n1.
  it.each<[string, NodeSelector]>([
    ['a hostname list naming a node not in the cluster', single(expr('kubernetes.io/hostname', 'In', ['n1-host', 'n3']))],
    ['metadata.name of a node not in the cluster in another term', [term([], [expr('metadata.name', 'In', ['n1'])]), term([], [expr('metadata.name', 'In', ['n3'])])]],
    ['an identity key of a node-local driver naming an unknown id', single(expr('openebs.io/nodeid', 'In', ['id-1', 'id-9']))],
  ])('%s: pinned to no node', (_name, selector) => {
    expect(pinnedPodNodeOf(selector, labelled)).toBe('');
  });

  it('a PV keeps its one live match when its affinity names a node not in the cluster', () => {
    expect(pinnedNodeOf(single(expr('kubernetes.io/hostname', 'In', ['n1-host', 'n3'])), labelled)).toBe('n1');
  });

  it('by identity, no live node named at all: the fallback (a PV’s named node, data left behind by a deleted node)', () => {
    expect(pinnedByIdentityOf(single(expr('kubernetes.io/hostname', 'In', ['n3'])), labelled, 'n3')).toBe('n3');
    expect(pinnedByIdentityOf(single(expr('disktype', 'In', ['ssd'])), labelled, 'n1')).toBe('');
  });
});

// A replacement pod must match a live node named by identity that no longer matches its term: no node can ever take it.
describe('podMatchesNoNodeEver: a pod no node can ever take', () => {
  const labelled = lookupOf([
    node({ name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } }),
    node({ name: 'n2', labels: { 'kubernetes.io/hostname': 'n2', disktype: 'ssd' } }),
  ]);
  const single = (...requirements: NodeSelectorRequirement[]): NodeSelector => [term(requirements)];
  it.each<[string, NodeSelector, boolean]>([
    ['hostname n1 and a label n1 lost', single(expr('kubernetes.io/hostname', 'In', ['n1']), expr('disktype', 'In', ['ssd'])), true],
    ['metadata.name n1 and a label n1 lost', [term([expr('disktype', 'In', ['ssd'])], [expr('metadata.name', 'In', ['n1'])])], true],
    ['hostname n1 or n2 with the label n2 carries', single(expr('kubernetes.io/hostname', 'In', ['n1', 'n2']), expr('disktype', 'In', ['ssd'])), false],
    ['hostname n1 and a label n1 lost, or a term n2 matches', [term([expr('kubernetes.io/hostname', 'In', ['n1']), expr('disktype', 'In', ['ssd'])]), term([expr('kubernetes.io/hostname', 'In', ['n2'])])], false],
    // n3 may join carrying the label.
    ['a hostname list naming a node not in the cluster', single(expr('kubernetes.io/hostname', 'In', ['n1', 'n3']), expr('disktype', 'In', ['ssd'])), false],
    // A node joining with the label matches.
    ['a shared label no node carries', single(expr('disktype', 'In', ['nvme'])), false],
    ['hostname n1, matching', single(expr('kubernetes.io/hostname', 'In', ['n1'])), false],
    ['no constraint', [], false],
  ])('%s', (_name, selector, expected) => {
    expect(podMatchesNoNodeEver(selector, labelled)).toBe(expected);
  });
});

describe('anchors and group keys', () => {
  it('zone, region, rack, os, arch, instance type and node roles are group keys; node identities are not', () => {
    for (const key of ['topology.kubernetes.io/zone', 'topology.ebs.csi.aws.com/zone', 'failure-domain.beta.kubernetes.io/region', 'openebs.io/rack', 'kubernetes.io/os', 'kubernetes.io/arch', 'node.kubernetes.io/instance-type', 'node-role.kubernetes.io/worker', 'feature.node.kubernetes.io/cpu-cpuid.AVX2', 'csi.hetzner.cloud/location']) {
      expect(isGroupKey(key), key).toBe(true);
    }
    for (const key of ['kubernetes.io/hostname', 'openebs.io/nodeid', 'openebs.io/nodename', 'topology.topolvm.io/node', 'example.com/zones-id', 'example.com/allocation']) {
      expect(isGroupKey(key), key).toBe(false);
    }
  });

  it('are the bucket keys a node change looks PVs up by; an open affinity has none', () => {
    expect(anchorKeys([term([expr('topology.kubernetes.io/zone', 'In', ['a']), expr('kubernetes.io/hostname', 'In', ['n2'])])])).toEqual([
      'kubernetes.io/hostname=n2',
    ]);
    expect(anchorKeys([term([], [expr('metadata.name', 'In', ['n2'])])])).toEqual(['metadata.name=n2']);
    expect(anchorKeys([term([expr('topology.kubernetes.io/zone', 'In', ['a'])])])).toBeUndefined();
    expect(anchorKeys([])).toBeUndefined();
    expect(anchorKeys([term([])])).toEqual([]);
  });
});

// The scheduler's volume binding and the kubelet match a PV's affinity against a Node made of the labels only
// (storage helpers' CheckNodeAffinity), and nodeaffinity's term matching skips matchFields for a Node without fields.
describe('persistentVolumeNodeSelector: a PV ignores valid metadata.name requirements', () => {
  const w1 = node({ name: 'w1', labels: { 'kubernetes.io/hostname': 'w1' } });
  const w2 = node({ name: 'w2', labels: { 'kubernetes.io/hostname': 'w2' } });
  const name = (operator: string, value: string) => expr('metadata.name', operator, [value]);

  it('a term with metadata.name In or NotIn matches every node its other requirements allow', () => {
    const selector = persistentVolumeNodeSelector([term([expr('kubernetes.io/hostname', 'In', ['w1'])]), term([], [name('In', 'w2')])]);
    expect([w1, w2].filter((candidate) => selectorMatches(selector, candidate)).map((candidate) => candidate.name)).toEqual(['w1', 'w2']);
    expect(pinnedNodeOf(selector, lookupOf([w1, w2]))).toBe('');
    expect(pinnedNodeOf(persistentVolumeNodeSelector([term([], [name('In', 'w1')])]), lookupOf([w1, w2]), 'w1')).toBe('');
    const withLabels = persistentVolumeNodeSelector([term([expr('kubernetes.io/hostname', 'In', ['w1'])], [name('In', 'w2')])]);
    expect([w1, w2].filter((candidate) => selectorMatches(withLabels, candidate)).map((candidate) => candidate.name)).toEqual(['w1']);
    expect(pinnedNodeOf(withLabels, lookupOf([w1, w2]))).toBe('w1');
    const notIn = persistentVolumeNodeSelector([term([expr('kubernetes.io/hostname', 'In', ['w1', 'w2'])], [name('NotIn', 'w1')])]);
    expect([w1, w2].filter((candidate) => selectorMatches(notIn, candidate)).map((candidate) => candidate.name)).toEqual(['w1', 'w2']);
    expect(selectorMatches(persistentVolumeNodeSelector([term([], [name('NotIn', 'w2')])]), w2)).toBe(true);
  });

  it('leaves selectors without field requirements, and invalid ones, as they are', () => {
    const plain = [term([expr('kubernetes.io/hostname', 'In', ['w1'])])];
    expect(persistentVolumeNodeSelector(plain)).toBe(plain);
    const invalid = [term([], [expr('metadata.name', 'Exists')])];
    expect(persistentVolumeNodeSelector(invalid)).toEqual(invalid);
    expect(selectorMatches(persistentVolumeNodeSelector(invalid), w1)).toBe(false);
  });
});
