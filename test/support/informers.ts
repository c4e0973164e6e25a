// An informer against a scripted KubeClient on a fake clock, for the informer unit tests: silent log, fast backoff,
// no jitter, its events into a fresh model; stopped after each test (stopScriptedInformers in afterEach).
import pino from 'pino';
import { DEFAULT_TIMINGS, Informer, type InformerTimings } from '../../src/cluster/informers.ts';
import type { KubeClient } from '../../src/cluster/kube-client.ts';
import { ClusterModel } from '../../src/cluster/model.ts';
import { RESOURCE_SPECS } from '../../src/cluster/resources.ts';
import type { ResourceKind } from '../../src/cluster/records.ts';

const running: Informer<ResourceKind>[] = [];

export function scriptedInformer<K extends ResourceKind>(
  kind: K,
  client: KubeClient,
  clock: { readonly now: number },
  timings: Partial<InformerTimings> = {},
): { informer: Informer<K>; model: ClusterModel } {
  const model = new ClusterModel();
  const informer = new Informer(RESOURCE_SPECS[kind], {
    client,
    sink: model,
    log: pino({ level: 'silent' }),
    timings: { ...DEFAULT_TIMINGS, backoffBaseMs: 1, backoffCapMs: 5, ...timings },
    longhornNamespace: 'longhorn-system',
    now: () => clock.now,
    random: () => 0.5,
    onRestart: () => {},
    onPresence: (_kind, present) => model.setLonghornInstalled(present),
    siblingServed: () => false,
    onRecovered: () => {},
  });
  running.push(informer as Informer<ResourceKind>);
  return { informer, model };
}

export async function stopScriptedInformers(): Promise<void> {
  for (const informer of running.splice(0)) await informer.stop();
}
