// Ordering text the same way everywhere a listing must be stable (audit reports, override lists): by UTF-16 code
// units, like Go's sort.Strings, never by locale.

/** `1 replica`, `3 replicas`: the count and the word that agrees with it. */
export const plural = (count: number, one: string, many: string): string => `${count} ${count === 1 ? one : many}`;

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
