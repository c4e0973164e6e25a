// Structural equality of slim records. A relist hands the model a fresh copy of every object; when nothing the
// checks read has changed, the model keeps the record it has and skips index and volume-set work entirely.

type Plain = string | number | boolean | null | undefined | readonly Plain[] | { readonly [key: string]: Plain };

function plainEqual(a: Plain, b: Plain): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!plainEqual(a[i] as Plain, b[i] as Plain)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const objectA = a as { readonly [key: string]: Plain };
  const objectB = b as { readonly [key: string]: Plain };
  let keyCount = 0;
  for (const key in objectA) {
    keyCount++;
    if (!Object.hasOwn(objectB, key) || !plainEqual(objectA[key], objectB[key])) return false;
  }
  for (const key in objectB) if (Object.hasOwn(objectB, key)) keyCount--;
  return keyCount === 0;
}

/** Records are plain data (strings, numbers, booleans, arrays and string maps), compared field by field. */
export function recordsEqual(a: object, b: object): boolean {
  return plainEqual(a as Plain, b as Plain);
}
