import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DISCLAIMER } from '@omniaffect/core';
import { problemOf, sampleResult, slugOf, startGateway, type Gateway } from './harness';

async function submitUrl(gw: Gateway): Promise<string> {
  const res = await gw.api('/v1/videos', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: 'https://93.184.215.14/clip.mp4' }),
  });
  assert.equal(res.status, 202);
  return ((await res.json()) as { id: string }).id;
}

describe('GET /v1/videos/:id/report', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('renders a self-contained page with the transcript escaped and evidence words highlighted', async () => {
    const id = await submitUrl(gw);
    const early = await gw.api(`/v1/videos/${id}/report`);
    assert.equal(early.status, 409);
    assert.equal(slugOf((await problemOf(early)).type), 'not-ready');

    gw.fake.setResult(id, sampleResult(id));
    const res = await gw.api(`/v1/videos/${id}/report`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const html = await res.text();
    assert.ok(!html.includes('<b>love</b>'), 'transcript markup is not injected');
    assert.ok(html.includes('I &lt;b&gt;<mark'), 'text before the evidence word is escaped');
    assert.match(html, /<mark style="background:rgba\(255,153,0,0\.92\)" data-weight="0\.900"[^>]*>love<\/mark>/);
    assert.match(html, /<mark style="background:rgba\(255,153,0,0\.41\)" data-weight="0\.300"[^>]*>真好<\/mark>/);
    assert.ok(html.includes('&amp; &quot;that&quot;'), 'ampersand and quotes are escaped');
    assert.ok(html.includes('The word &lt;love&gt; pushes towards positive'), 'decision path is escaped');
    assert.ok(html.includes('absent: audio-only file'), 'absent modalities say why');
    assert.ok(html.includes(DISCLAIMER.replace(/'/g, '&#39;')), 'the disclaimer is on the page');
    assert.ok(html.includes('whisper-tiny-test'));
    assert.doesNotMatch(html, /<script|<link|src="http|href="http|url\(http/i, 'no scripts or external resources');
    assert.match(html, /class="block word" style="left:/);
  });
});

interface SseEvent {
  event: string;
  data: string;
}

/** Reads an event stream to its end, letting the test react to each event (e.g. advance the fake). */
async function readEvents(res: Response, onEvent: (e: SseEvent) => void): Promise<{ events: SseEvent[]; comments: number }> {
  const events: SseEvent[] = [];
  let comments = 0;
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (block.startsWith(':')) {
        comments += 1;
        continue;
      }
      const e: SseEvent = { event: 'message', data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) e.event = line.slice(7);
        if (line.startsWith('data: ')) e.data += line.slice(6);
      }
      if (e.data) {
        events.push(e);
        onEvent(e);
      }
    }
  }
  return { events, comments };
}

describe('GET /v1/videos/:id/events', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('emits each status change once and ends after the terminal status', async () => {
    const id = await submitUrl(gw);
    const res = await gw.api(`/v1/videos/${id}/events`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const { events } = await readEvents(res, (e) => {
      const status = (JSON.parse(e.data) as { status: string }).status;
      // Advance only after the gateway has shown the current state, so every state must appear.
      if (status === 'queued') gw.fake.setStatus(id, 'processing');
      if (status === 'processing') gw.fake.setResult(id, sampleResult(id));
    });
    assert.deepEqual(
      events.map((e) => [e.event, (JSON.parse(e.data) as { status: string; id: string }).status]),
      [
        ['status', 'queued'],
        ['status', 'processing'],
        ['status', 'succeeded'],
      ],
    );
    assert.equal((JSON.parse(events[0].data) as { id: string }).id, id);
  });

  test('sends keep-alive comments while nothing changes', async () => {
    const id = await submitUrl(gw);
    const res = await gw.api(`/v1/videos/${id}/events`);
    const startGets = gw.fake.gets;
    let finished = false;
    const reading = readEvents(res, () => undefined);
    // Let the stream idle through several polls (the harness polls every 20 ms, keep-alive every 30 ms).
    while (gw.fake.gets < startGets + 15) await new Promise((r) => setTimeout(r, 10));
    gw.fake.setStatus(id, 'failed', { slug: 'unsupported-media', detail: 'not a video' });
    const { events, comments } = await reading.finally(() => (finished = true));
    assert.ok(finished);
    assert.ok(comments >= 2, `expected keep-alive comments, got ${comments}`);
    assert.deepEqual(events.map((e) => (JSON.parse(e.data) as { status: string }).status), ['queued', 'failed']);
  });

  test('an unknown video is a 404 problem, not a stream', async () => {
    const res = await gw.api('/v1/videos/00000000-0000-4000-8000-00000000abcd/events');
    assert.equal(res.status, 404);
    assert.equal(slugOf((await problemOf(res)).type), 'not-found');
  });
});
