// How long a quiet watch counts as current without proof. Constants only, shared by the informers (which probe a
// quiet watch), the model's start (which bounds the watchdog by model.maxStalenessSeconds) and the configuration
// schema (which describes that bound): the schema reads them without loading the informers.

/** The default of InformerTimings.stallMs: a connected watch silent for half of it is probed. */
export const DEFAULT_WATCH_STALL_MS = 90_000;
/** The shortest stall watchStallSecondsFor allows: a probe takes a second, a healthy quiet watch must not flap stale. */
export const MIN_WATCH_STALL_SECONDS = 5;
/** A probe's own server-side timeout. */
export const PROBE_TIMEOUT_SECONDS = 1;
