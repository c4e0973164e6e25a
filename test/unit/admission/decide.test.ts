import { describe, expect, it } from 'vitest';
import { annotateHint, combinedOverrideAudit, judge, type Judgement } from '../../../src/admission/decide.ts';
import type { CheckMode } from '../../../src/config.ts';
import { changedOverrideKeys, mayWriteOverrides, parseSkip, skipFrom } from '../../../src/admission/overrides.ts';
import { MAX_LISTED_PER_CHECK } from '../../../src/admission/messages.ts';
import { CHECK_IDS, type CheckId, type Finding } from '../../../src/checks/types.ts';

const admin = { username: 'admin', groups: ['system:masters'] };
const alice = { username: 'alice', groups: ['developers'] };
const writers = { allowedGroups: ['system:masters'], allowedUsers: [] };

function modes(overrides: Partial<Record<CheckId, CheckMode>> = {}): Record<CheckId, CheckMode> {
  return Object.fromEntries(CHECK_IDS.map((id) => [id, overrides[id] ?? 'enforce'])) as Record<CheckId, CheckMode>;
}

function finding(check: CheckId, name: string, tags: string[] = []): Finding {
  return {
    check,
    severity: 'critical',
    object: { kind: 'Volume', namespace: 'longhorn-system', name, node: 'worker-1' },
    reason: 'only healthy replica is on node worker-1',
    tags,
    related: [{ kind: 'PersistentVolumeClaim', namespace: 'app', name: `data-${name}` }],
  };
}

function base(partial: Partial<Judgement>): Judgement {
  return {
    action: 'cordon of node worker-1',
    findings: [],
    modes: modes(),
    overrides: [],
    writers,
    overrideHint: annotateHint('node', 'worker-1'),
    situation: { kind: 'cordon', node: 'worker-1' },
    ...partial,
  };
}

describe('parseSkip', () => {
  it.each([
    ['single-replica', ['single-replica'], []],
    [' single-replica , orphan-pvc ', ['single-replica', 'orphan-pvc'], []],
    ['*', [...CHECK_IDS], []],
    ['all', [...CHECK_IDS], []],
    ['orphan-pvc_single-replica', ['orphan-pvc', 'single-replica'], []],
    ['single-replica,typo', ['single-replica'], ['typo']],
    ['', [], []],
  ])('%j', (value, checks, unknown) => {
    expect(parseSkip(value)).toEqual({ checks, unknown });
  });
});

describe('mayWriteOverrides', () => {
  it('allows configured groups and users only', () => {
    expect(mayWriteOverrides(admin, writers)).toBe(true);
    expect(mayWriteOverrides(alice, writers)).toBe(false);
    expect(mayWriteOverrides(alice, { allowedGroups: [], allowedUsers: ['alice'] })).toBe(true);
  });
  it('lets nobody write when both lists are empty, and everyone in mode rbac', () => {
    expect(mayWriteOverrides(admin, { allowedGroups: [], allowedUsers: [] })).toBe(false);
    expect(mayWriteOverrides(alice, { mode: 'rbac', allowedGroups: [], allowedUsers: [] })).toBe(true);
  });
});

describe('changedOverrideKeys', () => {
  it('reports added and changed keys but not removals or unrelated keys', () => {
    expect(changedOverrideKeys({ annotations: { 'volume-guard.io/skip': '*', other: 'x' } }, undefined)).toEqual([
      'annotation volume-guard.io/skip',
    ]);
    expect(
      changedOverrideKeys(
        { annotations: { 'volume-guard.io/skip': 'orphan-pvc' } },
        { annotations: { 'volume-guard.io/skip': '*' } },
      ),
    ).toEqual(['annotation volume-guard.io/skip']);
    expect(changedOverrideKeys({ annotations: {} }, { annotations: { 'volume-guard.io/skip': '*' } })).toEqual([]);
    expect(changedOverrideKeys({ labels: { 'volume-guard.io/skip': '*' } }, { labels: { 'volume-guard.io/skip': '*' } })).toEqual([]);
    expect(changedOverrideKeys({ labels: { 'volume-guard.io/reuse': 'true' } }, {})).toEqual(['label volume-guard.io/reuse']);
  });
});

describe('judge', () => {
  it('allows when nothing is found', () => {
    const decision = judge(base({}));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings).toBeUndefined();
  });

  it('denies in enforce mode naming the check, every object, the fix and the override', () => {
    const decision = judge(base({ findings: [finding('last-replica-on-node', 'pvc-a'), finding('last-replica-on-node', 'pvc-b')] }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.code).toBe(403);
    const message = decision.status!.message;
    expect(message).toContain('cordon of node worker-1');
    expect(message).toContain('[last-replica-on-node] 2 Longhorn volumes have their only healthy replica on worker-1');
    expect(message).toContain('Volume longhorn-system/pvc-a (PVC app/data-pvc-a)');
    expect(message).toContain('longhorn-system/pvc-b');
    expect(message).toContain('Fix:');
    expect(message).toContain('kubectl annotate node worker-1 volume-guard.io/skip=last-replica-on-node');
  });

  it('caps the list of objects and counts the rest', () => {
    const findings = Array.from({ length: 2500 }, (_, i) => finding('single-replica', `pvc-${i}`));
    const message = judge(base({ findings })).status!.message;
    expect(message).toContain(`pvc-${MAX_LISTED_PER_CHECK - 1} `);
    expect(message).not.toContain(`pvc-${MAX_LISTED_PER_CHECK} `);
    expect(message).toContain(`and ${2500 - MAX_LISTED_PER_CHECK} more`);
    expect(message.length).toBeLessThan(4000);
  });

  it('answers allowed with warnings in warn mode and ignores off checks', () => {
    const decision = judge(
      base({
        findings: [finding('single-replica', 'pvc-a'), finding('volume-health', 'pvc-b')],
        modes: modes({ 'single-replica': 'warn', 'volume-health': 'off' }),
      }),
    );
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain('[single-replica]');
    expect(decision.warnings?.join('\n')).not.toContain('pvc-b');
    expect(decision.warnings!.every((w) => w.length <= 120)).toBe(true);
  });

  it('honors an override from an allowed writer and audits it', () => {
    const source = skipFrom('node worker-1', { 'volume-guard.io/skip': 'last-replica-on-node', 'volume-guard.io/skip-reason': 'replica rebuilt elsewhere' }, admin);
    const decision = judge(base({ findings: [finding('last-replica-on-node', 'pvc-a')], overrides: [source!] }));
    expect(decision.allowed).toBe(true);
    expect(decision.overrides).toEqual(['last-replica-on-node']);
    expect(decision.auditAnnotations).toMatchObject({
      'overridden-checks': 'last-replica-on-node',
      'override-reason': 'replica rebuilt elsewhere',
      'override-writer': 'admin',
    });
  });

  it('ignores an override written by someone not allowed, and says so', () => {
    const source = skipFrom('node worker-1', { 'volume-guard.io/skip': '*' }, alice);
    const decision = judge(base({ findings: [finding('last-replica-on-node', 'pvc-a')], overrides: [source!] }));
    expect(decision.allowed).toBe(false);
    expect(decision.warnings?.join('\n')).toContain('alice may not write overrides');
  });

  it('the warning of an honored override reads with one pair of brackets, whatever its place says in brackets', () => {
    // Places named with brackets: a release label (helm-release.ts), a namespace's skip-evictions (eviction.ts).
    for (const where of ['release label (revision 1)', 'namespace shop (volume-guard.io/skip-evictions)']) {
      const source = skipFrom(where, { 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'backed up' });
      const decision = judge(base({ findings: [finding('node-local-volume', 'pv-a')], overrides: [source!] }));
      expect(decision.allowed).toBe(true);
      const line = (decision.warnings ?? []).join(' ').replace(/\s+/g, ' ');
      expect(line).toContain(`node-local-volume overridden by ${where}: 1 risk accepted, reason: backed up`);
      expect(line).not.toContain(') (');
    }
  });

  it('an override for one check leaves the others enforced', () => {
    const source = skipFrom('node worker-1', { 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-by': 'admin' });
    const decision = judge(
      base({ findings: [finding('node-local-volume', 'pv-a'), finding('last-replica-on-node', 'pvc-b')], overrides: [source!] }),
    );
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('last-replica-on-node');
    expect(decision.status!.message).not.toContain('pv-a');
    // The warning says what the override covered; it is audited as honored for those risks.
    expect(decision.warnings?.join('\n')).toContain('node-local-volume overridden by node worker-1');
    expect(decision.auditAnnotations?.['overridden-checks']).toBe('node-local-volume');
  });

  it('a tag override skips only the tagged findings', () => {
    const harvester = { where: 'annotation harvesterhci.io/skipSingleReplicaDetachedVol', checks: [], tags: [{ check: 'single-replica' as const, tag: 'detached' }], reason: '' };
    const detachedOnly = judge(base({ findings: [finding('single-replica', 'pvc-d', ['detached'])], overrides: [harvester] }));
    expect(detachedOnly.allowed).toBe(true);
    const withAttached = judge(
      base({ findings: [finding('single-replica', 'pvc-d', ['detached']), finding('single-replica', 'pvc-a', ['attached'])], overrides: [harvester] }),
    );
    expect(withAttached.allowed).toBe(false);
    expect(withAttached.status!.message).toContain('pvc-a');
    expect(withAttached.status!.message).not.toContain('pvc-d');
  });
});

describe('combinedOverrideAudit', () => {
  const stored = (where: string, by: string, why: string) =>
    skipFrom(where, { 'volume-guard.io/skip': 'last-replica-on-node', 'volume-guard.io/skip-by': by, 'volume-guard.io/skip-reason': why })!;

  it('records every part\'s override, once per source, its checks joined and objects summed', () => {
    const shared = stored('MachineDeployment capi/md-0', 'carol', 'retired');
    const part = (node: string, by: string, ...names: string[]) =>
      judge(base({ findings: names.map((name) => finding('last-replica-on-node', name)), overrides: [stored(`node ${node}`, by, `moved ${node}`), shared] }));
    const ownOnly = judge(base({ findings: [finding('single-replica', 'pvc-c'), finding('single-replica', 'pvc-d')], overrides: [{ ...shared, checks: ['single-replica'] }] }));
    const combined = combinedOverrideAudit([part('w1', 'alice', 'pvc-a'), part('w2', 'bob', 'pvc-b'), ownOnly]);
    expect(combined.auditAnnotations).toEqual({
      'overridden-checks': 'last-replica-on-node,single-replica',
      'override-source': 'node w1; node w2; MachineDeployment capi/md-0',
      'override-reason': 'moved w1; moved w2; retired',
      'override-writer': 'alice,bob,carol',
      'overridden-objects': '4',
    });
    expect(combined.honored?.find((h) => h.where === 'MachineDeployment capi/md-0')).toMatchObject({ checks: ['single-replica'], count: 2 });
  });

  it("keeps the parts' other annotations, and records nothing when nothing was honored", () => {
    expect(combinedOverrideAudit([{ allowed: true, auditAnnotations: { 'restart-eviction': 'db-0' } }, { allowed: true }])).toEqual({ auditAnnotations: { 'restart-eviction': 'db-0' } });
    expect(combinedOverrideAudit([{ allowed: true }])).toEqual({});
  });
});

describe('judge with limited findings', () => {
  it('counts the unlisted findings from totals', () => {
    const findings = Array.from({ length: 11 }, (_, i) => finding('single-replica', `pvc-${i}`));
    const decision = judge(base({ findings, totals: { 'single-replica': 20_000 } }));
    expect(decision.status!.message).toContain('20000 Longhorn volumes have a single copy');
    expect(decision.status!.message).toContain('and 19990 more');
  });
  it('a whole-check override accepts the unlisted findings too', () => {
    const findings = Array.from({ length: 11 }, (_, i) => finding('single-replica', `pvc-${i}`));
    const source = skipFrom('upgrade x', { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-by': 'admin' });
    const decision = judge(base({ findings, totals: { 'single-replica': 500 }, overrides: [source!] }));
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations?.['overridden-objects']).toBe('500');
  });
});

describe("an override hint's <pvcs>: a command kubectl runs as printed", () => {
  const claim = (name: string): Finding => ({
    check: 'pvc-delete',
    severity: 'critical',
    object: { kind: 'PersistentVolumeClaim', namespace: 'shop', name },
    reason: 'bound to a PV whose reclaim policy Delete destroys the volume and its data',
    tags: [],
  });
  const hint = (placeholder: string, names: readonly string[], total = names.length): string => {
    const decision = judge({
      action: 'deletion of StatefulSet shop/web',
      findings: names.map(claim),
      totals: { 'pvc-delete': total },
      modes: modes(),
      overrides: [],
      writers,
      overrideHint: `kubectl annotate pvc ${placeholder} -n shop volume-guard.io/delete=true`,
    });
    return decision.status!.message.split('\n').find((line) => line.includes('kubectl annotate pvc'))!;
  };
  const names = (count: number, length = 10) => Array.from({ length: count }, (_, i) => `${'d'.repeat(length - 3)}-${String(i).padStart(2, '0')}`);

  it('names every PVC refused, past three (no `...` passed to kubectl as a name)', () => {
    const line = hint('<pvcs>', names(14));
    expect(line).toContain(`kubectl annotate pvc ${names(14).join(' ')} -n shop`);
    expect(line).not.toContain('...');
  });

  it('names too long for a line: `--all` where every PVC of the namespace goes, else a placeholder', () => {
    expect(hint('<pvcs|--all>', names(10, 100))).toContain('kubectl annotate pvc --all -n shop');
    expect(hint('<pvcs>', names(10, 100))).toContain('kubectl annotate pvc <name> -n shop');
    expect(hint('<pvcs|--all>', names(3))).toContain(`kubectl annotate pvc ${names(3).join(' ')} -n shop`);
  });

  it('some refused PVCs not at hand: never a command naming only some of them', () => {
    expect(hint('<pvcs>', names(3), 5)).toContain('kubectl annotate pvc <name> -n shop');
  });
});
