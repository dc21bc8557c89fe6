import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { mulberry32 } from '@omniaffect/core';

/**
 * Test media made with the real ffmpeg. "Speech-like" = a voiced harmonic source at ~180 Hz whose
 * loudness is modulated at a syllable rate (~4 Hz), so pitch tracking, energy and the tiny ASR's
 * low-band language rule all see what they would see in speech.
 */
const SPEECHLIKE = 'aevalsrc=(0.6*sin(2*PI*180*t)+0.3*sin(2*PI*360*t)+0.15*sin(2*PI*540*t))*(0.55+0.45*sin(2*PI*4*t)):s=16000:c=mono';

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function speechVideo(dir: string, seconds = 5): string {
  const out = path.join(dir, 'speech-video.mp4');
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=320x240:rate=10`,
    '-f',
    'lavfi',
    '-i',
    SPEECHLIKE,
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    out,
  ]);
  return out;
}

export function silentVideo(dir: string, seconds = 4): string {
  const out = path.join(dir, 'silent-video.mp4');
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=320x240:rate=10`,
    '-f',
    'lavfi',
    '-i',
    'anullsrc=r=16000:cl=mono',
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    out,
  ]);
  return out;
}

export function videoWithoutAudio(dir: string, seconds = 4): string {
  const out = path.join(dir, 'no-audio.mp4');
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=320x240:rate=10`,
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-an',
    out,
  ]);
  return out;
}

export function audioOnly(dir: string, seconds = 4): string {
  const out = path.join(dir, 'audio-only.m4a');
  ffmpeg(['-f', 'lavfi', '-i', SPEECHLIKE, '-t', String(seconds), '-c:a', 'aac', out]);
  return out;
}

export function longAudio(dir: string, seconds: number): string {
  const out = path.join(dir, `long-${seconds}s.wav`);
  ffmpeg(['-f', 'lavfi', '-i', SPEECHLIKE, '-t', String(seconds), '-c:a', 'pcm_s16le', out]);
  return out;
}

/** Bytes that claim to be an mp4 (ftyp box) but are garbage after it; seeded, so every run sees the same file. */
export function corruptVideo(dir: string): string {
  const out = path.join(dir, 'corrupt.mp4');
  const ftyp = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex');
  const next = mulberry32(0xc0ffee);
  const garbage = Buffer.alloc(64 * 1024);
  for (let i = 0; i < garbage.length; i++) garbage[i] = Math.floor(next() * 256);
  writeFileSync(out, Buffer.concat([ftyp, garbage]));
  return out;
}

/** The smallest clip that still exercises every stage: 1 s, 64×48 at 5 fps, speech-like audio (one frame, one segment). */
export function tinyClip(dir: string): string {
  const out = path.join(dir, 'tiny-clip.mp4');
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=64x48:rate=5`,
    '-f',
    'lavfi',
    '-i',
    SPEECHLIKE,
    '-t',
    '1',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    out,
  ]);
  return out;
}
