import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import sharp from 'sharp';

export type ImageResampler = 'pil' | 'sharp';

export interface PreprocessImageOptions {
  /**
   * 'pil' (default): Pillow's BICUBIC algorithm re-implemented here, bit-exact with PIL's 8-bit path,
   * which is what the HF SigLIP processor runs. 'sharp': libvips cubic; close for downscaling (≤ 1
   * level) but its upsampling grid is shifted against PIL's (up to ~97/255 at edges on a real image).
   */
  resampler?: ImageResampler;
}

/**
 * SigLIP pixel_values for one image: RGB, resized directly to size×size (no aspect preservation,
 * no crop), bicubic, x/127.5 − 1, CHW float32 of length 3·size·size. sharp decodes; see
 * PreprocessImageOptions for the resize.
 */
export async function preprocessImage(input: Buffer | string, size = 224, opts: PreprocessImageOptions = {}): Promise<Float32Array> {
  const rgb = await decodeRgb(input);
  if ((opts.resampler ?? 'pil') === 'pil') return preprocessRgb(rgb.data, rgb.width, rgb.height, size);
  // Resize from the alpha-free RGB raster: resizing RGBA in libvips premultiplies by alpha, whereas
  // PIL-based preprocessing drops alpha first (convert('RGB')) and then resizes.
  const { data, info } = await sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
    .resize(size, size, { fit: 'fill', kernel: 'cubic' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== size || info.height !== size) {
    throw new Error(`unexpected resized image layout ${info.width}x${info.height}x${info.channels}`);
  }
  return hwcToChwNormalized(data, size, size);
}

const PRECISION_BITS = 32 - 8 - 2; // Pillow Resample.c, 8-bit path

function bicubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coeffs {
  start: Int32Array;
  len: Int32Array;
  k: Int32Array; // fixed-point weights, ksize per output
  ksize: number;
}

/** Pillow precompute_coeffs + normalize_coeffs_8bpc: antialiased (support scales with the shrink). */
function pilCoeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const len = new Int32Array(outSize);
  const k = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = bicubic((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      k[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    start[xx] = xmin;
    len[xx] = xmax;
  }
  return { start, len, k, ksize };
}

function clip8(acc: number): number {
  const v = Math.floor(acc / (1 << PRECISION_BITS)); // acc can exceed 2^31: no >> here
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Pillow Image.resize(..., BICUBIC) on interleaved 8-bit RGB: horizontal pass then vertical, each
 * rounded to uint8, fixed-point weights; a pass is skipped when that dimension is unchanged.
 */
export function resizeBicubicPil(rgb: Uint8Array, width: number, height: number, outW: number, outH: number): Uint8Array {
  let src = rgb;
  let w = width;
  if (outW !== width) {
    const c = pilCoeffs(width, outW);
    const dst = new Uint8Array(outW * height * 3);
    for (let y = 0; y < height; y++) {
      const row = y * width * 3;
      for (let x = 0; x < outW; x++) {
        const s0 = c.start[x];
        const kb = x * c.ksize;
        let r = 1 << (PRECISION_BITS - 1);
        let g = r;
        let b = r;
        for (let i = 0; i < c.len[x]; i++) {
          const kv = c.k[kb + i];
          const p = row + (s0 + i) * 3;
          r += src[p] * kv;
          g += src[p + 1] * kv;
          b += src[p + 2] * kv;
        }
        const o = (y * outW + x) * 3;
        dst[o] = clip8(r);
        dst[o + 1] = clip8(g);
        dst[o + 2] = clip8(b);
      }
    }
    src = dst;
    w = outW;
  }
  if (outH !== height) {
    const c = pilCoeffs(height, outH);
    const dst = new Uint8Array(w * outH * 3);
    for (let y = 0; y < outH; y++) {
      const s0 = c.start[y];
      const kb = y * c.ksize;
      for (let x = 0; x < w * 3; x++) {
        let acc = 1 << (PRECISION_BITS - 1);
        for (let i = 0; i < c.len[y]; i++) acc += src[(s0 + i) * w * 3 + x] * c.k[kb + i];
        dst[y * w * 3 + x] = clip8(acc);
      }
    }
    src = dst;
  }
  return src === rgb ? Uint8Array.from(rgb) : src;
}

/** Decodes any image sharp reads to 8-bit sRGB RGB (alpha dropped, EXIF orientation applied). */
export async function decodeRgb(input: Buffer | string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(input, { failOn: 'error' })
    .rotate() // honour EXIF orientation, as transformers' load_image does (exif_transpose)
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
    throw new Error(`unexpected decoded image layout ${info.width}x${info.height}x${info.channels} (${data.length} bytes)`);
  }
  return { data, width: info.width, height: info.height };
}

/** Interleaved RGB bytes → planar float32 in [-1, 1] (SigLIP mean = std = 0.5 after /255). */
export function hwcToChwNormalized(rgb: Uint8Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = rgb[3 * i] / 127.5 - 1;
    out[plane + i] = rgb[3 * i + 1] / 127.5 - 1;
    out[2 * plane + i] = rgb[3 * i + 2] / 127.5 - 1;
  }
  return out;
}

/**
 * SigLIP pixel_values from 8-bit interleaved RGB already in hand: the exact PIL bicubic resize (none when
 * it is size×size already, as media's raw frames are), then x/127.5 − 1.
 */
export function preprocessRgb(rgb: Uint8Array, width: number, height: number, size = 224): Float32Array {
  if (rgb.length !== width * height * 3) throw new Error(`RGB buffer of ${rgb.length} bytes is not ${width}×${height}×3`);
  const resized = width === size && height === size ? rgb : resizeBicubicPil(rgb, width, height, size, size);
  return hwcToChwNormalized(resized, size, size);
}

/** One image of a PPM stream: where its RGB bytes start and its size. */
export interface PpmFrame {
  offset: number;
  width: number;
  height: number;
}

/**
 * Parses a binary PPM (P6) header at the start of `buf`: magic, width, height and maxval separated by
 * whitespace (comments from '#' to the end of a line allowed), then exactly one whitespace byte
 * before the pixels. null when `buf` ends before the header does.
 */
export function parsePpmHeader(buf: Uint8Array): { width: number; height: number; maxval: number; headerBytes: number } | null {
  if (buf.length < 2) return null;
  if (buf[0] !== 0x50 || buf[1] !== 0x36) throw new Error('not a binary PPM (P6) image');
  const fields: number[] = [];
  let i = 2;
  while (fields.length < 3) {
    if (i >= buf.length) return null;
    const c = buf[i];
    if (c === 0x23) {
      while (i < buf.length && buf[i] !== 0x0a) i++;
      continue;
    }
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      i++;
      continue;
    }
    let v = 0;
    const start = i;
    while (i < buf.length && buf[i] >= 0x30 && buf[i] <= 0x39) v = v * 10 + (buf[i++] - 0x30);
    if (i === start) throw new Error(`bad PPM header byte ${c}`);
    if (i >= buf.length) return null;
    fields.push(v);
  }
  if (i >= buf.length) return null;
  const [width, height, maxval] = fields;
  if (!(width > 0 && height > 0) || maxval !== 255) throw new Error(`unsupported PPM image ${width}×${height}, maxval ${maxval} (8-bit RGB only)`);
  return { width, height, maxval, headerBytes: i + 1 };
}

/**
 * The images of a file of concatenated binary PPMs (what ffmpeg's image2pipe muxer writes), found by
 * reading each header and skipping its pixels: a few dozen bytes read per image. Trailing bytes that
 * do not make a whole image (a cut-off write) are not an image.
 */
export function scanPpmStream(file: string): PpmFrame[] {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(256);
    const frames: PpmFrame[] = [];
    let pos = 0;
    while (pos < size) {
      const n = readSync(fd, head, 0, head.length, pos);
      const h = parsePpmHeader(head.subarray(0, n));
      if (!h) break;
      const bytes = h.width * h.height * 3;
      if (pos + h.headerBytes + bytes > size) break;
      frames.push({ offset: pos + h.headerBytes, width: h.width, height: h.height });
      pos += h.headerBytes + bytes;
    }
    return frames;
  } finally {
    closeSync(fd);
  }
}

/** The RGB bytes of one image of a PPM stream (scanPpmStream). */
export function readPpmFrame(file: string, frame: PpmFrame): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const out = new Uint8Array(frame.width * frame.height * 3);
    let done = 0;
    while (done < out.length) {
      const n = readSync(fd, out, done, out.length - done, frame.offset + done);
      if (n === 0) throw new Error(`${file} ends inside the image at ${frame.offset}`);
      done += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
