// `volume-guard audit` must say an override is honored exactly when the webhook honors it, under the same writer
// settings (`overrides`): with allowedGroups and allowedUsers both empty nobody may write one and none counts, so a
// cordon the webhook refuses must not be reported as accepted by the node's skip. A stored skip counts with its
// recorded writer (the override guard judged that user when it was written), in both; except a writer the settings
// could never have allowed (no allowedGroups, not in allowedUsers: written while volume-guard was not installed).
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { buildAuditReport, type AuditInput } from '../../../src/audit/report.ts';
import { lingeringOverrides } from '../../../src/audit/overrides.ts';
import type { AuditReport } from '../../../src/audit/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { CHECK_IDS } from '../../../src/checks/types.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { addNodeWithLocalPvInUse, harvesterUpgrade } from '../../support/fixtures.ts';
import { CLUSTER, GENERATED_AT, goldenModel, UPGRADE_OBJECTS } from './golden-cluster.ts';

const NOBODY = 'not honored: nobody may write overrides (overrides.allowedGroups and allowedUsers are empty)';
const UNLISTED =
  'not honored: its writer "mallory" (volume-guard.io/skip-by) is not in overrides.allowedUsers, so volume-guard did not let ' +
  'it be written; if it is still wanted, one of admin must set it again with volume-guard.io/skip-by=<their user name>, else remove it';

function withWriters(overrides: Partial<Config['overrides']>): Config {
  const base = defaultConfig();
  return { ...base, overrides: { ...base.overrides, ...overrides } };
}

/** node-1 carries `skip`, and a local PV in use by db-0 (a node-local-volume risk at its cordon). */
function nodeWithSkip(skip: Record<string, string>): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  addNodeWithLocalPvInUse(model, skip);
  return model;
}

function nodeAudit(model: ClusterModel, input: Partial<AuditInput> = {}): AuditReport {
  return buildAuditReport({ model, scope: { kind: 'node', node: 'node-1' }, cluster: CLUSTER, generatedAt: GENERATED_AT, ...input });
}

const skipBy = (writer: string) => ({ 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': writer, 'volume-guard.io/skip-reason': 'db-0 backed up' });

describe('audit and webhook agree on which overrides count under the writer settings', () => {
  it.each([
    { name: 'nobody may write overrides', writers: { allowedGroups: [], allowedUsers: [] }, skip: skipBy('admin'), refused: NOBODY },
    { name: 'the default settings', writers: {}, skip: skipBy('admin') },
    { name: 'allowed users only', writers: { allowedGroups: [], allowedUsers: ['admin'] }, skip: skipBy('admin') },
    { name: 'rbac mode with empty lists', writers: { mode: 'rbac' as const, allowedGroups: [], allowedUsers: [] }, skip: skipBy('admin') },
    // Only a user name is recorded, never the groups the guard checked: with groups configured the webhook cannot
    // judge it again.
    { name: 'a recorded writer outside the allowed lists', writers: {}, skip: skipBy('mallory') },
    // Without groups a writer not in allowedUsers never passed the guard (skip-by written while it was not installed).
    { name: 'a recorded writer not in allowedUsers, no groups', writers: { allowedGroups: [], allowedUsers: ['admin'] }, skip: skipBy('mallory'), refused: UNLISTED },
  ])('$name', ({ writers, skip, refused }) => {
    const honored = refused === undefined;
    const config = withWriters(writers);
    const model = nodeWithSkip(skip);
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-1', skip), context(model, { config }));
    expect(decision.allowed).toBe(honored);
    if (refused !== undefined) expect((decision.warnings ?? []).join(' ').replace(/\s+/g, ' ')).toContain(`override on node node-1 ignored: ${refused.replace(/^not honored: /, '')}`);
    const report = nodeAudit(model, { writers: config.overrides });
    const finding = report.findings.find((f) => f.check === 'node-local-volume');
    expect(finding).toBeDefined();
    expect(finding?.overriddenBy).toBe(honored ? 'annotation volume-guard.io/skip on Node node-1' : undefined);
    const listed = report.overrides.find((o) => o.key === 'volume-guard.io/skip');
    expect(listed?.effect).toBe(honored ? 'skips every check' : `${refused}; would skip every check`);
    expect(listed?.checks.length).toBe(honored ? CHECK_IDS.length : 0);
    if (refused !== undefined) {
      // The advice, written under another writer, keeps none of the ignored skip's checks (its `*` would pass all).
      const advice = 'kubectl annotate --overwrite node node-1 volume-guard.io/skip=node-local-volume volume-guard.io/skip-reason=';
      expect(decision.status?.message).toContain(advice);
      expect(finding?.override).toContain(advice);
    }
  });

  it('an audit given no writer settings judges as the default configuration does', () => {
    const model = nodeWithSkip(skipBy('admin'));
    expect(nodeAudit(model)).toEqual(nodeAudit(model, { writers: defaultConfig().overrides }));
    expect(nodeAudit(model).findings.find((f) => f.check === 'node-local-volume')?.overriddenBy).toBeDefined();
  });

  it('with allowedUsers and no groups, skips by an unlisted writer are not honored; a PVC\'s reuse approval stays honored', () => {
    // alice@example.com may write; bob (namespace shop), erin (Longhorn volume vol-static) and carol (PVC) were never
    // allowed. The webhook reads a PVC's reuse approval in the check, without the writer settings: the audit does
    // not call it inert.
    const writers = withWriters({ allowedGroups: [], allowedUsers: ['alice@example.com'] }).overrides;
    const listed = lingeringOverrides(goldenModel(), UPGRADE_OBJECTS, writers);
    const on = (name: string, key: string) => listed.find((o) => o.object.name === name && o.key === key);
    expect(on('node-1', 'volume-guard.io/skip')).toMatchObject({ checks: ['node-local-volume'], effect: 'skips node-local-volume' });
    expect(on('shop', 'volume-guard.io/skip')).toMatchObject({ checks: [] });
    expect(on('shop', 'volume-guard.io/skip')?.effect).toMatch(/^not honored: its writer "bob" \(volume-guard\.io\/skip-by\) is not in overrides\.allowedUsers/);
    expect(on('shop', 'volume-guard.io/skip-evictions')).toMatchObject({ checks: [] });
    expect(on('vol-static', 'volume-guard.io/delete')?.effect).toMatch(/^not honored: its writer "erin"/);
    expect(on('data-devlake-mysql-1', 'volume-guard.io/reuse')).toMatchObject({ checks: ['orphan-pvc'] });
  });

  it("with nobody allowed, approvals and Harvester's annotation are listed as not honored too", () => {
    const writers = withWriters({ allowedGroups: [], allowedUsers: [] }).overrides;
    const model = goldenModel();
    // The golden PVC carries a signed reuse approval; its Upgrade Harvester's skipSingleReplicaDetachedVol.
    const listed = lingeringOverrides(model, UPGRADE_OBJECTS, writers);
    const harvester = listed.find((o) => o.key === 'harvesterhci.io/skipSingleReplicaDetachedVol');
    expect(harvester).toMatchObject({ checks: [], effect: `${NOBODY}; would skip detached single-replica volumes` });
    expect(listed.every((o) => o.checks.length === 0)).toBe(true);
    expect(listed.filter((o) => o.effect.startsWith(NOBODY)).length).toBeGreaterThan(1);
    // A Harvester Upgrade draining node-1 accepts its detached single copy only when someone may write overrides.
    model.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: true, nodeStates: { 'node-1': 'Pre-drained' } }));
    const single = (report: AuditReport) => report.findings.find((f) => f.check === 'single-replica' && f.object.name === 'vol-single');
    expect(single(nodeAudit(model))?.overriddenBy).toContain('Harvester Upgrade harvester-system/hvst-upgrade-1');
    expect(single(nodeAudit(model, { writers }))?.overriddenBy).toBeUndefined();
  });
});
