import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProblemError, grpc } from '@omniaffect/core';
import { OTHER_KEY, filesUnder, problemOf, sampleResult, slugOf, startGateway, type Gateway } from './harness';

async function submitUrl(gw: Gateway, url = 'https://93.184.215.14/clip.mp4'): Promise<string> {
  const res = await gw.api('/v1/videos', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) });
  assert.equal(res.status, 202);
  return ((await res.json()) as { id: string }).id;
}

/** What a PostgreSQL outage looks like when it escapes the orchestrator as an unexpected error. */
const PG_MESSAGE = 'connection to server at "db.internal" (10.20.30.40), port 5432 failed: FATAL: the database system is shutting down';

describe('an erased video answers 410 gone on every route', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('DELETE is 202; afterwards GET, result, report, events, features and DELETE again are 410 problem+json; other keys see 404', async () => {
    const id = await submitUrl(gw);
    await gw.orch.succeed(id, sampleResult(id));
    const del = await gw.api(`/v1/videos/${id}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    assert.equal(await gw.orch.problemOf(id), 'gone', 'the orchestrator erased it: only the tombstone answers');

    const routes: [string, string][] = [
      ['GET', `/v1/videos/${id}`],
      ['GET', `/v1/videos/${id}/result`],
      ['GET', `/v1/videos/${id}/report`],
      ['GET', `/v1/videos/${id}/events`],
      ['GET', `/v1/videos/${id}/features`],
      ['DELETE', `/v1/videos/${id}`],
    ];
    for (const [method, route] of routes) {
      const res = await gw.api(route, { method });
      assert.equal(res.status, 410, `${method} ${route}`);
      const problem = await problemOf(res);
      assert.equal(slugOf(problem.type), 'gone', `${method} ${route}`);
      assert.equal(problem.instance, route);
      const other = await gw.api(route, { method, headers: { authorization: `Bearer ${OTHER_KEY}` } });
      assert.equal(other.status, 404, `${method} ${route} for another key`);
    }
  });

  test('a video erased while its event stream is open ends the stream with a gone event', async () => {
    const id = await submitUrl(gw);
    const res = await gw.api(`/v1/videos/${id}/events`);
    assert.equal(res.status, 200);
    const started = gw.orch.gets;
    const text = res.text();
    while (gw.orch.gets < started + 2) await new Promise((r) => setTimeout(r, 10));
    await gw.orch.erase(id);
    const body = await text;
    assert.match(body, /event: error\nid: \d+\ndata: \{"type":"[^"]*\/problems\/gone"/);
  });
});

describe('5xx answers carry no internal text', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  const unknownVideo = '/v1/videos/00000000-0000-4000-8000-000000000000';

  test('an unexpected orchestrator error (raw PostgreSQL message) is a generic 500 with a request id that the log has', async () => {
    gw.orch.failWith('Get', new Error(PG_MESSAGE));
    try {
      const res = await gw.api(unknownVideo, { headers: { 'x-request-id': 'req-pg-outage-1' } });
      assert.equal(res.status, 500);
      const problem = (await problemOf(res)) as { type: string; detail?: string; requestId?: string };
      assert.equal(slugOf(problem.type), 'internal');
      assert.equal(problem.requestId, 'req-pg-outage-1');
      assert.match(problem.detail ?? '', /req-pg-outage-1/);
      assert.doesNotMatch(JSON.stringify(problem), /db\.internal|10\.20\.30\.40|5432|FATAL/);
      const logged = gw.logs.find((l) => l.includes('req-pg-outage-1') && l.includes('"level":"error"')) ?? '';
      assert.match(logged, /database system is shutting down/, 'the real cause is in the log under the request id');
    } finally {
      gw.orch.failWith('Get', null);
    }
  });

  test('a request id is generated when the client sends none, and returned in X-Request-Id', async () => {
    gw.orch.failWith('GetResult', new Error(PG_MESSAGE));
    try {
      const res = await gw.api(`${unknownVideo}/result`);
      assert.equal(res.status, 500);
      const problem = (await problemOf(res)) as { requestId?: string };
      assert.ok(problem.requestId);
      assert.equal(res.headers.get('x-request-id'), problem.requestId);
    } finally {
      gw.orch.failWith('GetResult', null);
    }
  });

  for (const [name, failure] of [
    ['UNAVAILABLE', { code: grpc.status.UNAVAILABLE, details: 'pg pool to 10.20.30.40:5432 exhausted' }],
    ['DEADLINE_EXCEEDED', { code: grpc.status.DEADLINE_EXCEEDED, details: 'query on db.internal timed out' }],
    ['an unavailable problem', new ProblemError('unavailable', `redis at 10.20.30.40:6379 refused: ${PG_MESSAGE}`)],
  ] as const) {
    test(`orchestrator ${name} is 503 unavailable with Retry-After and no internal text`, async () => {
      gw.orch.failWith('Get', failure);
      try {
        const res = await gw.api(unknownVideo);
        assert.equal(res.status, 503);
        const problem = await problemOf(res);
        assert.equal(slugOf(problem.type), 'unavailable');
        assert.equal(res.headers.get('retry-after'), '5');
        assert.doesNotMatch(JSON.stringify(problem), /db\.internal|10\.20\.30\.40|5432|6379|pool|redis/i);
      } finally {
        gw.orch.failWith('Get', null);
      }
    });
  }

  test('a submission during a database outage is 503 and its upload stays for the retried request', async () => {
    gw.orch.failWith('Submit', { code: grpc.status.UNAVAILABLE, details: PG_MESSAGE });
    try {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array([1, 2, 3])]), 'clip.mp4');
      const res = await gw.api('/v1/videos', { method: 'POST', body: form });
      assert.equal(res.status, 503);
      assert.doesNotMatch(await res.text(), /db\.internal|5432/);
      // The orchestrator may have committed the video before the outage hit; its media stage needs the file.
      assert.equal((await filesUnder(gw.artifactDir)).filter((f) => f.endsWith('/source')).length, 1);
    } finally {
      gw.orch.failWith('Submit', null);
    }
  });

  test('ProblemErrors below 500 pass through with their detail', async () => {
    gw.orch.failWith('Get', new ProblemError('conflict', 'the video is being erased'));
    try {
      const res = await gw.api(unknownVideo);
      assert.equal(res.status, 409);
      const problem = await problemOf(res);
      assert.equal(slugOf(problem.type), 'conflict');
      assert.equal(problem.detail, 'the video is being erased');
    } finally {
      gw.orch.failWith('Get', null);
    }
  });

  test('an event stream that hits an internal error sends a generic error event', async () => {
    const id = await submitUrl(gw);
    const res = await gw.api(`/v1/videos/${id}/events`);
    assert.equal(res.status, 200);
    const started = gw.orch.gets;
    const text = res.text();
    while (gw.orch.gets < started + 2) await new Promise((r) => setTimeout(r, 10));
    gw.orch.failWith('Get', new Error(PG_MESSAGE));
    try {
      const body = await text;
      assert.match(body, /event: error/);
      assert.doesNotMatch(body, /db\.internal|10\.20\.30\.40|FATAL/);
      assert.match(body, /requestId/);
    } finally {
      gw.orch.failWith('Get', null);
    }
  });
});

describe('logs never carry query strings or pre-signed URLs', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('submitted URLs are logged redacted; request paths without their query', async () => {
    const id = await submitUrl(gw, 'https://93.184.215.14/clip.mp4?X-Amz-Signature=SIGSECRET123&X-Amz-Credential=CREDSECRET');
    await gw.api(`/v1/videos/${id}?access_token=QSECRET1`);
    await gw.api('/v1/nowhere?token=QSECRET2');
    gw.orch.failWith('Get', new Error(PG_MESSAGE));
    await gw.api(`/v1/videos/${id}?sig=QSECRET3`);
    gw.orch.failWith('Get', null);
    const all = gw.logs.join('\n');
    for (const secret of ['SIGSECRET123', 'CREDSECRET', 'QSECRET1', 'QSECRET2', 'QSECRET3']) {
      assert.ok(!all.includes(secret), `${secret} reached the log`);
    }
    assert.ok(all.includes('https://93.184.215.14/clip.mp4?…'), 'the redacted URL is logged');
    assert.ok(
      gw.logs.some((l) => l.includes('"route":"/v1/videos/:id"')),
      'requests are logged by route template',
    );
  });
});
