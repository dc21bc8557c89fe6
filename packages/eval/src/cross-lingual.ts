import type { TextEncoderSetting } from './text-encoders';

export interface WarUar {
  war: number;
  uar: number;
}

export interface CrossLingualInput {
  inLanguage: WarUar;
  cross: WarUar;
  /** e.g. 'zh→en' (train on CH-SIMS v2, test on CMU-MOSEI). */
  direction?: string;
}

export interface CrossLingualReport {
  direction?: string;
  /** Label mapping both sides were scored with. */
  mapping: 'sign3';
  inLanguage: WarUar;
  cross: WarUar;
  /** cross WAR / in-language WAR (null when the in-language WAR is 0). */
  retention: number | null;
  /** The same ratio for UAR, reported beside it because a majority-class model can keep WAR while UAR collapses. */
  uarRetention: number | null;
  /** which text encoder setting produced these figures (see text-encoders.ts) */
  textEncoders?: TextEncoderSetting;
}

/**
 * Cross-lingual transfer summary. Both WARs must come from the sign-3 mapping (<0 / =0 / >0), the only 3-way
 * mapping on which CH-SIMS v2 and CMU-MOSEI agree about 0 (see sentimentSign3).
 */
export function crossLingualReport(input: CrossLingualInput): CrossLingualReport {
  for (const [name, v] of [
    ['inLanguage', input.inLanguage],
    ['cross', input.cross],
  ] as const) {
    for (const key of ['war', 'uar'] as const) {
      const x = v[key];
      if (!Number.isFinite(x) || x < 0 || x > 1) throw new Error(`crossLingualReport: ${name}.${key} = ${x} must be a fraction in [0, 1]`);
    }
  }
  const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
  return {
    ...(input.direction ? { direction: input.direction } : {}),
    mapping: 'sign3',
    inLanguage: { ...input.inLanguage },
    cross: { ...input.cross },
    retention: ratio(input.cross.war, input.inLanguage.war),
    uarRetention: ratio(input.cross.uar, input.inLanguage.uar),
  };
}
