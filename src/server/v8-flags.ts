// V8 settings of the server process that Node's NODE_OPTIONS cannot carry (the chart's `nodeOptions` sizes the young
// generation; Node refuses other V8 flags there). Applied by `volume-guard serve` before it loads the server stack,
// and by the benchmark's server child before it builds its model, so the figures are of what ships.

import { setFlagsFromString } from 'node:v8';

/**
 * No allocation-site pretenuring. V8 watches the objects each object or array literal creates, and once a scavenge
 * finds them all alive it allocates that literal's objects straight into the old generation from then on. While the
 * informers' first lists fill the model that is right, but it also happens to literals on the request path (a
 * denial's findings, their related objects, the listing's lines): measured on the large synthetic cluster in the
 * benchmark's server (2026-12-04, docs/performance.md, stop 38), a cordon denial then left 2.5 KB per request in the
 * old generation (upgrade-deny 1.7 KB, Harvester-skip 2.5 KB) against 0.1–0.3 KB without it, and every scavenge
 * copied the young objects those dead old ones still point to as if alive: 270–420 KB per scavenge against 70–100 KB
 * without it, its mean pause about halved. What a scavenge meets is the p99 of the requests it lands in.
 */
export const SERVE_V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

let applied = false;

/**
 * Sets SERVE_V8_FLAGS in this process, once (V8's flags are the process's: the manifest workers get them too).
 * Call it before the objects it concerns are created: literals already pretenured stay so.
 */
export function applyServeV8Flags(): readonly string[] {
  if (!applied) {
    for (const flag of SERVE_V8_FLAGS) setFlagsFromString(flag);
    applied = true;
  }
  return SERVE_V8_FLAGS;
}
