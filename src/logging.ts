import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const batchers = new Set<LineBatcher>();
let exitHookInstalled = false;

/** How long a line may wait for others before it is written, and how much may wait. */
export const LOG_FLUSH_DELAY_MS = 20;
export const LOG_FLUSH_BYTES = 16 * 1024;

/**
 * Collects log lines and writes them to a synchronous `target` together: LOG_FLUSH_DELAY_MS after the first
 * pending line, or at once when LOG_FLUSH_BYTES are pending. A write per line was 8-30 % of the CPU time of a
 * cheap admission request (measured; the write syscall, whatever the target), and under load one write now
 * carries the lines of many requests. Lines keep their order; the process's 'exit' event (process.exit, an
 * uncaught exception), log.flush() and flushSync() write what is pending. Only a process killed outright
 * (SIGKILL, the OOM killer) loses its last LOG_FLUSH_DELAY_MS of lines; an admission line that records an
 * override is flushed at the end of the event loop's turn that answered it (src/server/app.ts), so accepted risks
 * never wait for a batch.
 */
export class LineBatcher implements DestinationStream {
  readonly #target: DestinationStream;
  #pending: string[] = [];
  #bytes = 0;
  #timer: NodeJS.Timeout | undefined = undefined;
  readonly #flushLater = () => {
    this.#timer = undefined;
    this.flushSync();
  };

  constructor(target: DestinationStream) {
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
    this.#bytes += line.length;
    if (this.#bytes >= LOG_FLUSH_BYTES) this.flushSync();
    else this.#timer ??= setTimeout(this.#flushLater, LOG_FLUSH_DELAY_MS).unref();
  }

  flushSync(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    this.#bytes = 0;
    // A synchronous target has written it on return (its flushSync would fsync: not wanted here).
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

// msgPrefixSym exists at runtime but is missing from pino's type of pino.symbols.
const SYMBOLS = pino.symbols as typeof pino.symbols & { readonly msgPrefixSym?: symbol };

/** A logger's pino internals this file reads (pino.symbols is pino's documented way in). */
type PinoInternals = Record<symbol, unknown>;

/**
 * `log[level](fields, msg)` for a flat object of JSON values, serialized in one JSON.stringify instead of pino's
 * per-key loop; the line is the one pino writes (same level, time, bindings, key order, message; checked against
 * pino in test/unit/logging.test.ts). Undefined when the logger is not plain pino (a mixin, hooks, a log
 * formatter, a nested key, a message prefix, redaction, serializers for `keys`, a stream that wants metadata):
 * the caller logs through pino then.
 */
export function jsonLineWriter(log: Logger, keys: readonly string[]): ((level: 'info' | 'warn', fields: object, msg: string) => void) | undefined {
  const internals = log as unknown as PinoInternals;
  const formatters = internals[SYMBOLS.formattersSym] as { log?: unknown } | undefined;
  const hooks = internals[SYMBOLS.hooksSym] as { streamWrite?: unknown; logMethod?: unknown } | undefined;
  const stream = internals[SYMBOLS.streamSym] as (DestinationStream & Record<symbol, unknown>) | undefined;
  const serializers = (internals[SYMBOLS.serializersSym] ?? {}) as Record<string, unknown>;
  const stringifiers = (internals[SYMBOLS.stringifiersSym] ?? {}) as Record<string, unknown>;
  const lsCache = internals[SYMBOLS.lsCacheSym] as Record<number, string> | undefined;
  const time = internals[SYMBOLS.timeSym] as ((this: Logger) => string) | undefined;
  const end = internals[SYMBOLS.endSym];
  const plain =
    !internals[SYMBOLS.mixinSym] &&
    !formatters?.log &&
    !hooks?.streamWrite &&
    !hooks?.logMethod &&
    !internals[SYMBOLS.nestedKeySym] &&
    (SYMBOLS.msgPrefixSym === undefined || !internals[SYMBOLS.msgPrefixSym]) &&
    internals[SYMBOLS.messageKeySym] === 'msg' &&
    Object.keys(stringifiers).length === 0 &&
    keys.every((key) => serializers[key] === undefined) &&
    stream !== undefined &&
    typeof stream.write === 'function' &&
    stream[SYMBOLS.needsMetadataGsym] !== true &&
    lsCache !== undefined &&
    typeof time === 'function' &&
    typeof end === 'string';
  if (!plain) return undefined;
  return (level, fields, msg) => {
    if (!log.isLevelEnabled(level)) return;
    const json = JSON.stringify(fields);
    const members = json.length > 2 ? `,${json.slice(1, -1)}` : '';
    const chindings = internals[SYMBOLS.chindingsSym] as string;
    stream.write(`${lsCache[log.levels.values[level]!]}${time.call(log)}${chindings}${members},"msg":${JSON.stringify(msg)}${end}`);
  };
}

let isoMillis = Number.NaN;
let isoText = '';
let isoSecond = Number.NaN;
let isoPrefix = '';

/**
 * pino's stdTimeFunctions.isoTime (`,"time":"2026-12-01T15:25:23.123Z"`), formatting a Date once per second and
 * only the milliseconds in between (under load nearly every line has a new millisecond).
 */
export function isoTime(): string {
  const now = Date.now();
  if (now === isoMillis) return isoText;
  isoMillis = now;
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    // `…T15:25:23.000Z` without its `000Z`.
    isoPrefix = `,"time":"${new Date(second * 1000).toISOString().slice(0, -4)}`;
  }
  const millis = now - second * 1000;
  isoText = `${isoPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z"`;
  return isoText;
}

/**
 * JSON lines on stdout (or the given stream). Messages are in `msg`, `time` is ISO 8601 in UTC
 * (`2026-12-01T15:25:23.123Z`, readable and sortable as text), `level` is a name rather than a number so log
 * queries need no lookup table.
 *
 * stdout is written synchronously, a few lines at a time (LineBatcher: at most LOG_FLUSH_DELAY_MS late): lines
 * keep their order (the asynchronous writer was seen to reorder the last lines before exit), and nothing is lost
 * on process.exit.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'volume-guard' },
    timestamp: isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return pino(options, destination ?? new LineBatcher(pino.destination({ dest: 1, sync: true })));
}
