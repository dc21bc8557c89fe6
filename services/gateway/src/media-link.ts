import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from '@omniaffect/core';

/**
 * Signed links: `/v1/videos/<id>/<media|report>?exp=<unix seconds>&sig=<base64url HMAC-SHA256>` under the
 * gateway's MEDIA_LINK_SECRET. They exist for what a browser tab cannot send a bearer header with: the
 * report opened from the console, and the `<video src>` inside it. A link stands for the owner's key, for
 * one video and one route, until `exp`; a media link does not open the report, nor the other way round.
 */
export type LinkedRoute = 'media' | 'report';

// The media message keeps its first form ("<id>.<exp>") so links already handed out stay valid.
const message = (route: LinkedRoute, videoId: string, exp: number) => (route === 'media' ? `${videoId}.${exp}` : `${route}:${videoId}.${exp}`);
const signature = (route: LinkedRoute, videoId: string, exp: number, secret: string): Buffer =>
  createHmac('sha256', secret)
    .update(message(route, videoId, exp))
    .digest();

/** A link to one of the video's routes valid for `ttlSeconds` from `now` (path and query, relative to the gateway's origin). */
export function signedLink(route: LinkedRoute, videoId: string, ttlSeconds: number, secret: string, now: number = Date.now()): string {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError(`ttlSeconds must be a positive integer (got ${ttlSeconds})`);
  if (!secret) throw new RangeError('a signed link needs a secret');
  const exp = Math.floor(now / 1000) + ttlSeconds;
  return `/v1/videos/${videoId}/${route}?exp=${exp}&sig=${signature(route, videoId, exp, secret).toString('base64url')}`;
}

export const signedMediaLink = (videoId: string, ttlSeconds: number, secret: string, now?: number): string =>
  signedLink('media', videoId, ttlSeconds, secret, now);

/**
 * True when `exp` and `sig` (as they came in the query: possibly absent, repeated or garbage) make a
 * link for this video that has not expired. The signature is compared in constant time, and the
 * caller answers every false the same way: which part was wrong is not told.
 */
export function verifyLink(route: LinkedRoute, videoId: string, exp: unknown, sig: unknown, secret: string, now: number = Date.now()): boolean {
  if (typeof exp !== 'string' || typeof sig !== 'string') return false;
  if (!/^[0-9]{1,12}$/.test(exp) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return false;
  const expected = signature(route, videoId, Number(exp), secret);
  const given = Buffer.from(sig, 'base64url');
  const valid = given.length === expected.length && timingSafeEqual(given, expected);
  return valid && Number(exp) * 1000 > now;
}

export const verifyMediaLink = (videoId: string, exp: unknown, sig: unknown, secret: string, now?: number): boolean =>
  verifyLink('media', videoId, exp, sig, secret, now);

/**
 * The secret media links are signed with: MEDIA_LINK_SECRET, or else a random one for this process.
 * Without a configured secret a link made by one replica (or before a restart) fails on another, so
 * that is said once, at start.
 */
export function resolveMediaLinkSecret(configured: string | undefined, log: Logger): string {
  if (configured) return configured;
  log.warn('MEDIA_LINK_SECRET is not set: signed media links are signed with a random per-process secret and only work on this replica until it restarts');
  return randomBytes(32).toString('base64url');
}
