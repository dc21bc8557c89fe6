import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Random access to the 16 kHz mono float32 WAV the media worker writes, so ASR reads one 30 s window
 * at a time: memory is bounded by the window, not by the length of the video.
 */
export class WavFileSource {
  readonly sampleRate: number;
  readonly length: number;
  private readonly fd: number;
  private readonly dataOffset: number;

  constructor(file: string) {
    this.fd = openSync(file, 'r');
    try {
      const h = parseHeader(this.fd, file);
      this.sampleRate = h.sampleRate;
      this.dataOffset = h.dataOffset;
      this.length = h.length;
    } catch (err) {
      // a bad header must not leak the descriptor: the caller never gets an object to close()
      closeSync(this.fd);
      throw err;
    }
  }

  read(start: number, length: number): Float32Array {
    const want = Math.max(0, Math.min(length, this.length - start));
    if (want === 0) return new Float32Array(0);
    const buf = Buffer.alloc(want * 4);
    const got = readSync(this.fd, buf, 0, buf.length, this.dataOffset + start * 4);
    const out = new Float32Array(Math.floor(got / 4));
    for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function parseHeader(fd: number, file: string): { sampleRate: number; dataOffset: number; length: number } {
  const head = Buffer.alloc(4096);
  const n = readSync(fd, head, 0, head.length, 0);
  if (n < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${file} is not a WAV file`);
  let pos = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | null = null;
  let dataOffset = -1;
  let dataBytes = 0;
  while (pos + 8 <= n) {
    const id = head.toString('ascii', pos, pos + 4);
    const size = head.readUInt32LE(pos + 4);
    if (id === 'fmt ') {
      let format = head.readUInt16LE(pos + 8);
      if (format === 0xfffe) format = head.readUInt16LE(pos + 8 + 24);
      fmt = { format, channels: head.readUInt16LE(pos + 10), rate: head.readUInt32LE(pos + 12), bits: head.readUInt16LE(pos + 22) };
    } else if (id === 'data') {
      dataOffset = pos + 8;
      dataBytes = size;
      break;
    }
    pos += 8 + size + (size % 2);
  }
  if (!fmt || dataOffset < 0) throw new Error(`${file}: no fmt/data chunk in the first 4 KiB`);
  if (fmt.format !== 3 || fmt.bits !== 32 || fmt.channels !== 1) {
    throw new Error(`${file}: expected mono float32 PCM (got format ${fmt.format}, ${fmt.bits} bit, ${fmt.channels} ch)`);
  }
  // ffmpeg writing to a pipe leaves the size fields at 0xFFFFFFFF; trust the file size then.
  return { sampleRate: fmt.rate, dataOffset, length: dataBytes === 0xffffffff || dataBytes === 0 ? Infinity : Math.floor(dataBytes / 4) };
}
