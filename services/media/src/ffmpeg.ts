import { spawn } from 'node:child_process';
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

/** 16 kHz mono float32 WAV, what every audio model reads. */
export async function extractAudio(src: string, dest: string, timeoutMs: number): Promise<void> {
  const r = await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', src, '-vn', '-ac', '1', '-ar', '16000', '-c:a', 'pcm_f32le', '-f', 'wav', dest], timeoutMs);
  if (r.code !== 0) throw new ProblemError('unsupported-media', `audio could not be decoded: ${lastLine(r.stderr)}`);
}

/**
 * One frame every `intervalSec` seconds, the first at 0 s, scaled to fit in `maxSide` (aspect kept;
 * the vision worker does the exact 224×224 bicubic resize the model was trained with).
 */
export async function extractFrames(src: string, outPattern: string, intervalSec: number, maxSide: number, timeoutMs: number): Promise<void> {
  const vf = `fps=1/${intervalSec},scale=w=${maxSide}:h=${maxSide}:force_original_aspect_ratio=decrease:flags=bicubic`;
  const r = await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', src, '-an', '-vf', vf, '-q:v', '2', '-start_number', '0', outPattern], timeoutMs);
  if (r.code !== 0) throw new ProblemError('unsupported-media', `video frames could not be decoded: ${lastLine(r.stderr)}`);
}
