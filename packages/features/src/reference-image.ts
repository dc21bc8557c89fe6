/**
 * The synthetic RGB image the image-preprocessing reference values were computed from
 * (gradient_image() in scripts/reference/make_feature_refs.py, fixture "grad"): a horizontal and a
 * vertical ramp and a sine pattern, w×h, 8-bit RGB, row-major. Tests in several packages hold their
 * resizers against the fixture, so they all build the input from this one formula.
 */
export function referenceGradientRgb(w = 300, h = 200): Buffer {
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      b[o] = Math.floor((x * 255) / (w - 1));
      b[o + 1] = Math.floor((y * 255) / (h - 1));
      b[o + 2] = Math.floor(127.5 + 127.5 * Math.sin(0.21 * x) * Math.cos(0.13 * y));
    }
  return b;
}
