/**
 * Exponential backoff with full jitter: the n-th consecutive failure waits a uniformly random time in
 * [0, min(cap, base · 2^(n-1))], so informers that failed together (an API server restart) do not
 * come back in lockstep.
 */
export class Backoff {
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #random: () => number;
  #failures = 0;

  constructor(baseMs: number, capMs: number, random: () => number = Math.random) {
    this.#baseMs = baseMs;
    this.#capMs = capMs;
    this.#random = random;
  }

  /** Consecutive failures since the last reset. */
  get failures(): number {
    return this.#failures;
  }

  /** The ceiling of the next delay, before jitter. */
  ceilingMs(failures: number): number {
    // 2^n overflows to Infinity for large n, which Math.min turns into the cap.
    return Math.min(this.#capMs, this.#baseMs * 2 ** Math.max(0, failures - 1));
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  next(): number {
    this.#failures += 1;
    return Math.floor(this.#random() * this.ceilingMs(this.#failures));
  }

  reset(): void {
    this.#failures = 0;
  }
}
