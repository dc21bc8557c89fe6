import pino from 'pino';
import { redactUrl } from './url-guard';

export type Logger = pino.Logger;

/**
 * Fields that hold credentials wherever they appear (one level of nesting, as fast-redact allows):
 * HTTP auth headers (API keys, the service token), cookies, webhook secrets, passwords.
 */
export const REDACT_PATHS = [
  'authorization',
  'cookie',
  'secret',
  'password',
  'token',
  'apiKey',
  '*.authorization',
  '*.cookie',
  '*.secret',
  '*.password',
  '*.token',
  '*.apiKey',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
];

/**
 * Any absolute URL inside a string, so it can go through redactUrl: a pre-signed URL's query string
 * (X-Amz-Signature=…, sig=…) is a credential for as long as it is valid, and so is the userinfo of
 * redis://user:password@host. Logs are read by more people, and kept longer, than the Secret.
 */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;
const HAS_URL = /[a-z]:\/\//i;

export function scrubUrls(text: string): string {
  return text.replace(URL_IN_TEXT, (u) => redactUrl(u));
}

/** Deep copy with every string's URLs redacted; bounded so a cyclic or huge object cannot stall a log call. */
function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return HAS_URL.test(value) ? scrubUrls(value) : value;
  if (depth >= 5 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => scrubValue(v, depth + 1));
  // Errors, Buffers, typed arrays and class instances keep their own serializers.
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, depth + 1);
  return out;
}

/** Structured JSON logs to stdout; every line carries the service name (and the video id via child()). */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: service,
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: {
      // Every logged object (sourceUrl, callbackUrl, req.url...); child bindings: scrubChildBindings.
      log: (obj) => scrubValue(obj) as Record<string, unknown>,
    },
    serializers: {
      // Error messages and stacks quote URLs too ("fetch failed: https://bucket/...?X-Amz-Signature=...").
      // `err` is not always an Error (`{ err: e.message }`): spreading a string would log it letter by letter
      err: (e: unknown) => (e instanceof Error ? scrubValue({ ...pino.stdSerializers.err(e) }) : scrubValue(e)),
      error: (e: unknown) => (e instanceof Error ? scrubValue({ ...pino.stdSerializers.err(e) }) : scrubValue(e)),
    },
    hooks: {
      // The message string itself (and printf-style arguments).
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? scrubUrls(a) : a)) as Parameters<typeof method>;
        method.apply(this, scrubbed);
      },
    },
  };
  return scrubChildBindings(destination ? pino(options, destination) : pino(options));
}

/**
 * pino serializes a child's bindings once, at child(), without formatters.log: scrub them there,
 * and make the child's own children do the same.
 */
function scrubChildBindings(logger: Logger): Logger {
  const child = logger.child.bind(logger);
  logger.child = ((bindings: pino.Bindings, opts?: pino.ChildLoggerOptions) =>
    scrubChildBindings(child(scrubValue(bindings) as pino.Bindings, opts))) as unknown as Logger['child'];
  return logger;
}
