// `volume-guard audit --timeout SECONDS`: how long to wait for a complete view of the cluster, one budget for the
// whole load. Each phase (the model, the release records, the upgrade objects, the release labels) gets what is left
// of it, so the total stays within the timeout; the phase that runs out is the one the error names.

import { AuditError } from './errors.ts';

/** The longest a connection (TCP connect, then TLS handshake) may take: a server dropping packets fails then. */
export const CONNECT_TIMEOUT_MS = 10_000;

export class LoadBudget {
  readonly #totalMs: number;
  readonly #deadline: number;
  readonly #server: string;

  /** `totalMs` from now (`now`, for tests), for the cluster at `server` (named when it runs out). */
  constructor(totalMs: number, server: string, now = Date.now()) {
    this.#totalMs = totalMs;
    this.#deadline = now + totalMs;
    this.#server = server;
  }

  /**
   * How long a connection may take: CONNECT_TIMEOUT_MS, or half the budget when that is shorter, so that under a short
   * --timeout too a server that cannot be reached is told apart from one that answers slowly.
   */
  get connectTimeoutMs(): number {
    return Math.min(CONNECT_TIMEOUT_MS, this.#totalMs / 2);
  }

  /** The epoch ms the budget ends at. */
  get deadline(): number {
    return this.#deadline;
  }

  /** What is left of the budget for `phase`, in ms; the phase's error when nothing is. */
  left(phase: string): number {
    const left = this.#deadline - Date.now();
    if (left <= 0) throw this.exhausted(phase, 'not started');
    return left;
  }

  /** Whether `error`, in a phase, is the budget running out: past the deadline, or the abort of its timeout signal. */
  ranOut(error: unknown): boolean {
    return Date.now() >= this.#deadline || isTimeout(error);
  }

  /** `cluster unreachable: S: no complete view within 60 s (ran out listing …: why)`. */
  exhausted(phase: string, why: string): AuditError {
    const seconds = Math.round(this.#totalMs / 100) / 10;
    return new AuditError(`cluster unreachable: ${this.#server}: no complete view within ${seconds} s (ran out ${phase}: ${why})`);
  }
}

/** A timeout signal's abort (`TimeoutError`), on the error or its cause. */
function isTimeout(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    if ((current as { name?: unknown }).name === 'TimeoutError') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** The budget of a phase run on its own (`timeoutMs`, a number) or as part of the audit's (a LoadBudget). */
export function budgetOf(timeout: number | LoadBudget, server: string): LoadBudget {
  return typeof timeout === 'number' ? new LoadBudget(timeout, server) : timeout;
}
