import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layerNormWaveform } from '../src/waveform';

test('layerNormWaveform on [1, 2, 3, 4]: (x − 2.5)/sqrt(1.25 + eps), biased variance', () => {
  const eps = 1e-5;
  const out = layerNormWaveform(Float32Array.from([1, 2, 3, 4]), eps);
  const d = Math.sqrt(1.25 + eps);
  assert.deepEqual(Array.from(out), [-1.5 / d, -0.5 / d, 0.5 / d, 1.5 / d].map(Math.fround));
  // With a huge eps the formula, not just standardisation, is visible.
  assert.deepEqual(Array.from(layerNormWaveform(Float32Array.from([1, 3]), 3)), [-0.5, 0.5]);
});

test('layerNormWaveform: mean ≈ 0 and var ≈ 1 on a real-looking signal; constant input → zeros', () => {
  const x = Float32Array.from({ length: 16000 }, (_, i) => 0.1 + 0.3 * Math.sin(i / 13) + 0.05 * Math.cos(i / 3.1));
  const y = layerNormWaveform(x);
  const mean = y.reduce((s, v) => s + v, 0) / y.length;
  const v = y.reduce((s, q) => s + (q - mean) ** 2, 0) / y.length;
  assert.ok(Math.abs(mean) < 1e-6, `mean ${mean}`);
  assert.ok(Math.abs(v - 1) < 1e-3, `var ${v}`);
  assert.deepEqual(Array.from(layerNormWaveform(new Float32Array(5).fill(0.7))), [0, 0, 0, 0, 0]);
  assert.equal(layerNormWaveform(new Float32Array(0)).length, 0);
});
