import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A synchronous destination (pino.destination with sync: true, or anything that writes at once). */
export type SyncDestination = DestinationStream;

const batchers = new Set<LineBatcher>();
let exitHookInstalled = false;

/**
 * Collects the lines logged during one turn of the event loop and writes them to `target` at the end of that
 * turn, in one write. Under load one write then carries the admission lines of many requests (a write per line
 * was a third of the CPU time of a cheap admission request, measured). Lines keep their order; the process's
 * 'exit' event, log.flush() and flushSync() write what is pending, so nothing is lost on process.exit.
 */
export class LineBatcher implements DestinationStream {
  readonly #target: SyncDestination;
  #pending: string[] = [];
  #scheduled = false;
  readonly #flushSoon = () => {
    this.#scheduled = false;
    this.flushSync();
  };

  constructor(target: SyncDestination) {
    this.#target = target;
    batchers.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const batcher of batchers) batcher.flushSync();
      });
    }
  }

  write(line: string): void {
    this.#pending.push(line);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushSoon);
    }
  }

  flushSync(): void {
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    // A synchronous target has written it on return (its flushSync would fsync: not wanted per turn).
    this.#target.write(pending.length === 1 ? pending[0]! : pending.join(''));
  }

  /** pino's logger.flush(callback). */
  flush(callback?: (error?: Error) => void): void {
    try {
      this.flushSync();
    } catch (error) {
      callback?.(error as Error);
      return;
    }
    callback?.();
  }
}

/**
 * JSON lines on stdout (or the given stream). Messages are in `msg`, `time` is ISO 8601 in UTC
 * (`2026-12-01T15:25:23.123Z`, readable and sortable as text), `level` is a name rather than a number so log
 * queries need no lookup table.
 *
 * stdout is written synchronously, a turn of the event loop at a time (LineBatcher): lines keep their order
 * (the asynchronous writer was seen to reorder the last lines before exit), and nothing is lost on process.exit.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'volume-guard' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return pino(options, destination ?? new LineBatcher(pino.destination({ dest: 1, sync: true })));
}
