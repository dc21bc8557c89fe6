/**
 * A synthetic voice as an ffmpeg `aevalsrc` expression: a glottal source at `f0` (slow vibrato) whose
 * harmonics are shaped by two alternating vowel formant sets (/a/ 700, 1200, 2600 Hz and /i/ 300, 2300,
 * 3000 Hz, swapped twice a second) under a 4 Hz syllable envelope. A plain tone is not a voice to a
 * voice-activity model: Silero VAD ignores sine tones and hums, and gates them out like silence. This
 * source it takes for speech (checked in the tests), so synthetic datasets and test media exercise the
 * same path real speech takes.
 *
 * `band`: 'low' keeps the energy at the fundamental (the formants are faint), so pitch trackers and
 * the tiny emotion2vec's zero-crossing pitch proxy read `f0`, and the tiny Whisper's band rule reads
 * Chinese; 'high' moves the energy into the formants above 1 kHz, which the tiny Whisper reads as
 * English.
 */
export interface SyntheticVoice {
  /** fundamental frequency (Hz) */
  f0: number;
  /** peak amplitude (0..1) */
  amp: number;
  band?: 'low' | 'high';
}

const bump = (f: number, centre: number, width: number) => Math.exp(-(((f - centre) / width) ** 2));

/** The bare expression (no `aevalsrc=` and no options): the value of one sample at time `t`. */
export function syntheticVoiceExpr({ f0, amp, band = 'low' }: SyntheticVoice): string {
  if (!(f0 > 20 && f0 < 1000)) throw new RangeError(`f0 ${f0} Hz is not a voice`);
  const phase = `2*PI*${f0.toFixed(3)}*(t+0.01*sin(2*PI*1.3*t))`;
  const formants = band === 'low' ? 0.1 : 1;
  const terms: string[] = [];
  for (let k = 1; k * f0 < 3800; k++) {
    const f = k * f0;
    const source = band === 'low' ? (k === 1 ? 1 : 0.3 / (k * k)) : k === 1 ? 0.15 : 0.02 / k;
    const a = source + formants * (bump(f, 700, 150) + 0.7 * bump(f, 1200, 200) + 0.5 * bump(f, 2600, 300));
    const i = source + formants * (bump(f, 300, 120) + 0.8 * bump(f, 2300, 250) + 0.6 * bump(f, 3000, 300));
    if (a < 1e-3 && i < 1e-3) continue;
    terms.push(`(${a.toFixed(4)}*(0.5+0.5*sin(4*PI*t))+${i.toFixed(4)}*(0.5-0.5*sin(4*PI*t)))*sin(${k}*${phase})`);
  }
  const norm = band === 'low' ? 1.2 : 1.5;
  return `${amp}*pow(sin(4*PI*t),2)*(${terms.join('+')})/${norm}`;
}

/** An ffmpeg lavfi source of the voice: `-f lavfi -i <this>`. */
export function syntheticVoiceSource(voice: SyntheticVoice, opts: { sampleRate?: number; durationSec?: number } = {}): string {
  const d = opts.durationSec !== undefined ? `:d=${opts.durationSec}` : '';
  return `aevalsrc='${syntheticVoiceExpr(voice)}':s=${opts.sampleRate ?? 16000}:c=mono${d}`;
}
