import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SHARED_SKIP_REASON, repoRoot, sharedFile } from '@omniaffect/core';
import { decodeRgb, readNpy, referenceGradientRgb, resizeBicubicPil } from '@omniaffect/features';
import { visionResizeFilter } from '../src/ffmpeg';

/**
 * The frames media hands to vision are resized to 224×224 by ffmpeg (visionResizeFilter), not by the
 * PIL BICUBIC the model was trained with. This holds that resize against PIL's: the reference images
 * of packages/features/test/fixtures (made by scripts/reference/make_feature_refs.py with Pillow's
 * algorithm), and a 1080p and a portrait frame against the bit-exact PIL resampler of
 * packages/features (itself held bit-exact to those fixtures), and decoded H.264 frames against "decode
 * to RGB, then PIL" (what a Python reader and the HF processor do). Bounds are in normalised units
 * (1 level = 2/255); the image tests let a non-PIL resampler differ by mean 0.03 and max 0.25. Measured
 * with ffmpeg 5.1: fixtures mean ≤ 0.0016, max ≤ 0.024; synthetic frames (hard edges, sawtooth ramps)
 * mean ≤ 0.010, max ≤ 0.13; H.264 frames mean ≤ 0.001, max ≤ 0.15.
 */
const FIXTURES = path.join(repoRoot(), 'packages', 'features', 'test', 'fixtures');

function ffmpegResize(rgb: Buffer, width: number, height: number): Buffer {
  return execFileSync(
    'ffmpeg',
    [
      '-nostdin',
      '-v',
      'error',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${width}x${height}`,
      '-i',
      'pipe:0',
      '-vf',
      visionResizeFilter(),
      '-f',
      'rawvideo',
      'pipe:1',
    ],
    { input: rgb, maxBuffer: 64 * 1024 ** 2 },
  );
}

/** mean and max |a − b| over the pixels of `ref` (h×w, sampled every 224/h of `ours`), in normalised units. */
function gap(ref: Uint8Array, h: number, w: number, ours: Uint8Array): { mean: number; max: number } {
  const step = 224 / h;
  let sum = 0;
  let max = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const d = Math.abs(ref[(y * w + x) * 3 + c]! - ours[(y * step * 224 + x * step) * 3 + c]!) / 127.5;
        sum += d;
        max = Math.max(max, d);
      }
  return { mean: sum / (h * w * 3), max };
}

test('the frame resize stays within a fraction of a level of PIL BICUBIC on the reference images', async (t) => {
  const cases: [string, { data: Buffer; width: number; height: number }][] = [['grad', { data: referenceGradientRgb(), width: 300, height: 200 }]];
  for (const name of ['happy', 'sad1']) {
    const file = sharedFile('media', 'images', 'sadtalker_expression', `${name}.png`);
    if (file) cases.push([name, await decodeRgb(file)]);
    else t.diagnostic(`${name}.png: ${SHARED_SKIP_REASON}`);
  }
  for (const [name, img] of cases) {
    const ref = readNpy(readFileSync(path.join(FIXTURES, `image_${name}.npy`)));
    const g = gap(ref.data as Uint8Array, ref.shape[0]!, ref.shape[1]!, ffmpegResize(img.data, img.width, img.height));
    t.diagnostic(`${name}: mean ${g.mean.toFixed(4)} max ${g.max.toFixed(4)}`);
    assert.ok(g.mean < 0.004 && g.max < 0.04, `${name}: ${JSON.stringify(g)}`);
  }
});

test('the frame resize of 1080p, portrait and small frames stays inside the non-PIL tolerance of the image tests', (t) => {
  for (const [w, h] of [
    [1920, 1080],
    [1080, 1920],
    [640, 360],
    [160, 120],
  ] as const) {
    const rgb = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 3;
        rgb[o] = (x * 7 + y * 3) % 256;
        rgb[o + 1] = Math.floor(127.5 + 127 * Math.sin(x / 17) * Math.cos(y / 11));
        rgb[o + 2] = ((x >> 4) + (y >> 4)) % 2 ? 230 : 20;
      }
    const pil = resizeBicubicPil(rgb, w, h, 224, 224);
    const g = gap(pil, 224, 224, ffmpegResize(rgb, w, h));
    t.diagnostic(`${w}×${h}: mean ${g.mean.toFixed(4)} max ${g.max.toFixed(4)}`);
    assert.ok(g.mean < 0.015 && g.max < 0.2, `${w}×${h}: ${JSON.stringify(g)}`);
  }
});

test('decoded H.264 frames: media\'s resize agrees with "decode to RGB, then PIL BICUBIC"', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oa-resize-parity-'));
  try {
    for (const [w, h] of [
      [1280, 720],
      [320, 240],
    ] as const) {
      const clip = path.join(dir, `${w}.mp4`);
      execFileSync('ffmpeg', [
        '-nostdin',
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        `testsrc2=size=${w}x${h}:rate=10`,
        '-t',
        '7',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-pix_fmt',
        'yuv420p',
        clip,
      ]);
      const frames = (vf: string, bytes: number) =>
        execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', clip, '-vf', `fps=1/2,${vf}`, '-f', 'rawvideo', 'pipe:1'], {
          maxBuffer: 256 * 1024 ** 2,
        }).subarray(0, 3 * bytes);
      const decoded = frames('format=rgb24', w * h * 3);
      const ours = frames(visionResizeFilter(), 224 * 224 * 3);
      for (let f = 0; f < 3; f++) {
        const pil = resizeBicubicPil(decoded.subarray(f * w * h * 3, (f + 1) * w * h * 3), w, h, 224, 224);
        const g = gap(pil, 224, 224, ours.subarray(f * 224 * 224 * 3, (f + 1) * 224 * 224 * 3));
        t.diagnostic(`${w}×${h} frame ${f}: mean ${g.mean.toFixed(4)} max ${g.max.toFixed(4)}`);
        assert.ok(g.mean < 0.004 && g.max < 0.2, `${w}×${h} frame ${f}: ${JSON.stringify(g)}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
