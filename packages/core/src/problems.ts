/**
 * RFC 9457 problem types. The slug is the stable part (clients and tests match on it); `type` is the
 * URI form. One table so the gateway, the workers and the docs cannot drift apart.
 */
export const PROBLEM_BASE = 'https://omniaffect.dev/problems/';

export const PROBLEMS = {
  unauthorized: { status: 401, title: 'Missing or invalid API key' },
  'not-found': { status: 404, title: 'Not found' },
  validation: { status: 400, title: 'Invalid request' },
  'unsupported-content-type': { status: 415, title: 'Unsupported content type' },
  'payload-too-large': { status: 413, title: 'Upload exceeds the size limit' },
  'url-not-allowed': { status: 422, title: 'URL not allowed' },
  'url-fetch-failed': { status: 422, title: 'The URL could not be fetched' },
  'unsupported-media': { status: 422, title: 'The file is not a decodable audio or video file' },
  'no-audio-track': { status: 422, title: 'The file has no audio track' },
  'no-media-streams': { status: 422, title: 'The file has neither audio nor video' },
  'too-long': { status: 422, title: 'The media is longer than allowed' },
  'nothing-to-analyse': { status: 422, title: 'Nothing in the media can be analysed: no voice, no words and no frames' },
  'exceeds-limits': { status: 422, title: 'The media exceeds a processing limit (resolution, frame rate, sample rate, metadata size)' },
  'unsupported-language': { status: 400, title: 'Language not supported' },
  gone: { status: 410, title: 'The video was erased' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'quota-exceeded': { status: 429, title: 'Quota exceeded' },
  'not-ready': { status: 409, title: 'The result is not available yet' },
  conflict: { status: 409, title: 'Conflict' },
  'model-error': { status: 500, title: 'A model stage failed' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'Service unavailable' },
  'not-configured': { status: 501, title: 'Not configured on this deployment' },
  'range-not-satisfiable': { status: 416, title: 'The requested range is outside the media' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemSlug = keyof typeof PROBLEMS;

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

export class ProblemError extends Error {
  constructor(
    readonly slug: ProblemSlug,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(`${slug}: ${detail}`);
    this.name = 'ProblemError';
  }

  get status(): number {
    return PROBLEMS[this.slug].status;
  }

  toDocument(instance?: string): ProblemDocument {
    return problemDocument(this.slug, this.detail, instance, this.extensions);
  }
}

export const problemType = (slug: ProblemSlug): string => PROBLEM_BASE + slug;

export function problemDocument(slug: ProblemSlug, detail?: string, instance?: string, extensions: Record<string, unknown> = {}): ProblemDocument {
  const p = PROBLEMS[slug];
  return { type: problemType(slug), title: p.title, status: p.status, detail, instance, ...extensions };
}

export const isProblemSlug = (s: string): s is ProblemSlug => Object.prototype.hasOwnProperty.call(PROBLEMS, s);
