import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError, EXIT_CODES, RESULT_SCHEMA } from '@omniaffect/core';
import { loadGatewayConfig } from '../src/config';
import { problemOf, slugOf, startGateway, type Gateway } from './harness';

describe('auth, errors and operations', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('a missing or invalid key is 401 problem+json with a Bearer challenge', async () => {
    for (const authorization of [undefined, 'Bearer wrong-key', 'Basic dGVzdDp0ZXN0', 'Bearer test-key-alpha-but-longer']) {
      const res = await fetch(`${gw.base}/v1/webhooks`, { headers: authorization ? { authorization } : {} });
      assert.equal(res.status, 401, String(authorization));
      const problem = await problemOf(res);
      assert.equal(slugOf(problem.type), 'unauthorized');
      assert.equal(problem.instance, '/v1/webhooks');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    const upload = await fetch(`${gw.base}/v1/videos`, { method: 'POST', body: new FormData() });
    assert.equal(upload.status, 401);
    assert.equal(gw.orch.submits.length, 0);
  });

  test('health, readiness, metrics and the OpenAPI document need no key', async () => {
    assert.equal((await fetch(`${gw.base}/healthz`)).status, 200);
    const ready = await fetch(`${gw.base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', checks: { orchestrator: 'ok', artifacts: 'ok' } });
    assert.equal((await fetch(`${gw.base}/v1/openapi.json`)).status, 200);
    await gw.api('/v1/videos/00000000-0000-4000-8000-000000000000');
    const metrics = await fetch(`${gw.base}/metrics`);
    assert.equal(metrics.status, 200);
    const text = await metrics.text();
    assert.match(text, /omniaffect_http_request_duration_seconds_count\{[^}]*route="\/v1\/videos\/:id"[^}]*status="404"/);
    assert.match(text, /process_cpu_seconds_total\{service="gateway"\}/);
  });

  test('readiness follows the orchestrator health, naming only the failing dependency', async () => {
    gw.orch.setServing(false);
    try {
      const res = await fetch(`${gw.base}/readyz`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { status: 'not-ready', checks: { orchestrator: 'failing', artifacts: 'ok' } });
      assert.ok(
        gw.logs.some((l) => l.includes('not ready') && l.includes('NOT_SERVING')),
        'the reason is logged',
      );
    } finally {
      gw.orch.setServing(true);
    }
  });

  test('an unreachable orchestrator or unwritable artifact dir: readiness carries no error text, the log does', async () => {
    // A directory under a regular file can never be created, even by root.
    const blocker = path.join(await mkdtemp(path.join(tmpdir(), 'omniaffect-blocker-')), 'not-a-dir');
    await writeFile(blocker, 'x');
    const down = await startGateway({ ARTIFACT_DIR: path.join(blocker, 'omniaffect-cannot-write-here') });
    await down.orch.closeProxy();
    try {
      const res = await fetch(`${down.base}/readyz`);
      assert.equal(res.status, 503);
      const text = await res.text();
      assert.deepEqual(JSON.parse(text), { status: 'not-ready', checks: { orchestrator: 'failing', artifacts: 'failing' } });
      assert.doesNotMatch(text, /127\.0\.0\.1|not-a-dir|ENOTDIR|ECONN|unreachable|No connection/i);
      const logged = down.logs.find((l) => l.includes('not ready')) ?? '';
      assert.match(logged, /unreachable/);
      assert.match(logged, /omniaffect-cannot-write-here/);
    } finally {
      await down.close();
    }
  });

  test('unknown routes, malformed JSON and oversized JSON are problem documents', async () => {
    const missing = await gw.api('/v1/nothing-here');
    assert.equal(missing.status, 404);
    const p404 = await problemOf(missing);
    assert.equal(slugOf(p404.type), 'not-found');
    assert.equal(p404.instance, '/v1/nothing-here');

    const malformed = await gw.api('/v1/videos', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"url": ' });
    assert.equal(malformed.status, 400);
    assert.equal(slugOf((await problemOf(malformed)).type), 'validation');

    const huge = await gw.api('/v1/videos', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://93.184.215.14/a.mp4', metadata: { pad: 'x'.repeat(70 * 1024) } }),
    });
    assert.equal(huge.status, 413);
    assert.equal(slugOf((await problemOf(huge)).type), 'payload-too-large');
  });

  test('an unreachable orchestrator is 503 unavailable', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const down = await startGateway();
    await down.orch.closeProxy();
    try {
      const res = await down.api(`/v1/videos/${id}`);
      assert.equal(res.status, 503);
      assert.equal(slugOf((await problemOf(res)).type), 'unavailable');
    } finally {
      await down.close();
    }
  });

  test('the OpenAPI document lists every route, bearer auth, the Result and Problem schemas and the disclaimer', async () => {
    const doc = (await (await fetch(`${gw.base}/v1/openapi.json`)).json()) as {
      openapi: string;
      info: { description: string };
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { scheme: string }> };
      security: unknown[];
    };
    assert.match(doc.openapi, /^3\./);
    const routes = Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    assert.deepEqual(routes, [
      'DELETE /v1/videos/{id}',
      'DELETE /v1/webhooks/{id}',
      'GET /healthz',
      'GET /metrics',
      'GET /readyz',
      'GET /v1/callback-secret',
      'GET /v1/openapi.json',
      'GET /v1/ratings/summary',
      'GET /v1/schemas/result.json',
      'GET /v1/videos',
      'GET /v1/videos/{id}',
      'GET /v1/videos/{id}/events',
      'GET /v1/videos/{id}/features',
      'GET /v1/videos/{id}/media',
      'GET /v1/videos/{id}/ratings',
      'GET /v1/videos/{id}/report',
      'GET /v1/videos/{id}/result',
      'GET /v1/webhooks',
      'GET /v1/webhooks/{id}/deliveries',
      'POST /v1/videos',
      'POST /v1/videos/{id}/ratings',
      'POST /v1/videos/{id}/report-link',
      'POST /v1/webhooks',
    ]);
    const { $id: _id, ...result } = RESULT_SCHEMA;
    assert.deepEqual(doc.components.schemas.Result, JSON.parse(JSON.stringify(result)));
    assert.ok(doc.components.schemas.Problem);
    assert.equal(Object.values(doc.components.securitySchemes)[0].scheme, 'bearer');
    assert.ok(doc.security.length > 0, 'bearer auth applies by default');
    assert.deepEqual(doc.paths['/healthz'].get.security, [], 'health is public');
    assert.match(doc.info.description, /perceived/i);
    assert.match(doc.info.description, /does not measure what a person actually feels/);
    assert.ok(doc.paths['/v1/videos/{id}/result'].get.responses['409'], 'not-ready is documented');
    assert.ok(doc.paths['/v1/videos/{id}/ratings'].post.responses['201'], 'a rating is created');
    assert.ok(doc.paths['/v1/videos/{id}/media'].get.responses['206'] && doc.paths['/v1/videos/{id}/media'].get.responses['416'], 'ranges are documented');
    // the media route takes the key or a signed link (either), every other route the key
    assert.deepEqual(doc.paths['/v1/videos/{id}/media'].get.security, [{ apiKey: [] }, { mediaLink: [] }]);
    assert.equal(doc.paths['/v1/videos/{id}'].get.security, undefined, 'the default (bearer) applies');
  });

  test('GET /v1/schemas/result.json is the result schema', async () => {
    const res = await gw.api('/v1/schemas/result.json');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), JSON.parse(JSON.stringify(RESULT_SCHEMA)));
  });
});

describe('configuration', () => {
  test('a missing or empty OMNIAFFECT_API_KEYS is a ConfigError naming the variable', () => {
    for (const env of [{}, { OMNIAFFECT_API_KEYS: ' , ' }]) {
      assert.throws(
        () => loadGatewayConfig(env),
        (err: unknown) => err instanceof ConfigError && err.message.includes('OMNIAFFECT_API_KEYS'),
      );
    }
    assert.throws(() => loadGatewayConfig({ OMNIAFFECT_API_KEYS: 'k', MAX_UPLOAD_BYTES: 'lots' }), /MAX_UPLOAD_BYTES/);
    const ok = loadGatewayConfig({ OMNIAFFECT_API_KEYS: 'a, b' });
    assert.deepEqual(ok.OMNIAFFECT_API_KEYS, ['a', 'b']);
    assert.equal(ok.PORT, 8080);
    assert.equal(ok.HOST, '127.0.0.1');
    assert.equal(ok.MAX_UPLOAD_BYTES, 2 * 1024 ** 3);
    assert.equal(ok.OMNIAFFECT_INGEST_ALLOW_PRIVATE, false);
    assert.equal(ok.RATE_LIMIT_REQUESTS_PER_MINUTE, 600);
    assert.equal(ok.RATE_LIMIT_SUBMISSIONS_PER_MINUTE, 30);
    assert.equal(ok.SSE_MAX_STREAMS_PER_KEY, 10);
    assert.equal(ok.SSE_MAX_STREAMS, 1000);
    assert.equal(ok.UPLOAD_IDLE_TIMEOUT_MS, 30_000);
    for (const name of ['RATE_LIMIT_REQUESTS_PER_MINUTE', 'SSE_MAX_STREAMS', 'UPLOAD_IDLE_TIMEOUT_MS']) {
      assert.throws(() => loadGatewayConfig({ OMNIAFFECT_API_KEYS: 'k', [name]: '-1' }), new RegExp(name));
    }
  });

  test('main prints the message and exits with the config exit code (78, as every service) on a configuration error', () => {
    const main = path.join(__dirname, '..', 'src', 'main.js');
    const env = { ...process.env };
    delete env.OMNIAFFECT_API_KEYS;
    const run = spawnSync(process.execPath, [main], { env: { ...env, PORT: 'eighty' }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, EXIT_CODES.config);
    assert.match(run.stderr, /OMNIAFFECT_API_KEYS/);
    assert.match(run.stderr, /PORT/);
  });
});
