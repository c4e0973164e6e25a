// A command a denial or the audit prints is pasted into a shell, often before its placeholders are edited. An
// unquoted `<you>` is then a redirect from a file named "you" (`bash: you: No such file or directory`) and the command
// never runs; `skip-until=<new RFC 3339 time>` splits into words besides. Every placeholder in a printed command is
// quoted: pasted as is, kubectl receives it (and the override writer step replaces a placeholder skip-by with the
// writer, override-writer.ts).
import { describe, expect, it } from 'vitest';
import { fitOverrideToStored } from '../../../src/admission/decide.ts';
import { CHECK_TEXT, overrideLines, type Situation } from '../../../src/admission/messages.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { CHECK_IDS } from '../../../src/checks/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, evictionRequest } from '../../support/admission.ts';
import { localPV, namespace, pod, pvc } from '../../support/fixtures.ts';

/** What a shell would read as a redirect or a pipe in a command: `<`, `>` or `|` outside quotes. */
function unquotedShellMeta(command: string): string[] {
  const bare = command.replace(/"[^"]*"|'[^']*'/g, '""');
  return [...bare.matchAll(/[<>|]/g)].map((match) => bare.slice(Math.max(0, match.index - 20), match.index + 20));
}

/** The commands in a text: from each `kubectl ` to the end of its line, a `;` or a `, and`/`, or` that ends it. */
function commands(text: string): string[] {
  return [...text.matchAll(/kubectl [^\n;]*?(?=$|\n|;|, and |, or | \(only if)/g)].map((match) => match[0]);
}

const cordon: Situation = { kind: 'cordon', node: 'worker-1' };
const eviction: Situation = { kind: 'eviction', node: 'worker-1', namespace: 'shop', pod: 'db-0' };

describe('printed commands are paste-safe', () => {
  it('the override lines of a cordon and an eviction quote the writer placeholder', () => {
    for (const situation of [cordon, eviction]) {
      for (const line of overrideLines(situation, ['node-local-volume'])) {
        for (const command of commands(line)) expect(unquotedShellMeta(command), command).toEqual([]);
      }
    }
  });

  it('a lapsed override is re-armed with a quoted skip-until placeholder', () => {
    const [line] = fitOverrideToStored(
      overrideLines(cordon, ['node-local-volume']),
      (resource) => (resource === 'node' ? { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-until': '2020-01-01T00:00:00Z' } : undefined),
      Date.parse('2026-12-07T00:00:00Z'),
      defaultConfig().overrides,
      cordon,
    );
    expect(line).toContain('volume-guard.io/skip-until="<new RFC 3339 time>"');
    for (const command of commands(line!)) expect(unquotedShellMeta(command), command).toEqual([]);
  });

  it('the fixes of every check, in every situation, quote their placeholders', () => {
    for (const check of CHECK_IDS) {
      const text = CHECK_TEXT[check];
      const fixes = [text.fix, ...[cordon, eviction].map((situation) => text.fixFor?.(situation, [], 2) ?? '')];
      for (const fix of fixes) for (const command of commands(fix)) expect(unquotedShellMeta(command), `${check}: ${command}`).toEqual([]);
    }
  });

  it('an eviction whose node has no Node object advises nothing: it passes (the pod garbage collector deletes the pod anyway)', () => {
    // Was refused with the namespace override to paste; kubernetes pkg/controller/podgc (gcOrphaned) force-deletes a
    // pod bound to a node name that no longer exists, whatever the eviction is answered.
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('namespace', namespace({ name: 'shop' }));
    model.upsert('persistentVolume', localPV({ name: 'pv-0', claimNamespace: 'shop', claimName: 'data-0', pinnedNode: 'gone-1' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-0', volumeName: 'pv-0', storageClassName: 'local-storage' }));
    model.upsert('pod', pod({ namespace: 'shop', name: 'db-0', nodeName: 'gone-1', claimNames: ['data-0'], controllerKind: 'StatefulSet' }));
    const decision = podEvictionValidator(defaultConfig()).handle(evictionRequest('db-0', { namespace: 'shop' }), context(model));
    expect(decision.allowed).toBe(true);
    expect(decision.status?.message).toBeUndefined();
  });
});
