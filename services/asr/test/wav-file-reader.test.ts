import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { encodeWavFloat32 } from '@omniaffect/features';
import { WavFileReader } from '@omniaffect/features';

const dir = mkdtempSync(path.join(tmpdir(), 'oa-wav-source-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const openFds = () => readdirSync('/proc/self/fd').length;

test('WavFileReader reads a 16 kHz mono float32 WAV', () => {
  const file = path.join(dir, 'ok.wav');
  writeFileSync(file, encodeWavFloat32(Float32Array.from([0.5, -0.25, 0.125]), 16000));
  const s = new WavFileReader(file);
  try {
    assert.equal(s.sampleRate, 16000);
    assert.equal(s.length, 3);
    assert.deepEqual(Array.from(s.read(1, 10)), [-0.25, 0.125]);
  } finally {
    s.close();
  }
});

test('WavFileReader closes its descriptor when the header is rejected', { skip: process.platform !== 'linux' && 'needs /proc/self/fd' }, () => {
  const notWav = path.join(dir, 'not.wav');
  writeFileSync(notWav, Buffer.from('definitely not a RIFF/WAVE file'));
  const int16 = path.join(dir, 'int16.wav');
  const h = encodeWavFloat32(new Float32Array(8), 16000);
  h.writeUInt16LE(1, 20); // PCM integer
  h.writeUInt16LE(16, 34); // 16 bit
  writeFileSync(int16, h);
  const before = openFds();
  for (let i = 0; i < 20; i++) {
    assert.throws(() => new WavFileReader(notWav), /is not a WAV file/);
    assert.throws(() => new WavFileReader(int16), /expected mono float32 PCM/);
  }
  assert.equal(openFds(), before, 'no descriptor leaked');
});
