import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import {
  WEBHOOK_RETRY_DELAYS_SEC,
  callbackSecretFor,
  newWebhookSecret,
  retryDelayMs,
  signWebhook,
  verifyWebhook,
  webhookHeaders,
} from '../src/webhook-signing';

// Independent reference: Standard Webhooks v1 = base64(HMAC-SHA256(base64decode(secret after whsec_), `${id}.${ts}.${body}`)).
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const BODY = '{"test": 2432232314}';
const reference = (secret: string, id: string, ts: number, body: string) =>
  createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
    .update(`${id}.${ts}.${body}`)
    .digest('base64');

test('signWebhook matches an independently computed Standard Webhooks signature', () => {
  const expected = reference(SECRET, ID, TS, BODY);
  assert.equal(signWebhook(SECRET, ID, TS, BODY), `v1,${expected}`);
  // The spec's published test vector for this secret/id/timestamp/body.
  assert.equal(expected, 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
});

test('webhookHeaders carries id, timestamp and signature', () => {
  const h = webhookHeaders(SECRET, ID, TS, BODY);
  assert.equal(h['webhook-id'], ID);
  assert.equal(h['webhook-timestamp'], String(TS));
  assert.equal(h['webhook-signature'], `v1,${reference(SECRET, ID, TS, BODY)}`);
  assert.equal(h['content-type'], 'application/json');
});

test('sign/verify round trip with a fresh secret; tampering fails', () => {
  const secret = newWebhookSecret();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  const now = 1_700_000_000;
  const h = webhookHeaders(secret, 'msg_1', now, '{"a":1}');
  assert.equal(verifyWebhook(secret, h, '{"a":1}', 300, now), true);
  assert.equal(verifyWebhook(secret, h, '{"a":2}', 300, now), false, 'body changed');
  assert.equal(verifyWebhook(secret, { ...h, 'webhook-id': 'msg_2' }, '{"a":1}', 300, now), false, 'id changed');
  assert.equal(verifyWebhook(newWebhookSecret(), h, '{"a":1}', 300, now), false, 'other secret');
  assert.equal(verifyWebhook(secret, { ...h, 'webhook-signature': h['webhook-signature'].replace('v1,', 'v2,') }, '{"a":1}', 300, now), false, 'other version');
});

test('verifyWebhook enforces the tolerance window in both directions', () => {
  const secret = newWebhookSecret();
  const ts = 1_700_000_000;
  const h = webhookHeaders(secret, 'msg_t', ts, 'x');
  assert.equal(verifyWebhook(secret, h, 'x', 300, ts + 300), true);
  assert.equal(verifyWebhook(secret, h, 'x', 300, ts - 300), true);
  assert.equal(verifyWebhook(secret, h, 'x', 300, ts + 301), false);
  assert.equal(verifyWebhook(secret, h, 'x', 300, ts - 301), false);
  assert.equal(verifyWebhook(secret, { ...h, 'webhook-timestamp': 'soon' }, 'x', 300, ts), false);
});

test('verifyWebhook accepts any matching signature among several (key rotation)', () => {
  const secret = newWebhookSecret();
  const ts = 1_700_000_000;
  const good = signWebhook(secret, 'msg_m', ts, 'b');
  const other = signWebhook(newWebhookSecret(), 'msg_m', ts, 'b');
  const headers = (sig: string) => ({ 'webhook-id': 'msg_m', 'webhook-timestamp': String(ts), 'webhook-signature': sig });
  assert.equal(verifyWebhook(secret, headers(`${other} ${good}`), 'b', 300, ts), true);
  assert.equal(verifyWebhook(secret, headers(`v1a,abc ${good}`), 'b', 300, ts), true);
  assert.equal(verifyWebhook(secret, headers(`${other} v1,AAAA`), 'b', 300, ts), false);
});

test('a secret without the whsec_ prefix is refused', () => {
  assert.throws(() => signWebhook('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', ID, TS, BODY), /whsec_/);
});

test('retryDelayMs follows the schedule without jitter at random = 0.5, then gives up', () => {
  const expected = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
  assert.deepEqual(
    WEBHOOK_RETRY_DELAYS_SEC.map((s) => s * 1000),
    expected,
  );
  expected.forEach((ms, attempt) =>
    assert.equal(
      retryDelayMs(attempt, () => 0.5),
      ms,
      `attempt ${attempt}`,
    ),
  );
  assert.equal(
    retryDelayMs(expected.length, () => 0.5),
    null,
  );
  assert.equal(retryDelayMs(expected.length + 5), null);
  // about a day in all
  const totalH = expected.reduce((a, b) => a + b, 0) / 3_600_000;
  assert.ok(totalH > 24 && totalH < 30, `${totalH} h`);
});

test('retryDelayMs jitter stays within ±20 % and scale multiplies the base', () => {
  for (let attempt = 1; attempt < WEBHOOK_RETRY_DELAYS_SEC.length; attempt++) {
    const base = WEBHOOK_RETRY_DELAYS_SEC[attempt] * 1000;
    assert.equal(
      retryDelayMs(attempt, () => 0),
      Math.round(base * 0.8),
    );
    assert.equal(
      retryDelayMs(attempt, () => 0.999999),
      Math.round(base * 1.2 - base * 0.4 * 0.000001),
    );
    for (let i = 0; i < 50; i++) {
      const d = retryDelayMs(attempt)!;
      assert.ok(d >= base * 0.8 && d <= base * 1.2, `attempt ${attempt}: ${d}`);
    }
    assert.equal(
      retryDelayMs(attempt, () => 0.5, 0.001),
      Math.round(base * 0.001),
    );
  }
});

test('callbackSecretFor: one stable whsec_ secret per owner and operator secret, usable for signing', () => {
  const op = newWebhookSecret();
  const a = callbackSecretFor(op, 'owner-a');
  assert.match(a, /^whsec_[A-Za-z0-9+/]{43}=$/, '32-byte key');
  assert.equal(callbackSecretFor(op, 'owner-a'), a);
  assert.notEqual(callbackSecretFor(op, 'owner-b'), a);
  assert.notEqual(callbackSecretFor(newWebhookSecret(), 'owner-a'), a, 'rotating the operator secret rotates every owner');
  assert.notEqual(a, op);
  const headers = webhookHeaders(a, ID, TS, BODY);
  assert.equal(headers['webhook-signature'], `v1,${reference(a, ID, TS, BODY)}`);
  assert.throws(() => callbackSecretFor(op, ''), /owner/);
  assert.throws(() => callbackSecretFor('not-a-secret', 'owner-a'), /whsec_/);
});

test('what we sign, the standardwebhooks reference library verifies (and what it signs, we verify)', () => {
  const secret = newWebhookSecret();
  const now = Math.floor(Date.now() / 1000);
  const body = '{"event":"video.succeeded","n":"10/10!"}';
  const h = webhookHeaders(secret, 'msg_lib', now, body);
  assert.deepEqual(new Webhook(secret).verify(body, h), JSON.parse(body));
  const theirs = new Webhook(secret).sign('msg_lib2', new Date(now * 1000), body);
  assert.equal(verifyWebhook(secret, { 'webhook-id': 'msg_lib2', 'webhook-timestamp': String(now), 'webhook-signature': theirs }, body), true);
  assert.throws(() => new Webhook(secret).verify(`${body} `, h), WebhookVerificationError);
});
