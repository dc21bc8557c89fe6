import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, scrubUrls } from '../src/logger';

/** A real pino logger writing into memory; returns the parsed lines. */
function capture() {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const log = createLogger('test', 'debug', dest as unknown as Parameters<typeof createLogger>[2]);
  return { log, lines, text: () => lines.join('\n') };
}

const PRESIGNED = 'https://bucket.s3.amazonaws.com/videos/clip.mp4?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=deadbeefcafe0123';
const SECRETS = ['X-Amz-Signature', 'deadbeefcafe0123', 'AKIAEXAMPLE', 'hunter2', 'oa_apikey_s3cret', 'whsec_s3cret', 'svc-token-s3cret'];

test('pre-signed URLs lose their query string in fields, nested fields, bindings, messages and errors', () => {
  const { log, lines, text } = capture();
  log.info({ url: PRESIGNED }, 'fetching');
  log.info({ job: { sourceUrl: PRESIGNED, callbackUrl: `${PRESIGNED}&x=1` } }, 'nested');
  log.child({ sourceUrl: PRESIGNED }).warn('child binding');
  log.info(`download of ${PRESIGNED} failed`);
  log.error({ err: new Error(`GET ${PRESIGNED} answered 403`) }, 'error object');
  log.info({ list: [PRESIGNED] }, 'array');
  log.info({ redis: 'redis://admin:hunter2@redis:6379/0' }, 'credentials in a URL');
  assert.equal(lines.length, 7);
  const out = text();
  for (const s of SECRETS) assert.ok(!out.includes(s), `${s} reached the log:\n${out}`);
  // What stays is enough to know which object was meant.
  assert.equal(JSON.parse(lines[0]!).url, 'https://bucket.s3.amazonaws.com/videos/clip.mp4?…');
  assert.equal(JSON.parse(lines[1]!).job.sourceUrl, 'https://bucket.s3.amazonaws.com/videos/clip.mp4?…');
  assert.equal(JSON.parse(lines[2]!).sourceUrl, 'https://bucket.s3.amazonaws.com/videos/clip.mp4?…');
  assert.match(JSON.parse(lines[3]!).msg, /^download of https:\/\/bucket\.s3\.amazonaws\.com\/videos\/clip\.mp4\?… failed$/);
  assert.match(JSON.parse(lines[4]!).err.message, /clip\.mp4\?… answered 403/);
  assert.equal(JSON.parse(lines[6]!).redis, 'redis://redis:6379/0');
});

test('authorization headers, cookies, secrets, tokens and passwords are censored', () => {
  const { log, lines, text } = capture();
  log.info({ req: { method: 'GET', url: '/v1/videos', headers: { authorization: 'Bearer oa_apikey_s3cret', cookie: 'sid=hunter2' } } }, 'request');
  log.info({ headers: { authorization: 'Bearer svc-token-s3cret' } }, 'grpc');
  log.info({ webhook: { id: 'wh_1', secret: 'whsec_s3cret' } }, 'created');
  log.info({ password: 'hunter2', token: 'svc-token-s3cret' }, 'top level');
  const out = text();
  for (const s of SECRETS) assert.ok(!out.includes(s), `${s} reached the log:\n${out}`);
  assert.equal(JSON.parse(lines[0]!).req.headers.authorization, '[redacted]');
  assert.equal(JSON.parse(lines[0]!).req.url, '/v1/videos', 'ordinary fields stay');
  assert.equal(JSON.parse(lines[2]!).webhook.id, 'wh_1');
  assert.equal(JSON.parse(lines[2]!).webhook.secret, '[redacted]');
});

test('scrubUrls leaves text without URLs alone', () => {
  assert.equal(scrubUrls('no url here: 3 items, ratio 1/2'), 'no url here: 3 items, ratio 1/2');
  assert.equal(scrubUrls('see http://example.com/a'), 'see http://example.com/a');
});

test('an err field that is a message string is logged as that string, scrubbed', () => {
  const { log, lines } = capture();
  log.error({ err: `GET ${PRESIGNED} answered 403` }, 'string err');
  const line = JSON.parse(lines[0]!) as { err: unknown };
  assert.equal(line.err, 'GET https://bucket.s3.amazonaws.com/videos/clip.mp4?… answered 403');
});
