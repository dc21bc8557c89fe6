import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedFile, SHARED_SKIP_REASON } from '@omniaffect/core';
import { yinPitch, frameRms, prosodySummary } from '../src/prosody';
import { readWavMono } from '../src/wav';

const SR = 16000;

function tone(f: number, seconds: number, amp = 0.5, kind: 'sine' | 'saw' = 'sine'): Float32Array {
  const x = new Float32Array(Math.round(seconds * SR));
  for (let i = 0; i < x.length; i++) {
    const ph = (f * i) / SR;
    x[i] = kind === 'sine' ? amp * Math.sin(2 * Math.PI * ph) : amp * (2 * (ph - Math.floor(ph + 0.5)));
  }
  return x;
}

function medianVoiced(f0: Float32Array): number {
  const v = Array.from(f0)
    .filter((x) => x > 0)
    .sort((a, b) => a - b);
  assert.ok(v.length > 0, 'no voiced frames');
  return v[Math.floor(v.length / 2)];
}

for (const [f, kind] of [
  [220, 'sine'],
  [150, 'sine'],
  [110, 'saw'],
  [310, 'saw'],
] as const) {
  test(`yinPitch finds ${f} Hz in a ${kind} within 2 % on every frame`, () => {
    const r = yinPitch(tone(f, 1, 0.5, kind), SR);
    assert.equal(r.hopSeconds, 0.01);
    assert.equal(r.f0.length, Math.floor((SR - 1024) / 160) + 1);
    for (const v of r.f0) assert.ok(Math.abs(v - f) / f < 0.02, `frame f0 ${v}`);
    assert.ok(Math.abs(medianVoiced(r.f0) - f) / f < 0.005);
    for (const p of r.periodicity) assert.ok(p > 0.85);
  });
}

test('yinPitch: silence → all 0; white noise is mostly unvoiced', () => {
  const r = yinPitch(new Float32Array(SR), SR);
  assert.ok(r.f0.length > 0);
  for (const v of r.f0) assert.equal(v, 0);
  let s = 12345;
  const noise = Float32Array.from({ length: SR }, () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * 0.5);
  const n = yinPitch(noise, SR);
  const voiced = Array.from(n.f0).filter((v) => v > 0).length;
  assert.ok(voiced / n.f0.length < 0.2, `voiced ratio on noise ${voiced / n.f0.length}`);
});

test('frameRms of a constant is the constant; of a sine is amp/√2', () => {
  assert.deepEqual(Array.from(frameRms(new Float32Array(1000).fill(-0.25), 400, 160)), [0.25, 0.25, 0.25, 0.25]);
  const r = frameRms(tone(1000, 0.1), 400, 160); // 400 samples = whole periods of 1 kHz
  for (const v of r) assert.ok(Math.abs(v - 0.5 / Math.SQRT2) < 1e-6);
  assert.equal(frameRms(new Float32Array(0), 400, 160).length, 0);
});

test('prosodySummary: known energy, pitch, voicing and a 4 Hz syllable-like envelope', () => {
  // 2 s of 200 Hz at amplitude 0.5 gated on/off at 4 Hz (125 ms on, 125 ms off), then 1 s of silence.
  const x = new Float32Array(3 * SR);
  const t200 = tone(200, 2, 0.5);
  for (let i = 0; i < 2 * SR; i++) if (Math.floor(i / (SR / 8)) % 2 === 0) x[i] = t200[i];
  const s = prosodySummary(x, SR, 0, 2);
  assert.ok(s.f0MeanHz !== null && Math.abs(s.f0MeanHz - 200) < 4, `f0 mean ${s.f0MeanHz}`);
  assert.ok(s.f0StdHz !== null && s.f0StdHz < 5);
  assert.ok(s.f0MinHz! > 190 && s.f0MaxHz! < 210);
  // Half the time at power 0.125 → mean power 0.0625 → −12.04 dBFS.
  assert.ok(Math.abs(s.energyDb! - 10 * Math.log10(0.0625)) < 0.5, `energy ${s.energyDb}`);
  assert.ok(s.voicedRatio! > 0.2 && s.voicedRatio! < 0.6, `voiced ${s.voicedRatio}`);
  assert.ok(Math.abs(s.rateProxy! - 4) <= 0.5, `rate ${s.rateProxy}`);

  const steady = prosodySummary(tone(200, 1, 0.5), SR);
  assert.ok(Math.abs(steady.energyDb! - 20 * Math.log10(0.5 / Math.SQRT2)) < 0.05, `steady energy ${steady.energyDb}`);
  assert.ok(steady.voicedRatio! > 0.95);

  const silent = prosodySummary(x, SR, 2, 3);
  assert.equal(silent.f0MeanHz, null);
  assert.equal(silent.f0StdHz, null);
  assert.equal(silent.voicedRatio, 0);
  assert.equal(silent.energyDb, -120);
  assert.equal(silent.rateProxy, 0);
  assert.deepEqual(prosodySummary(x, SR, 5, 6), {
    f0MeanHz: null,
    f0StdHz: null,
    f0MinHz: null,
    f0MaxHz: null,
    energyDb: null,
    voicedRatio: null,
    rateProxy: null,
  });
});

test('prosodySummary on real Mandarin speech gives plausible values', (t) => {
  const p = sharedFile('media', 'zh', 'funasr_asr_example.wav');
  if (!p) return t.skip(SHARED_SKIP_REASON);
  const { samples, sampleRate } = readWavMono(p);
  const s = prosodySummary(samples, sampleRate);
  t.diagnostic(JSON.stringify(s));
  assert.ok(s.f0MeanHz! > 80 && s.f0MeanHz! < 300);
  assert.ok(s.voicedRatio! > 0.1 && s.voicedRatio! < 0.9);
  assert.ok(s.rateProxy! > 1 && s.rateProxy! < 8);
  assert.ok(s.energyDb! < -6 && s.energyDb! > -40);
});
