// Denial texts as an operator reads them: laid out in lines, advice that works in the situation, the fate of
// every object (lost, stranded, adopted), plurals, and warnings never cut mid-word.
import { describe, expect, it } from 'vitest';
import { annotateHint, judge, type Judgement } from '../../../src/admission/decide.ts';
import {
  AUDITED_CLUSTER_WIDE,
  checkLines,
  denialMessage,
  fitWarnings,
  MAX_DENIAL_LENGTH,
  MAX_LINE_LENGTH,
  MAX_LISTED_PER_CHECK,
  MAX_WARNING_LENGTH,
  denialObjectLine,
  MAX_WARNINGS_BYTES,
  warningLines,
  wrap,
  type ListingProbe,
  type Situation,
} from '../../../src/admission/messages.ts';
import { didYouMean, overrideWriteWarnings } from '../../../src/admission/override-feedback.ts';
import { PLANS, planChecks } from '../../../src/admission/plans.ts';
import { WITHHELD_TAG, withheldReason } from '../../../src/admission/withheld.ts';
import type { CheckMode } from '../../../src/config.ts';
import { CHECK_IDS, type CheckId, type Finding } from '../../../src/checks/types.ts';

const writers = { allowedGroups: ['system:masters'], allowedUsers: [] };
const modes = Object.fromEntries(CHECK_IDS.map((id) => [id, 'enforce'])) as Record<CheckId, CheckMode>;
const cordon: Situation = { kind: 'cordon', node: 'worker-1' };

function volume(check: CheckId, name: string, extra: Partial<Finding> = {}): Finding {
  return {
    check,
    severity: 'critical',
    object: { kind: 'Volume', namespace: 'longhorn-system', name, node: 'worker-1' },
    reason: 'only healthy replica is on node worker-1',
    tags: ['attached'],
    related: [{ kind: 'PersistentVolumeClaim', namespace: 'app', name: `data-${name}` }],
    ...extra,
  };
}

function deny(findings: Finding[], situation: Situation, partial: Partial<Judgement> = {}): string {
  const decision = judge({
    action: 'operation',
    findings,
    modes,
    overrides: [],
    writers,
    overrideHint: annotateHint('node', 'worker-1'),
    situation,
    ...partial,
  });
  expect(decision.allowed).toBe(false);
  return decision.status!.message;
}

describe('denial layout', () => {
  it("wraps a withheld count line like an object's: continuations indented by 4, within the width", () => {
    // A long node name (up to 253 characters): its line wraps over three.
    const node = `w-${'x'.repeat(161)}`;
    const other = (i: number): Finding => ({
      check: 'last-replica-on-node',
      severity: 'critical',
      object: { kind: 'Volume', name: 'of another namespace', node },
      reason: withheldReason(`its only healthy copy is on node ${node}`, `volume-guard audit --node ${node}`),
      tags: [WITHHELD_TAG, `n${i}`],
    });
    const lines = checkLines('last-replica-on-node', [other(0), other(1), other(2)], 3, { kind: 'cordon', node }).join('\n').split('\n');
    const at = lines.findIndex((line) => line.startsWith('  3 volumes of other namespaces, each: '));
    expect(at).toBeGreaterThan(0);
    const counted = lines.slice(at, at + 3);
    expect(lines[at + 3]).toMatch(/^ {2}Fix: /);
    for (const line of counted.slice(1)) expect(line).toMatch(/^ {4}\S/);
    for (const line of counted) expect(line.length, line).toBeLessThanOrEqual(MAX_LINE_LENGTH + 2);
  });

  it('puts the verdict, each check, its objects, the fix and the override on lines of their own', () => {
    const findings = Array.from({ length: 14 }, (_, i) => volume('last-replica-on-node', `pvc-${i}`));
    const message = deny(findings, cordon, { action: 'cordon of node worker-1' });
    const lines = message.split('\n');
    expect(lines[0]).toBe('volume-guard refused the cordon of node worker-1: 14 risks of data loss.');
    expect(lines).toContain('[last-replica-on-node] 14 Longhorn volumes have their only healthy replica on worker-1');
    expect(lines).toContain('  Volume longhorn-system/pvc-0 (PVC app/data-pvc-0): only healthy replica is on node worker-1');
    expect(lines.filter((line) => line.startsWith('  Volume '))).toHaveLength(10);
    expect(lines).toContain('  and 4 more; all of them: volume-guard audit --node worker-1');
    expect(lines.some((line) => line.startsWith('  Fix: '))).toBe(true);
    const override = lines.indexOf('Override (an authorized admin, after checking):');
    expect(lines[override + 1]).toBe(
      '  kubectl annotate node worker-1 volume-guard.io/skip=last-replica-on-node volume-guard.io/skip-reason="<why>" volume-guard.io/skip-by="<you>"',
    );
  });

  it('says what would become of the objects and why (a cordon is not a loss by itself)', () => {
    const message = deny([volume('last-replica-on-node', 'pvc-a')], cordon);
    expect(message).toContain('The cordon itself loses nothing; the drain or maintenance that follows would.');
    expect(message).toContain('lost if worker-1 does not come back or its disks are wiped');
  });

  it('uses singular and plural right', () => {
    const one = deny([volume('last-replica-on-node', 'pvc-a')], cordon, { action: 'cordon of node worker-1' });
    expect(one).toContain(': 1 risk of data loss.');
    expect(one).toContain('1 Longhorn volume has its only healthy replica on worker-1');
    const two = deny([volume('last-replica-on-node', 'a'), volume('last-replica-on-node', 'b')], cordon);
    expect(two).toContain('2 Longhorn volumes have their only healthy replica on worker-1');
  });

  it('stays within its length budget with every check full of long names', () => {
    const long = 'x'.repeat(60);
    const findings = CHECK_IDS.flatMap((check) =>
      Array.from({ length: 11 }, (_, i) => volume(check, `${long}-${i}`, { reason: `${long} reason ${long}` })),
    );
    const totals = Object.fromEntries(CHECK_IDS.map((id) => [id, 5000])) as Record<CheckId, number>;
    const message = deny(findings, cordon, { totals });
    expect(message.length).toBeLessThanOrEqual(MAX_DENIAL_LENGTH);
    for (const check of CHECK_IDS) expect(message).toContain(`[${check}]`);
    expect(message).toContain('all of them: volume-guard audit --node worker-1');
  });
});

describe('how many objects a long denial lists', () => {
  // The listings tried, longest first (denialMessage steps down by 3, then by 1).
  const candidates = [10, 7, 4, 3, 2, 1, 0];
  const moreLength = (total: number, listed: number) => (total > listed ? `  and ${total - listed} more; all of them: volume-guard audit --node worker-1`.length + 1 : 0);

  it('lists the longest listing that fits, and wording the next longer one would not fit', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const checks: CheckId[] = ['last-replica-on-node', 'single-replica', 'volume-health', 'node-local-volume'];
    for (let round = 0; round < 60; round++) {
      const groups = checks.slice(0, 1 + random(checks.length)).map((check) => {
        const count = 1 + random(12);
        const findings = Array.from({ length: count }, (_, i) =>
          volume(check, `pvc-${round}-${i}-${'n'.repeat(random(40))}`, { reason: `reason ${'r'.repeat(random(120))}` }),
        );
        return { check, findings: findings.slice(0, MAX_LISTED_PER_CHECK), total: count + random(3) * random(500) };
      });
      const totals = Object.fromEntries(groups.map((group) => [group.check, group.total])) as Record<CheckId, number>;
      const message = deny(groups.flatMap((group) => group.findings), cordon, { totals });
      expect(message.length).toBeLessThanOrEqual(MAX_DENIAL_LENGTH);
      const lines = new Set(message.split('\n'));
      const listed = groups.map((group) => group.findings.filter((finding) => lines.has(`  ${denialObjectLine(finding, cordon)}`) || message.includes(`\n  ${denialObjectLine(finding, cordon)}\n`)).length);
      // One listing for all checks: each lists that many objects, or all it has.
      const fits = candidates.filter((c) => groups.every((group, i) => listed[i] === Math.min(c, group.findings.length))).pop();
      expect(fits).toBeDefined();
      // The next longer listing: its length, worked out from the lines it would add and the "more" lines it changes.
      const next = candidates.filter((c) => c > fits!).pop();
      if (next === undefined || groups.every((group, i) => listed[i] === group.findings.length)) continue;
      let longer = message.length;
      groups.forEach((group, i) => {
        const shown = Math.min(next, group.findings.length);
        for (let index = listed[i]!; index < shown; index++) longer += denialObjectLine(group.findings[index]!, cordon).length + 3;
        longer += moreLength(group.total, shown) - moreLength(group.total, listed[i]!);
      });
      expect(longer).toBeGreaterThan(MAX_DENIAL_LENGTH);
    }
  });

  it('words only about as many object lines as it lists', () => {
    const long = 'y'.repeat(70);
    const worded = new Set<string>();
    const findings = (['last-replica-on-node', 'single-replica', 'volume-health', 'node-local-volume'] as CheckId[]).flatMap((check) =>
      Array.from({ length: MAX_LISTED_PER_CHECK }, (_, i) => {
        const finding = volume(check, `${check}-${long}-${i}`);
        return Object.defineProperty(finding, 'reason', {
          get: () => {
            worded.add(`${check}-${i}`);
            return `reason ${long}`;
          },
        });
      }),
    );
    const message = deny(findings, cordon);
    const listed = message.split('\n').filter((line) => line.startsWith('  Volume ')).length;
    expect(listed).toBeGreaterThan(0);
    expect(listed).toBeLessThan(findings.length);
    // A longer listing drops the "and N more" lines, so trying it may word a row or two past the one that fits;
    // eagerly, all 40 would be worded.
    expect(worded.size).toBeLessThan(findings.length / 2);
  });
});

describe('advice that works for the situation', () => {
  it('a refused CREATE says to add the annotations to the manifest, not to annotate an object that does not exist', () => {
    const situation: Situation = {
      kind: 'upgrade',
      operation: 'CREATE',
      resource: 'upgrades.harvesterhci.io',
      kindName: 'Upgrade',
      name: 'hvst-upgrade-1',
      namespace: 'harvester-system',
    };
    const message = deny([volume('single-replica', 'pvc-a', { reason: 'numberOfReplicas is 1' })], situation);
    expect(message).not.toContain('kubectl annotate');
    expect(message).toContain("add to the Upgrade's metadata.annotations in its manifest, then create it again:");
    expect(message).toContain('    volume-guard.io/skip: "single-replica"');
    expect(message.replace(/\s+/g, ' ')).toContain('then create the Upgrade again.');
    expect(message).toContain('1 Longhorn volume has a single copy of its data');
  });

  it("a Harvester Upgrade refused only for detached volumes also offers Harvester's own annotation", () => {
    const situation: Situation = {
      kind: 'upgrade',
      operation: 'CREATE',
      resource: 'upgrades.harvesterhci.io',
      kindName: 'Upgrade',
      name: 'u',
      namespace: 'harvester-system',
    };
    const detached = deny([volume('single-replica', 'd', { tags: ['detached'] })], situation);
    expect(detached).toContain('or, as Harvester does, skip only detached volumes: harvesterhci.io/skipSingleReplicaDetachedVol: "true"');
    const attached = deny([volume('single-replica', 'a', { tags: ['attached'] })], situation);
    expect(attached).not.toContain('skipSingleReplicaDetachedVol');
  });

  it('a refused change of an existing object names its fully qualified resource', () => {
    const situation: Situation = {
      kind: 'upgrade',
      operation: 'UPDATE',
      resource: 'machinedeployments.cluster.x-k8s.io',
      kindName: 'MachineDeployment',
      name: 'md-0',
      namespace: 'capi',
    };
    const message = deny([volume('volume-health', 'pvc-a', { reason: 'robustness is degraded' })], situation);
    expect(message).toContain('kubectl annotate machinedeployments.cluster.x-k8s.io md-0 -n capi volume-guard.io/skip=volume-health');
  });

  it('numberOfReplicas 1: raise the replica count; an effective single replica: let Longhorn rebuild', () => {
    const configured = deny([volume('single-replica', 'a', { tags: ['detached'] })], cordon);
    expect(configured).toMatch(/raise numberOfReplicas to 2 or more/);
    expect(configured).toContain('Longhorn makes no second copy while it is 1');
    const effective = deny([volume('single-replica', 'b', { tags: ['attached', 'effective'] })], cordon);
    expect(effective).not.toMatch(/raise numberOfReplicas/);
    expect(effective).toContain('wait until Longhorn has rebuilt the missing replicas');
  });

  it('a node-local volume is never advised away by deleting the PV and its claim', () => {
    const finding: Finding = {
      check: 'node-local-volume',
      severity: 'critical',
      object: { kind: 'PersistentVolume', name: 'pv-mysql', node: 'worker-1' },
      reason: 'local PV keeps the data of claim shop/mysql-data on node worker-1 only, mounted by 1 pod',
      tags: ['in-use', 'local'],
      related: [
        { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'mysql-data' },
        { kind: 'Pod', namespace: 'shop', name: 'mysql-0', node: 'worker-1' },
      ],
    };
    const message = deny([finding], cordon);
    expect(message).not.toMatch(/delete the PV/i);
    expect(message).toContain('PV pv-mysql (PVC shop/mysql-data, Pod shop/mysql-0)');
    expect(message).toContain('stranded on worker-1: pods using it can run nowhere else; lost if worker-1 is wiped or replaced');
    expect(message).toMatch(/if worker-1 will be wiped or replaced, back the data up/);
    expect(message).toContain('[node-local-volume] 1 object keeps data only on worker-1');
    // A pod writing to inline hostPath loses its data when it moves: lost, not stranded.
    const pod: Finding = {
      check: 'node-local-volume',
      severity: 'critical',
      object: { kind: 'Pod', namespace: 'shop', name: 'cache-7d9', node: 'worker-1' },
      reason: 'writes to hostPath /data/cache; its ReplicaSet would recreate it on another node without that data',
      tags: ['in-use', 'inline-hostPath'],
    };
    const both = deny([finding, pod], cordon);
    expect(both).toContain('lost to a pod that moves: it comes back elsewhere without it');
    expect(both.replace(/\s+/g, ' ')).toContain('(a pod writing to hostPath or emptyDir: keep its data in a PersistentVolume)');
  });

  it('tells a faulted volume to be salvaged (no healthy replica to rebuild from), a degraded one to wait', () => {
    const faulted = volume('volume-health', 'pvc-f', { reason: 'robustness is faulted', tags: ['faulted', 'detached'] });
    const degraded = volume('volume-health', 'pvc-g', { reason: 'robustness is degraded', tags: ['degraded', 'attached'] });
    const alone = deny([faulted], cordon).replace(/\s+/g, ' ');
    expect(alone).toContain('salvage it (Longhorn UI: Volume > Salvage;');
    expect(alone).toContain('no healthy replica left');
    expect(alone).not.toContain('wait until Longhorn has rebuilt');
    const both = deny([faulted, degraded], cordon).replace(/\s+/g, ' ');
    expect(both).toContain('salvage it');
    expect(both).toContain('wait until Longhorn has rebuilt the replicas');
    const degradedOnly = deny([degraded], cordon).replace(/\s+/g, ' ');
    expect(degradedOnly).not.toContain('salvage');
  });

  it("names the replica on this node that makes a volume whose healthy copy is elsewhere a risk", () => {
    const finding = volume('volume-health', 'pvc-d', {
      reason: 'replica pvc-d-r-2 is failed',
      related: [
        { kind: 'PersistentVolumeClaim', namespace: 'app', name: 'data-d' },
        { kind: 'Replica', namespace: 'longhorn-system', name: 'pvc-d-r-1', node: 'worker-2' },
        { kind: 'Replica', namespace: 'longhorn-system', name: 'pvc-d-r-2', node: 'worker-1' },
      ],
    });
    const message = deny([finding], cordon);
    expect(message).toContain('Volume longhorn-system/pvc-d (Replica longhorn-system/pvc-d-r-2 on worker-1, PVC app/data-d)');
    expect(message).not.toContain('pvc-d-r-1');
  });

  it('Helm: PVCs a new StatefulSet would claim are adopted, those of a dropped StatefulSet stranded', () => {
    const pvc = (name: string, tags: string[], reason: string): Finding => ({
      check: 'orphan-pvc',
      severity: 'critical',
      object: { kind: 'PersistentVolumeClaim', namespace: 'shop', name },
      reason,
      tags,
    });
    const upgrade: Situation = { kind: 'helm', operation: 'upgrade', namespace: 'shop', release: 'shop' };
    const message = deny(
      [
        pvc('data-db-0', ['statefulset-claim'], 'left by an earlier release; the StatefulSet db would re-attach its old data'),
        pvc('data-cache-0', ['dropped-statefulset'], 'this upgrade drops StatefulSet cache; its PVC and data would be left behind'),
      ],
      upgrade,
    );
    expect(message).toContain('  adopted: PVC shop/data-db-0: left by an earlier release');
    expect(message).toContain('  stranded: PVC shop/data-cache-0: this upgrade drops StatefulSet cache');
    expect(message).toContain('1 adopted with its old data by this upgrade; 1 stranded');
    expect(message).toContain('[orphan-pvc] 2 existing PVCs would be adopted or left behind with old data');
    expect(message.replace(/\s+/g, ' ')).toContain('delete those PVCs after the upgrade');
    // A rollback strands them (its revision drops the StatefulSet): the fix says so, not "after the upgrade".
    const rollback = deny([pvc('data-cache-0', ['dropped-statefulset'], 'this rollback drops StatefulSet cache')], { ...upgrade, operation: 'rollback' });
    expect(rollback.replace(/\s+/g, ' ')).toContain('delete those PVCs after the rollback');
    expect(rollback.replace(/\s+/g, ' ')).toContain('roll back to a revision that still declares the StatefulSet');
    const install: Situation = { kind: 'helm', operation: 'install', namespace: 'shop', release: 'shop' };
    const longPv = 'pv-' + 'x'.repeat(120);
    const adopted = deny(
      [{ ...pvc('data-db-0', ['statefulset-claim'], 'left by an earlier release; the StatefulSet db would re-attach its old data'), related: [{ kind: 'PersistentVolume', name: longPv }] }],
      install,
    );
    expect(adopted).toContain('[orphan-pvc] 1 existing PVC would be adopted with old data');
    // The reason stays whole; a related object too long for the line gives way.
    expect(adopted).toContain('  adopted: PVC shop/data-db-0: left by an earlier release; the StatefulSet db would re-attach its old data');
    expect(message).toContain('helm upgrade ... --labels volume-guard.io/skip=orphan-pvc');
    expect(message).toContain('kubectl delete pvc -n shop data-db-0 data-cache-0');
    // The approval counts only with its writer: the advice writes both, or the override guard refuses it.
    expect(adopted.replace(/\s+/g, ' ')).toContain('volume-guard.io/reuse=true volume-guard.io/skip-by="<you>"');
  });

  it('counts adopted and stranded PVCs in plural-correct words', () => {
    const pvc = (name: string, tags: string[], reason: string): Finding => ({
      check: 'orphan-pvc',
      severity: 'critical',
      object: { kind: 'PersistentVolumeClaim', namespace: 'shop', name },
      reason,
      tags,
    });
    const adopted = (name: string) => pvc(name, ['statefulset-claim'], 'exists with no owner; the StatefulSet db would re-attach its old data');
    const stranded = (name: string) => pvc(name, ['dropped-statefulset'], 'this upgrade drops StatefulSet cache; its PVC and data would be left behind');
    const upgrade: Situation = { kind: 'helm', operation: 'upgrade', namespace: 'shop', release: 'shop' };
    const many = deny([adopted('data-db-0'), adopted('data-db-1'), stranded('data-cache-0'), stranded('data-cache-1')], upgrade);
    expect(many).toContain('\n  2 adopted with their old data by this upgrade; 2 stranded: left with their data and nothing using them\n');
    const one = deny([adopted('data-db-0'), stranded('data-cache-0')], upgrade);
    expect(one).toContain('\n  1 adopted with its old data by this upgrade; 1 stranded: left with its data and nothing using it\n');
    const install = deny([adopted('data-db-0'), adopted('data-db-1')], { ...upgrade, operation: 'install' });
    expect(install).toContain('\n  2 adopted with their old data by the new release\n');
  });

  it('advises helm upgrade --install after a refused install --replace (Helm already superseded the last revision)', () => {
    const finding: Finding = {
      check: 'orphan-pvc',
      severity: 'critical',
      object: { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data-db-0' },
      reason: 'left by an earlier release; the StatefulSet db would re-attach its old data',
      tags: ['statefulset-claim'],
    };
    const words = (situation: Situation): string => deny([finding], situation).replace(/\s+/g, ' ');
    const replace = words({ kind: 'helm', operation: 'install', namespace: 'shop', release: 'shop', revision: 3 });
    expect(replace).toContain('then run helm upgrade --install (not install --replace).');
    expect(replace).toContain('helm upgrade --install ... --labels volume-guard.io/skip=orphan-pvc,volume-guard.io/skip-revision=3');
    expect(replace).not.toContain('helm install ...');
    // A first install: helm install again, and no revision label (an install's labels are its own).
    const first = words({ kind: 'helm', operation: 'install', namespace: 'shop', release: 'shop', revision: 1 });
    expect(first).toContain('then run helm again.');
    expect(first.endsWith('helm install ... --labels volume-guard.io/skip=orphan-pvc')).toBe(true);
  });
});

describe('warnings', () => {
  it('wrap at word boundaries within the limit, losing no word', () => {
    const text = `volume-guard: Node worker-1 annotation: unknown check "last-replica" in volume-guard.io/skip, ignored; ${'word '.repeat(40)}end`;
    const lines = wrap(text);
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(MAX_WARNING_LENGTH);
    expect(lines.map((line) => line.trim()).join(' ')).toBe(text);
  });

  it('stay under the API server total, counting what was left out', () => {
    const many = Array.from({ length: 200 }, (_, i) => `volume-guard: warning number ${i} ${'x'.repeat(60)}`);
    const fitted = fitWarnings(many);
    expect(fitted.reduce((n, line) => n + Buffer.byteLength(line) + 1, 0)).toBeLessThanOrEqual(MAX_WARNINGS_BYTES + 80);
    expect(fitted.at(-1)).toMatch(/^volume-guard: \d+ more warning lines not shown$/);
  });
});

describe('warnings naming several objects for the same reason', () => {
  const restored = (name: string, statefulSet = 'db'): Finding => ({
    check: 'orphan-pvc',
    severity: 'warning',
    object: { kind: 'PersistentVolumeClaim', namespace: 'shop', name },
    reason: `this rollback restores StatefulSet ${statefulSet}, which re-attaches this release's earlier data`,
    tags: ['statefulset-claim'],
    related: [
      { kind: 'PersistentVolume', name: `pv-${name}` },
      { kind: 'StatefulSet', namespace: 'shop', name: statefulSet },
    ],
  });
  const rollback: Situation = { kind: 'helm', operation: 'rollback', namespace: 'shop', release: 'db' };

  it('read whole: a repeated reason is said once, the others say so (no continuation dropped as a duplicate)', () => {
    const findings = Array.from({ length: 5 }, (_, i) => restored(`data-db-${i}`));
    const lines = fitWarnings(warningLines('orphan-pvc', findings, 5, rollback));
    expect(lines).toEqual([
      'volume-guard [orphan-pvc] 5 existing PVCs would be re-attached',
      '- adopted: PVC shop/data-db-0 (PV pv-data-db-0, StatefulSet shop/db): this rollback restores StatefulSet db, which',
      "  re-attaches this release's earlier data",
      ...[1, 2, 3, 4].map((i) => `- adopted: PVC shop/data-db-${i} (PV pv-data-db-${i}, StatefulSet shop/db): same reason as above`),
    ]);
  });

  it('a different reason whose continuation would repeat an earlier line is said in one line, without related objects', () => {
    const lines = fitWarnings(warningLines('orphan-pvc', [restored('data-a-0', 'a'), restored('data-b-0', 'b')], 2, rollback));
    expect(lines.slice(1, 3)).toEqual([
      '- adopted: PVC shop/data-a-0 (PV pv-data-a-0, StatefulSet shop/a): this rollback restores StatefulSet a, which',
      "  re-attaches this release's earlier data",
    ]);
    expect(lines[3]).toBe("- adopted: PVC shop/data-b-0: this rollback restores StatefulSet b, which re-attaches this release's earlier data");
    expect(lines).toHaveLength(4);
  });

  it('"as above" only under an object of the same reason: one further up is named (objects A, B, A)', () => {
    const findings = [restored('data-a-0', 'a'), restored('data-b-0', 'b'), restored('data-a-1', 'a')];
    const lines = fitWarnings(warningLines('orphan-pvc', findings, 3, rollback));
    expect(lines.slice(4)).toEqual(['- adopted: PVC shop/data-a-1 (PV pv-data-a-1, StatefulSet shop/a): same reason as PVC shop/data-a-0']);
    const again = fitWarnings(warningLines('orphan-pvc', [...findings, restored('data-a-2', 'a')], 4, rollback));
    expect(again.at(-1)).toBe('- adopted: PVC shop/data-a-2 (PV pv-data-a-2, StatefulSet shop/a): same reason as above');
  });

  it('never points at a withheld object (it has no name to point at): its own line again', () => {
    const withheld = (name: string, statefulSet: string): Finding => ({ ...restored(name, statefulSet), object: { kind: 'PersistentVolumeClaim', namespace: 'other', name }, tags: ['statefulset-claim', 'withheld'] });
    const findings = [withheld('x-0', 'a'), restored('data-b-0', 'b'), withheld('x-1', 'a')];
    const lines = fitWarnings(warningLines('orphan-pvc', findings, 3, rollback)).join('\n');
    expect(lines).not.toContain('same reason as PVC other/x-0');
  });
});

describe('"and N more" points only to a command that lists them', () => {
  const claim = (name: string): Finding => ({
    check: 'pvc-delete',
    severity: 'critical',
    object: { kind: 'PersistentVolumeClaim', namespace: 'shop', name },
    reason: 'bound to PV pv-x, reclaim policy Delete destroys the volume and its data',
    tags: [],
  });
  const claims = Array.from({ length: 14 }, (_, i) => claim(`data-web-${i}`));

  it('the audit without a scope runs the upgrade and node plans: exactly their checks', () => {
    const plans = [PLANS.upgrade, PLANS['node-cordon'], PLANS['node-delete']];
    expect(new Set(AUDITED_CLUSTER_WIDE)).toEqual(new Set(plans.flatMap((plan) => planChecks(plan))));
  });

  it('a deletion refused (no situation): the rest of its PVCs named in a denial, counted without a pointer in a warning', () => {
    const denial = denialMessage({ action: 'deletion of namespace shop', groups: [{ check: 'pvc-delete', findings: claims, total: 14 }], override: [] });
    expect(denial).toContain('  and 4 more: shop/data-web-10, shop/data-web-11, shop/data-web-12, shop/data-web-13\n');
    expect(denial).not.toContain('volume-guard audit');
    expect(warningLines('pvc-delete', claims)).toContain('- [pvc-delete] and 4 more');
  });
});

describe('override feedback when written', () => {
  it.each([
    ['last-replica', 'last-replica-on-node'],
    ['single-replicas', 'single-replica'],
    ['singel-replica', 'single-replica'],
    ['orphan', 'orphan-pvc'],
    ['node-local', 'node-local-volume'],
    ['volume_health', 'volume-health'],
    ['banana', undefined],
  ])('did you mean: %s', (entry, expected) => {
    expect(didYouMean(entry)).toBe(expected);
  });

  it('warns about unknown ids with a suggestion, an empty value, a skip without reason, a bad reuse value', () => {
    const warnings = overrideWriteWarnings('Node worker-1', { annotations: { 'volume-guard.io/skip': 'last-replica,orphan-pvc' } });
    expect(warnings).toEqual([
      'volume-guard: unknown check "last-replica" in volume-guard.io/skip, ignored; did you mean last-replica-on-node?',
      'volume-guard: Node worker-1 annotation volume-guard.io/skip has no volume-guard.io/skip-reason: add why, for the audit trail',
    ].flatMap((line) => wrap(line)));
    expect(warnings.join(' ')).toContain('last-replica-on-node');
    for (const line of warnings) expect(line.length).toBeLessThanOrEqual(MAX_WARNING_LENGTH);

    expect(overrideWriteWarnings('Node n', { annotations: { 'volume-guard.io/skip': '' } })[0]).toContain('is empty: it skips no check');
    expect(overrideWriteWarnings('PVC a/b', { annotations: { 'volume-guard.io/reuse': 'yes' } })[0]).toContain('only "true" is honored');
    expect(overrideWriteWarnings('PVC a/b', { annotations: { 'volume-guard.io/delete': 'True' } })[0]).toContain('volume-guard.io/delete="True" has no effect: only "true" is honored');
    expect(overrideWriteWarnings('PVC a/b', { annotations: { 'volume-guard.io/delete': 'true' } })).toEqual([]);
    expect(
      overrideWriteWarnings('Node n', {
        annotations: { 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-reason': 'disk kept, OPS-1' },
      }),
    ).toEqual([]);
  });

  it("checks a namespace's skip-evictions like a skip", () => {
    const evictions = overrideWriteWarnings('Namespace shop', { annotations: { 'volume-guard.io/skip-evictions': 'node-local' } });
    expect(evictions.join(' ')).toContain('unknown check "node-local" in volume-guard.io/skip-evictions');
    expect(evictions.join(' ')).toContain('did you mean node-local-volume?');
    expect(overrideWriteWarnings('Namespace shop', { annotations: { 'volume-guard.io/skip-evictions': ' ' } })[0]).toContain('volume-guard.io/skip-evictions is empty');
    // Only annotations are read for both: a label is not commented on as one.
    expect(overrideWriteWarnings('Namespace shop', { labels: { 'volume-guard.io/skip-evictions': 'x' } })).toEqual([]);
  });

  it('says a key written where volume-guard never reads it has no effect, and checks it no further', () => {
    const node = { group: '', kind: 'Node' };
    const onNode = overrideWriteWarnings('Node n', { annotations: { 'volume-guard.io/skip-evictions': 'node-local-volume' } }, undefined, node);
    expect(onNode).toEqual(wrap('volume-guard: Node n annotation volume-guard.io/skip-evictions has no effect: it is read on namespaces only'));
    expect(overrideWriteWarnings('Node n', { annotations: { 'volume-guard.io/reuse': 'true' } }, undefined, node).join(' ')).toContain('is read on PVCs only');
    const pvc = { group: '', kind: 'PersistentVolumeClaim' };
    expect(overrideWriteWarnings('PersistentVolumeClaim a/b', { annotations: { 'volume-guard.io/skip': 'orphan-pvc' } }, undefined, pvc).join(' ').replace(/\s+/g, ' ')).toContain(
      'volume-guard.io/skip has no effect: it is read on nodes, namespaces and upgrade objects only',
    );
    expect(overrideWriteWarnings('PersistentVolumeClaim a/b', { labels: { 'volume-guard.io/reuse': 'true' } }, undefined, pvc).join(' ').replace(/\s+/g, ' ')).toContain(
      'label volume-guard.io/reuse has no effect: it is read as an annotation',
    );
    // Where it is read: checked as before, and nothing said about where.
    const namespace = { group: '', kind: 'Namespace' };
    const evictions = overrideWriteWarnings('Namespace shop', { annotations: { 'volume-guard.io/skip-evictions': 'node-local' } }, undefined, namespace);
    expect(evictions.join(' ')).toContain('did you mean node-local-volume?');
    expect(evictions.join(' ')).not.toContain('no effect');
    const volume = { group: 'longhorn.io', kind: 'Volume' };
    expect(overrideWriteWarnings('Volume longhorn-system/v', { annotations: { 'volume-guard.io/delete': 'true' } }, undefined, volume)).toEqual([]);
    const plan = { group: 'upgrade.cattle.io', kind: 'Plan' };
    expect(
      overrideWriteWarnings('Plan s/k3s', { annotations: { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-reason': 'x' } }, undefined, plan),
    ).toEqual([]);
  });

  it('does not repeat itself for keys the write leaves unchanged', () => {
    const stored = { annotations: { 'volume-guard.io/skip': 'typo' } };
    expect(overrideWriteWarnings('Node n', { annotations: { ...stored.annotations, 'volume-guard.io/skip-reason': 'x' } }, stored)).toEqual([]);
  });
});

describe('the listing probe: could more findings built change the denial', () => {
  const node = `node-${'n'.repeat(58)}`;
  const situation: Situation = { kind: 'cordon', node };
  const finding = (index: number): Finding => ({
    check: 'volume-health',
    severity: 'critical',
    object: { kind: 'Volume', namespace: 'longhorn-system', name: `v${index}` },
    reason: 'degraded',
    tags: [],
  });
  const listed = (message: string): number => message.split('\n').filter((line) => line.startsWith('  Volume ')).length;
  const deny = (built: number, total: number, padding: number, probe?: ListingProbe) =>
    denialMessage({
      action: `cordon of node ${node}`,
      situation,
      groups: [{ check: 'volume-health', findings: Array.from({ length: built }, (_, index) => finding(index)), total }],
      // `padding` characters more, in lines of at most 100.
      override: ['x', ...Array.from({ length: Math.ceil(padding / 100) }, (_, index) => 'y'.repeat(Math.min(100, padding - index * 100)))],
      ...(probe ? { probe } : {}),
    });

  it('says so when the complete listing would fit where the lines at hand and "and N more" do not', () => {
    // Short object lines, a long "and N more" line (the node's name): ten objects fit where seven and the count
    // of the other three do not.
    let padding = 0;
    while (padding < MAX_DENIAL_LENGTH && !(listed(deny(10, 10, padding)) === 10 && listed(deny(7, 10, padding)) < 7)) padding += 2;
    expect(listed(deny(10, 10, padding))).toBe(10);
    const probe: ListingProbe = { couldListMore: false };
    expect(listed(deny(7, 10, padding, probe))).toBeLessThan(7);
    expect(probe.couldListMore).toBe(true);
  });

  it('says not when no longer listing could fit, or every group holds what it could list', () => {
    let padding = 0;
    while (padding < MAX_DENIAL_LENGTH && listed(deny(10, 500, padding)) > 4) padding += 10;
    const probe: ListingProbe = { couldListMore: true };
    const message = deny(7, 500, padding, probe);
    expect(message).toBe(deny(10, 500, padding));
    expect(probe.couldListMore).toBe(false);
    const complete: ListingProbe = { couldListMore: true };
    deny(10, 500, 0, complete);
    expect(complete.couldListMore).toBe(false);
  });
});

describe("a denial's override lines", () => {
  const finding: Finding = { check: 'orphan-pvc', severity: 'critical', object: { kind: 'PersistentVolumeClaim', namespace: 'db', name: 'data-0' }, reason: 'left behind', tags: [] };
  const deny = (override: string[]) => denialMessage({ action: 'creation of StatefulSet db/db', groups: [{ check: 'orphan-pvc', findings: [finding], total: 1 }], override });

  it('keeps the longest command volume-guard writes whole: three PVC names of 253 characters', () => {
    const names = ['a', 'b', 'c'].map((letter) => letter.repeat(253));
    const command = `data meant to be reused: kubectl annotate pvc -n ${'n'.repeat(63)} ${names.join(' ')} ... volume-guard.io/reuse=true volume-guard.io/skip-by="<you>"`;
    expect(command.length).toBeGreaterThan(400);
    const message = deny([command]);
    expect(message).toContain(`  ${command}`);
    expect(message.length).toBeLessThanOrEqual(MAX_DENIAL_LENGTH);
  });

  it('still bounds a line built from something unforeseen', () => {
    const message = deny([`kubectl annotate node ${'x '.repeat(2000)}`]);
    const line = message.split('\n').at(-1)!;
    expect(line.length).toBeLessThanOrEqual(1203);
    expect(line.endsWith('…')).toBe(true);
  });
});
