// The fix a refused cordon prints for a DETACHED Longhorn volume whose only copy is on the node.
// Longhorn rebuilds replicas through the volume's engine, which runs only while the volume is attached (v1 data
// engine without offline rebuilding), and it reports a detached volume's robustness as `unknown`, never `healthy`
// (README "What counts as a copy"; the project's own Harvester advice, messages.ts: "a detached volume gets its
// copies when next attached"). "raise numberOfReplicas ... and wait until the volume is healthy" can never come true
// for a detached volume: the operator waits for good. The fix must say to attach it (or back it up).
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { detachedVolume, longhornNode, node, replica } from '../../support/fixtures.ts';

function cluster(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.setLonghornInstalled(true);
  m.replaceAll('node', ['w1', 'w2', 'w3'].map((name) => node({ name })));
  m.replaceAll('longhornNode', ['w1', 'w2', 'w3'].map((name) => longhornNode({ name })));
  // A detached single-replica volume: its one (stopped, healthy) replica on w1.
  m.upsert('longhornVolume', detachedVolume({ name: 'parked', numberOfReplicas: 1, pvcNamespace: 'app', pvcName: 'parked' }));
  m.upsert('longhornReplica', replica({ volumeName: 'parked', nodeID: 'w1', currentState: 'stopped', desireState: 'stopped' }));
  return m;
}

/** The `Fix:` text (with its continuation lines) of the block of `check`. */
function fixOf(message: string, check: string): string {
  const block = message.split(/\n(?=\[)/).find((part) => part.startsWith(`[${check}]`)) ?? '';
  const at = block.indexOf('Fix:');
  return at < 0 ? '' : block.slice(at).split(/\n(?! {7})/)[0]!.replace(/\s+/g, ' ');
}

describe('the fix for a detached volume at a cordon', () => {
  it('is refused (its only copy is on w1)', () => {
    const decision = nodeCordonValidator(defaultConfig()).handle(cordonRequest('w1'), context(cluster()));
    expect(decision.allowed).toBe(false);
  });

  it.each(['single-replica', 'last-replica-on-node'])('[%s] tells the operator to attach it for Longhorn to rebuild', (check) => {
    const message = nodeCordonValidator(defaultConfig()).handle(cordonRequest('w1'), context(cluster())).status!.message;
    const fix = fixOf(message, check);
    expect(fix).not.toBe('');
    // Today: "... and wait until the volume is healthy" / "... and wait until it is healthy", which never happens while
    // the volume stays detached.
    expect(fix).toMatch(/attach/i);
  });
});
