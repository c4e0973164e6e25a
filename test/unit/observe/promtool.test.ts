// The alert rules through Prometheus' own promtool (Debian package `prometheus`), when it is installed: `promtool
// check rules` on the rules as the chart renders them, and `promtool test rules` evaluating each alert over
// input series — it fires when the condition holds longer than its `for`, and not before. Without promtool these
// tests are skipped (the PromQL checks of monitoring.test.ts still run).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { renderAlertGroups } from '../../../src/observe/alerts.ts';

function promtool(): string | undefined {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return 'promtool';
  } catch {
    return undefined;
  }
}

const tool = promtool();
const dir = mkdtempSync(join(tmpdir(), 'vg-promtool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const JOB = 'vg-volume-guard';
const NS = 'volume-guard';
const groups = renderAlertGroups({ __VG_JOB__: JOB, __VG_NAMESPACE__: NS, __VG_RISK_FOR__: '6h' });
const rulesFile = join(dir, 'rules.yaml');
writeFileSync(rulesFile, stringify({ groups }));
// promtool compares annotations exactly: timing tests use the rules without them (one test checks them in full).
const timingFile = join(dir, 'rules-no-annotations.yaml');
writeFileSync(timingFile, stringify({ groups: groups.map((group) => ({ ...group, rules: group.rules.map(({ annotations: _annotations, ...rule }) => rule) })) }));

function runTool(args: string[]): { code: number | null; output: string } {
  const result = spawnSync(tool ?? 'promtool', args, { encoding: 'utf8', cwd: dir });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

const target = `job="${JOB}", namespace="${NS}", instance="10.0.0.5:8080", pod="vg-0"`;
/** The pod that replaced it after a restart. */
const restarted = `job="${JOB}", namespace="${NS}", instance="10.0.0.6:8080", pod="vg-1"`;

describe.skipIf(tool === undefined)('promtool (Prometheus 2.x from Debian)', () => {
  it('check rules: the rules as the chart renders them are valid', () => {
    const result = runTool(['check', 'rules', rulesFile]);
    expect(result.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(result.code).toBe(0);
  });

  it('test rules: each alert fires when its condition lasts past its `for`, and not before', () => {
    const tests = {
      rule_files: [timingFile],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            { series: `volume_guard_at_risk_volumes{${target}, check="single-replica"}`, values: '3x480' },
            { series: `volume_guard_at_risk_volumes{${target}, check="orphan-pvc"}`, values: '5x480' },
            { series: `volume_guard_nodes_blocked{${target}, check="last-replica-on-node"}`, values: '0x120 2x480' },
            { series: `volume_guard_orphan_pvcs{job="${JOB}", instance="10.0.0.5:8080", namespace="shop"}`, values: '2x480' },
            { series: `volume_guard_model_age_seconds{${target}, resource="pods"}`, values: '0x10 600x30' },
            { series: `volume_guard_tls_cert_not_after_seconds{${target}}`, values: `${3 * 86400}x480` },
            { series: `volume_guard_admission_requests_total{${target}, target="node-cordon", operation="UPDATE", decision="denied"}`, values: '0+5x480' },
            // Ready until 30m, then stuck unready while still answering scrapes (`up` stays 1).
            { series: `volume_guard_ready{${target}}`, values: '1x30 0x30' },
            { series: `up{${target}}`, values: '1x60' },
          ],
          alert_rule_test: [
            // 3 volumes at risk since t=0: not yet at 5h59m, firing at 6h30m; orphan-pvc is its own alert.
            { eval_time: '5h59m', alertname: 'VolumeGuardVolumesAtRisk', exp_alerts: [] },
            { eval_time: '6h30m', alertname: 'VolumeGuardVolumesAtRisk', exp_alerts: [{ exp_labels: { severity: 'warning', check: 'single-replica' } }] },
            // Blocked from 2h on: firing only after 8h.
            { eval_time: '7h', alertname: 'VolumeGuardNodesBlocked', exp_alerts: [] },
            { eval_time: '8h30m', alertname: 'VolumeGuardNodesBlocked', exp_alerts: [{ exp_labels: { severity: 'warning', check: 'last-replica-on-node' } }] },
            { eval_time: '6h30m', alertname: 'VolumeGuardOrphanedPVCs', exp_alerts: [{ exp_labels: { severity: 'info', namespace: 'shop' } }] },
            // Stale from 10m, `for: 5m`.
            { eval_time: '12m', alertname: 'VolumeGuardModelStale', exp_alerts: [] },
            { eval_time: '20m', alertname: 'VolumeGuardModelStale', exp_alerts: [{ exp_labels: { severity: 'critical', resource: 'pods' } }] },
            { eval_time: '2h', alertname: 'VolumeGuardCertificateExpiring', exp_alerts: [{ exp_labels: { severity: 'warning' } }] },
            // 5 denials a minute: 75 in 15 minutes, over the threshold of 20.
            { eval_time: '30m', alertname: 'VolumeGuardDenialsSpiking', exp_alerts: [{ exp_labels: { severity: 'warning', target: 'node-cordon' } }] },
            // Unready from 30m, `for: 5m`.
            { eval_time: '32m', alertname: 'VolumeGuardWebhookNotReady', exp_alerts: [] },
            { eval_time: '40m', alertname: 'VolumeGuardWebhookNotReady', exp_alerts: [{ exp_labels: { severity: 'critical' } }] },
            { eval_time: '30m', alertname: 'VolumeGuardErrors', exp_alerts: [] },
          ],
        },
        {
          // A restart at 3h: the old pod's series end (stale), the new pod has no risk series until its first list is
          // evaluated at 3h10m. The alerts neither resolve nor start their `for` over; once the new pod reports, its
          // values count at once (fixed meanwhile: resolved).
          interval: '1m',
          input_series: [
            { series: `volume_guard_at_risk_volumes{${target}, check="single-replica"}`, values: '3x180 stale' },
            { series: `volume_guard_nodes_blocked{${target}, check="last-replica-on-node"}`, values: '2x180 stale' },
            { series: `volume_guard_orphan_pvcs{job="${JOB}", instance="10.0.0.5:8080", namespace="shop"}`, values: '2x180 stale' },
            { series: `volume_guard_risk_pending_evaluations{${target}}`, values: '0x180 stale' },
            { series: `volume_guard_at_risk_volumes{${restarted}, check="single-replica"}`, values: `${'_x189 '}3x300` },
            { series: `volume_guard_nodes_blocked{${restarted}, check="last-replica-on-node"}`, values: `${'_x189 '}2x60 0x240` },
            { series: `volume_guard_orphan_pvcs{job="${JOB}", instance="10.0.0.6:8080", namespace="shop"}`, values: `${'_x189 '}2x300` },
            { series: `volume_guard_risk_pending_evaluations{${restarted}}`, values: `${'_x189 '}0x300` },
          ],
          alert_rule_test: [
            // During the gap (3h05m): the last values seen still stand.
            { eval_time: '3h05m', alertname: 'VolumeGuardVolumesAtRisk', exp_alerts: [] },
            // Fires at 6h as if no restart had happened (its clock started at 0).
            { eval_time: '6h01m', alertname: 'VolumeGuardVolumesAtRisk', exp_alerts: [{ exp_labels: { severity: 'warning', check: 'single-replica' } }] },
            { eval_time: '6h01m', alertname: 'VolumeGuardOrphanedPVCs', exp_alerts: [{ exp_labels: { severity: 'info', namespace: 'shop' } }] },
            // Fixed at 4h10m, reported by the new pod: nothing to fire at 6h01m.
            { eval_time: '6h01m', alertname: 'VolumeGuardNodesBlocked', exp_alerts: [] },
          ],
        },
        {
          // The same restart with risks that had been firing: no "resolved" while the new pod lists the cluster.
          interval: '1m',
          input_series: [
            { series: `volume_guard_at_risk_volumes{${target}, check="single-replica"}`, values: '3x420 stale' },
            { series: `volume_guard_risk_pending_evaluations{${target}}`, values: '0x420 stale' },
            { series: `volume_guard_at_risk_volumes{${restarted}, check="single-replica"}`, values: `${'_x429 '}3x60` },
            { series: `volume_guard_risk_pending_evaluations{${restarted}}`, values: `${'_x429 '}0x60` },
          ],
          alert_rule_test: [
            { eval_time: '7h', alertname: 'VolumeGuardVolumesAtRisk', exp_alerts: [{ exp_labels: { severity: 'warning', check: 'single-replica' } }] },
            { eval_time: '7h05m', alertname: 'VolumeGuardVolumesAtRisk', exp_alerts: [{ exp_labels: { severity: 'warning', check: 'single-replica' } }] },
            { eval_time: '7h15m', alertname: 'VolumeGuardVolumesAtRisk', exp_alerts: [{ exp_labels: { severity: 'warning', check: 'single-replica' } }] },
          ],
        },
        {
          // A pod that never gets its risk series (never synced) vouches for old values no longer than the gap.
          interval: '1m',
          input_series: [
            { series: `volume_guard_at_risk_volumes{${target}, check="single-replica"}`, values: '3x420 stale' },
            { series: `volume_guard_risk_pending_evaluations{${target}}`, values: '0x420 stale' },
          ],
          alert_rule_test: [
            { eval_time: '7h10m', alertname: 'VolumeGuardVolumesAtRisk', exp_alerts: [{ exp_labels: { severity: 'warning', check: 'single-replica' } }] },
            { eval_time: '7h30m', alertname: 'VolumeGuardVolumesAtRisk', exp_alerts: [] },
          ],
        },
        {
          // Nothing scraped at all: the webhook-down alert still fires (absent series).
          interval: '1m',
          input_series: [{ series: 'up{job="something-else"}', values: '1x20' }],
          alert_rule_test: [{ eval_time: '10m', alertname: 'VolumeGuardWebhookNotReady', exp_alerts: [{ exp_labels: { severity: 'critical' } }] }],
        },
        {
          // Two pods, one stuck unready: the Service still has a ready endpoint, no alert.
          interval: '1m',
          input_series: [
            { series: `volume_guard_ready{${target}}`, values: '0x20' },
            { series: `volume_guard_ready{job="${JOB}", namespace="${NS}", instance="10.0.0.6:8080", pod="vg-1"}`, values: '1x20' },
          ],
          alert_rule_test: [{ eval_time: '15m', alertname: 'VolumeGuardWebhookNotReady', exp_alerts: [] }],
        },
      ],
    };
    const annotations = {
      rule_files: [rulesFile],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [{ series: `volume_guard_at_risk_volumes{${target}, check="single-replica"}`, values: '3x480' }],
          alert_rule_test: [
            {
              eval_time: '6h30m',
              alertname: 'VolumeGuardVolumesAtRisk',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', check: 'single-replica' },
                  exp_annotations: {
                    summary: '3 volumes at risk of data loss (single-replica)',
                    description: groups[0]!.rules[0]!.annotations.description.replaceAll('{{ $value }}', '3').replaceAll('{{ $labels.check }}', 'single-replica'),
                    runbook_url: groups[0]!.rules[0]!.annotations.runbook_url,
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const annotationsFile = join(dir, 'tests-annotations.yaml');
    writeFileSync(annotationsFile, stringify(annotations));
    const annotated = runTool(['test', 'rules', annotationsFile]);
    expect(annotated.output, annotated.output).toContain('SUCCESS');
    const testFile = join(dir, 'tests.yaml');
    writeFileSync(testFile, stringify(tests));
    const result = runTool(['test', 'rules', testFile]);
    expect(result.output, result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('test rules: a namespace whose orphans were fixed before a restart reads 0 through the gap, no alert back', () => {
    // A short riskFor, so the alert could fire within the restart gap.
    const fast = renderAlertGroups({ __VG_JOB__: JOB, __VG_NAMESPACE__: NS, __VG_RISK_FOR__: '5m' });
    const fastFile = join(dir, 'rules-fast.yaml');
    writeFileSync(fastFile, stringify({ groups: fast.map((group) => ({ ...group, rules: group.rules.map(({ annotations: _annotations, ...rule }) => rule) })) }));
    const orphans = `volume_guard_orphan_pvcs{job="${JOB}", instance="10.0.0.5:8080", namespace="shop"}`;
    // The old pod: shop's 2 orphans fixed at 1h01m, the pod gone at 1h06m; the new pod reports from 1h21m on.
    const restart = (orphanValues: string) => ({
      interval: '1m',
      input_series: [
        { series: orphans, values: orphanValues },
        { series: `volume_guard_risk_pending_evaluations{${target}}`, values: '0x65 stale' },
        { series: `volume_guard_risk_pending_evaluations{${restarted}}`, values: `${'_x80 '}0x30` },
      ],
    });
    const shop = [{ exp_labels: { severity: 'info', namespace: 'shop' } }];
    const tests = {
      rule_files: [fastFile],
      evaluation_interval: '1m',
      tests: [
        {
          // As the gauge reports a fixed namespace: 0 until the pod ends.
          ...restart('2x60 0x5 stale'),
          alert_rule_test: [
            { eval_time: '50m', alertname: 'VolumeGuardOrphanedPVCs', exp_alerts: shop },
            { eval_time: '1h03m', alertname: 'VolumeGuardOrphanedPVCs', exp_alerts: [] },
            { eval_time: '1h13m', alertname: 'VolumeGuardOrphanedPVCs', exp_alerts: [] },
            { eval_time: '1h25m', alertname: 'VolumeGuardOrphanedPVCs', exp_alerts: [] },
          ],
        },
        {
          // Its series dropped once fixed: the gap's last_over_time finds the last orphans, the alert comes back.
          ...restart('2x60 stale'),
          alert_rule_test: [
            { eval_time: '1h03m', alertname: 'VolumeGuardOrphanedPVCs', exp_alerts: [] },
            { eval_time: '1h13m', alertname: 'VolumeGuardOrphanedPVCs', exp_alerts: shop },
          ],
        },
      ],
    };
    const testFile = join(dir, 'tests-orphans-fixed.yaml');
    writeFileSync(testFile, stringify(tests));
    const result = runTool(['test', 'rules', testFile]);
    expect(result.output, result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });
});
