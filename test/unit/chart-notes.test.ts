// The chart's NOTES rendered offline through the real helm (findHelm; skipped, saying so, without one). `helm
// template` leaves NOTES.txt out, so a copy of the chart carries it as a named template rendered into a ConfigMap.
// test/e2e/chart-messages.e2e.test.ts reads NOTES from `helm install --dry-run=server` against an API server.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CHART_DIR, findHelm } from '../../scripts/generate-chart.ts';

const helm = findHelm();
const dir = mkdtempSync(join(tmpdir(), 'vg-chart-notes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const chart = join(dir, 'volume-guard');
cpSync(CHART_DIR, chart, { recursive: true });
const notesText = readFileSync(join(CHART_DIR, 'templates', 'NOTES.txt'), 'utf8');
writeFileSync(join(chart, 'templates', '_test-notes.tpl'), `{{- define "test.notes" -}}\n${notesText}\n{{- end -}}\n`);
writeFileSync(
  join(chart, 'templates', 'test-notes.yaml'),
  'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: test-notes\ndata:\n  notes: {{ include "test.notes" . | toJson }}\n',
);

let valuesFiles = 0;

/** The NOTES helm prints after an install with these values. */
function notes(values: object, namespace = 'vg-system'): string {
  const file = join(dir, `values-${valuesFiles++}.json`);
  writeFileSync(file, JSON.stringify(values));
  const args = ['template', 'vg', chart, '--namespace', namespace, '--kube-version', '1.30.0', '-f', file, '--show-only', 'templates/test-notes.yaml'];
  const result = spawnSync(helm ?? 'helm', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return (parseYaml(result.stdout) as { data: { notes: string } }).data.notes;
}

/** The paragraph that starts with `head`, up to the next blank line. */
function paragraph(text: string, head: string): string | undefined {
  return text.split('\n\n').find((part) => part.trimStart().startsWith(head));
}

const NETWORK_POLICY = { enabled: true, apiServerCIDRs: ['10.0.0.0/24'] };
const CLIENT_AUTH = { enabled: true, existingConfigMap: 'webhook-client-ca' };
const HOST_NETWORK = 'WARNING: networkPolicy without clientAuth.';
const OPEN = 'WARNING: neither clientAuth nor networkPolicy is set.';

describe.skipIf(helm === undefined)('chart NOTES: forged admission reviews', () => {
  it('without clientAuth and networkPolicy: any pod reaching the Service can post them; points to clientAuth', () => {
    const text = notes({});
    const warning = paragraph(text, OPEN);
    expect(warning).toBeDefined();
    expect(warning).toContain('Any pod that can reach the Service vg-volume-guard');
    expect(warning).toContain('Set clientAuth');
    expect(text).not.toContain(HOST_NETWORK);
  });

  it('with networkPolicy but no clientAuth: host-network callers on a replica\'s node still can; only clientAuth stops them', () => {
    const text = notes({ networkPolicy: NETWORK_POLICY });
    const warning = paragraph(text, HOST_NETWORK);
    expect(warning).toBeDefined();
    expect(warning).toContain('host-network pods and processes on the nodes running volume-guard');
    expect(warning).toContain('Only clientAuth stops them');
    expect(text).not.toContain(OPEN);
  });

  it('with clientAuth: no warning about forged reviews, with or without networkPolicy', () => {
    for (const values of [{ clientAuth: CLIENT_AUTH }, { clientAuth: CLIENT_AUTH, networkPolicy: NETWORK_POLICY }]) {
      const text = notes(values);
      expect(text).not.toContain(HOST_NETWORK);
      expect(text).not.toContain(OPEN);
      expect(text).not.toContain('forged');
    }
  });

  it('keeps the warnings\' lines short', () => {
    const warnings = [paragraph(notes({}), OPEN), paragraph(notes({ networkPolicy: NETWORK_POLICY }), HOST_NETWORK)];
    for (const warning of warnings) {
      expect(warning).toBeDefined();
      for (const line of (warning ?? '').split('\n')) expect(line.length, line).toBeLessThanOrEqual(115);
    }
  });
});

const MASTERS_ONLY = 'WARNING: only members of system:masters may write overrides.';
const IN_DEFAULT = 'WARNING: installed into the namespace default, which other workloads share.';

describe.skipIf(helm === undefined)('chart NOTES: who may override, and what an outage does', () => {
  it('warns that only system:masters may write overrides, but not with config.overrides.mode=rbac (anyone RBAC allows)', () => {
    expect(notes({})).toContain(MASTERS_ONLY);
    const rbac = notes({ config: { overrides: { mode: 'rbac' } } });
    expect(rbac).not.toContain(MASTERS_ONLY);
    expect(rbac).not.toContain('nobody could override');
    expect(rbac).toContain('anyone RBAC allows');
  });

  it('with failurePolicy Ignore: guarded operations pass unchecked, but override writes are still refused (the overrides webhook is always Fail)', () => {
    const item = paragraph(notes({ webhook: { failurePolicy: 'Ignore' } }), '4. ');
    expect(item).toContain('let through unchecked (failurePolicy Ignore),');
    expect(item).toContain('except override writes: always refused while it is down (the overrides webhook is always Fail).');
    expect(item).not.toContain('Per webhook');
    expect(paragraph(notes({}), '4. ')).not.toContain('except override writes');
  });

  it('says what a drain does to volume-guard: one replica, a PodDisruptionBudget, or none with several replicas', () => {
    expect(paragraph(notes({ replicaCount: 1 }), '4. ')).toContain('One replica, so no PodDisruptionBudget');
    const kept = paragraph(notes({ replicaCount: 3 }), '4. ');
    expect(kept).toContain('A PodDisruptionBudget keeps at least 1 of its 3 pods through drains.');
    expect(kept).not.toContain('No PodDisruptionBudget');
    const none = paragraph(notes({ replicaCount: 2, podDisruptionBudget: { enabled: false } }), '4. ') ?? '';
    expect(none).toContain('drains may evict all 2 pods at once');
    expect(none).toContain('refused until one is Ready again');
    expect(paragraph(notes({ replicaCount: 2, podDisruptionBudget: { enabled: false }, webhook: { failurePolicy: 'Ignore' } }), '4. ')).toContain('unchecked until one is Ready again');
    for (const line of none.split('\n')) expect(line.length, line).toBeLessThanOrEqual(120);
  });

  it('lists webhook.failurePolicyOverrides, whichever the global policy', () => {
    for (const failurePolicy of ['Fail', 'Ignore']) {
      const item = paragraph(notes({ webhook: { failurePolicy, failurePolicyOverrides: { 'owner-delete': 'Ignore', 'node-cordon': 'Fail' } } }), '4. ');
      expect(item).toContain('Per webhook (webhook.failurePolicyOverrides): node-cordon=Fail, owner-delete=Ignore.');
    }
  });
});

describe.skipIf(helm === undefined)("chart NOTES: volume-guard's own namespace", () => {
  it('in a namespace of its own: that namespace is never sent to it, so it should run nothing else', () => {
    const text = notes({});
    const item = paragraph(text, '4. ');
    expect(item).toContain('Helm release records in kube-system, kube-node-lease, vg-system\n');
    expect(item).toContain('(vg-system is its own: run no workloads there, they would not be judged);');
    expect(item).toContain('its own release records in flux-system (where Flux keeps them: config.helm.storageNamespaces);');
    expect(item).toContain('DELETEs of its own objects (by name, with its labels) by automation');
    expect(text).not.toContain(IN_DEFAULT);
    expect(text).not.toContain('which other workloads share');
  });

  it('a Helm storage namespace left out of the other webhooks still has its release records sent', () => {
    const item = paragraph(notes({ webhook: { excludeNamespaces: ['flux-system'] }, config: { helm: { storageNamespaces: ['flux-system'] } } }), '4. ');
    expect(item).toContain("but Helm release records in flux-system are sent (config.helm.storageNamespaces: other namespaces' releases);");
    expect(paragraph(notes({}), '4. ')).not.toContain('are sent (config.helm.storageNamespaces');
  });

  it('in default: its other workloads stay judged, and NOTES say to install it into a namespace of its own', () => {
    const text = notes({}, 'default');
    expect(paragraph(text, '4. ')).toContain('and those of its own pods and release (other pods and releases in default are judged);');
    const warning = paragraph(text, IN_DEFAULT);
    expect(warning).toContain('helm install vg <chart> -n volume-guard --create-namespace');
    for (const line of (warning ?? '').split('\n')) expect(line.length, line).toBeLessThanOrEqual(115);
  });

  it('in a namespace others share (harvester-system): judged like default, with the same warning', () => {
    const text = notes({}, 'harvester-system');
    const item = paragraph(text, '4. ');
    expect(item).toContain('Helm release records in kube-system, kube-node-lease,\n');
    expect(item).toContain('(other pods and releases in harvester-system are judged);');
    const warning = paragraph(text, 'WARNING: installed into the namespace harvester-system, which other workloads share.');
    expect(warning).toContain('helm uninstall vg -n harvester-system');
    for (const line of (warning ?? '').split('\n')) expect(line.length, line).toBeLessThanOrEqual(115);
  });

  it('with webhook.excludeOwnNamespace=false: its namespace is judged, and NOTES say why; no warning', () => {
    const text = notes({ webhook: { excludeOwnNamespace: false } });
    expect(paragraph(text, '4. ')).toContain('(other pods and releases in vg-system are judged: webhook.excludeOwnNamespace=false);');
    expect(text).not.toContain('which other workloads share');
  });
});

describe.skipIf(helm === undefined)('chart NOTES: chart-generated TLS', () => {
  it('renders offline (helm template) and says a render without cluster access mints a new CA: GitOps should use cert-manager', () => {
    const text = notes({ tls: { certManager: { enabled: false } } });
    const item = paragraph(text, 'Rendered without cluster access');
    expect(item).toContain('mints a new CA each time');
    expect(item).toContain('With GitOps use cert-manager, or render once and keep the output.');
    expect(notes({})).not.toContain('Rendered without cluster access');
  });
});
