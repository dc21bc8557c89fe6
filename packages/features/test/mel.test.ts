import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedFile, SHARED_SKIP_REASON } from '@omniaffect/core';
import { melFilterBank, logMelSpectrogram, WHISPER_N_FRAMES } from '../src/mel';
import { readNpz } from '../src/npy';
import { readWavMono } from '../src/wav';
import { loadFixtureNpy, maxAbsDiff } from './helpers';
import { readFileSync } from 'node:fs';
import { fixture } from './helpers';

const META = JSON.parse(readFileSync(fixture('refs_meta.json'), 'utf8')) as { melStep: number };

for (const nMels of [80, 128]) {
  test(`melFilterBank(201, ${nMels}) matches openai/whisper mel_filters.npz mel_${nMels} within 1e-6`, (t) => {
    const npz = sharedFile('assets', 'whisper', 'mel_filters.npz');
    if (!npz) return t.skip(SHARED_SKIP_REASON);
    const ref = readNpz(npz).get(`mel_${nMels}`);
    assert.ok(ref, `mel_${nMels} missing from npz`);
    assert.deepEqual(ref.shape, [nMels, 201]);
    const ours = melFilterBank(201, nMels, 16000, 0, 8000);
    const err = maxAbsDiff(ours, ref.data as Float32Array);
    t.diagnostic(`mel_${nMels} max abs diff ${err.toExponential(2)}`);
    assert.ok(err <= 1e-6, `max abs diff ${err}`);
  });
}

test('melFilterBank rows are Slaney-normalised triangles (area ≈ 2/bandwidth·peak shape, non-negative)', () => {
  const f = melFilterBank();
  assert.equal(f.length, 128 * 201);
  for (let m = 0; m < 128; m++) {
    let nz = 0;
    for (let k = 0; k < 201; k++) {
      assert.ok(f[m * 201 + k] >= 0);
      if (f[m * 201 + k] > 0) nz++;
    }
    // Low Slaney bands are narrower than one 40 Hz FFT bin and may hit no bin centre (librosa warns about these).
    if (m >= 10) assert.ok(nz >= 1, `filter ${m} is empty`);
  }
});

test('logMelSpectrogram of silence is −1.5 everywhere', () => {
  const out = logMelSpectrogram(new Float32Array(16000));
  assert.equal(out.length, 128 * WHISPER_N_FRAMES);
  for (let i = 0; i < out.length; i++) assert.equal(out[i], -1.5);
});

function compareToFixture(t: { diagnostic: (s: string) => void }, name: string, samples: Float32Array) {
  const ref = loadFixtureNpy(`logmel_${name}.npy`);
  const step = META.melStep;
  const cols = ref.shape[1];
  assert.equal(ref.shape[0], 128);
  assert.equal(cols, Math.ceil(WHISPER_N_FRAMES / step));
  const ours = logMelSpectrogram(samples);
  const sub = new Float32Array(128 * cols);
  for (let m = 0; m < 128; m++) for (let c = 0; c < cols; c++) sub[m * cols + c] = ours[m * WHISPER_N_FRAMES + c * step];
  const err = maxAbsDiff(sub, ref.data as Float32Array);
  t.diagnostic(`log-mel ${name}: max abs diff ${err.toExponential(2)} over ${sub.length} values`);
  assert.ok(err <= 1e-4, `max abs diff ${err}`);
  // Every frame, through its per-frame sum and max over the bins: an element off by ≤ 1e-4 moves a
  // sum of 128 by ≤ 0.0128; a shifted, dropped or mis-padded frame moves it by whole units.
  const frames = loadFixtureNpy(`logmel_${name}_frames.npy`);
  assert.deepEqual(frames.shape, [2, WHISPER_N_FRAMES]);
  const ref2 = frames.data as Float64Array;
  let sumErr = 0;
  let maxErr = 0;
  for (let c = 0; c < WHISPER_N_FRAMES; c++) {
    let sum = 0;
    let max = -Infinity;
    for (let m = 0; m < 128; m++) {
      const v = ours[m * WHISPER_N_FRAMES + c];
      sum += v;
      if (v > max) max = v;
    }
    sumErr = Math.max(sumErr, Math.abs(sum - ref2[c]));
    maxErr = Math.max(maxErr, Math.abs(max - ref2[WHISPER_N_FRAMES + c]));
  }
  t.diagnostic(
    `log-mel ${name}, all ${WHISPER_N_FRAMES} frames: max |Δ per-frame sum| ${sumErr.toExponential(2)}, max |Δ per-frame max| ${maxErr.toExponential(2)}`,
  );
  assert.ok(sumErr <= 128 * 1e-4, `per-frame sum off by ${sumErr}`);
  assert.ok(maxErr <= 1e-4, `per-frame max off by ${maxErr}`);
}

test('logMelSpectrogram of a 1 kHz sine matches the numpy OpenAI-recipe reference within 1e-4', (t) => {
  const n = 5 * 16000;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 16000);
  compareToFixture(t, 'sine1k', x);
  // The peak mel bin must be the one containing 1 kHz (sanity that the layout is mel-major).
  const out = logMelSpectrogram(x);
  const t0 = 100;
  let best = 0;
  for (let m = 1; m < 128; m++) if (out[m * 3000 + t0] > out[best * 3000 + t0]) best = m;
  const bank = melFilterBank();
  assert.ok(bank[best * 201 + 25] > 0, `peak mel ${best} does not cover the 1 kHz bin`);
});

for (const [name, rel] of [
  ['jfk', ['media', 'en', 'jfk.wav']],
  ['zh', ['media', 'zh', 'funasr_asr_example.wav']],
] as const) {
  test(`logMelSpectrogram(${rel.join('/')}) matches the numpy reference within 1e-4`, (t) => {
    const wav = sharedFile(...rel);
    if (!wav) return t.skip(SHARED_SKIP_REASON);
    const { sampleRate, samples } = readWavMono(wav);
    assert.equal(sampleRate, 16000);
    compareToFixture(t, name, samples);
  });
}

test('logMelSpectrogram trims audio longer than 30 s', () => {
  const x = new Float32Array(480000 + 16000).fill(0);
  x.fill(0.3, 480000); // only beyond 30 s: must be cut off
  const out = logMelSpectrogram(x);
  for (let i = 0; i < out.length; i++) assert.equal(out[i], -1.5);
});
