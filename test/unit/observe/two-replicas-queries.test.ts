// The chart runs replicaCount: 2 by default; each pod exports the same gauges of the same cluster.
// An alert or panel that sums a gauge across the pods reports twice the truth.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { renderAlertGroups } from '../../../src/observe/alerts.ts';
import { dashboardQueries } from '../../../src/observe/dashboard.ts';

const hasPromtool = (() => {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const dir = mkdtempSync(join(tmpdir(), 'vg-r4-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('review r4: two volume-guard pods, one cluster', () => {
  it.skipIf(!hasPromtool)('VolumeGuardOrphanedPVCs says 2 PVCs when both pods report the same 2', () => {
    const groups = renderAlertGroups({ __VG_JOB__: 'volume-guard', __VG_NAMESPACE__: 'volume-guard', __VG_RISK_FOR__: '1h' });
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, stringify({ groups }));
    const rule = groups.flatMap((g) => g.rules).find((r) => r.alert === 'VolumeGuardOrphanedPVCs')!;
    const tests = {
      rule_files: [rules],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            { series: 'volume_guard_orphan_pvcs{job="volume-guard", instance="10.0.0.5:8080", pod="vg-a", namespace="shop"}', values: '2x180' },
            { series: 'volume_guard_orphan_pvcs{job="volume-guard", instance="10.0.0.6:8080", pod="vg-b", namespace="shop"}', values: '2x180' },
          ],
          alert_rule_test: [
            {
              eval_time: '2h',
              alertname: 'VolumeGuardOrphanedPVCs',
              exp_alerts: [
                {
                  exp_labels: { severity: 'info', namespace: 'shop' },
                  exp_annotations: {
                    summary: '2 PVCs left behind by Helm releases in shop',
                    description: rule.annotations.description.replaceAll('{{ $labels.namespace }}', 'shop'),
                    runbook_url: rule.annotations.runbook_url,
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const file = join(dir, 'tests.yaml');
    writeFileSync(file, stringify(tests));
    const result = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8', cwd: dir });
    expect(`${result.stdout}${result.stderr}`).toContain('SUCCESS');
  });

  it('the dashboard never sums a per-pod gauge of the cluster across pods', () => {
    const gauges = ['volume_guard_at_risk_volumes', 'volume_guard_nodes_blocked', 'volume_guard_orphan_pvcs', 'volume_guard_active_overrides', 'volume_guard_model_objects'];
    const summed = dashboardQueries().filter((q) => gauges.some((g) => q.expr.includes(g)) && /\bsum\b/.test(q.expr));
    expect(summed).toEqual([]);
  });
});
