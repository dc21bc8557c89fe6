import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks v1 (standard-webhooks spec 1.0): sign "msgId.timestamp.body" with HMAC-SHA256,
 * key = base64-decoded part of `whsec_<base64>`, header `webhook-signature: v1,<base64>`.
 * The signature itself is computed by the reference library (`standardwebhooks`), so what we send is
 * what every Standard Webhooks receiver computes.
 */
export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

function secretKey(secret: string): Buffer {
  if (!secret.startsWith('whsec_')) throw new Error('webhook secret must start with whsec_');
  return Buffer.from(secret.slice('whsec_'.length), 'base64');
}

/**
 * The secret that signs one API key owner's per-video `callbackUrl` deliveries: HMAC-SHA256 of the
 * owner id under the operator's OMNIAFFECT_CALLBACK_SECRET. Each owner can verify its own callbacks
 * (GET /v1/callback-secret) without being able to forge another owner's, and the operator keeps one
 * secret to rotate instead of a table of them.
 */
export function callbackSecretFor(operatorSecret: string, owner: string): string {
  if (!owner) throw new Error('callbackSecretFor needs an owner');
  return `whsec_${createHmac('sha256', secretKey(operatorSecret)).update(`omniaffect.callback.v1:${owner}`).digest('base64')}`;
}

export function signWebhook(secret: string, msgId: string, timestampSec: number, body: string): string {
  secretKey(secret); // refuses a secret without the whsec_ prefix (the library would take it as raw base64)
  return new Webhook(secret).sign(msgId, new Date(timestampSec * 1000), body);
}

export function webhookHeaders(secret: string, msgId: string, timestampSec: number, body: string): Record<string, string> {
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': signWebhook(secret, msgId, timestampSec, body),
    'content-type': 'application/json',
  };
}

/**
 * Verification for our own receivers and tests; tolerance guards against replays. The signature is
 * the library's (Webhook#sign); the timestamp window is checked here because Webhook#verify fixes it
 * at 300 s and reads the wall clock, while receivers choose their tolerance and tests pin the clock.
 */
export function verifyWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  toleranceSec = 300,
  nowSec = Math.floor(Date.now() / 1000),
): boolean {
  const id = String(headers['webhook-id'] ?? '');
  const ts = Number(headers['webhook-timestamp']);
  const sigHeader = String(headers['webhook-signature'] ?? '');
  if (!id || !Number.isFinite(ts) || Math.abs(nowSec - ts) > toleranceSec) return false;
  const expected = Buffer.from(signWebhook(secret, id, ts, body).slice(3), 'base64');
  // Any of several space-separated signatures may match (key rotation), as the spec says.
  return sigHeader.split(' ').some((part) => {
    const [version, sig] = part.split(',', 2);
    if (version !== 'v1' || !sig) return false;
    const given = Buffer.from(sig, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/**
 * The retry schedule of the Standard Webhooks guidance / docs/architecture.md §10, in seconds after the previous
 * attempt: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (≈ 27.6 h in all).
 */
export const WEBHOOK_RETRY_DELAYS_SEC = [0, 5, 300, 1800, 7200, 18000, 36000, 36000];

/** ±20 % jitter so a recovering receiver is not hit by every queued retry at the same instant. */
export function retryDelayMs(attempt: number, random: () => number = Math.random, scale = 1): number | null {
  if (attempt >= WEBHOOK_RETRY_DELAYS_SEC.length) return null;
  const base = WEBHOOK_RETRY_DELAYS_SEC[attempt] * 1000 * scale;
  return Math.round(base * (0.8 + 0.4 * random()));
}
