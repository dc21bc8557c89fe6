import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { sharedFile, SHARED_SKIP_REASON } from '@omniaffect/core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parsePpmHeader, preprocessImage, preprocessRgb, readPpmFrame, scanPpmStream, ImageResampler } from '../src/image';
import { referenceGradientRgb } from '../src/reference-image';
import { loadFixtureNpy } from './helpers';

/**
 * Parity against test/fixtures/image_*.npy, produced by scripts/reference/make_feature_refs.py with
 * Pillow's BICUBIC algorithm (Keys a = −0.5, antialiased downscale, 8-bit fixed point) re-done in numpy.
 * Measured (normalised units, 1 level = 2/255 ≈ 0.00784), sampled on every 2nd row/column:
 *   resampler 'pil' (default): grad, happy.png, sad1.png → mean 0, max 0 (bit-exact).
 *   resampler 'sharp' (libvips cubic): happy.png (pure 256→224 downscale) mean 0.0013, max 0.0078;
 *     grad (300×200: horizontal down, vertical up) mean 0.025, max 0.149; sad1.png (211×226, horizontal
 *     upscale) mean 0.019, max 0.761 — libvips' upsampling grid is offset against PIL's.
 */

async function compare(name: string, input: Buffer | string | Float32Array, resampler: ImageResampler): Promise<{ mean: number; max: number }> {
  const ref = loadFixtureNpy(`image_${name}.npy`);
  const [h, w] = ref.shape;
  const step = 224 / h;
  const ours = input instanceof Float32Array ? input : await preprocessImage(input, 224, { resampler });
  assert.equal(ours.length, 3 * 224 * 224);
  let sum = 0;
  let max = 0;
  let n = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const r = Math.fround((ref.data as Uint8Array)[(y * w + x) * 3 + c] / 127.5 - 1);
        const d = Math.abs(r - ours[c * 224 * 224 + y * step * 224 + x * step]);
        sum += d;
        max = Math.max(max, d);
        n++;
      }
  return { mean: sum / n, max };
}

test('solid colours map exactly: red → (1, −1, −1), white → 1, black → −1, grey 51 → −0.6', async () => {
  for (const [rgb, want] of [
    [
      [255, 0, 0],
      [1, -1, -1],
    ],
    [
      [255, 255, 255],
      [1, 1, 1],
    ],
    [
      [0, 0, 0],
      [-1, -1, -1],
    ],
    [
      [51, 51, 51],
      [51 / 127.5 - 1, 51 / 127.5 - 1, 51 / 127.5 - 1],
    ],
  ] as const) {
    const png = await sharp({ create: { width: 37, height: 53, channels: 4, background: { r: rgb[0], g: rgb[1], b: rgb[2], alpha: 1 } } })
      .png()
      .toBuffer();
    for (const resampler of ['pil', 'sharp'] as const) {
      const x = await preprocessImage(png, 224, { resampler });
      for (let c = 0; c < 3; c++) for (let i = 0; i < 224 * 224; i++) assert.equal(x[c * 224 * 224 + i], Math.fround(want[c]), `${resampler} ch${c} px${i}`);
    }
  }
});

test('synthetic gradient: PIL-bicubic parity is bit-exact (and sharp is within its measured gap)', async (t) => {
  const png = await sharp(referenceGradientRgb(), { raw: { width: 300, height: 200, channels: 3 } })
    .png()
    .toBuffer();
  const pil = await compare('grad', png, 'pil');
  t.diagnostic(`grad pil: mean ${pil.mean.toExponential(2)} max ${pil.max.toExponential(2)}`);
  assert.equal(pil.max, 0);
  const sh = await compare('grad', png, 'sharp');
  t.diagnostic(`grad sharp: mean ${sh.mean.toFixed(4)} max ${sh.max.toFixed(4)}`);
  assert.ok(sh.mean < 0.05 && sh.max < 0.25, JSON.stringify(sh));
});

for (const name of ['happy', 'sad1']) {
  test(`real image sadtalker_expression/${name}.png: PIL-bicubic parity is bit-exact`, async (t) => {
    const file = sharedFile('media', 'images', 'sadtalker_expression', `${name}.png`);
    if (!file) return t.skip(SHARED_SKIP_REASON);
    const pil = await compare(name, file, 'pil');
    assert.equal(pil.max, 0, JSON.stringify(pil));
    const sh = await compare(name, file, 'sharp');
    t.diagnostic(`${name} sharp: mean ${sh.mean.toFixed(4)} max ${sh.max.toFixed(4)}`);
    assert.ok(sh.mean < 0.03, JSON.stringify(sh));
  });
}

test('JPEG input from ../shared decodes to CHW [3,224,224] within [-1, 1]', async (t) => {
  const file = sharedFile('media', 'images', 'fer_justin.jpg');
  if (!file) return t.skip(SHARED_SKIP_REASON);
  const x = await preprocessImage(file);
  assert.equal(x.length, 3 * 224 * 224);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  assert.ok(lo >= -1 && hi <= 1 && hi - lo > 0.5, `${lo}..${hi}`);
});

test('preprocessImage rejects undecodable input', async () => {
  await assert.rejects(preprocessImage(Buffer.from('definitely not an image')));
});

test("raw RGB in hand (the vision worker reading media's PPM stream): PIL-bicubic parity is bit-exact", async () => {
  const pil = await compare('grad', preprocessRgb(referenceGradientRgb(), 300, 200), 'pil');
  assert.equal(pil.max, 0, JSON.stringify(pil));
  assert.throws(() => preprocessRgb(new Uint8Array(10), 3, 3), /not 3×3×3/);
});

test('PPM stream: headers with comments and any whitespace, images found by skipping pixels, a cut-off image is not one', () => {
  assert.deepEqual(parsePpmHeader(Buffer.from('P6\n320 240\n255\nxyz')), { width: 320, height: 240, maxval: 255, headerBytes: 15 });
  assert.deepEqual(parsePpmHeader(Buffer.from('P6 # made by hand\n 2\t1 # w h\r\n255 \x00\x01')), { width: 2, height: 1, maxval: 255, headerBytes: 34 });
  assert.equal(parsePpmHeader(Buffer.from('P6\n320 24')), null);
  assert.throws(() => parsePpmHeader(Buffer.from('P5\n1 1\n255\n\x00')), /not a binary PPM/);
  assert.throws(() => parsePpmHeader(Buffer.from('P6\n1 1\n65535\n\x00')), /8-bit RGB only/);
  const dir = mkdtempSync(path.join(tmpdir(), 'oa-ppm-'));
  try {
    const a = Buffer.from([1, 2, 3, 4, 5, 6]); // 2×1
    const b = Buffer.from(Array.from({ length: 12 }, (_, i) => 100 + i)); // 1×4
    const file = path.join(dir, 's.ppm');
    writeFileSync(file, Buffer.concat([Buffer.from('P6\n2 1\n255\n'), a, Buffer.from('P6\n1 4\n255\n'), b, Buffer.from('P6\n9 9\n255\n'), Buffer.alloc(5)]));
    const frames = scanPpmStream(file);
    assert.deepEqual(frames, [
      { offset: 11, width: 2, height: 1 },
      { offset: 28, width: 1, height: 4 },
    ]);
    assert.deepEqual(Array.from(readPpmFrame(file, frames[0]!)), Array.from(a));
    assert.deepEqual(Array.from(readPpmFrame(file, frames[1]!)), Array.from(b));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
