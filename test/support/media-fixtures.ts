import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { mulberry32 } from '@omniaffect/core';
import { syntheticVoiceSource } from '@omniaffect/eval';

/**
 * Test media made with the real ffmpeg. "Speech-like" = the synthetic voice (a 180 Hz glottal source
 * shaped by alternating vowel formants under a syllable envelope), which the Silero VAD takes for
 * speech, pitch tracking and energy read like speech, and the tiny ASR's low-band rule reads as Chinese.
 */
const SPEECHLIKE = syntheticVoiceSource({ f0: 180, amp: 0.6 });

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
