// The PVCs a StatefulSet claims. The StatefulSet controller names them `<template>-<statefulset>-<ordinal>` and
// reuses any PVC of that name it finds, whatever data it holds: that is how a leftover PVC gets adopted.

export interface ClaimingStatefulSet {
  readonly name: string;
  readonly replicas: number;
  /** spec.ordinals.start (0 when absent). */
  readonly ordinalsStart?: number;
  readonly claimTemplates: readonly string[];
}

export interface ClaimRef {
  readonly template: string;
  readonly ordinal: number;
}

export function claimName(template: string, statefulSet: string, ordinal: number): string {
  return `${template}-${statefulSet}-${ordinal}`;
}

/** How many PVCs the StatefulSet claims at its declared size. */
export function claimCount(statefulSet: ClaimingStatefulSet): number {
  return Math.max(0, statefulSet.replicas) * statefulSet.claimTemplates.length;
}

/**
 * Every PVC name the StatefulSet claims at its declared size: ordinals start..start+replicas-1 for each template,
 * template by template. Callers with untrusted replica counts should compare claimCount() with the PVCs that exist
 * and match names instead (claimOf), which costs O(existing PVCs).
 */
export function statefulSetClaimNames(statefulSet: ClaimingStatefulSet): string[] {
  const start = statefulSet.ordinalsStart ?? 0;
  const names: string[] = [];
  for (const template of statefulSet.claimTemplates) {
    for (let ordinal = start; ordinal < start + statefulSet.replicas; ordinal += 1) {
      names.push(claimName(template, statefulSet.name, ordinal));
    }
  }
  return names;
}

/** A canonical decimal ordinal as the controller writes it (strconv.Itoa): no sign, no leading zeros. */
const ORDINAL = /^(?:0|[1-9][0-9]*)$/;

/**
 * Which of the StatefulSet's templates and which ordinal a PVC name stands for, whatever the replica count;
 * undefined when the name is not one of its claim names. At most one template can match: if two did, the longer
 * one would continue `<shorter>-<statefulset>-`, leaving a dash in the shorter one's ordinal.
 */
export function claimOf(pvcName: string, statefulSet: Pick<ClaimingStatefulSet, 'name' | 'claimTemplates'>): ClaimRef | undefined {
  const middle = `-${statefulSet.name}-`;
  for (const template of statefulSet.claimTemplates) {
    if (!pvcName.startsWith(template + middle)) continue;
    const digits = pvcName.slice(template.length + middle.length);
    if (ORDINAL.test(digits) && digits.length <= 15) return { template, ordinal: Number(digits) };
  }
  return undefined;
}

/** True when the ordinal is one the StatefulSet runs at its declared size. */
export function ordinalInRange(ordinal: number, statefulSet: Pick<ClaimingStatefulSet, 'replicas' | 'ordinalsStart'>): boolean {
  const start = statefulSet.ordinalsStart ?? 0;
  return ordinal >= start && ordinal < start + statefulSet.replicas;
}
