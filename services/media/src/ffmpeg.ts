import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { ProblemError } from '@omniaffect/core';

export interface ProbeResult {
  durationSec: number;
  formatName: string;
  audio: { codec: string; sampleRate: number; channels: number } | null;
  video: { codec: string; width: number; height: number; fps: number } | null;
}

export function run(cmd: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new Error(`${cmd} not found on PATH: install ffmpeg (Debian: apt-get install -y ffmpeg)`) : err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

const lastLine = (s: string) => s.trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';

/** ffprobe the file; anything ffprobe cannot parse is `unsupported-media` (permanent, no retry). */
export async function probe(file: string, timeoutMs = 60_000): Promise<ProbeResult> {
  const r = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], timeoutMs);
  if (r.code !== 0) throw new ProblemError('unsupported-media', `ffprobe could not read the file: ${lastLine(r.stderr) || `exit ${r.code}`}`);
  let j: { format?: { duration?: string; format_name?: string }; streams?: Record<string, string | number | undefined>[] };
  try {
    j = JSON.parse(r.stdout);
  } catch {
    throw new ProblemError('unsupported-media', 'ffprobe returned no usable description of the file');
  }
  const streams = j.streams ?? [];
  const a = streams.find((s) => s.codec_type === 'audio');
  // Cover art in audio files is a "video" stream with attached_pic; it is not a video.
  const v = streams.find((s) => s.codec_type === 'video' && !(s as { disposition?: { attached_pic?: number } }).disposition?.attached_pic);
  const parseRate = (x: unknown) => {
    const [n, d] = String(x ?? '0/1').split('/').map(Number);
    return d ? n / d : n;
  };
  const duration = Number(j.format?.duration ?? a?.duration ?? v?.duration ?? NaN);
  return {
    durationSec: Number.isFinite(duration) ? duration : NaN,
    formatName: j.format?.format_name ?? 'unknown',
    audio: a ? { codec: String(a.codec_name), sampleRate: Number(a.sample_rate), channels: Number(a.channels) } : null,
    video: v ? { codec: String(v.codec_name), width: Number(v.width), height: Number(v.height), fps: parseRate(v.avg_frame_rate) } : null,
  };
}

/** `-t <sec>` (an output option): ffmpeg stops writing after that much media time. */
const limitArgs = (maxSec: number | undefined) => (maxSec !== undefined && Number.isFinite(maxSec) && maxSec > 0 ? ['-t', String(maxSec)] : []);

/**
 * 16 kHz mono float32 WAV, what every audio model reads. `maxSec` caps the output length, so a file
 * that declares no duration (or a wrong one) cannot produce an unbounded WAV.
 */
export async function extractAudio(src: string, dest: string, timeoutMs: number, maxSec?: number): Promise<void> {
  const r = await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', src, '-vn', ...limitArgs(maxSec), '-ac', '1', '-ar', '16000', '-c:a', 'pcm_f32le', '-f', 'wav', dest], timeoutMs);
  if (r.code !== 0) throw new ProblemError('unsupported-media', `audio could not be decoded: ${lastLine(r.stderr)}`);
}

/** Bytes per second of the WAV extractAudio() writes: 16 kHz × 1 channel × 4 bytes. */
export const AUDIO_BYTES_PER_SEC = 16000 * 4;

/**
 * The real length of an extracted WAV, from its data size (bytes / 64000). The data chunk's size
 * field is used when plausible; ffmpeg leaves it at 0 or 0xFFFFFFFF when it cannot seek back, and
 * then the bytes after the chunk header are counted.
 */
export async function wavDurationSec(file: string, bytesPerSec = AUDIO_BYTES_PER_SEC): Promise<number> {
  const fh = await fs.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, 64 * 1024));
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${file} is not a WAV file`);
    let pos = 12;
    while (pos + 8 <= bytesRead) {
      const id = head.toString('ascii', pos, pos + 4);
      const chunk = head.readUInt32LE(pos + 4);
      if (id === 'data') {
        const available = Math.max(0, size - (pos + 8));
        const bytes = chunk === 0 || chunk === 0xffffffff ? available : Math.min(chunk, available);
        return bytes / bytesPerSec;
      }
      pos += 8 + chunk + (chunk % 2);
    }
    throw new Error(`${file}: no data chunk`);
  } finally {
    await fh.close();
  }
}

/**
 * One frame every `intervalSec` seconds, the first at 0 s, scaled to fit in `maxSide` (aspect kept;
 * the vision worker does the exact 224×224 bicubic resize the model was trained with). `maxSec` caps
 * the media time read, as for extractAudio().
 */
export async function extractFrames(src: string, outPattern: string, intervalSec: number, maxSide: number, timeoutMs: number, maxSec?: number): Promise<void> {
  const vf = `fps=1/${intervalSec},scale=w=${maxSide}:h=${maxSide}:force_original_aspect_ratio=decrease:flags=bicubic`;
  const r = await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', src, '-an', ...limitArgs(maxSec), '-vf', vf, '-q:v', '2', '-start_number', '0', outPattern], timeoutMs);
  if (r.code !== 0) throw new ProblemError('unsupported-media', `video frames could not be decoded: ${lastLine(r.stderr)}`);
}
