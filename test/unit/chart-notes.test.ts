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
function notes(values: object): string {
  const file = join(dir, `values-${valuesFiles++}.json`);
  writeFileSync(file, JSON.stringify(values));
  const args = ['template', 'vg', chart, '--namespace', 'vg-system', '--kube-version', '1.30.0', '-f', file, '--show-only', 'templates/test-notes.yaml'];
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
