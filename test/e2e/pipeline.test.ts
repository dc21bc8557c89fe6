import assert from 'node:assert/strict';
import { copyFileSync, createReadStream, existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { SHARED_SKIP_REASON, STAND_IN_NOTICE, problemType, sharedFile, validateResult, type AnalysisResult, type VideoDocument } from '@omniaffect/core';
import { audioOnly, corruptVideo, silentVideo, speechVideo, videoWithoutAudio } from '../support/media-fixtures';
import { GatewayClient, serviceNodeFlags } from '@omniaffect/cli';
import { NO_CHROMIUM, findChromium, launchChromium } from '../support/browser';
import { startTestStack, type TestStack } from '../support/stack-fixture';
import { startWebhookReceiver } from '../support/webhook-receiver';

/**
 * The whole pipeline through the public API: real gateway, orchestrator, media (ffmpeg), the four
 * model workers on the tiny ONNX pack, fusion over gRPC, PostgreSQL, Redis and signed webhooks.
 */
describe('pipeline end to end', { timeout: 900_000 }, () => {
  let s: TestStack;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let secret: string;
  let webhookId: string;
  const media = mkdtempSync(path.join(os.tmpdir(), 'oa-media-'));
  const docs = new Map<string, VideoDocument>();
  const ids: Record<string, string> = {};
  const wallMs: Record<string, number> = {};
  let fileServer: http.Server;

  before(async () => {
    s = await startTestStack();
    // The first webhook attempt fails: deliveries must be retried, with the same webhook-id.
    receiver = await startWebhookReceiver({ failFirst: 1 });
    const res = await fetch(`${s.stack.gatewayUrl}/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url, events: ['video.succeeded', 'video.failed'] }),
    });
    assert.equal(res.status, 201);
    const created = (await res.json()) as { id: string; secret: string };
    assert.match(created.secret, /^whsec_/);
    secret = created.secret;
    webhookId = created.id;

    const files = {
      speech: speechVideo(media),
      noAudio: videoWithoutAudio(media),
      audioOnly: audioOnly(media),
      silent: silentVideo(media),
      corrupt: corruptVideo(media),
    };
    const started = Date.now();
    for (const [name, file] of Object.entries(files)) {
      const sub = await s.client.submitFile(file, { language: 'auto' });
      ids[name] = sub.id;
    }
    // {url} submission: the media worker downloads it (private targets allowed in this test stack).
    fileServer = http.createServer((req, res) => {
      if (req.url !== '/clip.mp4') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'video/mp4' });
      createReadStream(files.speech).pipe(res);
    });
    await new Promise<void>((r) => fileServer.listen(0, '127.0.0.1', r));
    const port = (fileServer.address() as AddressInfo).port;
    ids.url = (await s.client.submitUrl(`http://127.0.0.1:${port}/clip.mp4`, { language: 'auto' })).id;
    for (const [name, id] of Object.entries(ids)) {
      docs.set(name, await s.client.waitForTerminal(id, 180_000));
      wallMs[name] = Date.now() - started;
    }
    // Reported by the test run so the closing note can quote it.
    console.log(`e2e wall time (${Object.keys(ids).length} videos submitted together, ms from first submit): ${JSON.stringify(wallMs)}`);
  });

  after(async () => {
    fileServer?.close();
    await receiver?.close();
    if (process.env.E2E_SHOW_LOGS) console.log(s?.logs());
    await s?.teardown();
  });

  async function result(name: string): Promise<AnalysisResult> {
    const doc = docs.get(name)!;
    assert.equal(doc.status, 'succeeded', `${name}: ${JSON.stringify(doc.error)}\n${s.logs()}`);
    const r = await s.client.result<AnalysisResult>(ids[name]);
    const v = validateResult(r);
    assert.ok(v.ok, `${name} result fails its schema: ${v.errors.join('; ')}`);
    return r;
  }

  test('the stack starts each service with the Node flags its package.json names (fusion caps its young generation)', () => {
    for (const [name, h] of s.stack.handles) {
      const argv = readFileSync(`/proc/${h.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const flags = serviceNodeFlags(name);
      assert.deepEqual(argv.slice(1, 1 + flags.length), flags, `${name}: ${argv.join(' ')}`);
      assert.ok(argv[1 + flags.length]!.endsWith(path.join('services', name, 'dist', 'src', 'main.js')), argv.join(' '));
    }
    assert.deepEqual(serviceNodeFlags('fusion'), ['--max-semi-space-size=2']);
  });

  test('a video with speech-like audio and moving frames uses all three modalities', async () => {
    const r = await result('speech');
    assert.deepEqual([r.modalities.text.present, r.modalities.audio.present, r.modalities.vision.present], [true, true, true]);
    // The tiny Whisper decodes its designed Chinese sentence for low-band voiced audio.
    assert.equal(r.transcript.text, '你好，世界');
    assert.equal(r.language, 'zh');
    // language identified from the first decoder step, with its probability
    assert.ok((r.transcript.languageProbability ?? 0) > 0.5, `language probability ${r.transcript.languageProbability}`);
    // the text worker picked the Chinese encoder for the detected language and says so
    assert.equal(r.models.text.slot, 'zh');
    assert.equal(r.models.text.language, 'zh');
    assert.ok(r.transcript.segments.length >= 1);
    assert.ok(r.evidence.words.length > 0, 'word evidence');
    for (const w of r.evidence.words) assert.equal(r.transcript.text.slice(w.charStart, w.charEnd), w.text);
    // one frame every 2 s, the first at 0 s (the evidence lists them by deletion drop)
    assert.deepEqual(
      r.evidence.frames.map((f) => f.time).sort((a, b) => a - b),
      [0, 2, 4],
    );
    // the voice over the whole track, one point per 1 s audio segment; the evidence names the checked ones
    assert.ok(r.voice && r.voice.contour.length >= 4, JSON.stringify(r.voice));
    assert.ok(r.evidence.audioSegments.length >= 1);
    const voiced = r.voice.contour.filter((a) => a.f0Hz !== null);
    assert.ok(voiced.length > 0, 'pitch found in the voiced audio');
    for (const a of voiced) assert.ok(Math.abs(a.f0Hz! - 180) / 180 < 0.1, `f0 ${a.f0Hz} ≈ 180 Hz`);
    assert.ok(Math.abs(r.voice.medianF0Hz! - 180) / 180 < 0.1, `median f0 ${r.voice.medianF0Hz}`);
    const sum = r.modalities.text.contribution + r.modalities.audio.contribution + r.modalities.vision.contribution;
    assert.ok(Math.abs(sum - 1) < 1e-3);
    assert.ok(r.decisionPath.some((d) => /Deletion check/.test(d.description)));
    assert.ok(r.timings.media && r.timings.asr && r.timings.fusion);
    assert.ok(r.models.fusion && r.models.asr && r.models.text && r.models['audio-emotion'] && r.models.vision);
    assert.match(r.disclaimer, /perceived/);
    // the tiny pack is loud: every model is flagged and the disclaimer opens with the notice
    for (const stage of ['asr', 'text', 'audio-emotion', 'vision'] as const) assert.equal(r.models[stage].standIn, 'tiny', `${stage} flagged as a stand-in`);
    assert.ok(r.disclaimer.startsWith(STAND_IN_NOTICE), r.disclaimer);
    const report = await (await fetch(`${s.stack.gatewayUrl}/v1/videos/${r.id}/report`, { headers: { authorization: `Bearer ${s.apiKey}` } })).text();
    assert.match(report, /class="stand-in" role="alert"/);
  });

  test('a {url} submission is downloaded by the media worker and analysed like an upload', async () => {
    const r = await result('url');
    assert.equal(r.transcript.text, '你好，世界');
    assert.equal(r.modalities.vision.present, true);
    const doc = docs.get('url')!;
    assert.equal(doc.source.kind, 'url');
  });

  test('a video without an audio track succeeds on vision alone, saying why', async () => {
    const r = await result('noAudio');
    assert.equal(r.modalities.vision.present, true);
    assert.equal(r.modalities.audio.present, false);
    assert.equal(r.modalities.text.present, false);
    assert.match(r.modalities.audio.reason ?? '', /no audio track/);
    assert.equal(r.modalities.vision.contribution, 1);
    const doc = docs.get('noAudio')!;
    assert.equal(doc.stages.asr?.state, 'skipped');
    assert.equal(doc.stages['audio-emotion']?.state, 'skipped');
  });

  test('an audio-only file succeeds on text and audio', async () => {
    const r = await result('audioOnly');
    assert.equal(r.modalities.vision.present, false);
    assert.match(r.modalities.vision.reason ?? '', /no video stream/);
    assert.equal(r.modalities.audio.present, true);
    assert.equal(r.modalities.text.present, true);
    assert.deepEqual(r.evidence.frames, []);
  });

  test('silence: no voice, so no text and no audio reading, but the video still succeeds on its frames', async () => {
    const r = await result('silent');
    assert.equal(r.modalities.text.present, false);
    assert.match(r.modalities.text.reason ?? '', /no speech/);
    assert.equal(r.transcript.text, '');
    // the VAD hears no voice: emotion2vec frames of silence are not read as vocal expression
    assert.equal(r.modalities.audio.present, false);
    assert.match(r.modalities.audio.reason ?? '', /no voice detected/);
    assert.equal(r.modalities.vision.contribution, 1);
    assert.deepEqual(r.transcript.segments, []);
  });

  test('a corrupt file fails with the unsupported-media problem', async () => {
    const doc = docs.get('corrupt')!;
    assert.equal(doc.status, 'failed');
    assert.equal(doc.error?.type, problemType('unsupported-media'));
    assert.equal(doc.stages.media?.state, 'failed');
    const res = await fetch(`${s.stack.gatewayUrl}/v1/videos/${ids.corrupt}/result`, { headers: { authorization: `Bearer ${s.apiKey}` } });
    assert.equal(res.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    const problem = (await res.json()) as { type: string };
    assert.equal(problem.type, problemType('unsupported-media'));
  });

  test('every finished video gets exactly one correctly signed webhook (verified by standardwebhooks)', async () => {
    const deadline = Date.now() + 60_000;
    const want = new Set(Object.values(ids));
    const seen = () => new Set(receiver.received.map((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id));
    while ([...want].some((id) => !seen().has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const wh = new Webhook(secret);
    const perVideo = new Map<string, Set<string>>();
    for (const r of receiver.received) {
      const payload = wh.verify(r.body, r.headers) as { type: string; data: { id: string; status: string } };
      const set = perVideo.get(payload.data.id) ?? new Set();
      set.add(r.headers['webhook-id']);
      perVideo.set(payload.data.id, set);
      assert.equal(payload.type, `video.${payload.data.status}`);
    }
    for (const [name, id] of Object.entries(ids)) {
      assert.equal(perVideo.get(id)?.size, 1, `${name}: one delivery id`);
      const expected = name === 'corrupt' ? 'failed' : 'succeeded';
      assert.equal(docs.get(name)!.status, expected);
    }
    // A tampered body must not verify.
    const sample = receiver.received[0];
    assert.throws(() => wh.verify(sample.body.replace('video', 'vidéo'), sample.headers));
    // The delivery log shows the retry after the first 503.
    // The receiver records a request before its 204 reaches the orchestrator, which then updates the row.
    type DeliveryLog = { deliveries: { status: string; attempts: number }[] };
    const readLog = async () =>
      (await (
        await fetch(`${s.stack.gatewayUrl}/v1/webhooks/${webhookId}/deliveries`, { headers: { authorization: `Bearer ${s.apiKey}` } })
      ).json()) as DeliveryLog;
    let log = await readLog();
    for (let i = 0; i < 100 && log.deliveries.some((d) => d.status === 'pending'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      log = await readLog();
    }
    assert.equal(log.deliveries.length, Object.keys(ids).length);
    assert.ok(log.deliveries.every((d) => d.status === 'succeeded'));
    assert.ok(log.deliveries.some((d) => d.attempts === 2));
  });

  test('every service exports its Prometheus metrics (inference time, batch size, queue wait)', async () => {
    const ops = s.stack.opts.ports.ops;
    const scrape = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    /** value of the series `name` whose labels include `labels` (label order does not matter) */
    const value = (text: string, name: string, labels: Record<string, string>): number | null => {
      for (const line of text.split('\n')) {
        const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const got = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
      }
      return null;
    };
    const asr = await scrape(ops.asr);
    assert.ok((value(asr, 'omniaffect_inference_seconds_count', { service: 'asr', model: 'whisper' }) ?? 0) >= 1);
    assert.ok((value(asr, 'omniaffect_queue_wait_seconds_count', { service: 'asr', queue: 'asr' }) ?? 0) >= 1);
    const workers: [keyof typeof ops, string][] = [
      ['asr', 'whisper'],
      ['audio-emotion', 'emotion2vec'],
      ['vision', 'siglip'],
      ['text', 'text-zh'],
    ];
    for (const [service, model] of workers) {
      const text = await scrape(ops[service]);
      for (const name of ['omniaffect_inference_seconds_count', 'omniaffect_batch_size_count']) {
        assert.ok((value(text, name, { service, model }) ?? 0) >= 1, `${service}: ${name}{model="${model}"}`);
      }
      assert.ok((value(text, 'omniaffect_queue_wait_seconds_count', { service, queue: service }) ?? 0) >= 1, `${service}: queue wait`);
    }
    const orch = await scrape(ops.orchestrator);
    assert.equal(value(orch, 'omniaffect_queue_jobs', { service: 'orchestrator', queue: 'media', state: 'waiting' }), 0);
    assert.ok((value(orch, 'omniaffect_videos_total', { service: 'orchestrator', status: 'succeeded' }) ?? 0) >= 4);
    assert.ok((value(orch, 'omniaffect_videos_total', { service: 'orchestrator', status: 'failed' }) ?? 0) >= 1);
    const gw = await (await fetch(`${s.stack.gatewayUrl}/metrics`)).text();
    assert.ok((value(gw, 'omniaffect_http_request_duration_seconds_count', { service: 'gateway', route: '/v1/videos/:id', method: 'GET' }) ?? 0) >= 1);
  });

  test('the report page renders the result', async () => {
    const html = await s.client.report(ids.speech);
    // the transcript, with its verified words wrapped in <mark>
    assert.match(html.replace(/<\/?mark[^>]*>/g, ''), /你好，世界/);
    assert.match(html, /perceived/);
  });

  test('the report page works in a real browser (headless Chromium)', async (t) => {
    const chromium = findChromium();
    if (!chromium) return t.skip(NO_CHROMIUM);
    const browser = await launchChromium(chromium);
    try {
      const page = await browser.newPage({ extraHTTPHeaders: { authorization: `Bearer ${s.apiKey}` } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      const res = await page.goto(`${s.stack.gatewayUrl}/v1/videos/${ids.speech}/report`);
      assert.equal(res?.status(), 200);
      const body = await page.locator('body').innerText();
      assert.match(body, /你好，世界/);
      assert.match(body, /perceived/i);
      // every verified word (and only those) is highlighted
      const r = await s.client.result<AnalysisResult>(ids.speech);
      const verified = r.timeline.flatMap((x) => x.evidence.words.filter((w) => w.verified && w.charEnd <= r.transcript.text.length));
      assert.equal(await page.locator('.transcript mark').count(), verified.length);
      const shot = path.join(s.dir, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000, 'a non-trivial page was rendered');
      if (process.env.REPORT_SCREENSHOT) copyFileSync(shot, process.env.REPORT_SCREENSHOT);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  test('real recordings from ../shared (talking-head mp4, 48 kHz stereo, 24-bit, mp3) go through the pipeline', async (t) => {
    const real = {
      faceVideo: sharedFile('media', 'video', 'sadtalker_WDA_KatieHill_000.mp4'),
      zhMp3: sharedFile('media', 'zh', 'funasr_asr_example.mp3'),
      stereo48k: sharedFile('media', 'zh', 'sadtalker_chinese_news.wav'),
      pcm24: sharedFile('media', 'emotion', 'indextts_emo_sad.wav'),
    };
    if (Object.values(real).some((f) => !f)) return t.skip(SHARED_SKIP_REASON);
    const sub: Record<string, string> = {};
    for (const [name, file] of Object.entries(real)) sub[name] = (await s.client.submitFile(file!)).id;
    for (const [name, id] of Object.entries(sub)) {
      const doc = await s.client.waitForTerminal(id, 180_000);
      assert.equal(doc.status, 'succeeded', `${name}: ${JSON.stringify(doc.error)}`);
      const r = await s.client.result<AnalysisResult>(id);
      assert.ok(validateResult(r).ok, `${name}: ${validateResult(r).errors.join('; ')}`);
      assert.equal(r.modalities.audio.present, true, `${name} has audio`);
      // The talking-head clip is 8 s of 512×512 video: frames at 0, 2, 4, 6 s; the evidence names some of them, ranked by deletion drop.
      if (name === 'faceVideo') {
        const times = r.evidence.frames.map((f) => f.time);
        assert.ok(times.length > 0 && times.every((t) => [0, 2, 4, 6].includes(t)), JSON.stringify(times));
        // verified items first, each group by falling drop
        const ranked = r.evidence.frames.every(
          (f, i, a) =>
            i === 0 || Number(a[i - 1]!.verified) > Number(f.verified) || (a[i - 1]!.verified === f.verified && a[i - 1]!.deletionDrop >= f.deletionDrop),
        );
        assert.ok(ranked, JSON.stringify(r.evidence.frames));
      } else assert.equal(r.modalities.vision.present, false);
      const voiced = r.evidence.audioSegments.filter((a) => a.prosody.f0MeanHz !== null);
      assert.ok(voiced.length > 0, `${name}: pitch found in real speech`);
      for (const a of voiced) assert.ok(a.prosody.f0MeanHz! > 60 && a.prosody.f0MeanHz! < 500, `${name}: f0 ${a.prosody.f0MeanHz}`);
    }
  });

  test('DELETE erases media, features and the result', async () => {
    const id = ids.audioOnly;
    const res = await fetch(`${s.stack.gatewayUrl}/v1/videos/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${s.apiKey}` } });
    assert.equal(res.status, 202);
    const emb = await s.db.query('SELECT count(*)::int AS n FROM embeddings WHERE video_id = $1', [id]);
    assert.equal(emb.rows[0].n, 0);
    const resu = await s.db.query('SELECT count(*)::int AS n FROM results WHERE video_id = $1', [id]);
    assert.equal(resu.rows[0].n, 0);
    assert.equal(existsSync(path.join(s.dir, 'artifacts', 'videos', id)), false);
  });

  test("a per-video callbackUrl gets one delivery, signed with the submitting key's own secret", async () => {
    const hook = await startWebhookReceiver();
    try {
      const { id } = await s.client.submitFile(audioOnly(media), { callbackUrl: hook.url });
      assert.equal((await s.client.waitForTerminal(id, 120_000)).status, 'succeeded');
      const deadline = Date.now() + 30_000;
      while (hook.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(hook.received.length, 1);
      const [delivery] = hook.received;
      const secret = await s.client.callbackSecret();
      const payload = new Webhook(secret).verify(delivery.body, delivery.headers) as { type: string; data: { id: string } };
      assert.deepEqual([payload.type, payload.data.id], ['video.succeeded', id]);
      const otherSecret = await new GatewayClient(s.stack.gatewayUrl, s.otherApiKey).callbackSecret();
      assert.notEqual(otherSecret, secret);
      assert.throws(() => new Webhook(otherSecret).verify(delivery.body, delivery.headers), 'another API key cannot verify (or forge) it');
    } finally {
      await hook.close();
    }
  });
});
