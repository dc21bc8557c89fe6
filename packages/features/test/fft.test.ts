import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fft, RealFft, naiveDft } from '../src/fft';
import { rng } from './helpers';

for (const n of [1, 2, 5, 16, 25, 400, 480, 97, 2 * 97, 1000]) {
  test(`Fft(${n}) equals the O(n²) DFT on random complex data`, () => {
    const r = rng(n);
    const re = Float64Array.from({ length: n }, () => r() * 2 - 1);
    const im = Float64Array.from({ length: n }, () => r() * 2 - 1);
    const ref = naiveDft(re, im);
    const oRe = new Float64Array(n);
    const oIm = new Float64Array(n);
    new Fft(n).transform(re, im, oRe, oIm);
    let err = 0;
    for (let k = 0; k < n; k++) err = Math.max(err, Math.abs(oRe[k] - ref.re[k]), Math.abs(oIm[k] - ref.im[k]));
    assert.ok(err < 1e-9 * Math.max(1, n), `max error ${err}`);
  });
}

test('Fft(400) of a pure bin-k cosine puts n/2 at bins k and n−k only', () => {
  const n = 400;
  const k0 = 37;
  const re = Float64Array.from({ length: n }, (_, t) => Math.cos((2 * Math.PI * k0 * t) / n));
  const oRe = new Float64Array(n);
  const oIm = new Float64Array(n);
  new Fft(n).transform(re, null, oRe, oIm);
  for (let k = 0; k < n; k++) {
    const mag = Math.hypot(oRe[k], oIm[k]);
    assert.ok(Math.abs(mag - (k === k0 || k === n - k0 ? n / 2 : 0)) < 1e-9, `bin ${k}: ${mag}`);
  }
});

for (const n of [2, 4, 10, 400, 2 * 97]) {
  test(`RealFft(${n}) equals the onesided O(n²) DFT of a windowed, offset real frame`, () => {
    const r = rng(1000 + n);
    const off = 7;
    const signal = Float64Array.from({ length: n + off + 3 }, () => r() * 2 - 1);
    const win = Float64Array.from({ length: n }, () => r());
    const frame = Float64Array.from({ length: n }, (_, t) => signal[off + t] * win[t]);
    const ref = naiveDft(frame, null);
    const oRe = new Float64Array(n / 2 + 1);
    const oIm = new Float64Array(n / 2 + 1);
    const fft = new RealFft(n);
    fft.transform(signal, oRe, oIm, off, win);
    let err = 0;
    for (let k = 0; k <= n / 2; k++) err = Math.max(err, Math.abs(oRe[k] - ref.re[k]), Math.abs(oIm[k] - ref.im[k]));
    assert.ok(err < 1e-9 * n, `windowed: max error ${err}`);
    // Without a window or offset it is the plain transform of the first n samples.
    const plain = naiveDft(signal.subarray(0, n), null);
    fft.transform(signal, oRe, oIm);
    err = 0;
    for (let k = 0; k <= n / 2; k++) err = Math.max(err, Math.abs(oRe[k] - plain.re[k]), Math.abs(oIm[k] - plain.im[k]));
    assert.ok(err < 1e-9 * n, `plain: max error ${err}`);
  });
}

test('RealFft rejects odd lengths', () => {
  assert.throws(() => new RealFft(5), /even/);
});
