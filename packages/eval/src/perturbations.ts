import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mulberry32, runTool } from '@omniaffect/core';
import { decodeAudioFile, writeWavFloat32 } from '@omniaffect/features';

/**
 * Media perturbations for `omniaffect eval robustness`, made with ffmpeg (and, for additive noise at an
 * exact SNR, by mixing in code): the conditions a deployed system meets — noise and babble, blur,
 * down-scaled and heavily compressed video, dropped frames, and a missing audio or video stream.
 * Every perturbation is deterministic for a given seed.
 */

export const PERTURBATION_KINDS = ['noise', 'babble', 'blur', 'downscale', 'compress', 'frame-drop', 'drop-audio', 'drop-video'] as const;
export type PerturbationKind = (typeof PERTURBATION_KINDS)[number];

export interface Perturbation {
  kind: PerturbationKind;
  /** noise/babble: SNR in dB; blur: Gaussian sigma (px); downscale: factor; compress: x264 CRF; frame-drop: fraction dropped; drops: null */
  level: number | null;
}

/** What `--perturbations all` means: the grid. */
export const DEFAULT_LEVELS: Record<PerturbationKind, (number | null)[]> = {
  noise: [20, 10, 5, 0],
  babble: [20, 10, 5, 0],
  blur: [2, 5],
  downscale: [2, 4],
  compress: [40, 51],
  'frame-drop': [0.5, 0.8],
  'drop-audio': [null],
  'drop-video': [null],
};

export function perturbationLabel(p: Perturbation): string {
  switch (p.kind) {
    case 'noise':
    case 'babble':
      return `${p.kind} ${p.level} dB SNR`;
    case 'blur':
      return `blur σ=${p.level}`;
    case 'downscale':
      return `downscale ÷${p.level}`;
    case 'compress':
      return `compress CRF ${p.level}`;
    case 'frame-drop':
      return `frame drop ${Math.round((p.level ?? 0) * 100)}%`;
    default:
      return p.kind;
  }
}

/** A file-system-safe name for a perturbation (its variant directory). */
export function perturbationSlug(p: Perturbation): string {
  return p.level === null ? p.kind : `${p.kind}-${String(p.level).replace('.', 'p')}`;
}

/**
 * `all`, or `kind[:level,level…]` items separated by `;` (e.g. `noise:20,0;blur:5;drop-audio`); a kind
 * without levels takes its default levels.
 */
export function parsePerturbations(spec: string): Perturbation[] {
  if (spec.trim() === 'all') return PERTURBATION_KINDS.flatMap((kind) => DEFAULT_LEVELS[kind].map((level) => ({ kind, level })));
  const out: Perturbation[] = [];
  for (const item of spec
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, levels] = item.split(':');
    const kind = name!.trim() as PerturbationKind;
    if (!PERTURBATION_KINDS.includes(kind)) throw new Error(`unknown perturbation "${name}": use ${PERTURBATION_KINDS.join(', ')}`);
    if (DEFAULT_LEVELS[kind][0] === null) {
      if (levels) throw new Error(`${kind} takes no level`);
      out.push({ kind, level: null });
      continue;
    }
    const values = levels ? levels.split(',').map((v) => Number(v.trim())) : (DEFAULT_LEVELS[kind] as number[]);
    for (const level of values) {
      if (!Number.isFinite(level)) throw new Error(`${kind}: level "${levels}" is not a number`);
      if (kind === 'frame-drop' && !(level > 0 && level < 1)) throw new Error('frame-drop takes a fraction in (0, 1)');
      if ((kind === 'blur' || kind === 'downscale') && !(level > 0)) throw new Error(`${kind} takes a positive level`);
      if (kind === 'compress' && !(level >= 0 && level <= 51)) throw new Error('compress takes an x264 CRF in 0..51');
      out.push({ kind, level });
    }
  }
  if (!out.length) throw new Error('no perturbation given');
  return out;
}

const TIMEOUT_MS = 600_000;

async function ffmpeg(bin: string, args: string[]): Promise<void> {
  const r = await runTool(bin, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], TIMEOUT_MS);
  if (r.code !== 0) throw new Error(`ffmpeg exited ${r.code}: ${r.stderr.trim().slice(-500)}`);
}

/** Seeded standard normal samples (Box–Muller). */
function gaussian(r: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u = Math.max(r(), 1e-12);
    const v = r();
    const mag = Math.sqrt(-2 * Math.log(u));
    spare = mag * Math.sin(2 * Math.PI * v);
    return mag * Math.cos(2 * Math.PI * v);
  };
}

/**
 * Babble: six overlapping synthetic talkers (harmonic voices at 100–300 Hz under syllable envelopes at
 * different rates and phases), the standard stand-in for a crowd behind the speaker.
 */
function babble(n: number, sampleRate: number, r: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let k = 0; k < 6; k++) {
    const f0 = 100 + r() * 200;
    const rate = 3 + r() * 2;
    const phase = r() * 2 * Math.PI;
    const harmonics = Math.floor(3500 / f0);
    for (let i = 0; i < n; i++) {
      const t = i / sampleRate;
      const env = Math.sin(Math.PI * rate * t + phase) ** 2;
      let v = 0;
      for (let h = 1; h <= harmonics; h++) v += Math.sin(2 * Math.PI * f0 * h * t + h * phase) / h;
      out[i]! += env * v;
    }
  }
  return out;
}

/** The signal with noise added at `snrDb` (power of the whole signal over power of the noise). */
export function addNoise(signal: Float32Array, snrDb: number, noise: Float32Array): Float32Array {
  const power = (x: Float32Array) => x.reduce((a, v) => a + v * v, 0) / Math.max(1, x.length);
  const ps = power(signal);
  const pn = power(noise);
  const gain = ps > 0 && pn > 0 ? Math.sqrt(ps / (pn * 10 ** (snrDb / 10))) : 0;
  const out = new Float32Array(signal.length);
  for (let i = 0; i < signal.length; i++) out[i] = signal[i]! + gain * noise[i]!;
  return out;
}

/** Writes `src` perturbed by `p` to `out` (an .mp4). */
export async function perturbMedia(src: string, out: string, p: Perturbation, opts: { seed?: number; ffmpegPath?: string } = {}): Promise<void> {
  const bin = opts.ffmpegPath ?? 'ffmpeg';
  const video = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
  switch (p.kind) {
    case 'noise':
    case 'babble': {
      const sampleRate = 16000;
      const clean = await decodeAudioFile(src, { sampleRate, ffmpegPath: bin });
      const r = mulberry32(opts.seed ?? 1);
      const n = p.kind === 'noise' ? Float32Array.from({ length: clean.length }, gaussian(r)) : babble(clean.length, sampleRate, r);
      const tmp = mkdtempSync(path.join(os.tmpdir(), 'oa-perturb-'));
      try {
        const wav = path.join(tmp, 'noisy.wav');
        writeWavFloat32(wav, addNoise(clean, p.level!, n), sampleRate);
        await ffmpeg(bin, ['-i', src, '-i', wav, '-map', '0:v?', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', '-b:a', '96k', '-shortest', out]);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
      return;
    }
    case 'blur':
      return ffmpeg(bin, ['-i', src, '-vf', `gblur=sigma=${p.level}`, ...video, '-c:a', 'copy', out]);
    case 'downscale':
      return ffmpeg(bin, ['-i', src, '-vf', `scale=trunc(iw/${p.level}/2)*2:trunc(ih/${p.level}/2)*2`, ...video, '-c:a', 'copy', out]);
    case 'compress': {
      // heavy video and audio compression together: the audio bitrate falls with the CRF
      const kbps = p.level! >= 50 ? 8 : p.level! >= 40 ? 16 : 32;
      return ffmpeg(bin, [
        '-i',
        src,
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-crf',
        String(p.level),
        '-pix_fmt',
        'yuv420p',
        '-c:a',
        'aac',
        '-b:a',
        `${kbps}k`,
        out,
      ]);
    }
    case 'frame-drop': {
      // keep one frame in 1/(1-f), timestamps unchanged (a stuttering stream, not a faster one)
      const keepEvery = Math.max(2, Math.round(1 / (1 - p.level!)));
      return ffmpeg(bin, ['-i', src, '-vf', `select='not(mod(n\\,${keepEvery}))'`, '-fps_mode', 'vfr', ...video, '-c:a', 'copy', out]);
    }
    case 'drop-audio':
      return ffmpeg(bin, ['-i', src, '-map', '0:v', '-c:v', 'copy', '-an', out]);
    case 'drop-video':
      return ffmpeg(bin, ['-i', src, '-map', '0:a', '-c:a', 'copy', '-vn', out]);
  }
}
