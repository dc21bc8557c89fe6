import * as path from 'node:path';
import { OutputLimitError, ProblemError, ToolError, runTool, type ToolRunner } from '@omniaffect/core';

export { OutputLimitError, ToolError };

/**
 * Demuxers user media may be opened with (`-format_whitelist`). Only self-contained containers and
 * audio formats: every demuxer that opens *other* inputs named inside the file is left out (hls, dash,
 * webm_dash_manifest, concat/ffconcat, imf, sdp, rtsp, rtp), because an uploaded playlist would make
 * the worker read its own filesystem or the network. So are device and filter inputs (lavfi, v4l2,
 * x11grab, alsa, pulse, fbdev, kmsgrab), pattern/image readers (image2, *_pipe), raw data readers
 * (data, bin, tty, rawvideo, pcm s16le & co, raw h264/hevc elementary streams) that accept almost any
 * bytes, subtitle and text formats, and ffmetadata. The mov demuxer keeps external data references
 * (drefs) off by default, so mov/mp4 cannot reach outside the file either.
 *
 * av_match_list() compares each comma-separated alternative of a demuxer's name, so "mov" alone would
 * admit "mov,mp4,m4a,3gp,3g2,mj2"; the full names are listed so the list reads as what it admits.
 */
export const FORMAT_WHITELIST = [
  'mov',
  'mp4',
  'm4a',
  '3gp',
  '3g2',
  'mj2', // MP4 / QuickTime / 3GPP (phones, cameras, m4a)
  'matroska',
  'webm', // mkv, webm (browsers' MediaRecorder)
  'avi',
  'flv',
  'asf', // older desktop and screen-capture formats (asf = wmv/wma)
  'mpegts',
  'mpeg', // transport stream (.ts/.mts camcorders), program stream (.mpg/.vob)
  'wav',
  'w64',
  'aiff',
  'caf', // PCM containers
  'mp3',
  'flac',
  'ogg',
  'aac',
  'ac3',
  'eac3',
  'amr', // compressed audio (ogg covers opus/vorbis)
].join(',');

/**
 * The largest single allocation ffmpeg/ffprobe may make (`-max_alloc`). Real media never needs one
 * block this big (an 8K frame plane is ~66 MB); a 600 MB metadata tag or attachment does, and without
 * this cap ffprobe holds ~3× the tag in memory before printing anything.
 */
export const DEFAULT_MAX_ALLOC_BYTES = 256 * 1024 ** 2;

/** 8K (7680×4320), the largest camera output in use. */
export const DEFAULT_MAX_PIXELS = 7680 * 4320;

/** How much ffprobe JSON is read before ffprobe is killed: a description of a real file is a few KB. */
export const DEFAULT_MAX_PROBE_BYTES = 1024 ** 2;

/** ffprobe reads this much media time to count packets: a measured frame rate (see StreamInfo.measuredFps). */
const FPS_WINDOW_SEC = 10;

export interface StreamInfo {
  index: number;
  type: 'audio' | 'video' | 'other';
  codec: string;
  /** Cover art in audio files: a one-picture "video" stream that is not a video. */
  attachedPic: boolean;
  width: number;
  height: number;
  /** Declared average frame rate (NaN when the container does not say). */
  fps: number;
  /**
   * Packets per second over the first FPS_WINDOW_SEC of the file (NaN without a duration). A declared
   * rate can be absent or lie (Matroska's DefaultDuration is only a hint); this is what is really there.
   * r_frame_rate is not used: for WebM from browsers it is the 1 kHz timebase, not a frame rate.
   */
  measuredFps: number;
  /** Declared frame count (mp4 sample tables have one; NaN elsewhere). */
  frames: number;
  sampleRate: number;
  channels: number;
}

export interface ProbeResult {
  durationSec: number;
  formatName: string;
  audio: { index: number; codec: string; sampleRate: number; channels: number } | null;
  video: { index: number; codec: string; width: number; height: number; fps: number } | null;
  streams: StreamInfo[];
}

/**
 * Absolute paths out of tool output before it becomes a problem detail (it reaches the API client).
 * ffmpeg starts most lines with the path they are about ("/…/source: Invalid data…"): that prefix is
 * dropped for a named path, other occurrences become its label, and anything else that looks like an
 * absolute path becomes `<path>`. The lookbehind keeps ratios and units ("1/2", "kb/s", "N/A") and
 * paths relative to a label ("<artifacts>/videos/…") intact.
 */
export function scrubPaths(text: string, named: Record<string, string> = {}): string {
  let s = text;
  const escape = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const [p, label] of Object.entries(named).sort((a, b) => b[0].length - a[0].length)) {
    if (!p) continue;
    s = s.replace(new RegExp(`^(?:file:)?${escape(p)}: `, 'gm'), '');
    s = s.split(`file:${p}`).join(label).split(p).join(label);
  }
  return s.replace(/(?<![\w./>-])(?:file:)?\/[^\s'"`<>|:;,()[\]{}]+/g, '<path>');
}

/**
 * Errors a tool reports about the machine rather than the file: disk full, quota, descriptor limits,
 * a read-only volume. ENOMEM is deliberately not here: with -max_alloc it is what a hostile
 * allocation request looks like (see toolFailure), and a machine truly out of memory SIGKILLs instead.
 */
const SYSTEM_ERRORS = /No space left on device|Disk quota exceeded|Too many open files|Read-only file system|Stale file handle/i;

/** Which demuxer was refused by -format_whitelist, from `[dash @ 0x…] Format not on whitelist '…'`. */
const NOT_WHITELISTED = /\[([\w,]+) @ 0x[0-9a-f]+\] Format not on whitelist/;

const REFUSED_FORMATS: Record<string, string> = {
  hls: 'an HLS playlist',
  dash: 'a DASH manifest',
  concat: 'a concat list',
  webm_dash_manifest: 'a WebM DASH manifest',
};

const lastLine = (s: string) => s.trim().split('\n').filter(Boolean).slice(-1)[0]?.trim() ?? '';

/**
 * A tool that exited by itself with a non-zero code: the input's fault (a ProblemError, permanent)
 * unless its message names a machine condition (a ToolError, retried).
 */
export function toolFailure(what: string, stderr: string, code: number, named: Record<string, string>): Error {
  const text = scrubPaths(stderr, named);
  const system = SYSTEM_ERRORS.exec(text);
  if (system) return new ToolError(`${what}: ${system[0]} on this worker (exit ${code})`, 'system');
  const refused = NOT_WHITELISTED.exec(stderr);
  if (refused) {
    const name = refused[1];
    const kind = REFUSED_FORMATS[name] ?? `in the "${name}" format`;
    return new ProblemError(
      'unsupported-media',
      `the file is ${kind}, not a self-contained audio or video file; playlists, manifests, concat lists and raw or image formats are refused`,
    );
  }
  if (/Cannot allocate memory/.test(text)) {
    return new ProblemError('exceeds-limits', `${what}: the file asks for a single memory block larger than the limit (a huge metadata tag or attachment?)`);
  }
  if (/exceeds specified max pixel count/.test(text)) {
    return new ProblemError('exceeds-limits', `${what}: a picture is larger than the pixel limit (MEDIA_MAX_PIXELS)`);
  }
  return new ProblemError('unsupported-media', `${what}: ${lastLine(text) || `exit ${code}`}`);
}

export interface InputLimits {
  /** `-max_pixels`: every decoder refuses pictures larger than this, whatever the probe said. */
  maxPixels: number;
  maxAllocBytes: number;
}

const DEFAULT_INPUT: InputLimits = { maxPixels: DEFAULT_MAX_PIXELS, maxAllocBytes: DEFAULT_MAX_ALLOC_BYTES };

/**
 * Options that pin how user media is opened, placed before `-i` so they bind to this input: only the
 * file protocol, only the whitelisted demuxers, bounded pictures. The `file:` prefix keeps a path from
 * ever being read as another protocol.
 */
function inputArgs(src: string, lim: InputLimits): string[] {
  return [
    '-max_alloc',
    String(lim.maxAllocBytes),
    '-protocol_whitelist',
    'file',
    '-format_whitelist',
    FORMAT_WHITELIST,
    '-max_pixels',
    String(lim.maxPixels),
    '-i',
    `file:${src}`,
  ];
}

export interface ProbeOptions extends Partial<InputLimits> {
  timeoutMs?: number;
  maxOutputBytes?: number;
  /** How ffprobe is run: a spawn (runTool) unless the media worker's fork server is given (MediaTools.run). */
  runner?: ToolRunner;
}

/**
 * Only the fields the stage uses: without -show_entries ffprobe prints every tag, and a file can carry
 * a tag of hundreds of MB.
 */
const PROBE_ENTRIES = [
  'format=duration,format_name',
  'stream=index,codec_type,codec_name,width,height,avg_frame_rate,sample_rate,channels,duration,nb_frames,nb_read_packets',
  'stream_disposition=attached_pic',
].join(':');

/**
 * ffprobe the file. Anything ffprobe cannot parse is `unsupported-media` (permanent, no retry); a
 * description larger than `maxOutputBytes` is `exceeds-limits`; a failure of ffprobe itself is retryable.
 */
export async function probe(file: string, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const lim = { ...DEFAULT_INPUT, ...opts };
  const maxOut = opts.maxOutputBytes ?? DEFAULT_MAX_PROBE_BYTES;
  let r;
  try {
    r = await (opts.runner ?? runTool)(
      'ffprobe',
      [
        '-v',
        'error',
        '-print_format',
        'json',
        '-count_packets',
        '-read_intervals',
        `%+${FPS_WINDOW_SEC}`,
        '-show_entries',
        PROBE_ENTRIES,
        ...inputArgs(file, lim),
      ],
      opts.timeoutMs ?? 60_000,
      maxOut,
    );
  } catch (err) {
    if (err instanceof OutputLimitError)
      throw new ProblemError('exceeds-limits', `the file's description is larger than ${maxOut} bytes (MEDIA_MAX_PROBE_BYTES)`);
    throw err;
  }
  if (r.code !== 0) throw toolFailure('ffprobe could not read the file', r.stderr, r.code, { [file]: 'the file' });
  let j: { format?: { duration?: string; format_name?: string }; streams?: Record<string, unknown>[] };
  try {
    j = JSON.parse(r.stdout);
  } catch {
    throw new ProblemError('unsupported-media', 'ffprobe returned no usable description of the file');
  }
  const num = (x: unknown) => (x === undefined || x === null || x === 'N/A' ? NaN : Number(x));
  // some containers state a length only per stream
  const rawStreams = j.streams ?? [];
  const duration = num(
    j.format?.duration ?? rawStreams.find((s) => s.codec_type === 'audio')?.duration ?? rawStreams.find((s) => s.codec_type === 'video')?.duration,
  );
  const durationSec = Number.isFinite(duration) ? duration : NaN;
  const parseRate = (x: unknown) => {
    const [n, d] = String(x ?? '0/0')
      .split('/')
      .map(Number);
    const v = d ? n / d : NaN;
    return Number.isFinite(v) && v > 0 ? v : NaN;
  };
  // A window shorter than half a second says little about a rate (one packet over 40 ms is "25 fps").
  const window = Math.min(FPS_WINDOW_SEC, durationSec);
  const streams: StreamInfo[] = rawStreams.map((s) => {
    const type = s.codec_type === 'audio' || s.codec_type === 'video' ? s.codec_type : 'other';
    const packets = num(s.nb_read_packets);
    return {
      index: Number(s.index),
      type,
      codec: String(s.codec_name ?? 'unknown'),
      attachedPic: Boolean((s.disposition as { attached_pic?: number } | undefined)?.attached_pic),
      width: num(s.width),
      height: num(s.height),
      fps: parseRate(s.avg_frame_rate),
      measuredFps: type === 'video' && window >= 0.5 && packets > 1 ? packets / window : NaN,
      frames: num(s.nb_frames),
      sampleRate: num(s.sample_rate),
      channels: num(s.channels),
    };
  });
  const a = streams.find((s) => s.type === 'audio');
  const v = streams.find((s) => s.type === 'video' && !s.attachedPic);
  return {
    durationSec,
    formatName: j.format?.format_name ?? 'unknown',
    audio: a ? { index: a.index, codec: a.codec, sampleRate: a.sampleRate, channels: a.channels } : null,
    video: v ? { index: v.index, codec: v.codec, width: v.width, height: v.height, fps: Number.isFinite(v.fps) ? v.fps : 0 } : null,
    streams,
  };
}

/** `-t <sec>` (an output option): ffmpeg stops writing after that much media time. */
const limitArgs = (maxSec: number | undefined) => (maxSec !== undefined && Number.isFinite(maxSec) && maxSec > 0 ? ['-t', String(maxSec)] : []);

export interface ExtractOptions extends Partial<InputLimits> {
  timeoutMs: number;
  /** Caps the media time written, so a file that declares no duration (or a wrong one) cannot produce unbounded output. */
  maxSec?: number;
  /** Stops the run (ffmpeg is SIGKILLed; the promise rejects with a ToolError 'aborted'). */
  signal?: AbortSignal;
  /** How ffmpeg is run: a spawn (runTool) unless the media worker's fork server is given (MediaTools.run). */
  runner?: ToolRunner;
  /**
   * One thread for the decoders and the filter graph (`-threads 1 -filter_complex_threads 1`). Starting
   * ffmpeg's frame and filter threads costs ~30 ms of CPU, about a third of a short clip's decode, and
   * buys nothing when the decode itself takes tens of ms; a long or large file wants them.
   */
  singleThreaded?: boolean;
}

/**
 * Inputs up to this size are decoded on one thread (ExtractOptions.singleThreaded): a few seconds of phone
 * video, or minutes at the bitrates of a web upload; the decode of one is tens of ms of CPU.
 */
export const SINGLE_THREAD_MAX_BYTES = 4 * 1024 ** 2;

/**
 * The stream the probe examined (the limits were checked on it; ffmpeg's own pick could be another one), else
 * the first of its kind as probe() picks it: the first audio stream (`a`), the first video stream that is not
 * an attached picture (`V`: ffmpeg's specifier for exactly that, the rule probe() applies to cover art).
 */
const streamSpec = (stream: number | undefined, kind: 'a' | 'V') => (stream !== undefined && Number.isInteger(stream) ? `0:${stream}` : `0:${kind}:0`);

/** Bytes per second of the WAV extractMedia() writes (16 kHz mono float32, what every audio model reads): 16 kHz × 1 channel × 4 bytes. */
export const AUDIO_BYTES_PER_SEC = 16000 * 4;

const sampleFilter = (intervalSec: number) => `fps=1/${intervalSec}`;
const fitFilter = (maxSide: number) => `scale=w='min(${maxSide},iw)':h='min(${maxSide},ih)':force_original_aspect_ratio=decrease:flags=bicubic`;

/**
 * The model input size of the vision worker (SigLIP base-patch16-224: docs/model-contracts.md §2.2).
 * Media hands vision its frames already at this size.
 */
export const VISION_INPUT_SIZE = 224;

/**
 * A sampled frame converted to RGB the way video readers give it (swscale's default conversion to
 * rgb24, as PyAV and torchvision's read_video do), then resized directly to size×size (SigLIP's recipe:
 * no aspect preservation, no crop), bicubic, in RGB. swscale's bicubic differs from the PIL BICUBIC the
 * model was trained with by a fraction of a level: on the reference images of
 * packages/features/test/fixtures, mean 0.1–0.2 and max 1–3 levels of 255 (normalised: mean ≤ 0.0016,
 * max ≤ 0.024), an eighth of what sharp's cubic differs by and well inside the tolerance the image tests
 * grant a non-PIL resampler (mean < 0.03, max < 0.25); on decoded H.264 frames, mean ~0.1 level.
 * services/media/test/frame-resize-parity.test.ts holds it there. Doing it here, in C, on the frame
 * ffmpeg has just decoded, spares the vision worker a JPEG decode and a JavaScript resize per frame.
 */
export const visionResizeFilter = (size = VISION_INPUT_SIZE) => `format=rgb24,scale=${size}:${size}:flags=bicubic`;

export interface ExtractMediaOutputs {
  /** 16 kHz mono float32 WAV of this audio stream */
  audio?: { dest: string; stream?: number };
  /**
   * The sampled frames, twice from one decode: JPEG files (`pattern`: one frame every `intervalSec` seconds,
   * the first at 0 s, shrunk to fit in `maxSide` with the aspect kept and never enlarged; for the report and the
   * evidence) and, in `pixels`, the same frames at the vision model's input size (visionResizeFilter) as
   * one stream of binary PPM (P6) images, the RGB the vision worker reads without a decode or a resize.
   */
  frames?: { pattern: string; pixels: string; intervalSec: number; maxSide: number; stream?: number };
}

/**
 * Audio and frames in one ffmpeg run: the file is opened, demuxed and decoded once for both (two runs
 * read and decode every packet twice, and pay for two processes).
 */
export async function extractMedia(src: string, out: ExtractMediaOutputs, opts: ExtractOptions): Promise<void> {
  const threads = opts.singleThreaded ? ['-threads', '1'] : [];
  const args = ['-nostdin', '-v', 'error', '-y', ...threads, ...inputArgs(src, { ...DEFAULT_INPUT, ...opts })];
  const named: Record<string, string> = { [src]: 'the file' };
  if (out.frames) {
    const f = out.frames;
    if (opts.singleThreaded) args.push('-filter_complex_threads', '1');
    const graph = `[${streamSpec(f.stream, 'V')}]${sampleFilter(f.intervalSec)},split=2[oa_j][oa_r];[oa_j]${fitFilter(f.maxSide)}[oa_jpg];[oa_r]${visionResizeFilter()}[oa_rgb]`;
    args.push('-filter_complex', graph);
    args.push('-map', '[oa_jpg]', ...limitArgs(opts.maxSec), '-q:v', '2', '-start_number', '0', f.pattern);
    args.push('-map', '[oa_rgb]', ...limitArgs(opts.maxSec), '-c:v', 'ppm', '-f', 'image2pipe', f.pixels);
    Object.assign(named, { [f.pattern]: 'the frame output', [f.pixels]: 'the frame output', [path.dirname(f.pattern)]: 'the frame directory' });
  }
  if (out.audio) {
    args.push(
      '-map',
      streamSpec(out.audio.stream, 'a'),
      ...limitArgs(opts.maxSec),
      '-ac',
      '1',
      '-ar',
      '16000',
      '-c:a',
      'pcm_f32le',
      '-f',
      'wav',
      out.audio.dest,
    );
    named[out.audio.dest] = 'the audio output';
  }
  if (!out.frames && !out.audio) return;
  const r = await (opts.runner ?? runTool)('ffmpeg', args, opts.timeoutMs, undefined, opts.signal);
  if (r.code !== 0) throw toolFailure(out.frames ? 'the media could not be decoded' : 'audio could not be decoded', r.stderr, r.code, named);
}
