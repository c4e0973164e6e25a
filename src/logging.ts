import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * JSON lines on stdout (or the given stream). Messages are in `msg`, `time` is ISO 8601 in UTC
 * (`2026-12-01T15:25:23.123Z`, readable and sortable as text), `level` is a name rather than a number so log
 * queries need no lookup table.
 *
 * stdout is written synchronously: one admission line costs microseconds, lines keep their order (the
 * asynchronous writer was seen to reorder the last lines before exit), and nothing is lost on process.exit.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'volume-guard' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: true }));
}
