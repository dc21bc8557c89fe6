import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DISCLAIMER } from '@omniaffect/core';
import { OTHER_KEY, problemOf, sampleResult, slugOf, startGateway, type Gateway } from './harness';

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

  test('renders a bilingual page with the transcript escaped and the verified evidence highlighted by its drop', async () => {
    const id = await submitUrl(gw);
    const early = await gw.api(`/v1/videos/${id}/report`);
    assert.equal(early.status, 409);
    assert.equal(slugOf((await problemOf(early)).type), 'not-ready');

    await gw.orch.succeed(id, sampleResult(id));
    const res = await gw.api(`/v1/videos/${id}/report`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce, csp);
    const html = await res.text();
    // the one inline script and style carry the response's nonce; nothing is loaded from elsewhere
    assert.equal(html.match(/<script/g)?.length, 1);
    assert.ok(html.includes(`<script nonce="${nonce}">`) && html.includes(`<style nonce="${nonce}">`));
    assert.doesNotMatch(html, /<link|src="http|href="http|url\(http/i, 'no external resources');
    assert.ok(!html.includes('<b>love</b>'), 'transcript markup is not injected');
    assert.ok(html.includes('I &lt;b&gt;<mark'), 'text before the evidence word is escaped');
    // only verified words are highlighted, the largest drop darkest
    assert.match(html, /<mark class="d5" data-drop="0\.42"[^>]*>love<\/mark>/);
    assert.doesNotMatch(html, / style="/, "no style attributes: the CSP allows only the nonce'd stylesheet");
    assert.ok(!/<mark[^>]*>真好<\/mark>/.test(html), 'an unverified word is not highlighted');
    assert.ok(html.includes('&amp; &quot;that&quot;'), 'ampersand and quotes are escaped');
    assert.ok(html.includes('The word &lt;love&gt; pushes towards positive'), 'decision path is escaped');
    assert.ok(html.includes('audio-only file'), 'absent modalities say why');
    assert.ok(html.includes(DISCLAIMER.replace(/'/g, '&#39;')), 'the disclaimer is on the page');
    assert.ok(html.includes('whisper-tiny-test'));
    // both languages are in the page; Accept-Language picks the one shown
    assert.match(html, /<html lang="en">/);
    assert.ok(html.includes('<span lang="zh" data-l="zh">情绪时间线</span>') && html.includes('<span lang="en" data-l="en">Emotion timeline</span>'));
    const zh = await gw.api(`/v1/videos/${id}/report`, { headers: { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8' } });
    assert.match(await zh.text(), /<html lang="zh">/);
    assert.equal(zh.headers.get('content-language'), 'zh-CN');
    assert.match(await (await gw.api(`/v1/videos/${id}/report?lang=en`, { headers: { 'accept-language': 'zh' } })).text(), /<html lang="en">/);
    // the timeline: one focusable segment per result segment, with its times for seeking
    assert.equal(html.match(/<g class="seg"[^>]*data-start="0" data-end="3"/g)?.length, 2, 'drawn once per language');
    // the rationale is composed from verified evidence only
    assert.ok(html.includes('Masking “love” (0.4 s) lowers P(positive) by 0.42.'));
    assert.ok(html.includes('去掉“love”（0.4 秒）后，“积极”的概率下降 0.42。'));
    assert.ok(!html.includes('Masking “真好”'), 'an unverified word is not given as a reason');
    // the media is not retained in this harness (no source file): the page says so rather than show a broken player
    assert.match(html, /class="muted video-none" data-why="report\.video\.erased"/);
    // an exported copy has no form posting to the API and no media link
    const exported = await (await gw.api(`/v1/videos/${id}/report?export=1`)).text();
    assert.ok(!exported.includes('id="rating-form"') && exported.includes('data-why="report.video.exported"'));
  });
});

interface SseEvent {
  event: string;
  data: string;
}

/** Reads an event stream to its end, letting the test react to each event (e.g. advance the video). */
async function readEvents(res: Response, onEvent: (e: SseEvent) => void | Promise<void>): Promise<{ events: SseEvent[]; comments: number }> {
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
        await onEvent(e);
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

  test('emits each change of the video once, every status in order, and ends after the terminal status', async () => {
    const id = await submitUrl(gw);
    const res = await gw.api(`/v1/videos/${id}/events`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const advanced = new Set<string>();
    const { events } = await readEvents(res, async (e) => {
      const status = (JSON.parse(e.data) as { status: string }).status;
      // Advance only after the gateway has shown the current state, so every state must appear.
      if (advanced.has(status)) return;
      advanced.add(status);
      if (status === 'queued') await gw.orch.startProcessing(id);
      if (status === 'processing') await gw.orch.succeed(id, sampleResult(id));
    });
    assert.ok(
      events.every((e) => e.event === 'status'),
      JSON.stringify(events.map((e) => e.event)),
    );
    const statuses = events.map((e) => (JSON.parse(e.data) as { status: string }).status);
    // While processing, the document changes with each stage, and each change is an event of its own...
    assert.deepEqual(
      statuses.filter((s, i) => s !== statuses[i - 1]),
      ['queued', 'processing', 'succeeded'],
    );
    // ...but never the same document twice in a row, and nothing after the terminal status.
    events.forEach((e, i) => assert.ok(i === 0 || e.data !== events[i - 1]!.data, `event ${i} repeats the previous one`));
    assert.equal(statuses.at(-1), 'succeeded');
    assert.equal(statuses.indexOf('succeeded'), statuses.length - 1);
    assert.equal((JSON.parse(events[0]!.data) as { id: string }).id, id);
    const last = JSON.parse(events.at(-1)!.data) as { stages: Record<string, { state: string }> };
    assert.equal(last.stages.fusion?.state, 'done', 'the terminal document is the finished one');
  });

  test('sends keep-alive comments while nothing changes', async () => {
    const id = await submitUrl(gw);
    const res = await gw.api(`/v1/videos/${id}/events`);
    const startGets = gw.orch.gets;
    let ended = false;
    const reading = readEvents(res, () => undefined).finally(() => (ended = true));
    // Let the stream idle through several polls (the harness polls every 20 ms, keep-alive every 30 ms).
    while (gw.orch.gets < startGets + 15) await new Promise((r) => setTimeout(r, 10));
    assert.equal(ended, false, 'the stream stays open while the video is unfinished');
    await gw.orch.fail(id, 'unsupported-media', 'not a video');
    // ...and ends by itself once the terminal status is out (not only when the client goes away).
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the stream did not end after the terminal status')), 5000).unref());
    const { events, comments } = await Promise.race([reading, timeout]);
    assert.ok(comments >= 2, `expected keep-alive comments, got ${comments}`);
    assert.deepEqual(
      events.map((e) => (JSON.parse(e.data) as { status: string }).status),
      ['queued', 'failed'],
    );
  });

  test('an unknown video is a 404 problem, not a stream', async () => {
    const res = await gw.api('/v1/videos/00000000-0000-4000-8000-00000000abcd/events');
    assert.equal(res.status, 404);
    assert.equal(slugOf((await problemOf(res)).type), 'not-found');
  });
});

describe('opening the report without the key in a URL', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('report-link gives a signed, short-lived link for this video and route only', async () => {
    const id = await submitUrl(gw);
    const early = await gw.api(`/v1/videos/${id}/report-link`, { method: 'POST' });
    assert.equal(early.status, 409, 'no report to link to yet');
    await gw.orch.succeed(id, sampleResult(id));
    const res = await gw.api(`/v1/videos/${id}/report-link`, { method: 'POST' });
    assert.equal(res.status, 201);
    const link = (await res.json()) as { url: string; expiresAt: string };
    assert.match(link.url, new RegExp(`^/v1/videos/${id}/report\\?exp=\\d+&sig=[A-Za-z0-9_-]{43}$`));
    const ttl = Date.parse(link.expiresAt) - Date.now();
    assert.ok(ttl > 500_000 && ttl <= 600_000, String(ttl));
    // no Authorization header: the link alone opens the page
    const page = await fetch(new URL(link.url, gw.base));
    assert.equal(page.status, 200);
    assert.match(await page.text(), /data-video-id="[0-9a-f-]{36}"/);
    // the same signature does not open the media, and a tampered one opens nothing
    const asMedia = await fetch(new URL(link.url.replace('/report?', '/media?'), gw.base));
    assert.equal(asMedia.status, 401);
    const tampered = await fetch(
      new URL(
        link.url.replace(/sig=./, (m) => (m.endsWith('A') ? 'sig=B' : 'sig=A')),
        gw.base,
      ),
    );
    assert.equal(tampered.status, 401);
    assert.equal(slugOf((await problemOf(tampered)).type), 'unauthorized');
    // another key cannot mint a link to it
    const other = await fetch(new URL(`/v1/videos/${id}/report-link`, gw.base), { method: 'POST', headers: { authorization: `Bearer ${OTHER_KEY}` } });
    assert.equal(other.status, 404);
  });
});
