// volume-guard's mutating step for override writes: when an allowed writer adds or changes an override key, it sets
// `volume-guard.io/skip-by` to that writer, so a plain `kubectl annotate pvc X volume-guard.io/reuse=true` records
// who wrote it without the writer typing their own user name. It is called for exactly what the override guard is
// (the same rules and matchConditions: one declaration), runs before it, and never refuses: the guard stays the gate
// (failurePolicy Fail), so where this step is not installed, is down (failurePolicy Ignore) or its change is undone,
// a write without a matching skip-by is still refused, and a requester who may not write overrides is refused there.
import { objectAt } from '../../json.ts';
import { metaOf } from '../objects.ts';
import { changedOverrideKeys, mayWriteOverrides, SKIP_BY_KEY, writerStepRecords } from '../overrides.ts';
import { allowed, pointerSegment, type AdmissionRequest, type Decision, type JsonPatchOperation, type WebhookDeclaration } from '../types.ts';
import type { Validator, ValidationContext } from '../validator.ts';
import { OVERRIDE_WRITER_WEBHOOK, overrideGuardDeclaration } from './override-guard.ts';

/**
 * The JSON Patch that sets skip-by to `user` on `object` (metadata.annotations created when it has none); none for an
 * object without metadata (no Kubernetes object: nothing to patch).
 */
export function recordWriterPatch(object: unknown, user: string): JsonPatchOperation[] {
  const metadata = objectAt(object, 'metadata');
  if (metadata === undefined) return [];
  const annotations = objectAt(metadata, 'annotations');
  if (annotations === undefined) return [{ op: 'add', path: '/metadata/annotations', value: { [SKIP_BY_KEY]: user } }];
  // `add` replaces an existing member (RFC 6902): no op that could fail to apply (the API server answers a patch
  // it cannot apply with an internal error, which failurePolicy Ignore does not cover).
  return [{ op: 'add', path: `/metadata/annotations/${pointerSegment(SKIP_BY_KEY)}`, value: user }];
}

/** What the step answers: allowed, with the patch that records the writer when the write needs one and lacks it. */
export function recordWriter(request: AdmissionRequest, context: Pick<ValidationContext, 'config'>): Decision {
  const user = request.userInfo.username;
  // Nobody to record: the guard refuses what needs a writer.
  if (user === '') return allowed();
  const next = metaOf(request.object);
  if (!next) return allowed();
  // The keys the guard demands a recorded writer for (Harvester's annotation alone needs none; removals none).
  const previous = metaOf(request.oldObject);
  if (changedOverrideKeys(next, previous).length === 0) return allowed();
  if (!writerStepRecords(next.annotations, previous?.annotations)) return allowed();
  // Not an allowed writer: left unchanged, for the guard to refuse with who may write overrides.
  if (!mayWriteOverrides(request.userInfo, context.config.overrides)) return allowed();
  const recorded = next.annotations?.[SKIP_BY_KEY];
  if (recorded === user) return allowed();
  const patch = recordWriterPatch(request.object, user);
  if (patch.length === 0) return allowed();
  // A skip-by naming someone else is replaced: the recorded writer is the one who wrote.
  return {
    ...allowed([], { 'skip-by-recorded': recorded === undefined ? user : `${user} (replacing "${recorded}")` }),
    patch,
  };
}

/** The override guard's declaration (rules, scope, selectors, matchConditions), as a mutating webhook of its own. */
export function overrideWriterDeclaration(): WebhookDeclaration {
  return { ...overrideGuardDeclaration(), name: OVERRIDE_WRITER_WEBHOOK, target: 'override-writer', mutating: true };
}

export function overrideWriterValidator(): Validator {
  return { declaration: overrideWriterDeclaration(), handle: recordWriter };
}
