import type { Language } from '@omniaffect/core';
import type { CachedClip } from './feature-cache';
import { DATASET_LANGUAGE } from './pipeline-labels';

/**
 * Which text encoder(s) the text features of a feature set came from, and what training did with them.
 *
 * The text worker picks an encoder per detected language (MODEL_DIR/text-en for English, text-zh for Chinese), so
 * zh and en text features normally come from two different BERTs and live in two unrelated spaces: a fusion head
 * trained on one language's text features reads noise in the other's, and a cross-lingual figure through the text
 * branch then measures nothing. Pointing both slots at one multilingual encoder (TEXT_MODEL_DIR_EN=$MODEL_DIR/text-zh)
 * puts both languages in one space.
 *
 * - `shared`: every language's text features came from one encoder; text was used.
 * - `split`: they came from different encoders and were used anyway (`--text-encoders split`).
 * - `masked`: they came from different encoders, so text was masked for training and evaluation (the default
 *   for cross-lingual training), and the exported fusion gives text weight 0.
 */
export type TextEncoderSetting = 'shared' | 'split' | 'masked';

/** What the user asked for: require one encoder (mask text otherwise), or keep split text features anyway. */
export type TextEncoderRequest = 'shared' | 'split';

export const TEXT_ENCODER_REQUESTS: readonly TextEncoderRequest[] = ['shared', 'split'];

/** language → text model name → clips. The empty name counts text features whose model the cache did not record. */
export type TextModelTally = Partial<Record<Language, Record<string, number>>>;

/** What the features themselves say, before any masking. */
export interface DerivedTextEncoders {
  features: 'shared' | 'split';
  /** languages with at least one clip that has text features */
  languages: Language[];
  /** every model name per language, most clips first ('' = not recorded) */
  models: Partial<Record<Language, { name: string; clips: number }[]>>;
  /** clips whose text features carry no model name (an encoder that cannot be compared is never called shared) */
  unrecorded: number;
}

export interface TextEncodersRecord {
  setting: TextEncoderSetting;
  /** the English text encoder (names joined by ' + ' when the clips hold several; null = no English text) */
  en: string | null;
  zh: string | null;
  /** what the cached features hold, whatever training did with them */
  features: 'shared' | 'split';
  /** what was asked for (absent for single-language sets, where nothing is transferred) */
  requested?: TextEncoderRequest;
  crossLingual: boolean;
  models: DerivedTextEncoders['models'];
  unrecorded: number;
  /** one sentence saying what the setting means for the figures */
  note: string;
}

/** Adds the text model of each clip with text token features to `into`, keyed by the clip's dataset language. */
export function tallyTextModels(clips: Iterable<Pick<CachedClip, 'dataset' | 'tensors'>>, into: TextModelTally = {}): TextModelTally {
  for (const clip of clips) {
    // the token sequence is what training reads (the pooled vector comes with it); none or 0 tokens = no text features
    const text = clip.tensors.filter((t) => t.modality === 'text' && t.kind === 'tokens' && t.shape.length === 2 && t.shape[0]! > 0);
    if (!text.length) continue;
    const lang = DATASET_LANGUAGE[clip.dataset];
    const names = [...new Set(text.map((t) => t.model ?? ''))];
    const bucket = (into[lang] ??= {});
    for (const n of names) bucket[n] = (bucket[n] ?? 0) + 1;
  }
  return into;
}

/** Merges tallies and says whether one encoder produced every language's text features. */
export function deriveTextEncoders(...tallies: TextModelTally[]): DerivedTextEncoders {
  const merged: TextModelTally = {};
  for (const t of tallies) {
    for (const [lang, names] of Object.entries(t) as [Language, Record<string, number>][]) {
      const b = (merged[lang] ??= {});
      for (const [n, c] of Object.entries(names)) b[n] = (b[n] ?? 0) + c;
    }
  }
  const languages = (Object.keys(merged) as Language[]).filter((l) => Object.keys(merged[l]!).length > 0).sort();
  const models: DerivedTextEncoders['models'] = {};
  let unrecorded = 0;
  const all = new Set<string>();
  for (const l of languages) {
    const list = Object.entries(merged[l]!)
      .map(([name, clips]) => ({ name, clips }))
      .sort((a, b) => b.clips - a.clips || a.name.localeCompare(b.name));
    models[l] = list;
    for (const m of list) {
      all.add(m.name);
      if (m.name === '') unrecorded += m.clips;
    }
  }
  const features = all.size <= 1 && unrecorded === 0 ? 'shared' : 'split';
  return { features, languages, models, unrecorded };
}

function namesOf(d: DerivedTextEncoders, lang: Language): string | null {
  const list = d.models[lang];
  return list?.length ? list.map((m) => m.name || '(not recorded)').join(' + ') : null;
}

/**
 * Decides what training does with the text features. Only a cross-lingual set (two languages trained or scored
 * together) can be hurt by split encoders; there `request` 'shared' (the default) masks text when the features are
 * split, and 'split' keeps them. A single-language set keeps its text and records what it was.
 */
export function resolveTextEncoders(
  d: DerivedTextEncoders,
  o: { crossLingual: boolean; request?: TextEncoderRequest },
): TextEncodersRecord & { maskText: boolean } {
  const en = namesOf(d, 'en');
  const zh = namesOf(d, 'zh');
  const base = { en, zh, features: d.features, crossLingual: o.crossLingual, models: d.models, unrecorded: d.unrecorded };
  const which = `zh text from ${zh ?? 'no encoder'}, en text from ${en ?? 'no encoder'}`;
  const unrecorded = d.unrecorded ? ` (${d.unrecorded} clips recorded no text model, so one encoder cannot be confirmed)` : '';
  if (!o.crossLingual) {
    return { ...base, setting: d.features, maskText: false, note: `Single-language features (${which}); no text is transferred between languages.` };
  }
  const request = o.request ?? 'shared';
  if (d.features === 'shared') {
    return {
      ...base,
      setting: 'shared',
      requested: request,
      maskText: false,
      note: `One text encoder for both languages (${en ?? zh ?? 'none'}): zh and en text features share one space, so the text branch can transfer.`,
    };
  }
  if (request === 'split') {
    return {
      ...base,
      setting: 'split',
      requested: request,
      maskText: false,
      note: `Text features from different encoders (${which})${unrecorded}, used anyway as asked (--text-encoders split): the text branch reads the other language's features from an unrelated space, so cross-lingual figures do not measure transfer through text.`,
    };
  }
  return {
    ...base,
    setting: 'masked',
    requested: request,
    maskText: true,
    note: `Text features from different encoders (${which})${unrecorded}: text was masked for training and evaluation, so these figures come from audio and vision only. For text transfer, collect features with one multilingual encoder in both slots (TEXT_MODEL_DIR_EN=$MODEL_DIR/text-zh omniaffect up) into a new feature cache; --text-encoders split keeps split text features anyway.`,
  };
}

/** The fusion.json provenance entry: `{setting, en, zh}` first, then the detail. */
export function textEncodersProvenance(r: TextEncodersRecord): Record<string, unknown> {
  return {
    setting: r.setting,
    en: r.en,
    zh: r.zh,
    features: r.features,
    ...(r.requested ? { requested: r.requested } : {}),
    crossLingual: r.crossLingual,
    models: r.models,
    note: r.note,
  };
}

/** Why the exported fusion gives text weight 0 (the fusion service shows it as the text modality's reason). */
export const MASKED_TEXT_REASON = 'text masked in training: zh and en text features came from different encoders';
