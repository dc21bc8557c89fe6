import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from '@omniaffect/core';

/**
 * Signed media links: `/v1/videos/<id>/media?exp=<unix seconds>&sig=<base64url HMAC-SHA256 of "<id>.<exp>">`
 * under the gateway's MEDIA_LINK_SECRET. They exist for `<video src>` in a report opened in a browser tab,
 * which cannot send a bearer header; the link stands for the owner's key, for one video, until `exp`.
 */

const signature = (videoId: string, exp: number, secret: string): Buffer => createHmac('sha256', secret).update(`${videoId}.${exp}`).digest();

/** A link to the video's media valid for `ttlSeconds` from `now` (path and query, relative to the gateway's origin). */
export function signedMediaLink(videoId: string, ttlSeconds: number, secret: string, now: number = Date.now()): string {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError(`ttlSeconds must be a positive integer (got ${ttlSeconds})`);
  if (!secret) throw new RangeError('a media link needs a secret');
  const exp = Math.floor(now / 1000) + ttlSeconds;
  return `/v1/videos/${videoId}/media?exp=${exp}&sig=${signature(videoId, exp, secret).toString('base64url')}`;
}

/**
 * True when `exp` and `sig` (as they came in the query: possibly absent, repeated or garbage) make a
 * link for this video that has not expired. The signature is compared in constant time, and the
 * caller answers every false the same way: which part was wrong is not told.
 */
export function verifyMediaLink(videoId: string, exp: unknown, sig: unknown, secret: string, now: number = Date.now()): boolean {
  if (typeof exp !== 'string' || typeof sig !== 'string') return false;
  if (!/^[0-9]{1,12}$/.test(exp) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return false;
  const expected = signature(videoId, Number(exp), secret);
  const given = Buffer.from(sig, 'base64url');
  const valid = given.length === expected.length && timingSafeEqual(given, expected);
  return valid && Number(exp) * 1000 > now;
}

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
