import { ProblemError } from './problems';

/** Reviewer ratings of an explanation: two scores and an optional comment (POST /v1/videos/:id/ratings). */
export const RATING_MIN = 1;
export const RATING_MAX = 5;
/** In characters (code points), as PostgreSQL's char_length counts them: the table's CHECK agrees. */
export const RATING_COMMENT_MAX_CHARS = 2000;
const RATING_FIELDS = ['clarity', 'relevance', 'comment'] as const;

export interface RatingInput {
  clarity: number;
  relevance: number;
  comment: string | null;
}

/** A value for a problem detail: short, and never more of the caller's input than needed to spot the mistake. */
const shown = (v: unknown): string => {
  const s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
};

function score(body: Record<string, unknown>, name: 'clarity' | 'relevance'): number {
  const v = body[name];
  // No coercion: "3" or 3.0001 is a client bug worth hearing about, not a rating to guess at.
  if (typeof v !== 'number' || !Number.isInteger(v) || v < RATING_MIN || v > RATING_MAX) {
    throw new ProblemError('validation', `${name} must be an integer from ${RATING_MIN} to ${RATING_MAX} (got ${shown(v)})`);
  }
  return v;
}

/**
 * Checks a rating as a client sent it (the gateway, for a clear 400) and as the orchestrator receives it
 * (the boundary of the table): one rule in one place. Unknown fields are refused rather than dropped, so
 * a misspelt `coment` is not silently lost.
 */
export function parseRatingInput(body: unknown): RatingInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ProblemError('validation', 'the body must be a JSON object {clarity, relevance, comment?} sent as application/json');
  }
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !(RATING_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new ProblemError(
      'validation',
      `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 5).map(shown).join(', ')}; expected clarity, relevance, comment`,
    );
  }
  const clarity = score(b, 'clarity');
  const relevance = score(b, 'relevance');
  const c = b.comment;
  if (c !== undefined && c !== null && typeof c !== 'string') throw new ProblemError('validation', `comment must be a string (got ${shown(c)})`);
  const comment = typeof c === 'string' ? c : null;
  if (comment !== null && [...comment].length > RATING_COMMENT_MAX_CHARS) {
    throw new ProblemError('validation', `comment must be at most ${RATING_COMMENT_MAX_CHARS} characters (got ${[...comment].length})`);
  }
  return { clarity, relevance, comment };
}
