import {
  EMOTION_LABELS,
  MODALITIES,
  SENTIMENT_LABELS,
  type AnalysisResult,
  type AudioEvidence,
  type DecisionStep,
  type EmotionReport,
  type Evidence,
  type Faithfulness,
  type FrameEvidence,
  type FrameItem,
  type FusionManifest,
  type Modality,
  type ModalityReport,
  type SegmentItem,
  type SentimentReport,
  type TimelineSegment,
  type VoiceContour,
  type WordEvidence,
  VOICE_CONTOUR_MAX,
} from '@omniaffect/core';
import type { ModalitySequence } from './fusion-feeds';
import { EVIDENCE_LIMITS, roundDrop, verifiedDrop, type CheckedItem, type SegmentFusion, type TimelineFusionOutput, type Word } from './timeline-fusion';

/**
 * Turns the timeline fusion (timeline-fusion.ts) into the result's explanation: one entry per segment
 * and the video-level verdict derived from them by a stated rule. Every sentence of a decision path
 * is composed from numbers the model produced and re-runs confirmed (templates, never free text).
 */

export type FusionPartOut = Pick<
  AnalysisResult,
  'sentiment' | 'emotion' | 'modalities' | 'evidence' | 'faithfulness' | 'timeline' | 'voice' | 'decisionPath' | 'models'
>;

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;
const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
const secs = (t: number) => `${t.toFixed(1)} s`;
const cap = (m: string) => `${m[0]!.toUpperCase()}${m.slice(1)}`;
const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));

export interface ExplainInput {
  fused: TimelineFusionOutput;
  seqs: Record<Modality, ModalitySequence>;
  manifest: FusionManifest;
  unweighed: Partial<Record<Modality, string>>;
}

function sentimentReport(p: number[], intensity: number): SentimentReport {
  return {
    label: SENTIMENT_LABELS[argmax(p)]!,
    probabilities: Object.fromEntries(SENTIMENT_LABELS.map((l, i) => [l, round(p[i]!, 6)])) as SentimentReport['probabilities'],
    intensity: round(Math.max(-1, Math.min(1, intensity))),
  };
}
function emotionReport(p: number[]): EmotionReport {
  return {
    label: EMOTION_LABELS[argmax(p)]!,
    probabilities: Object.fromEntries(EMOTION_LABELS.map((l, i) => [l, round(p[i]!, 6)])) as EmotionReport['probabilities'],
  };
}

/** Contributions over the weighed present modalities, rounded so they still sum to 1. */
function modalityReports(
  present: Modality[],
  absent: Partial<Record<Modality, string>>,
  weights: number[],
  unweighed: Partial<Record<Modality, string>>,
): Record<Modality, ModalityReport> {
  const isUnweighed = (m: Modality) => Boolean(unweighed[m]) && weights[MODALITIES.indexOf(m)] === 0;
  const reports = Object.fromEntries(
    MODALITIES.map((m, i) => [
      m,
      present.includes(m)
        ? isUnweighed(m)
          ? { present: true, contribution: 0, reason: unweighed[m]! }
          : { present: true, contribution: round(clamp01(weights[i]!)) }
        : { present: false, contribution: 0, reason: absent[m] ?? 'no embeddings were pushed for this modality' },
    ]),
  ) as Record<Modality, ModalityReport>;
  const weighed = present.filter((m) => !isUnweighed(m));
  if (weighed.length) {
    const total = weighed.reduce((a, m) => a + reports[m].contribution, 0);
    const top = [...weighed].sort((a, b) => reports[b].contribution - reports[a].contribution)[0]!;
    reports[top].contribution = round(clamp01(reports[top].contribution + (1 - total)));
  }
  return reports;
}

function evidenceOf(items: Record<Modality, CheckedItem[]>, x: ExplainInput, segment?: number): Evidence {
  const { words } = x.fused;
  const audio = x.seqs.audio.items as SegmentItem[];
  const frames = x.seqs.vision.items as FrameItem[];
  const check = (e: CheckedItem) => ({
    weight: round(clamp01(e.weight)),
    deletionDrop: roundDrop(e.deletionDrop),
    verified: verifiedDrop(e.deletionDrop),
    ...(segment !== undefined ? { segment } : {}),
  });
  return {
    words: items.text.map((e): WordEvidence => {
      const w = spanWord(e.refs.map((r) => words[r]!));
      return { text: w.text, start: round(w.start, 3), end: round(w.end, 3), charStart: w.charStart, charEnd: w.charEnd, ...check(e) };
    }),
    audioSegments: items.audio.map((e): AudioEvidence => {
      const parts = e.refs.map((r) => audio[r]!);
      return { start: round(parts[0]!.start, 3), end: round(parts[parts.length - 1]!.end, 3), prosody: mergeProsody(parts.map((p) => p.prosody)), ...check(e) };
    }),
    frames: items.vision.map((e): FrameEvidence => {
      const f = frames[e.refs[0]!]!;
      return { time: round(f.time, 3), ...(f.path ? { path: f.path } : {}), ...check(e) };
    }),
  };
}

/** Adjacent words as one: joined as the transcript has them (touching characters, or a space between). */
function spanWord(parts: Word[]): Pick<Word, 'text' | 'start' | 'end' | 'charStart' | 'charEnd'> {
  let text = parts[0]!.text;
  for (let i = 1; i < parts.length; i++) text += (parts[i]!.charStart > parts[i - 1]!.charEnd ? ' ' : '') + parts[i]!.text;
  return { text, start: parts[0]!.start, end: Math.max(...parts.map((p) => p.end)), charStart: parts[0]!.charStart, charEnd: parts[parts.length - 1]!.charEnd };
}

/** The prosody of consecutive voice segments taken together (means of the means, extremes of the extremes). */
function mergeProsody(ps: SegmentItem['prosody'][]): SegmentItem['prosody'] {
  if (ps.length === 1) return ps[0]!;
  const vals = (f: (p: SegmentItem['prosody']) => number | null) => ps.map(f).filter((v): v is number => v !== null);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const f0Min = vals((p) => p.f0MinHz);
  const f0Max = vals((p) => p.f0MaxHz);
  const std = vals((p) => p.f0StdHz);
  return {
    f0MeanHz: mean(vals((p) => p.f0MeanHz)),
    f0StdHz: std.length ? Math.max(...std) : null,
    f0MinHz: f0Min.length ? Math.min(...f0Min) : null,
    f0MaxHz: f0Max.length ? Math.max(...f0Max) : null,
    // energy as the mean power, back in dB
    energyDb: (() => {
      const e = vals((p) => p.energyDb);
      return e.length ? 10 * Math.log10(e.reduce((a, d) => a + 10 ** (d / 10), 0) / e.length) : null;
    })(),
    voicedRatio: mean(ps.map((p) => p.voicedRatio)) ?? 0,
    rateProxy: mean(vals((p) => p.rateProxy)),
  };
}

function faithfulnessOf(s: SegmentFusion): Faithfulness {
  if (s.rationale === 0 || s.comprehensiveness === null || s.sufficiency === null) {
    return {
      comprehensiveness: null,
      sufficiency: null,
      items: 0,
      reason: s.empty ? 'nothing in this stretch could be read' : 'no evidence item was verified by deletion',
    };
  }
  return { comprehensiveness: round(s.comprehensiveness), sufficiency: round(s.sufficiency), items: s.rationale };
}

/** |drop| as stated in words, or null when it rounds to nothing at one significant digit. */
const byAmount = (d: number) => {
  const a = Math.abs(d);
  return Number.isFinite(d) && Number(a.toPrecision(1)) !== 0 ? (a >= 0.001 ? a.toFixed(3) : a.toPrecision(1)) : null;
};

/**
 * A change of P(label) in words by its direction: "lowers P(positive) by 0.310", "raises … by 0.024",
 * "leaves … unchanged" (a negative drop stated as "lowers by -0.024" says the opposite of what happened).
 * Drops under 0.001 keep one significant digit, so a verified drop never reads "0.000".
 */
export function changePhrase(drop: number, label: string): string {
  const by = byAmount(drop);
  return by === null ? `leaves P(${label}) unchanged` : `${drop > 0 ? 'lowers' : 'raises'} P(${label}) by ${by}`;
}

/** The same as a sentence about P: "P(positive) falls by 0.210", "rises by …", "stays the same". */
export function pChangePhrase(drop: number, label: string): string {
  const by = byAmount(drop);
  return by === null ? `P(${label}) stays the same` : `P(${label}) ${drop > 0 ? 'falls' : 'rises'} by ${by}`;
}

/** "masking "great" lowers P(positive) by 0.310" for one checked item. */
function itemPhrase(e: CheckedItem, x: ExplainInput, label: string): string {
  const what =
    e.modality === 'text'
      ? `"${spanWord(e.refs.map((r) => x.fused.words[r]!)).text}"`
      : e.modality === 'audio'
        ? (() => {
            const parts = e.refs.map((r) => (x.seqs.audio.items as SegmentItem[])[r]!);
            return `the voice ${parts[0]!.start.toFixed(1)}–${parts[parts.length - 1]!.end.toFixed(1)} s`;
          })()
        : `the frame at ${secs((x.seqs.vision.items as FrameItem[])[e.refs[0]!]!.time)}`;
  const d = roundDrop(e.deletionDrop);
  return d > 0 ? `masking ${what} ${changePhrase(d, label)} (verified)` : `masking ${what} ${changePhrase(d, label)} (not verified)`;
}

/** Prosody facts of a voice segment in words. */
function prosodyPhrase(p: SegmentItem['prosody']): string {
  return [
    p.f0MeanHz !== null ? `pitch ${p.f0MeanHz.toFixed(0)} Hz` : 'no voiced pitch',
    p.energyDb !== null ? `energy ${p.energyDb.toFixed(1)} dBFS` : null,
    `voiced ${pct(p.voicedRatio)}`,
  ]
    .filter(Boolean)
    .join(', ');
}

function segmentPath(s: SegmentFusion, modalities: Record<Modality, ModalityReport>, faith: Faithfulness, x: ExplainInput): DecisionStep[] {
  const label = SENTIMENT_LABELS[s.predicted]!;
  const steps: Omit<DecisionStep, 'step'>[] = [];
  steps.push({
    description: `Modalities present: ${s.present.join(', ') || 'none'}${MODALITIES.filter((m) => !s.present.includes(m))
      .map((m) => `; ${m} absent (${modalities[m].reason})`)
      .join('')}.`,
    present: s.present,
  });
  if (s.empty) {
    steps.push({
      description: 'Nothing in this stretch could be read: the figures are the fusion model’s prior, and the stretch carries no weight in the verdict.',
    });
    return steps.map((st, i) => ({ step: i + 1, ...st }) as DecisionStep);
  }
  const weighed = s.present.filter((m) => !(modalities[m].contribution === 0 && modalities[m].reason));
  const byWeight = [...weighed].sort((a, b) => modalities[b].contribution - modalities[a].contribution);
  steps.push({
    description: weighed.length
      ? `The gate weighed ${byWeight.map((m) => `${m} ${pct(modalities[m].contribution)}`).join(', ')}.`
      : 'The fusion model weighs none of the present modalities; the verdict is its prior.',
    weights: Object.fromEntries(s.present.map((m) => [m, modalities[m].contribution])),
  });
  for (const m of s.present.filter((m) => !weighed.includes(m))) steps.push({ description: `${cap(m)}: not weighed (${modalities[m].reason}).`, modality: m });
  for (const m of weighed) {
    const top = s.evidence[m][0];
    if (!top) continue;
    const more = m === 'audio' ? `; ${prosodyPhrase(mergeProsody(top.refs.map((r) => (x.seqs.audio.items as SegmentItem[])[r]!.prosody)))}` : '';
    steps.push({
      description: `${cap(m)}: ${itemPhrase(top, x, label)}${more}.`,
      modality: m,
      deletionDrop: roundDrop(top.deletionDrop),
      verified: verifiedDrop(top.deletionDrop),
    });
  }
  const byDrop = [...weighed].sort((a, b) => (s.modalityDrops[b] ?? 0) - (s.modalityDrops[a] ?? 0));
  const decisive = byDrop[0];
  if (decisive) {
    const agrees = byDrop.join() === byWeight.join();
    steps.push({
      description: `Deletion check: removing ${byDrop.map((m) => `${m} ${changePhrase(s.modalityDrops[m] ?? 0, label)}`).join(', ')}; ${decisive} is decisive, which ${agrees ? 'agrees' : 'does not agree'} with the gate's ranking.`,
      decisive,
      deletionDrops: Object.fromEntries(s.present.map((m) => [m, round(s.modalityDrops[m] ?? 0)])),
      gateAgreesWithDeletion: agrees,
    });
  }
  steps.push({
    description:
      faith.comprehensiveness !== null
        ? `Faithfulness of the ${faith.items} verified item${faith.items === 1 ? '' : 's'}: without them ${pChangePhrase(faith.comprehensiveness, label)} (comprehensiveness); with them alone ${pChangePhrase(faith.sufficiency!, label)} (sufficiency).`
        : `Faithfulness: ${faith.reason}.`,
    faithfulness: faith,
  });
  steps.push({
    description: `Sentiment ${label} (${pct(s.sentiment[s.predicted]!)}), intensity ${s.intensity.toFixed(2)}; expressed emotion ${EMOTION_LABELS[argmax(s.emotion)]} (${pct(Math.max(...s.emotion))}).`,
  });
  return steps.map((st, i) => ({ step: i + 1, ...st }) as DecisionStep);
}

/**
 * The verdict rule: each segment weighs duration × confidence (its top sentiment probability), the
 * weights are normalised over the segments in which something could be read, and the video's
 * probabilities, intensity and modality contributions are the weighted means. With one segment this
 * is that segment, exactly.
 */
export const VERDICT_RULE =
  'each segment weighs its duration × its confidence (top sentiment probability), normalised over the segments in which something could be read; the verdict is the weighted mean of their probabilities';

function verdictWeights(segments: SegmentFusion[]): number[] {
  const raw = segments.map((s) => (s.empty ? 0 : Math.max(1e-6, s.plan.end - s.plan.start) * Math.max(...s.sentiment)));
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => (total > 0 ? w / total : 0));
}

const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Pitch and energy over the whole track (every audio segment, merged evenly to at most VOICE_CONTOUR_MAX points). */
export function voiceContour(seqs: Record<Modality, ModalitySequence>): VoiceContour | null {
  if (!seqs.audio.present) return null;
  const items = seqs.audio.items as SegmentItem[];
  const per = Math.max(1, Math.ceil(items.length / VOICE_CONTOUR_MAX));
  const contour: VoiceContour['contour'] = [];
  for (let i = 0; i < items.length; i += per) {
    const group = items.slice(i, i + per);
    const p = mergeProsody(group.map((g) => g.prosody));
    contour.push({
      start: round(group[0]!.start, 3),
      end: round(group[group.length - 1]!.end, 3),
      f0Hz: p.f0MeanHz === null ? null : round(p.f0MeanHz, 1),
      energyDb: p.energyDb === null ? null : round(p.energyDb, 1),
      voicedRatio: round(clamp01(p.voicedRatio), 3),
    });
  }
  // medians over the voiced segments only: silence has no pitch and would drag energy down
  const voiced = items.filter((it) => it.prosody.voicedRatio > 0.2);
  const f0 = median(voiced.map((it) => it.prosody.f0MeanHz).filter((v): v is number => v !== null));
  const energy = median(voiced.map((it) => it.prosody.energyDb).filter((v): v is number => v !== null));
  return { medianF0Hz: f0 === null ? null : round(f0, 1), medianEnergyDb: energy === null ? null : round(energy, 1), contour };
}

/** The explanation part of the result: the timeline and the verdict derived from it. */
export function explain(x: ExplainInput, videoAbsent: Record<string, string>): FusionPartOut {
  const { segments } = x.fused;
  const weights = verdictWeights(segments);
  const timeline: TimelineSegment[] = segments.map((s, i) => {
    const modalities = modalityReports(s.present, s.absent, s.weights, x.unweighed);
    const faithfulness = faithfulnessOf(s);
    return {
      start: s.plan.start,
      end: s.plan.end,
      speech: s.plan.speech,
      sentiment: sentimentReport(s.sentiment, s.intensity),
      emotion: emotionReport(s.emotion),
      modalities,
      evidence: evidenceOf(s.evidence, x, i),
      faithfulness,
      verdictWeight: round(weights[i]!, 6),
      decisionPath: segmentPath(s, modalities, faithfulness, x),
    };
  });
  // weights rounded to 6 decimals must still sum to 1 (the schema checks it)
  const wsum = timeline.reduce((a, t) => a + t.verdictWeight, 0);
  if (wsum > 0) {
    const top = timeline.reduce((b, t, i) => (t.verdictWeight > timeline[b]!.verdictWeight ? i : b), 0);
    timeline[top]!.verdictWeight = round(timeline[top]!.verdictWeight + (1 - wsum), 6);
  }
  const models = { fusion: { name: x.manifest.name, version: x.manifest.version, provenance: x.manifest.provenance } };

  if (segments.length === 1) {
    const only = timeline[0]!;
    return {
      sentiment: only.sentiment,
      emotion: only.emotion,
      modalities: overallModalities(x, videoAbsent, [only], [segments[0]!.empty ? 0 : 1]),
      evidence: only.evidence,
      faithfulness: only.faithfulness,
      timeline,
      voice: voiceContour(x.seqs),
      decisionPath: only.decisionPath,
      models,
    };
  }

  const mean = (f: (s: SegmentFusion) => number[]) => {
    const n = f(segments[0]!).length;
    const acc = new Array<number>(n).fill(0);
    segments.forEach((s, i) => f(s).forEach((v, k) => (acc[k]! += weights[i]! * v)));
    return acc;
  };
  const anyWeight = weights.some((w) => w > 0);
  // nothing readable anywhere: the prior, stated as such (segment 0 holds it)
  const sent = anyWeight ? mean((s) => s.sentiment) : segments[0]!.sentiment;
  const emo = anyWeight ? mean((s) => s.emotion) : segments[0]!.emotion;
  const intensity = anyWeight ? segments.reduce((a, s, i) => a + weights[i]! * s.intensity, 0) : segments[0]!.intensity;
  const sentiment = sentimentReport(sent, intensity);
  const emotion = emotionReport(emo);
  const modalities = overallModalities(x, videoAbsent, timeline, weights);
  const evidence = overallEvidence(timeline, sentiment.label);
  const faithfulness = overallFaithfulness(timeline);

  const steps: Omit<DecisionStep, 'step'>[] = [];
  const speech = timeline.filter((t) => t.speech).length;
  const empty = segments.filter((s) => s.empty).length;
  steps.push({
    description: `The video was cut into ${timeline.length} segments following speech (${speech} with speech, ${timeline.length - speech} without)${empty ? `; in ${empty} nothing could be read and they carry no weight` : ''}.`,
    segments: timeline.length,
  });
  const byLabel = SENTIMENT_LABELS.map((l) => {
    const idx = timeline.map((t, i) => (t.sentiment.label === l ? i : -1)).filter((i) => i >= 0);
    return {
      label: l,
      count: idx.length,
      seconds: idx.reduce((a, i) => a + (timeline[i]!.end - timeline[i]!.start), 0),
      weight: idx.reduce((a, i) => a + weights[i]!, 0),
    };
  });
  steps.push({
    description: `Verdict rule: ${VERDICT_RULE}. Segments read ${byLabel
      .filter((b) => b.count)
      .map((b) => `${b.label} in ${b.count} (${b.seconds.toFixed(0)} s, weight ${pct(b.weight)})`)
      .join(', ')}.`,
    rule: 'duration-confidence-weighted-mean',
  });
  const present = MODALITIES.filter((m) => modalities[m].present && !(modalities[m].contribution === 0 && modalities[m].reason));
  if (present.length) {
    steps.push({
      description: `Weighted over the segments, the gate gave ${[...present]
        .sort((a, b) => modalities[b].contribution - modalities[a].contribution)
        .map((m) => `${m} ${pct(modalities[m].contribution)}`)
        .join(', ')}.`,
      weights: Object.fromEntries(present.map((m) => [m, modalities[m].contribution])),
    });
  }
  const decisive = timeline
    .map((t, i) => ({ t, i }))
    .filter(({ t }) => t.verdictWeight > 0)
    .sort((a, b) => b.t.verdictWeight - a.t.verdictWeight)
    .slice(0, 3);
  if (decisive.length) {
    steps.push({
      description: `Weightiest segments: ${decisive.map(({ t }) => `${t.start.toFixed(1)}–${t.end.toFixed(1)} s ${t.sentiment.label} (${pct(t.verdictWeight)})`).join(', ')}.`,
      segmentsByWeight: decisive.map(({ i }) => i),
    });
  }
  const verified = [...evidence.words, ...evidence.audioSegments, ...evidence.frames].filter((e) => e.verified).length;
  steps.push({
    description: `${verified} evidence item${verified === 1 ? '' : 's'} of the segments that read ${sentiment.label} ${verified === 1 ? 'was' : 'were'} verified by deletion${
      faithfulness.comprehensiveness !== null
        ? `; over the timeline, comprehensiveness ${faithfulness.comprehensiveness.toFixed(3)} and sufficiency ${faithfulness.sufficiency!.toFixed(3)}`
        : ''
    }.`,
    faithfulness,
  });
  steps.push({
    description: anyWeight
      ? `Sentiment ${sentiment.label} (${pct(sentiment.probabilities[sentiment.label])}), intensity ${sentiment.intensity.toFixed(2)}; expressed emotion ${emotion.label} (${pct(emotion.probabilities[emotion.label])}).`
      : 'Nothing in the video could be read (no words, no voice, no frames): the figures are the fusion model’s prior, not a reading.',
  });
  return {
    sentiment,
    emotion,
    modalities,
    evidence,
    faithfulness,
    timeline,
    voice: voiceContour(x.seqs),
    decisionPath: steps.map((st, i) => ({ step: i + 1, ...st }) as DecisionStep),
    models,
  };
}

/**
 * Video-level modality reports: a modality is present when some segment fused it; its contribution is
 * the verdict-weighted mean of its segment contributions (renormalised over the weighed modalities).
 */
function overallModalities(x: ExplainInput, videoAbsent: Record<string, string>, timeline: TimelineSegment[], weights: number[]) {
  const present = MODALITIES.filter((m) => timeline.some((t) => t.modalities[m].present));
  const contribution = MODALITIES.map((m) => timeline.reduce((a, t, i) => a + weights[i]! * (t.modalities[m].present ? t.modalities[m].contribution : 0), 0));
  const total = contribution.reduce((a, b) => a + b, 0);
  const anyWeight = total > 0;
  const absent = Object.fromEntries(
    MODALITIES.map((m) => [
      m,
      videoAbsent[m] ?? timeline.find((t) => t.modalities[m].reason)?.modalities[m].reason ?? 'no embeddings were pushed for this modality',
    ]),
  );
  const reports = modalityReports(
    present,
    absent,
    contribution.map((c) => (anyWeight ? c / total : 0)),
    x.unweighed,
  );
  for (const m of present) {
    // present, yet weighed nowhere: say why rather than show a bare 0
    if (!anyWeight || (contribution[MODALITIES.indexOf(m)] === 0 && !reports[m].reason)) {
      reports[m] = { present: true, contribution: 0, reason: x.unweighed[m] ?? 'weighed in no segment that could be read' };
    }
  }
  return reports;
}

/** The strongest verified items of the segments that agree with the verdict, each naming its segment. */
function overallEvidence(timeline: TimelineSegment[], label: string): Evidence {
  const agreeing = timeline.filter((t) => t.sentiment.label === label && t.verdictWeight > 0);
  const pick = <T extends { deletionDrop: number; weight: number; verified: boolean }>(all: T[], k: number) =>
    all.sort((a, b) => Number(b.verified) - Number(a.verified) || b.deletionDrop - a.deletionDrop || b.weight - a.weight).slice(0, k);
  return {
    words: pick(
      agreeing.flatMap((t) => t.evidence.words),
      EVIDENCE_LIMITS.topKOverall.text,
    ),
    audioSegments: pick(
      agreeing.flatMap((t) => t.evidence.audioSegments),
      EVIDENCE_LIMITS.topKOverall.audio,
    ),
    frames: pick(
      agreeing.flatMap((t) => t.evidence.frames),
      EVIDENCE_LIMITS.topKOverall.vision,
    ),
  };
}

/** Verdict-weighted mean of the segments' faithfulness, over the segments that have one. */
function overallFaithfulness(timeline: TimelineSegment[]): Faithfulness {
  const withF = timeline.filter((t) => t.faithfulness.comprehensiveness !== null && t.verdictWeight > 0);
  const total = withF.reduce((a, t) => a + t.verdictWeight, 0);
  if (!withF.length || total <= 0)
    return { comprehensiveness: null, sufficiency: null, items: 0, reason: 'no evidence item was verified by deletion in any segment' };
  const mean = (f: (t: TimelineSegment) => number) => round(withF.reduce((a, t) => a + (t.verdictWeight / total) * f(t), 0));
  return {
    comprehensiveness: mean((t) => t.faithfulness.comprehensiveness!),
    sufficiency: mean((t) => t.faithfulness.sufficiency!),
    items: withF.reduce((a, t) => a + t.faithfulness.items, 0),
  };
}
