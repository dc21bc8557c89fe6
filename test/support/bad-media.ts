import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { syntheticVoiceSource } from '@omniaffect/eval';

/**
 * Hostile and broken inputs for the bad-input corpus, made with the real ffmpeg (or by hand where a
 * header has to lie). Every generator is deterministic and writes into `dir`.
 */

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A short clip that stands for "a media file that lives on the host" (the worker's own filesystem). */
export function hostMedia(dir: string): { mp4: string; fragmentedMp4: string; ts: string } {
  const mp4 = path.join(dir, 'host-secret.mp4');
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=64x48:rate=10',
    '-f',
    'lavfi',
    '-i',
    syntheticVoiceSource({ f0: 180, amp: 0.6 }),
    '-t',
    '3',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    mp4,
  ]);
  const fragmentedMp4 = path.join(dir, 'host-secret-frag.mp4');
  ffmpeg(['-i', mp4, '-c', 'copy', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', fragmentedMp4]);
  const ts = path.join(dir, 'host-secret.ts');
  ffmpeg(['-i', mp4, '-c', 'copy', '-f', 'mpegts', ts]);
  return { mp4, fragmentedMp4, ts };
}

/** A DASH manifest (named like an mp4) whose BaseURL is a file on the host. ffprobe decodes it unless the input is pinned. */
export function dashManifest(dir: string, target: string): string {
  const out = path.join(dir, 'dash-playlist.mp4');
  writeFileSync(
    out,
    `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" type="static" mediaPresentationDuration="PT3S" minBufferTime="PT1S">
 <Period>
  <AdaptationSet mimeType="video/mp4">
   <Representation id="1" bandwidth="100000" codecs="avc1.42c00a,mp4a.40.2">
    <BaseURL>file://${target}</BaseURL>
   </Representation>
  </AdaptationSet>
 </Period>
</MPD>
`,
  );
  return out;
}

/** An HLS playlist (named like an mp4) whose one segment is a file on the host. */
export function hlsPlaylist(dir: string, target: string): string {
  const out = path.join(dir, 'hls-playlist.mp4');
  writeFileSync(
    out,
    `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:3.0,\nfile://${target}\n#EXTINF:3.0,\n${target}\n#EXT-X-ENDLIST\n`,
  );
  return out;
}

/** An ffconcat script (named like an mp4) that names a file on the host by absolute path. */
export function concatScript(dir: string, target: string): string {
  const out = path.join(dir, 'concat-script.mp4');
  writeFileSync(out, `ffconcat version 1.0\nfile '${target}'\nfile 'file:${target}'\n`);
  return out;
}

/** An ffconcat script that names itself (the artifact store keeps an upload as `source`): it nests until the fd limit. */
export function selfConcatScript(dir: string): string {
  const out = path.join(dir, 'concat-self.mp4');
  writeFileSync(out, `ffconcat version 1.0\nfile 'source'\nfile 'source'\n`);
  return out;
}

/** A real mp4 (moov written last, as ffmpeg does by default) cut after 40 % of its bytes: no moov, not decodable. */
export function truncatedVideo(dir: string, complete: string): string {
  const out = path.join(dir, 'truncated.mp4');
  const bytes = readFileSync(complete);
  writeFileSync(out, bytes.subarray(0, Math.floor(bytes.length * 0.4)));
  return out;
}

export function zeroLength(dir: string): string {
  const out = path.join(dir, 'zero.mp4');
  writeFileSync(out, Buffer.alloc(0));
  return out;
}

export function textAsVideo(dir: string): string {
  const out = path.join(dir, 'notes.mp4');
  writeFileSync(out, 'The quick brown fox jumps over the lazy dog.\nThis is a plain text file, not a video.\n'.repeat(20));
  return out;
}

/** SubRip subtitles renamed .mp4: ffprobe finds a subtitle stream (a demuxer no media whitelist holds). */
export function subtitlesAsVideo(dir: string): string {
  const out = path.join(dir, 'subtitles.mp4');
  writeFileSync(out, '1\n00:00:00,000 --> 00:00:02,000\nhello there\n\n2\n00:00:02,000 --> 00:00:04,000\nsecond line\n');
  return out;
}

/** A PNG still renamed .mp4 (the image2/png_pipe demuxer would make it a one-frame "video"). */
export function pngAsVideo(dir: string): string {
  const png = path.join(dir, 'image.png');
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=32x32', '-frames:v', '1', png]);
  const out = path.join(dir, 'image.mp4');
  copyFileSync(png, out);
  return out;
}

/** An ELF executable renamed .mp4. */
export function elfAsVideo(dir: string): string {
  const out = path.join(dir, 'program.mp4');
  copyFileSync(['/bin/true', '/usr/bin/true'].find((p) => existsSync(p)) ?? process.execPath, out);
  return out;
}

/**
 * A few-KB FLAC whose STREAMINFO declares `seconds` of audio (8 kHz mono): ffprobe reports the
 * declared duration, the file holds one second of silence.
 */
export function hugeDeclaredDuration(dir: string, seconds = 3 * 3600): string {
  const real = path.join(dir, 'one-second.flac');
  ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '1', '-c:a', 'flac', real]);
  const b = Buffer.from(readFileSync(real));
  if (b.subarray(0, 4).toString('latin1') !== 'fLaC') throw new Error('not a FLAC stream');
  // STREAMINFO starts at byte 8; its bytes 10..17 hold sample rate (20 bits), channels (3), bits (5), total samples (36)
  const off = 18;
  const mask = (1n << 36n) - 1n;
  const word = (b.readBigUInt64BE(off) & ~mask) | BigInt(8000 * seconds);
  b.writeBigUInt64BE(word, off);
  const out = path.join(dir, 'declares-3h.flac');
  writeFileSync(out, b);
  return out;
}

/** 16×16 at 1000 frames per second: tiny file, absurd frame rate (a cost amplifier). */
export function absurdFrameRate(dir: string): string {
  const out = path.join(dir, 'fps1000.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=16x16:rate=1000', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', out]);
  return out;
}

/** PCM at 768 kHz: a sample rate no speech pipeline needs (a cost amplifier). */
export function absurdSampleRate(dir: string): string {
  const out = path.join(dir, 'sr768k.wav');
  ffmpeg(['-f', 'lavfi', '-i', 'sine=f=440:r=768000', '-t', '0.25', '-c:a', 'pcm_s16le', out]);
  return out;
}

/** Deterministic filler of `bytes` bytes (oversized uploads). */
export function fillerFile(dir: string, name: string, bytes: number): string {
  const out = path.join(dir, name);
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 2654435761) >>> 24;
  writeFileSync(out, b);
  return out;
}
