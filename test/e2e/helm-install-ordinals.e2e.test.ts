// `helm uninstall` leaves the claim the StatefulSet controller made; a fresh `helm install` of the release with
// ordinals.start past it does not claim it now, but is refused over it all the same (a later scale-up or ordinals
// change would re-attach it), and the refusal says so rather than "this install may take it over". Real helm, the real
// API server and kube-controller-manager (whose StatefulSet controller makes data-rdb-db-0, labelled for the release
// by the StatefulSet's selector).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helm, kubectl, paths } from '../harness/cluster.ts';
import { deleteObjects, ensureNamespace, must } from '../harness/scenario.ts';

const NS = 'e2e-helm-install-ordinals';
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'retained-db');
const LEFT = 'data-rdb-db-0';

describe('helm install with ordinals.start past a claim an uninstall left', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', 'rdb', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS]);
    await must(helm(['install', 'rdb', CHART, '-n', NS, '--set', 'db.replicas=1', '--set', 'db.whenDeleted=Retain']), 'helm install rdb');
    for (let i = 0; i < 100; i += 1) {
      if ((await kubectl(['get', 'pvc', LEFT, '-n', NS, '-o', 'name'])).code === 0) break;
      await sleep(100);
    }
    await must(helm(['uninstall', 'rdb', '-n', NS]), 'helm uninstall rdb');
  }, 120_000);

  afterAll(async () => {
    await helm(['uninstall', 'rdb', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS]);
  });

  it('is refused naming the claim, the ordinal the install does not run and what would re-attach it', async () => {
    expect((await kubectl(['get', 'pvc', LEFT, '-n', NS, '-o', 'jsonpath={.metadata.labels.app\\.kubernetes\\.io/instance}'])).stdout).toBe('rdb');
    const installed = await helm(['install', 'rdb', CHART, '-n', NS, '--set', 'db.replicas=1', '--set', 'db.ordinalsStart=1', '--set', 'db.whenDeleted=Retain']);
    expect(installed.code).not.toBe(0);
    const words = installed.stderr.replace(/\s+/g, ' ');
    expect(words).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(words).toContain(
      `PVC ${NS}/${LEFT}: labelled for release rdb but owned by nothing live, not yet bound; the claim of StatefulSet rdb-db at ordinal 0, ` +
        'which this install does not run (ordinals 1..1): a later scale-up or ordinals change would take it over',
    );
    expect(words).not.toContain('this install may');
  });
});
