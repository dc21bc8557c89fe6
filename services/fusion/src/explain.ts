import {
  EMOTION_LABELS,
  MODALITIES,
  SENTIMENT_LABELS,
  type AnalysisResult,
  type DecisionStep,
  type FrameItem,
  type FusionManifest,
  type Modality,
  type SegmentItem,
  type TokenItem,
} from '@omniaffect/core';
import type { ModalitySequence } from './fusion-inputs';

export type Outputs = Record<string, { data: Float32Array; dims: number[] }>;

const softmax = (xs: ArrayLike<number>): number[] => {
  const arr = Array.from(xs);
  const m = Math.max(...arr);
  const e = arr.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};
const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;
const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const row = (o: Outputs, name: string, b: number): Float32Array => {
  const t = o[name];
  const width = t.dims.slice(1).reduce((a, c) => a * c, 1);
  return t.data.subarray(b * width, (b + 1) * width);
};

/** Word-level evidence: WordPiece continuation tokens are merged into the word they continue. */
export function mergeWordPieces(items: TokenItem[], importance: ArrayLike<number>): (TokenItem & { weight: number })[] {
  const words: (TokenItem & { weight: number })[] = [];
  items.forEach((tok, i) => {
    const w = importance[i] ?? 0;
    const prev = words[words.length - 1];
    if (prev && (tok.piece ?? tok.text).startsWith('##') && tok.charStart === prev.charEnd) {
      prev.text += tok.text.replace(/^##/, '');
      prev.charEnd = tok.charEnd;
      prev.end = Math.max(prev.end, tok.end);
      prev.weight += w;
    } else {
      words.push({ ...tok, weight: w });
    }
  });
  return words;
}

export interface ExplainInput {
  outputs: Outputs;
  rows: (Modality | null)[];
  seqs: Record<Modality, ModalitySequence>;
  absent: Record<string, string>;
  manifest: FusionManifest;
  topWords?: number;
}

/** Turns the fusion model's outputs (and the deletion rows) into the result's explanation part. */
export function explain(x: ExplainInput): Pick<AnalysisResult, 'sentiment' | 'emotion' | 'modalities' | 'evidence' | 'decisionPath' | 'models'> {
  const { outputs, rows, seqs } = x;
  const sentProbs = softmax(row(outputs, 'sentiment_logits', 0));
  const emoProbs = softmax(row(outputs, 'emotion_logits', 0));
  const intensity = Math.max(-1, Math.min(1, row(outputs, 'intensity', 0)[0]));
  const weights = Array.from(row(outputs, 'modality_weights', 0));
  const sIdx = sentProbs.indexOf(Math.max(...sentProbs));
  const eIdx = emoProbs.indexOf(Math.max(...emoProbs));
  const present = MODALITIES.filter((m) => seqs[m].present);
  // A fusion model may declare that it does not weigh a modality at all (the zero-shot fusion has no
  // trained text head): such a modality is present, contributes 0 and says why, and it is left out
  // of the rankings, which would otherwise compare a fixed 0 with real weights.
  const reasons = (x.manifest.provenance as { modalityReasons?: Partial<Record<Modality, string>> } | undefined)?.modalityReasons ?? {};
  const unweighed = (m: Modality) => Boolean(reasons[m]) && weights[MODALITIES.indexOf(m)] === 0;
  const weighed = present.filter((m) => !unweighed(m));

  // Deletion test: how much the predicted class's probability drops when a modality is removed.
  const drops: Partial<Record<Modality, number>> = {};
  rows.forEach((m, b) => {
    if (m === null) return;
    drops[m] = sentProbs[sIdx] - softmax(row(outputs, 'sentiment_logits', b))[sIdx];
  });
  const byDrop = [...weighed].sort((a, b) => (drops[b] ?? 0) - (drops[a] ?? 0));
  const byWeight = [...weighed].sort((a, b) => weights[MODALITIES.indexOf(b)] - weights[MODALITIES.indexOf(a)]);
  const decisive = byDrop[0] ?? null;
  const agrees = byDrop.join() === byWeight.join();

  const modalities = Object.fromEntries(
    MODALITIES.map((m, i) => [
      m,
      seqs[m].present
        ? unweighed(m)
          ? { present: true, contribution: 0, reason: reasons[m] as string }
          : { present: true, contribution: round(clamp01(weights[i])) }
        : { present: false, contribution: 0, reason: x.absent[m] ?? 'no embeddings were pushed for this modality' },
    ]),
  ) as AnalysisResult['modalities'];
  // Rounding must not break "sums to 1 over the weighed modalities".
  if (weighed.length) {
    const total = weighed.reduce((a, m) => a + modalities[m].contribution, 0);
    const top = byWeight[0];
    modalities[top].contribution = round(clamp01(modalities[top].contribution + (1 - total)));
  }

  const textImp = row(outputs, 'text_importance', 0);
  // an unweighed modality offers no evidence: its importances decided nothing
  const words =
    seqs.text.present && !unweighed('text')
      ? mergeWordPieces(seqs.text.items as TokenItem[], textImp)
          .map((w) => ({
            text: w.text,
            start: round(w.start, 3),
            end: round(w.end, 3),
            charStart: w.charStart,
            charEnd: w.charEnd,
            weight: round(clamp01(w.weight)),
          }))
          .sort((a, b) => b.weight - a.weight)
          .slice(0, x.topWords ?? 10)
          .sort((a, b) => a.charStart - b.charStart)
      : [];
  const audioImp = row(outputs, 'audio_importance', 0);
  const audioSegments =
    seqs.audio.present && !unweighed('audio')
      ? (seqs.audio.items as SegmentItem[]).map((s, i) => ({
          start: round(s.start, 3),
          end: round(s.end, 3),
          weight: round(clamp01(audioImp[i])),
          prosody: s.prosody,
        }))
      : [];
  const visImp = row(outputs, 'vision_importance', 0);
  const frames =
    seqs.vision.present && !unweighed('vision')
      ? (seqs.vision.items as FrameItem[]).map((f, i) => ({ time: round(f.time, 3), weight: round(clamp01(visImp[i])), ...(f.path ? { path: f.path } : {}) }))
      : [];

  const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
  const steps: Omit<DecisionStep, 'step'>[] = [];
  steps.push({
    description: `Modalities present: ${present.join(', ') || 'none'}${MODALITIES.filter((m) => !seqs[m].present)
      .map((m) => `; ${m} absent (${modalities[m].reason})`)
      .join('')}.`,
    present,
  });
  steps.push({
    description: weighed.length
      ? `The gate weighed ${byWeight.map((m) => `${m} ${pct(modalities[m].contribution)}`).join(', ')}.`
      : 'The fusion model weighs none of the present modalities; the verdict is its prior.',
    weights: Object.fromEntries(present.map((m) => [m, modalities[m].contribution])),
  });
  for (const m of present.filter(unweighed)) steps.push({ description: `${m[0].toUpperCase()}${m.slice(1)}: not weighed (${reasons[m]}).`, modality: m });
  if (words.length && !unweighed('text')) {
    const top = [...words].sort((a, b) => b.weight - a.weight).slice(0, 3);
    steps.push({ description: `Words that carried the text: ${top.map((w) => `"${w.text}" (${pct(w.weight)})`).join(', ')}.`, modality: 'text' });
  }
  if (audioSegments.length) {
    const s = [...audioSegments].sort((a, b) => b.weight - a.weight)[0];
    const p = s.prosody;
    const tone = [
      p.f0MeanHz !== null ? `pitch ${p.f0MeanHz.toFixed(0)} Hz` : 'no voiced pitch',
      p.energyDb !== null ? `energy ${p.energyDb.toFixed(1)} dBFS` : null,
      `voiced ${pct(p.voicedRatio)}`,
    ].filter(Boolean);
    steps.push({
      description: `Voice: the segment ${s.start.toFixed(1)}–${s.end.toFixed(1)} s weighed most (${pct(s.weight)}); ${tone.join(', ')}.`,
      modality: 'audio',
      segment: { start: s.start, end: s.end },
    });
  }
  if (frames.length) {
    const f = [...frames].sort((a, b) => b.weight - a.weight)[0];
    steps.push({ description: `Face: the frame at ${f.time.toFixed(1)} s weighed most (${pct(f.weight)}).`, modality: 'vision', time: f.time });
  }
  if (decisive) {
    steps.push({
      description: `Deletion check: removing ${byDrop.map((m) => `${m} lowers P(${SENTIMENT_LABELS[sIdx]}) by ${(drops[m] ?? 0).toFixed(3)}`).join(', ')}; ${decisive} is decisive, which ${agrees ? 'agrees' : 'does not agree'} with the gate's ranking.`,
      decisive,
      deletionDrops: Object.fromEntries(present.map((m) => [m, round(drops[m] ?? 0)])),
      gateAgreesWithDeletion: agrees,
    });
  }
  steps.push({
    description: `Sentiment ${SENTIMENT_LABELS[sIdx]} (${pct(sentProbs[sIdx])}), intensity ${intensity.toFixed(2)}; expressed emotion ${EMOTION_LABELS[eIdx]} (${pct(emoProbs[eIdx])}).`,
  });

  return {
    sentiment: {
      label: SENTIMENT_LABELS[sIdx],
      probabilities: Object.fromEntries(SENTIMENT_LABELS.map((l, i) => [l, round(sentProbs[i], 6)])) as AnalysisResult['sentiment']['probabilities'],
      intensity: round(intensity),
    },
    emotion: {
      label: EMOTION_LABELS[eIdx],
      probabilities: Object.fromEntries(EMOTION_LABELS.map((l, i) => [l, round(emoProbs[i], 6)])) as AnalysisResult['emotion']['probabilities'],
    },
    modalities,
    evidence: { words, audioSegments, frames },
    decisionPath: steps.map((s, i) => ({ step: i + 1, ...s }) as DecisionStep),
    models: { fusion: { name: x.manifest.name, version: x.manifest.version, provenance: x.manifest.provenance } },
  };
}
