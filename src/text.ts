// Ordering text the same way everywhere a listing must be stable (audit reports, override lists): by UTF-16 code
// units, like Go's sort.Strings, never by locale.

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
