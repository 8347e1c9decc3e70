import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

/** The levels --log-level takes (pino's, plus silent). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * scorecar's structured log: one JSON object per line on stdout (pino), with `level` as its
 * name ("info", not 30: log pipelines filter on it without a lookup table), `time` as ISO 8601,
 * `msg`, and the fields a line carries (`reqId` on lines about one request). `destination` is
 * for tests and embedders; by default pino writes to stdout through sonic-boom, buffered off the
 * request path and flushed synchronously when the process exits.
 */
export function createLogger(level: LogLevel = 'info', destination?: DestinationStream, name = 'scorecar'): Logger {
  const options: LoggerOptions = {
    name,
    level,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** A logger that writes nothing (library use and tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
