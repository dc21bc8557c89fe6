import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';

export interface DecodedWav {
  sampleRate: number;
  channels: Float32Array[];
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Where a WAVE file's samples are and how they are laid out: what its RIFF header says. */
export interface WavLayout {
  /** format tag (the SubFormat's for WAVE_FORMAT_EXTENSIBLE); -1 when there is no fmt chunk */
  format: number;
  numChannels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
  /** byte offset of the data chunk's body in the file, or -1 when no data chunk was found */
  dataOffset: number;
  /** bytes of sample data: the data chunk's size, or the rest of the file where that size is unknown */
  dataBytes: number;
}

/**
 * Walks the RIFF chunks of a WAVE file. `head` is the file or its first bytes (the header of a long
 * recording is a few dozen bytes; its data need not be read), `fileSize` the whole file's length.
 * The one RIFF header reader of the project: the decoder below and the media stage's audio duration
 * (wavDurationSec) both use it.
 */
export function parseWavHeader(head: Buffer, fileSize = head.length): WavLayout {
  if (head.length < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  const out: WavLayout = { format: -1, numChannels: 0, sampleRate: 0, bitsPerSample: 0, blockAlign: 0, dataOffset: -1, dataBytes: 0 };
  let pos = 12;
  while (pos + 8 <= head.length) {
    const id = head.toString('ascii', pos, pos + 4);
    let size = head.readUInt32LE(pos + 4);
    const body = pos + 8;
    // Streams written by pipes often carry a 0 or 0xFFFFFFFF data size: take the rest of the file.
    if (id === 'data' && (size === 0 || size === 0xffffffff || body + size > fileSize)) size = Math.max(0, fileSize - body);
    if (id === 'fmt ' && body + 16 <= head.length) {
      out.format = head.readUInt16LE(body);
      out.numChannels = head.readUInt16LE(body + 2);
      out.sampleRate = head.readUInt32LE(body + 4);
      out.blockAlign = head.readUInt16LE(body + 12);
      out.bitsPerSample = head.readUInt16LE(body + 14);
      if (out.format === WAVE_FORMAT_EXTENSIBLE && size >= 40 && body + 26 <= head.length) {
        // The first two bytes of the SubFormat GUID carry the real format tag.
        out.format = head.readUInt16LE(body + 24);
      }
    } else if (id === 'data' && out.dataOffset < 0) {
      out.dataOffset = body;
      out.dataBytes = size;
    }
    pos = body + size + (size & 1);
  }
  return out;
}

/** The bytes a WAVE header is looked for in: far more than ffmpeg's 44–80 byte headers plus a LIST chunk. */
const HEADER_PROBE_BYTES = 64 * 1024;

/**
 * Seconds of audio in a WAVE file, from its header alone (the first 64 KiB are read, never the
 * samples). `bytesPerSec` defaults to the header's own rate (sampleRate × blockAlign).
 */
export async function wavDurationSec(file: string, bytesPerSec?: number): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, HEADER_PROBE_BYTES));
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const w = parseWavHeader(head.subarray(0, bytesRead), size);
    if (w.dataOffset < 0) throw new Error('WAVE file has no data chunk');
    const rate = bytesPerSec ?? w.sampleRate * (w.blockAlign || (w.bitsPerSample / 8) * w.numChannels);
    if (!(rate > 0)) throw new Error('WAVE file declares no sample rate');
    return w.dataBytes / rate;
  } finally {
    await fh.close();
  }
}

/** The platform stores float32 little-endian, as WAVE does: file bytes can become samples without a per-sample decode. */
const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Random access to a mono float32 WAVE file (what the media worker writes), one window at a time:
 * memory is bounded by the window, never by the length of the recording. The bytes are read straight
 * into the samples' buffer (one copy, by the kernel) instead of decoded sample by sample.
 */
export class WavFileReader {
  readonly sampleRate: number;
  /** samples in the file (the data chunk's size, or the rest of the file where a pipe left it unknown) */
  readonly length: number;
  private readonly fd: number;
  private readonly dataOffset: number;

  constructor(file: string) {
    this.fd = openSync(file, 'r');
    try {
      const size = fstatSync(this.fd).size;
      const head = Buffer.alloc(Math.min(size, HEADER_PROBE_BYTES));
      const got = readSync(this.fd, head, 0, head.length, 0);
      let w: WavLayout;
      try {
        w = parseWavHeader(head.subarray(0, got), size);
      } catch {
        throw new Error(`${file} is not a WAV file`);
      }
      if (w.format < 0 || w.dataOffset < 0) throw new Error(`${file}: no fmt/data chunk in the first ${HEADER_PROBE_BYTES} bytes`);
      if (w.format !== WAVE_FORMAT_IEEE_FLOAT || w.bitsPerSample !== 32 || w.numChannels !== 1) {
        throw new Error(`${file}: expected mono float32 PCM (got format ${w.format}, ${w.bitsPerSample} bit, ${w.numChannels} ch)`);
      }
      this.sampleRate = w.sampleRate;
      this.dataOffset = w.dataOffset;
      this.length = Math.floor(w.dataBytes / 4);
    } catch (err) {
      // a bad header must not leak the descriptor: the caller never gets an object to close()
      closeSync(this.fd);
      throw err;
    }
  }

  /** Up to `length` samples from `start`; fewer (or none) at the end of the file. */
  read(start: number, length: number): Float32Array {
    const want = Math.max(0, Math.min(length, this.length - start));
    if (want === 0) return new Float32Array(0);
    const out = new Float32Array(want);
    const bytes = new Uint8Array(out.buffer);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(this.fd, bytes, done, bytes.length - done, this.dataOffset + start * 4 + done);
      if (n === 0) break;
      done += n;
    }
    const got = Math.floor(done / 4);
    if (!LITTLE_ENDIAN) {
      const view = new DataView(out.buffer);
      for (let i = 0; i < got; i++) out[i] = view.getFloat32(i * 4, true);
    }
    return got === want ? out : out.subarray(0, got);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Decodes a RIFF/WAVE buffer into per-channel float32 samples in [-1, 1].
 * Integer PCM is scaled by 2^(bits-1) (the convention of Whisper's loader: int16/32768).
 */
export function decodeWav(buf: Buffer): DecodedWav {
  const { format, numChannels, sampleRate, bitsPerSample, blockAlign, dataOffset, dataBytes } = parseWavHeader(buf);
  const data = dataOffset >= 0 ? buf.subarray(dataOffset, dataOffset + dataBytes) : null;
  if (format < 0) throw new Error('WAVE file has no fmt chunk');
  if (!data) throw new Error('WAVE file has no data chunk');
  if (numChannels < 1) throw new Error('WAVE file declares no channels');
  const bytes = bitsPerSample / 8;
  if (format !== WAVE_FORMAT_PCM && format !== WAVE_FORMAT_IEEE_FLOAT) {
    throw new Error(`unsupported WAVE format tag ${format} (only PCM and IEEE float)`);
  }
  if (format === WAVE_FORMAT_IEEE_FLOAT && bitsPerSample !== 32 && bitsPerSample !== 64) {
    throw new Error(`unsupported float WAVE sample size ${bitsPerSample}`);
  }
  if (format === WAVE_FORMAT_PCM && ![8, 16, 24, 32].includes(bitsPerSample)) {
    throw new Error(`unsupported PCM WAVE sample size ${bitsPerSample}`);
  }
  const frameBytes = blockAlign || bytes * numChannels;
  const n = Math.floor(data.length / frameBytes);
  const channels = Array.from({ length: numChannels }, () => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < numChannels; c++) {
      const o = i * frameBytes + c * bytes;
      let v: number;
      if (format === WAVE_FORMAT_IEEE_FLOAT) v = bitsPerSample === 32 ? data.readFloatLE(o) : data.readDoubleLE(o);
      else if (bitsPerSample === 16) v = data.readInt16LE(o) / 32768;
      else if (bitsPerSample === 24) v = data.readIntLE(o, 3) / 8388608;
      else if (bitsPerSample === 32) v = data.readInt32LE(o) / 2147483648;
      else v = (data.readUInt8(o) - 128) / 128; // 8-bit WAVE is unsigned
      channels[c][i] = v;
    }
  }
  return { sampleRate, channels };
}

/** Averages channels (the same downmix as ffmpeg's `-ac 1` for equal-weight layouts). */
export function toMono(channels: Float32Array[]): Float32Array {
  if (channels.length === 0) return new Float32Array(0);
  if (channels.length === 1) return channels[0];
  const n = channels[0].length;
  const out = new Float32Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) out[i] += ch[i];
  const k = 1 / channels.length;
  for (let i = 0; i < n; i++) out[i] *= k;
  return out;
}

export function readWavMono(path: string): { sampleRate: number; samples: Float32Array } {
  const { sampleRate, channels } = decodeWav(readFileSync(path));
  return { sampleRate, samples: toMono(channels) };
}

export function encodeWavFloat32(samples: Float32Array, sampleRate: number): Buffer {
  const dataBytes = samples.length * 4;
  const buf = Buffer.alloc(44 + dataBytes);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(WAVE_FORMAT_IEEE_FLOAT, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 4, 28);
  buf.writeUInt16LE(4, 32);
  buf.writeUInt16LE(32, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i++) buf.writeFloatLE(samples[i], 44 + i * 4);
  return buf;
}

/** Writes mono IEEE-float WAVE (lossless for the float32 samples the pipeline works in). */
export function writeWavFloat32(path: string, samples: Float32Array, sampleRate: number): void {
  writeFileSync(path, encodeWavFloat32(samples, sampleRate));
}

export interface DecodeAudioOptions {
  sampleRate?: number;
  /** ffmpeg executable; defaults to `ffmpeg` on PATH. */
  ffmpegPath?: string;
}

/** Decodes any container ffmpeg understands to mono float32 at `sampleRate` (default 16 kHz). */
export function decodeAudioFile(path: string, opts: DecodeAudioOptions = {}): Promise<Float32Array> {
  const sampleRate = opts.sampleRate ?? 16000;
  const exe = opts.ffmpegPath ?? 'ffmpeg';
  const args = ['-nostdin', '-v', 'error', '-i', path, '-f', 'f32le', '-ac', '1', '-ar', String(sampleRate), 'pipe:1'];
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      reject(new Error(`cannot run ffmpeg (${exe}): ${(err as Error).message}`));
      return;
    }
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => errOut.push(b));
    child.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? 'ffmpeg was not found on PATH; install ffmpeg to decode non-WAV media' : err.message;
      reject(new Error(`cannot run ffmpeg (${exe}): ${why}`));
    });
    child.on('close', (code) => {
      const stderr = Buffer.concat(errOut).toString('utf8').trim();
      if (code !== 0) {
        reject(new Error(`ffmpeg failed to decode ${path} (exit ${code}): ${stderr || 'no message'}`));
        return;
      }
      const raw = Buffer.concat(out);
      if (raw.length < 4) {
        reject(new Error(`no audio decoded from ${path}${stderr ? `: ${stderr}` : ' (the file has no audio stream?)'}`));
        return;
      }
      const samples = new Float32Array(Math.floor(raw.length / 4));
      for (let i = 0; i < samples.length; i++) samples[i] = raw.readFloatLE(i * 4);
      resolve(samples);
    });
  });
}
