// The chart explains itself (issue 19.4), through the real helm: without cert-manager the install stops with one
// line (on an API server of its own, where cert-manager was never installed); NOTES tell the truth at one replica and
// warn when only system:masters may write overrides; the optional audit ClusterRole is enough for a user to run
// `volume-guard audit` with it alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR } from '../../scripts/generate-chart.ts';
import { helm, kubectl, paths, tempFile } from '../harness/cluster.ts';
import { OwnApiServer } from '../support/api-server.ts';
import { runAudit } from '../support/cli.ts';
import { must } from '../harness/scenario.ts';

describe('chart: without cert-manager', () => {
  // A second, empty API server (no CRDs at all): a cluster without cert-manager.
  let bare: OwnApiServer | undefined;
  beforeAll(async () => {
    bare = await OwnApiServer.start({ prefix: 'msg-chart-cluster-' });
  }, 150_000);
  afterAll(async () => {
    await bare?.stop();
  });

  it('the default install fails with one line naming the way out, before creating anything', async () => {
    const result = await helm(['install', 'vg', CHART_DIR, '-n', 'volume-guard', '--create-namespace'], { kubeconfig: bare!.kubeconfig });
    expect(result.code).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Error: INSTALLATION FAILED: .*cert-manager not found: install it, or set tls\.certManager\.enabled=false$/);
    expect(result.stderr).not.toContain('no matches for kind');
    const secrets = await kubectl(['get', 'secrets', '-n', 'volume-guard', '-l', 'owner=helm', '-o', 'name'], { kubeconfig: bare!.kubeconfig });
    expect(secrets.stdout.trim()).toBe('');
  });

  it('with tls.certManager.enabled=false the same cluster renders and validates', async () => {
    const result = await helm(
      ['install', 'vg', CHART_DIR, '-n', 'volume-guard', '--create-namespace', '--dry-run=server', '--set', 'tls.certManager.enabled=false'],
      { kubeconfig: bare!.kubeconfig },
    );
    expect(result.code, result.stderr).toBe(0);
  });
});

describe('chart: NOTES', () => {
  async function notes(args: string[]): Promise<string> {
    const result = await must(
      // Chart-generated TLS against the real cluster (server-side dry run): needs no cert-manager CRDs, whichever
      // other test files ran before.
      helm(['install', 'vg-notes', CHART_DIR, '-n', 'default', '--dry-run=server', '--set', 'tls.certManager.enabled=false', ...args]),
      'helm install --dry-run',
    );
    return result.stdout.slice(result.stdout.indexOf('NOTES:'));
  }

  it('tell the truth at one replica: no PodDisruptionBudget, and what that means', async () => {
    const one = await notes(['--set', 'replicaCount=1']);
    expect(one).toContain('(its one pod Ready means the cluster model has synced)');
    expect(one).toContain('One replica, so no PodDisruptionBudget');
    expect(one).not.toContain('both replicas');
    const three = await notes(['--set', 'replicaCount=3']);
    expect(three).toContain('(all 3 replicas Ready means');
    expect(three).toContain('A PodDisruptionBudget keeps at least 1 of its 3 pods through drains.');
  });

  it('warn when only system:masters may write overrides, and not otherwise', async () => {
    expect(await notes([])).toContain('WARNING: only members of system:masters may write overrides.');
    expect(await notes(['--set', 'config.overrides.allowedGroups={platform-admins}'])).not.toContain('WARNING: only members');
  });
});

describe('chart: the read-only ClusterRole for audit users', () => {
  const ROLE = 'msg-audit-role';
  afterAll(async () => {
    await kubectl(['delete', 'clusterrolebinding', 'msg-audit-alice', '--ignore-not-found']);
    await kubectl(['delete', 'clusterrole', ROLE, '--ignore-not-found']);
  });

  it('is off by default, and with it alone a user can run volume-guard audit', async () => {
    const none = await must(helm(['template', 'vg', CHART_DIR, '-n', 'vg']), 'template');
    // Not rendered (the owner-delete webhook still names it among the objects the chart can render, to skip).
    const kinds = parseAllDocuments(none.stdout).map((document) => document.toJS() as { kind?: string; metadata?: { name?: string } } | null);
    expect(kinds.filter((object) => object?.metadata?.name?.endsWith('-audit')).map((object) => object?.kind)).toEqual([]);
    const rendered = await must(
      helm(['template', 'vg', CHART_DIR, '-n', 'vg', '--set', 'rbac.auditRole.create=true', '--show-only', 'templates/audit-clusterrole.yaml']),
      'template the audit role',
    );
    const [role] = parseAllDocuments(rendered.stdout).map((document) => document.toJS() as { metadata: { name: string }; rules: { verbs: string[]; resources: string[] }[] });
    expect(role!.metadata.name).toBe('vg-volume-guard-audit');
    for (const rule of role!.rules) expect(rule.verbs.every((verb) => verb === 'list' || verb === 'watch')).toBe(true);
    expect(role!.rules.flatMap((rule) => rule.resources)).not.toContain('secrets');

    const auditAsAlice = () => runAudit(['--timeout', '20'], { kubeconfig: paths.kubeconfigUser, timeoutMs: 60_000 });
    const before = await auditAsAlice();
    expect(before.code).toBe(2);
    expect(before.stderr).toContain('missing permission');

    role!.metadata.name = ROLE;
    await must(kubectl(['apply', '-f', await tempFile('msg-audit-role.json', JSON.stringify(role))]), 'apply the role');
    await must(kubectl(['create', 'clusterrolebinding', 'msg-audit-alice', `--clusterrole=${ROLE}`, '--user=alice']), 'bind it');
    const after = await auditAsAlice();
    expect([0, 1], after.stderr).toContain(after.code);
    expect(after.stdout).toContain('volume-guard audit of');
  });
});
