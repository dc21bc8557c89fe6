import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedFile, SHARED_SKIP_REASON } from '@omniaffect/core';
import { yinPitch, frameRms, prosodySummary, ProsodyTrack, ProsodyTracker } from '../src/prosody';
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

/**
 * YIN as the paper states it (de Cheveigné & Kawahara 2002, steps 2–5), written out directly: the
 * difference function summed term by term, the cumulative mean normalised difference, the absolute
 * threshold with the walk to the dip's minimum, parabolic interpolation. Same parameters as yinPitch's
 * defaults at 16 kHz: frame 1024, hop 160, 60–500 Hz, threshold 0.15, frames under RMS 1e-4 unvoiced.
 */
function referenceYin(x: Float32Array): Float64Array {
  const L = 1024;
  const hop = 160;
  const tauMin = Math.floor(SR / 500);
  const tauMax = Math.ceil(SR / 60);
  const W = L - tauMax - 1;
  const n = x.length >= L ? Math.floor((x.length - L) / hop) + 1 : 0;
  const f0 = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const off = t * hop;
    let e = 0;
    for (let j = 0; j < L; j++) e += x[off + j] * x[off + j];
    if (Math.sqrt(e / L) < 1e-4) continue;
    const d = new Float64Array(tauMax + 2);
    for (let tau = 1; tau <= tauMax + 1; tau++) {
      let s = 0;
      for (let j = 0; j < W; j++) {
        const diff = x[off + j] - x[off + j + tau];
        s += diff * diff;
      }
      d[tau] = s;
    }
    const c = new Float64Array(tauMax + 2);
    c[0] = 1;
    let run = 0;
    for (let tau = 1; tau <= tauMax + 1; tau++) {
      run += d[tau];
      c[tau] = run > 0 ? (d[tau] * tau) / run : 1;
    }
    let tau = tauMin;
    while (tau <= tauMax && !(c[tau] < 0.15)) tau++;
    if (tau > tauMax) continue;
    while (tau + 1 <= tauMax && c[tau + 1] < c[tau]) tau++;
    const den = c[tau - 1] - 2 * c[tau] + c[tau + 1];
    const shift = den > 0 ? Math.max(-1, Math.min(1, (0.5 * (c[tau - 1] - c[tau + 1])) / den)) : 0;
    f0[t] = SR / (tau + shift);
  }
  return f0;
}

/** 3 s: a gliding 3-harmonic voice with vibrato, then white noise, then silence, then a 95 Hz saw. */
function mixedSignal(): Float32Array {
  const x = new Float32Array(3 * SR);
  let s = 99;
  let ph = 0;
  for (let i = 0; i < x.length; i++) {
    const t = i / SR;
    if (t < 1.2) {
      ph += (2 * Math.PI * (140 + 60 * t + 4 * Math.sin(2 * Math.PI * 5 * t))) / SR;
      x[i] = 0.4 * Math.sin(ph) + 0.2 * Math.sin(2 * ph + 0.3) + 0.1 * Math.sin(3 * ph + 1.1);
    } else if (t < 1.8) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      x[i] = (s / 0x7fffffff - 0.5) * 0.3;
    } else if (t >= 2.2) {
      const p = (95 * t) % 1;
      x[i] = 0.3 * (2 * p - 1);
    }
  }
  return x;
}

test('yinPitch equals YIN computed term by term from the paper, frame by frame (voice, noise, silence, saw)', () => {
  const x = mixedSignal();
  const ref = referenceYin(x);
  const ours = yinPitch(x, SR).f0;
  assert.equal(ours.length, ref.length);
  let voiced = 0;
  for (let t = 0; t < ref.length; t++) {
    assert.equal(ours[t] > 0, ref[t] > 0, `frame ${t}: voicing differs (${ours[t]} vs ${ref[t]})`);
    if (ref[t] > 0) {
      voiced++;
      assert.ok(Math.abs(ours[t] - ref[t]) < 1e-3, `frame ${t}: ${ours[t]} Hz vs ${ref[t]} Hz`);
    }
  }
  // the signal exercises both decisions: the voice and the saw are voiced, the noise and silence are not
  assert.ok(voiced > 150 && voiced < ref.length - 50, `voiced frames ${voiced} of ${ref.length}`);
});

test('ProsodyTracker fed in uneven pieces gives what prosodySummary gives for the whole and for 1 s stretches', () => {
  const x = mixedSignal();
  const tracker = new ProsodyTracker(SR, x.length);
  for (let i = 0, k = 0; i < x.length; k++) {
    const n = [1, 999, 12345, 160, 7][k % 5];
    tracker.push(x.subarray(i, i + n));
    i += n;
  }
  const track = tracker.finish();
  assert.deepEqual(track.summary(), prosodySummary(x, SR));
  for (let s = 0; s < 3; s++) assert.deepEqual(track.summary(s, s + 1), prosodySummary(x, SR, s, s + 1), `[${s}, ${s + 1})`);
  // the last 40 ms: shorter than a YIN frame, answered from the kept tail
  assert.deepEqual(track.summary(2.96, 3), prosodySummary(x, SR, 2.96, 3));
  assert.throws(() => track.summary(0.5005, 1.5), /must start on the 160-sample grid/);
  // recordings shorter than one window or one YIN frame
  for (const n of [0, 1, 399, 400, 1023, 1024, 1500]) {
    const y = x.subarray(0, n);
    const t = new ProsodyTracker(SR);
    t.push(y);
    const got = t.finish().summary();
    assert.deepEqual(got, prosodySummary(y, SR), `${n} samples`);
    // under one 25 ms window: one partial frame, so the energy is the RMS of every sample (kept as float32)
    if (n > 0 && n < 400) assert.ok(Math.abs(got.energyDb! - 20 * Math.log10(rmsOf(y))) < 1e-5, `${n} samples: energy ${got.energyDb}`);
  }
});

const rmsOf = (y: Float32Array) => Math.sqrt(y.reduce((a, v) => a + v * v, 0) / y.length);

test('a two-hour track (720,000 voiced frames) is summarised without spreading arrays into calls', () => {
  const frames = 720_000;
  const f0 = new Float32Array(frames).fill(200);
  f0[5] = 150;
  f0[6] = 250;
  const level = new Float32Array(frames).fill(0.1);
  const track = new ProsodyTrack(SR, (frames - 1) * 160 + 1024, new Float32Array(frames).fill(0.1), f0, level, new Float32Array(1024));
  const s = track.summary();
  assert.equal(s.f0MinHz, 150);
  assert.equal(s.f0MaxHz, 250);
  assert.ok(Math.abs(s.f0MeanHz! - 200) < 1e-9);
  assert.equal(s.voicedRatio, 1);
  assert.ok(Math.abs(s.energyDb! - -20) < 1e-6);
});
