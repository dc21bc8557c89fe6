import { readFileSync, writeFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

export type NpyData = Float32Array | Float64Array | Int32Array | BigInt64Array | Int16Array | Uint8Array | Int8Array;

export interface NpyArray {
  /** numpy dtype descr, e.g. '<f4' */
  dtype: string;
  shape: number[];
  data: NpyData;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** Parses a .npy buffer (versions 1–3, little-endian or byte-order-free dtypes, C order). */
export function readNpy(buf: Buffer): NpyArray {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error('not a .npy buffer');
  const major = buf[6];
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    headerStart = 10;
  } else {
    headerLen = buf.readUInt32LE(8);
    headerStart = 12;
  }
  const header = buf.toString(major >= 3 ? 'utf8' : 'latin1', headerStart, headerStart + headerLen);
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeStr = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeStr === undefined) throw new Error(`malformed .npy header: ${header}`);
  if (fortran === 'True') throw new Error('Fortran-order .npy arrays are not supported');
  const shape = shapeStr
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number(s));
  const count = shape.reduce((a, b) => a * b, 1);
  const body = buf.subarray(headerStart + headerLen);
  // Copy into a fresh, aligned ArrayBuffer: the body offset is rarely a multiple of the element size.
  const bytes = (n: number) => {
    if (body.length < n) throw new Error(`.npy body too short: need ${n} bytes, have ${body.length}`);
    const ab = new ArrayBuffer(n);
    new Uint8Array(ab).set(body.subarray(0, n));
    return ab;
  };
  let data: NpyData;
  switch (descr) {
    case '<f4':
      data = new Float32Array(bytes(count * 4));
      break;
    case '<f8':
      data = new Float64Array(bytes(count * 8));
      break;
    case '<i4':
      data = new Int32Array(bytes(count * 4));
      break;
    case '<i8':
      data = new BigInt64Array(bytes(count * 8));
      break;
    case '<i2':
      data = new Int16Array(bytes(count * 2));
      break;
    case '|u1':
    case '|b1':
      data = new Uint8Array(bytes(count));
      break;
    case '|i1':
      data = new Int8Array(bytes(count));
      break;
    default:
      throw new Error(`unsupported .npy dtype ${descr}`);
  }
  return { dtype: descr, shape, data };
}

function descrOf(data: NpyData): string {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof BigInt64Array) return '<i8';
  if (data instanceof Int16Array) return '<i2';
  if (data instanceof Uint8Array) return '|u1';
  if (data instanceof Int8Array) return '|i1';
  throw new Error('unsupported typed array for .npy');
}

/** Serialises a C-order array as .npy version 1.0 (dtype from the typed array; host is little-endian). */
export function encodeNpy(data: NpyData, shape: number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`shape ${JSON.stringify(shape)} holds ${count} items, data has ${data.length}`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descrOf(data)}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Header padded with spaces and ended by \n so that the data starts on a 64-byte boundary.
  const total = MAGIC.length + 4 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

export function writeNpy(path: string, data: NpyData, shape: number[]): void {
  writeFileSync(path, encodeNpy(data, shape));
}

/**
 * Reads every array in an .npz (a zip of .npy members, as numpy.savez/savez_compressed write it).
 * Only what numpy produces is supported: stored or deflated members, optional zip64 size fields.
 */
export function readNpz(path: string): Map<string, NpyArray> {
  const out = new Map<string, NpyArray>();
  for (const [name, body] of readZip(readFileSync(path))) {
    out.set(name.replace(/\.npy$/, ''), readNpy(body));
  }
  return out;
}

export function readZip(buf: Buffer): Map<string, Buffer> {
  const eocdSig = 0x06054b50;
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === eocdSig) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file (no end-of-central-directory record)');
  let entries = buf.readUInt16LE(eocd + 10);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff || entries === 0xffff) {
    const locator = eocd - 20;
    if (locator < 0 || buf.readUInt32LE(locator) !== 0x07064b50) throw new Error('zip64 locator missing');
    const z64 = Number(buf.readBigUInt64LE(locator + 8));
    entries = Number(buf.readBigUInt64LE(z64 + 32));
    cdOffset = Number(buf.readBigUInt64LE(z64 + 48));
  }
  const files = new Map<string, Buffer>();
  let p = cdOffset;
  for (let e = 0; e < entries; e++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = buf.readUInt16LE(p + 10);
    let compSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let localOff = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extended information: the fields present are exactly those set to 0xFFFFFFFF, in order.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = buf.readUInt16LE(x);
      const len = buf.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        if (size === 0xffffffff) {
          size = Number(buf.readBigUInt64LE(q));
          q += 8;
        }
        if (compSize === 0xffffffff) {
          compSize = Number(buf.readBigUInt64LE(q));
          q += 8;
        }
        if (localOff === 0xffffffff) localOff = Number(buf.readBigUInt64LE(q));
      }
      x += 4 + len;
    }
    if (buf.readUInt32LE(localOff) !== 0x04034b50) throw new Error(`corrupt zip local header for ${name}`);
    const dataStart = localOff + 30 + buf.readUInt16LE(localOff + 26) + buf.readUInt16LE(localOff + 28);
    const raw = buf.subarray(dataStart, dataStart + compSize);
    let body: Buffer;
    if (method === 0) body = raw;
    else if (method === 8) body = inflateRawSync(raw);
    else throw new Error(`zip member ${name} uses unsupported compression method ${method}`);
    if (body.length !== size) throw new Error(`zip member ${name}: expected ${size} bytes, got ${body.length}`);
    files.set(name, body);
    p = xEnd + commentLen;
  }
  return files;
}
