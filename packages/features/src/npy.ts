import { readFileSync, writeFileSync } from 'node:fs';
import { unzipSync } from 'fflate';

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
 */
export function readNpz(path: string): Map<string, NpyArray> {
  const out = new Map<string, NpyArray>();
  for (const [name, body] of readZip(readFileSync(path))) {
    out.set(name.replace(/\.npy$/, ''), readNpy(body));
  }
  return out;
}

/** Every member of a zip, by name (fflate reads stored, deflated and zip64 archives, and checks sizes and CRCs). */
export function readZip(buf: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(buf);
  } catch (err) {
    throw new Error(`not a readable zip file: ${(err as Error).message}`, { cause: err });
  }
  for (const [name, body] of Object.entries(members)) files.set(name, Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  return files;
}
