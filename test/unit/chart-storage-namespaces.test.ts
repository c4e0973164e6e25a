// The chart's namespace exclusions against config.helm.storageNamespaces. A storage namespace holds the
// Helm release records of releases of OTHER namespaces (Flux's helm-controller keeps a HelmRelease's records in the
// HelmRelease's own namespace or spec.storageNamespace, whatever its targetNamespace): leaving it out of the
// helm-release webhook (webhook.excludeNamespaces, or the release namespace) silently leaves every such release
// unjudged, cluster-wide, although the configuration names that namespace as one volume-guard must read.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR, findHelm } from '../../scripts/generate-chart.ts';

const helm = findHelm();
const dir = mkdtempSync(join(tmpdir(), 'vg-rev-server-chart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function template(values: object, namespace: string): { code: number | null; objects: any[]; stderr: string } {
  const file = join(dir, `values-${files++}.json`);
  writeFileSync(file, JSON.stringify(values));
  const result = spawnSync(helm ?? 'helm', ['template', 'vg', CHART_DIR, '--namespace', namespace, '--kube-version', '1.30.0', '-f', file], { encoding: 'utf8' });
  const objects = result.status === 0 ? parseAllDocuments(result.stdout).map((document) => document.toJS()).filter(Boolean) : [];
  return { code: result.status, objects, stderr: result.stderr };
}

/** The namespaces the helm-release webhook is never called for. */
function helmReleaseExcluded(objects: readonly any[]): string[] {
  const configuration = objects.find((object) => object.kind === 'ValidatingWebhookConfiguration');
  const webhook = configuration.webhooks.find((entry: any) => entry.name === 'helm-release.volume-guard.io');
  const expressions: any[] = webhook.namespaceSelector?.matchExpressions ?? [];
  return expressions.filter((expression) => expression.operator === 'NotIn').flatMap((expression) => expression.values as string[]);
}

describe.skipIf(helm === undefined)('rev-server: a Helm storage namespace the helm-release webhook never sees', () => {
  it.each([
    ['webhook.excludeNamespaces names it', { webhook: { excludeNamespaces: ['flux-system'] } }, 'vg-system', 'flux-system'],
    ['it is the release namespace (left out as volume-guard\'s own)', { config: { helm: { storageNamespaces: ['platform'] } } }, 'platform', 'platform'],
    ['it is kube-system', { config: { helm: { storageNamespaces: ['kube-system'] } } }, 'vg-system', 'kube-system'],
  ])('%s: refused at render, or the helm-release webhook is called there', (_case, values, namespace, storage) => {
    const rendered = template(values, namespace);
    if (rendered.code !== 0) {
      expect(rendered.stderr).toContain(storage);
      return;
    }
    expect(helmReleaseExcluded(rendered.objects)).not.toContain(storage);
  });
});
