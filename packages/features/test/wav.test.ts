import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sharedFile, SHARED_SKIP_REASON } from '@omniaffect/core';
import { WavFileReader, decodeAudioFile, decodeWav, encodeWavFloat32, parseWavHeader, readWavMono, toMono, wavDurationSec, writeWavFloat32 } from '../src/wav';

function wav(format: number, bits: number, channels: number, frames: number[][], extensible = false): Buffer {
  const bytes = bits / 8;
  const fmtSize = extensible ? 40 : 16;
  const data = Buffer.alloc(frames.length * channels * bytes);
  frames.forEach((fr, i) =>
    fr.forEach((v, c) => {
      const o = (i * channels + c) * bytes;
      if (format === 3) data.writeFloatLE(v, o);
      else if (bits === 16) data.writeInt16LE(v, o);
      else if (bits === 24) data.writeIntLE(v, o, 3);
      else data.writeInt32LE(v, o);
    }),
  );
  const fmt = Buffer.alloc(fmtSize);
  fmt.writeUInt16LE(extensible ? 0xfffe : format, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(8000, 4);
  fmt.writeUInt32LE(8000 * channels * bytes, 8);
  fmt.writeUInt16LE(channels * bytes, 12);
  fmt.writeUInt16LE(bits, 14);
  if (extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(bits, 18);
    fmt.writeUInt16LE(format, 24); // SubFormat GUID starts with the format tag
  }
  const head = (id: string, size: number) => {
    const b = Buffer.alloc(8);
    b.write(id, 0, 'ascii');
    b.writeUInt32LE(size, 4);
    return b;
  };
  const list = Buffer.concat([head('LIST', 3), Buffer.from('abc\0')]); // odd-sized chunk with pad byte
  const body = Buffer.concat([Buffer.from('WAVE'), head('fmt ', fmtSize), fmt, list, head('data', data.length), data]);
  return Buffer.concat([head('RIFF', body.length), body]);
}

test('decodeWav: PCM16 stereo scales by 1/32768 and keeps channels apart', () => {
  const d = decodeWav(
    wav(1, 16, 2, [
      [16384, -32768],
      [32767, 0],
    ]),
  );
  assert.equal(d.sampleRate, 8000);
  assert.deepEqual(Array.from(d.channels[0]), [0.5, 32767 / 32768]);
  assert.deepEqual(Array.from(d.channels[1]), [-1, 0]);
  assert.deepEqual(Array.from(toMono(d.channels)), [Math.fround(-0.25), Math.fround(32767 / 32768 / 2)]);
});

test('decodeWav: PCM24, PCM32, float32 and WAVE_FORMAT_EXTENSIBLE with 3 channels', () => {
  assert.deepEqual(Array.from(decodeWav(wav(1, 24, 1, [[-4194304], [8388607]])).channels[0]), [-0.5, Math.fround(8388607 / 8388608)]);
  assert.deepEqual(Array.from(decodeWav(wav(1, 32, 1, [[-1073741824]])).channels[0]), [-0.5]);
  assert.deepEqual(Array.from(decodeWav(wav(3, 32, 1, [[0.25], [-0.75]])).channels[0]), [0.25, -0.75]);
  const ext = decodeWav(wav(3, 32, 3, [[0.5, -0.5, 0.25]], true));
  assert.equal(ext.channels.length, 3);
  assert.deepEqual(
    ext.channels.map((c) => c[0]),
    [0.5, -0.5, 0.25],
  );
  const ext16 = decodeWav(wav(1, 16, 1, [[8192]], true));
  assert.equal(ext16.channels[0][0], 0.25);
});

test('decodeWav rejects non-WAVE input and unsupported formats', () => {
  assert.throws(() => decodeWav(Buffer.from('not a wav file at all')), /RIFF/);
  assert.throws(() => decodeWav(wav(2, 16, 1, [[1]])), /format tag 2/);
});

test('writeWavFloat32 → readWavMono is lossless', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wav-'));
  const p = path.join(dir, 'x.wav');
  const x = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i / 7) * 0.9);
  writeWavFloat32(p, x, 16000);
  const back = readWavMono(p);
  assert.equal(back.sampleRate, 16000);
  assert.deepEqual(Array.from(back.samples), Array.from(x));
});

test('readWavMono decodes the real jfk.wav (16 kHz PCM16 mono, 11 s)', (t) => {
  const p = sharedFile('media', 'en', 'jfk.wav');
  if (!p) return t.skip(SHARED_SKIP_REASON);
  const { sampleRate, samples } = readWavMono(p);
  assert.equal(sampleRate, 16000);
  assert.equal(samples.length, 176000);
  let peak = 0;
  for (const v of samples) peak = Math.max(peak, Math.abs(v));
  assert.ok(peak > 0.1 && peak <= 1, `peak ${peak}`);
});

test('decodeAudioFile gives a clear error when ffmpeg is missing', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'noff-'));
  const p = path.join(dir, 'x.wav');
  writeFileSync(p, Buffer.alloc(10));
  await assert.rejects(decodeAudioFile(p, { ffmpegPath: path.join(dir, 'no-such-ffmpeg') }), /ffmpeg was not found/);
});

test('decodeAudioFile reports a file without audio (fake ffmpeg that outputs nothing)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fakeff-'));
  const fake = path.join(dir, 'ffmpeg');
  writeFileSync(fake, '#!/bin/sh\necho "Output file does not contain any stream" >&2\nexit 1\n', { mode: 0o755 });
  await assert.rejects(decodeAudioFile('/tmp/whatever.mp4', { ffmpegPath: fake }), /ffmpeg failed to decode .*does not contain any stream/);
  const silent = path.join(dir, 'ffmpeg0');
  writeFileSync(silent, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  await assert.rejects(decodeAudioFile('/tmp/whatever.mp4', { ffmpegPath: silent }), /no audio decoded/);
});

test('decodeAudioFile passes the documented ffmpeg arguments and parses f32le output', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'argff-'));
  const fake = path.join(dir, 'ffmpeg');
  // Echo the argv to a file, and emit two little-endian floats (0.5, -1.0) on stdout.
  writeFileSync(fake, `#!/bin/sh\necho "$@" > "${dir}/args"\nprintf '\\000\\000\\000\\077\\000\\000\\200\\277'\n`, { mode: 0o755 });
  const out = await decodeAudioFile('/in put.mp3', { ffmpegPath: fake });
  assert.deepEqual(Array.from(out), [0.5, -1]);
  const { readFileSync } = await import('node:fs');
  assert.equal(readFileSync(path.join(dir, 'args'), 'utf8').trim(), '-nostdin -v error -i /in put.mp3 -f f32le -ac 1 -ar 16000 pipe:1');
});

test('parseWavHeader reads the layout from the first bytes alone; wavDurationSec agrees with the decoder', async () => {
  const sr = 16000;
  const samples = Float32Array.from({ length: sr * 2 + 123 }, (_, i) => Math.sin(i / 10) * 0.5);
  const wav = encodeWavFloat32(samples, sr);
  const head = parseWavHeader(wav.subarray(0, 64), wav.length);
  assert.equal(head.sampleRate, sr);
  assert.equal(head.numChannels, 1);
  assert.equal(head.dataBytes, samples.length * 4);
  assert.deepEqual(wav.subarray(head.dataOffset, head.dataOffset + 8), Buffer.from(samples.buffer, 0, 8));
  const dir = mkdtempSync(path.join(tmpdir(), 'wavhead-'));
  const f = path.join(dir, 'a.wav');
  writeFileSync(f, wav);
  assert.equal(await wavDurationSec(f), samples.length / sr);
  assert.equal(await wavDurationSec(f, 32000), (samples.length * 4) / 32000, 'a caller-given byte rate wins');
  // A piped WAV (ffmpeg to a pipe) says 0xFFFFFFFF for the data size: the rest of the file counts.
  const piped = Buffer.from(wav);
  piped.writeUInt32LE(0xffffffff, head.dataOffset - 4);
  writeFileSync(f, piped);
  assert.equal(await wavDurationSec(f), samples.length / sr);
  assert.equal(decodeWav(piped).channels[0].length, samples.length);
  writeFileSync(f, Buffer.from('RIFF\0\0\0\0WAVEjunk\0\0\0\0'));
  await assert.rejects(wavDurationSec(f), /no data chunk/);
});

test('WavFileReader reads any window of a mono float32 WAVE as written; a pipe-written size means "the rest of the file"', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oa-wav-reader-'));
  const x = Float32Array.from({ length: 50_001 }, (_, i) => Math.sin(i / 7) * 0.5 + (i % 3) * 1e-3);
  const file = path.join(dir, 'a.wav');
  writeWavFloat32(file, x, 16000);
  const r = new WavFileReader(file);
  try {
    assert.equal(r.sampleRate, 16000);
    assert.equal(r.length, x.length);
    for (const [s, n] of [
      [0, 10],
      [1, 4097],
      [49_990, 100],
      [50_001, 5],
      [0, 50_001],
    ]) {
      const got = r.read(s, n);
      assert.equal(got.length, Math.max(0, Math.min(n, x.length - s)));
      assert.deepEqual(Array.from(got), Array.from(x.subarray(s, s + n)), `window ${s}+${n}`);
    }
  } finally {
    r.close();
  }
  // ffmpeg writing to a pipe cannot seek back to fill in the sizes: 0xFFFFFFFF in RIFF and data
  const piped = encodeWavFloat32(x.subarray(0, 1000), 16000);
  piped.writeUInt32LE(0xffffffff, 4);
  piped.writeUInt32LE(0xffffffff, 40);
  writeFileSync(path.join(dir, 'piped.wav'), piped);
  const p = new WavFileReader(path.join(dir, 'piped.wav'));
  try {
    assert.equal(p.length, 1000);
    assert.deepEqual(Array.from(p.read(990, 50)), Array.from(x.subarray(990, 1000)));
  } finally {
    p.close();
  }
  writeFileSync(path.join(dir, 'pcm16.wav'), wav(1, 16, 1, [[1], [2]]));
  assert.throws(() => new WavFileReader(path.join(dir, 'pcm16.wav')), /expected mono float32 PCM/);
  rmSync(dir, { recursive: true, force: true });
});
