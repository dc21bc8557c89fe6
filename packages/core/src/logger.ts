import pino from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs to stdout; every line carries the service name (and the video id via child()). */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: service, level, base: { service, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
