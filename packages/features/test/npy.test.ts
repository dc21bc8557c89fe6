import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { encodeNpy, readNpy, readNpz, writeNpy } from '../src/npy';
import { loadFixtureNpy } from './helpers';

test('writeNpy/readNpy round-trip float32, int64 and int32 with a 64-byte-aligned header', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'npy-'));
  const cases = [
    { data: Float32Array.from([1.5, -2, 3.25, 0, 1e-8, 7]), shape: [2, 3], dtype: '<f4' },
    { data: BigInt64Array.from([1n, -2n, 9007199254740993n]), shape: [3], dtype: '<i8' },
    { data: Int32Array.from([7, -8, 2147483647, 0]), shape: [2, 2], dtype: '<i4' },
  ];
  for (const c of cases) {
    const p = path.join(dir, `${c.dtype.slice(1)}.npy`);
    writeNpy(p, c.data, c.shape);
    const buf = readFileSync(p);
    assert.equal((10 + buf.readUInt16LE(8)) % 64, 0);
    const back = readNpy(buf);
    assert.equal(back.dtype, c.dtype);
    assert.deepEqual(back.shape, c.shape);
    assert.deepEqual(Array.from(back.data as ArrayLike<unknown>), Array.from(c.data as ArrayLike<unknown>));
  }
  assert.throws(() => encodeNpy(Float32Array.from([1, 2]), [3]), /holds 3 items/);
});

test('readNpy parses a fixture written by numpy.save', () => {
  const a = loadFixtureNpy('image_grad.npy');
  assert.equal(a.dtype, '|u1');
  assert.deepEqual(a.shape, [112, 112, 3]);
  assert.equal(a.data.length, 112 * 112 * 3);
});

/** Builds a zip the way numpy.savez does (one .npy per member), stored or deflated. */
function zip(members: { name: string; body: Buffer; deflate: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let off = 0;
  for (const m of members) {
    const data = m.deflate ? deflateRawSync(m.body) : m.body;
    const name = Buffer.from(m.name);
    const crc = crc32(m.body);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(m.deflate ? 8 : 0, 8);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(data.length, 18);
    lh.writeUInt32LE(m.body.length, 22);
    lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(m.deflate ? 8 : 0, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(data.length, 20);
    ch.writeUInt32LE(m.body.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(off, 42);
    locals.push(lh, name, data);
    centrals.push(ch, name);
    off += lh.length + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(members.length, 8);
  eocd.writeUInt16LE(members.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(off, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

test('readNpz reads stored and deflated members', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'npz-'));
  const a = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i));
  const b = Int32Array.from([1, 2, 3]);
  const p = path.join(dir, 'x.npz');
  writeFileSync(
    p,
    zip([
      { name: 'a.npy', body: encodeNpy(a, [3, 100]), deflate: true },
      { name: 'b.npy', body: encodeNpy(b, [3]), deflate: false },
    ]),
  );
  const m = readNpz(p);
  assert.deepEqual([...m.keys()].sort(), ['a', 'b']);
  assert.deepEqual(m.get('a')!.shape, [3, 100]);
  assert.deepEqual(Array.from(m.get('a')!.data as Float32Array), Array.from(a));
  assert.deepEqual(Array.from(m.get('b')!.data as Int32Array), [1, 2, 3]);
});

test('readNpz reads members written the way numpy.savez writes them (zip64 extra fields, force_zip64)', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'npz64-'));
  const a = Float32Array.from([1.5, -2, 3.25]);
  writeFileSync(path.join(dir, 'a.npy'), encodeNpy(a, [3]));
  const p = path.join(dir, 'x.npz');
  // numpy.lib.npyio._savez: zipf.open(name, 'w', force_zip64=True), deflated for savez_compressed.
  const py = `import zipfile,sys\nwith zipfile.ZipFile(sys.argv[2],'w',compression=zipfile.ZIP_DEFLATED,allowZip64=True) as z:\n  with z.open('a.npy','w',force_zip64=True) as f: f.write(open(sys.argv[1],'rb').read())\n`;
  try {
    execFileSync('python3', ['-c', py, path.join(dir, 'a.npy'), p]);
  } catch {
    return t.skip('SKIPPED: python3 is not available to write a zip64 archive');
  }
  assert.deepEqual(Array.from(readNpz(p).get('a')!.data as Float32Array), Array.from(a));
});
