import { promises as dns } from 'node:dns';
import * as path from 'node:path';
import {
  LANGUAGE_OPTIONS,
  ProblemError,
  TimedTranscriptError,
  assertHostAllowed,
  assertUrlShape,
  isLanguageOption,
  isPublicAddress,
  parseTimedTranscript,
  type LanguageOption,
} from '@omniaffect/core';

/** Options shared by uploads and URL submissions, after validation. */
export interface SubmitOptions {
  language: LanguageOption;
  callbackUrl: string;
  metadata: Record<string, unknown>;
  /** a known transcript, plain text or timed (WebVTT / SubRip): Whisper is skipped and this text is analysed */
  transcript: string;
}

const MAX_METADATA_BYTES = 16 * 1024;

export function parseLanguage(raw: unknown): LanguageOption {
  if (raw === undefined || raw === null || raw === '') return 'auto';
  if (isLanguageOption(raw)) return raw;
  throw new ProblemError('unsupported-language', `language must be one of ${LANGUAGE_OPTIONS.join(', ')}`, { language: String(raw) });
}

/** Only the shape here: the webhook worker applies the address policy when it delivers. */
export function parseCallbackUrl(raw: unknown): string {
  if (raw === undefined || raw === null || raw === '') return '';
  if (typeof raw !== 'string') throw new ProblemError('validation', 'callbackUrl must be a string');
  return assertUrlShape(raw).toString();
}

/** Multipart sends metadata as a JSON string, the JSON body as an object. */
export function parseMetadata(raw: unknown): Record<string, unknown> {
  if (raw === undefined || raw === null || raw === '') return {};
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ProblemError('validation', 'metadata must be a JSON object');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProblemError('validation', 'metadata must be a JSON object');
  }
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_METADATA_BYTES) {
    throw new ProblemError('validation', `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`);
  }
  return value as Record<string, unknown>;
}

export function parseOptions(fields: Record<string, unknown>): SubmitOptions {
  return {
    language: parseLanguage(fields.language),
    callbackUrl: parseCallbackUrl(fields.callbackUrl),
    metadata: parseMetadata(fields.metadata),
    transcript: parseTranscript(fields.transcript),
  };
}

// 64 KiB of text is already ~100 MB of encoder features with real models (see TEXT_MAX_TOKENS in the text worker).
const MAX_TRANSCRIPT_CHARS = 65_536;

function parseTranscript(raw: unknown): string {
  if (raw === undefined || raw === null || raw === '') return '';
  if (typeof raw !== 'string') throw new ProblemError('validation', 'transcript must be a string');
  if (raw.length > MAX_TRANSCRIPT_CHARS) throw new ProblemError('validation', `transcript must be at most ${MAX_TRANSCRIPT_CHARS} characters`);
  // A timed transcript (WebVTT or SubRip) is checked here so a malformed one is the client's 422, not a failed video.
  try {
    parseTimedTranscript(raw);
  } catch (err) {
    if (err instanceof TimedTranscriptError) throw new ProblemError('validation', `transcript: ${err.message}`);
    throw err;
  }
  return raw;
}

/**
 * Early refusal of URLs the media worker would refuse anyway (it re-checks at connect time through
 * safeRequest, which also catches DNS rebinding): wrong scheme, credentials, private addresses.
 */
export async function checkIngestUrl(raw: unknown, allowPrivate: boolean): Promise<string> {
  if (typeof raw !== 'string' || raw.length === 0) throw new ProblemError('validation', 'url must be a non-empty string');
  if (raw.length > 4096) throw new ProblemError('url-not-allowed', 'URL longer than 4096 characters');
  const url = assertUrlShape(raw);
  if (allowPrivate) return url.toString();
  // Loopback names (localhost., *.localhost) are refused by name: resolvers may answer them from
  // anywhere, and the media worker's guard refuses them too, so refusing here answers at once.
  assertHostAllowed(url, allowPrivate);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (/^[\d.]+$/.test(host) || host.includes(':')) {
    addresses = [host];
  } else {
    try {
      addresses = (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      throw new ProblemError('url-not-allowed', `${host} does not resolve`);
    }
  }
  const bad = addresses.find((a) => !isPublicAddress(a));
  if (bad !== undefined) throw new ProblemError('url-not-allowed', `${host} is not a public address (${bad})`);
  return url.toString();
}

const MEDIA_EXTENSIONS = new Set(['.mp4', '.mkv', '.webm', '.mov', '.avi', '.m4a', '.mp3', '.wav', '.flac', '.ogg']);

/** A cheap gate on the declared type or the file name; the media worker's probe is the real check. */
export function isAcceptableMedia(contentType: string, filename: string): boolean {
  const ct = contentType.toLowerCase().split(';')[0].trim();
  if (ct.startsWith('video/') || ct.startsWith('audio/') || ct === 'application/octet-stream') return true;
  return MEDIA_EXTENSIONS.has(path.extname(filename).toLowerCase());
}

export function parseIdempotencyKey(raw: string | string[] | undefined): string {
  if (raw === undefined) return '';
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new ProblemError('validation', 'Idempotency-Key must be 1-255 visible ASCII characters');
  }
  return key;
}
