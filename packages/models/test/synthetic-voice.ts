/**
 * Synthetic 16 kHz signals that steer the tiny Whisper pack: its encoder's language score compares
 * mel bands below and above ~1 kHz, so low-band voicing decodes as the Chinese sequence and
 * high-band voicing as the English one (tiny/asr.ts).
 */
export const SR = 16000;

export function lowBandSample(t: number): number {
  return 0.3 * Math.sin(2 * Math.PI * 200 * t) + 0.15 * Math.sin(2 * Math.PI * 400 * t) + 0.1 * Math.sin(2 * Math.PI * 600 * t);
}

export function highBandSample(t: number): number {
  return 0.1 * Math.sin(2 * Math.PI * 200 * t) + 0.4 * Math.sin(2 * Math.PI * 2000 * t) + 0.4 * Math.sin(2 * Math.PI * 3000 * t);
}

function voiced(sample: (t: number) => number, seconds: number, total: number): Float32Array {
  const x = new Float32Array(Math.round(total * SR));
  for (let i = 0; i < seconds * SR; i++) x[i] = sample(i / SR);
  return x;
}

/** 200 Hz voicing with its 400/600 Hz harmonics: energy in the low mel bands. */
export function lowBand(seconds: number, total = seconds): Float32Array {
  return voiced(lowBandSample, seconds, total);
}

/** Weak 200 Hz plus strong 2 and 3 kHz components: energy above 1 kHz. */
export function highBand(seconds: number, total = seconds): Float32Array {
  return voiced(highBandSample, seconds, total);
}
