import {
  EMOTION_LABELS,
  MODALITIES,
  SENTIMENT_LABELS,
  type FrameItem,
  type FusionManifest,
  type Modality,
  type PlannedSegment,
  type SegmentItem,
  type TokenItem,
} from '@omniaffect/core';
import { buildRowFeeds, rowBytes, type FeedAllocator, type Feeds, type ModalitySequence, type RowSpec } from './fusion-feeds';

/**
 * The emotion timeline with evidence checked by deletion (docs/architecture.md §13). Every segment of
 * the plan is fused from what falls inside it; then, a window of consecutive segments at a time
 * (limits.windowSegments), batched across the window's segments:
 *
 *  pass 1  the segment as it is, and one row per present modality with that modality removed;
 *  pass 2  one row per candidate item (the model's most attended words, voice segments and frames)
 *          with that item alone masked: its deletion drop;
 *  pass 3  per segment, the verified items removed (comprehensiveness) and kept alone (sufficiency).
 *
 * Drops are of the probability of the segment's predicted sentiment. Only what a re-run of the model
 * confirmed is called verified; attention weights are reported beside, never instead.
 */

export type Outputs = Record<string, { data: Float32Array; dims: number[] }>;
export type RunRows = (feeds: Feeds, rows: number) => Promise<Outputs>;

export interface TimelineLimitsForEvidence {
  /** candidates re-run per modality and segment (by attention) */
  candidates: Record<Modality, number>;
  /** evidence items reported per modality and segment (by deletion drop) */
  topK: Record<Modality, number>;
  /** evidence items reported per modality for the whole video */
  topKOverall: Record<Modality, number>;
  /**
   * most feature bytes one model run may take: the fusion process holds about twice this at once
   * (the feeds, then ONNX Runtime's activations), so it bounds fusion's memory for a 2-hour video
   */
  maxBatchBytes: number;
  /** most rows one model run may take */
  maxBatchRows: number;
  /**
   * segments fused together through all three passes: runs are batched within a window, and what a
   * window holds (its rows, masks, outputs, and with readRows its embeddings) is all fusion holds at once
   */
  windowSegments: number;
}

export const EVIDENCE_LIMITS: TimelineLimitsForEvidence = {
  candidates: { text: 8, audio: 5, vision: 5 },
  topK: { text: 5, audio: 3, vision: 3 },
  topKOverall: { text: 10, audio: 5, vision: 5 },
  maxBatchBytes: 4 * 1024 * 1024,
  maxBatchRows: 512,
  windowSegments: 64,
};

/** A word: one or more WordPiece tokens (continuations merged), checked and reported as one item. */
export interface Word {
  tokens: number[];
  text: string;
  charStart: number;
  charEnd: number;
  start: number;
  end: number;
}

/** WordPiece continuation tokens (`##…` touching the previous token) are merged into the word they continue. */
export function groupWords(items: TokenItem[]): Word[] {
  const words: Word[] = [];
  items.forEach((tok, i) => {
    const prev = words[words.length - 1];
    if (prev && (tok.piece ?? tok.text).startsWith('##') && tok.charStart === prev.charEnd) {
      prev.text += tok.text.replace(/^##/, '');
      prev.charEnd = tok.charEnd;
      prev.end = Math.max(prev.end, tok.end);
      prev.tokens.push(i);
    } else {
      words.push({ tokens: [i], text: tok.text, charStart: tok.charStart, charEnd: tok.charEnd, start: tok.start, end: tok.end });
    }
  });
  return words;
}

/**
 * One evidence item of a segment: a word, a voice segment or a frame, or a span of two adjacent words
 * or voice segments. Spans exist because single-item deletion misses redundant evidence: a Chinese
 * word is two characters and a raised voice lasts two 1 s segments, and masking either half leaves
 * the other to carry the prediction, so neither half alone shows a drop though the pair is decisive.
 */
export interface CheckedItem {
  modality: Modality;
  /** positions in the segment's slice of that modality */
  positions: number[];
  /** indices into the whole video's words / audio segments / frames, in order (two for a span) */
  refs: number[];
  weight: number;
  deletionDrop: number;
}

export interface SegmentFusion {
  plan: PlannedSegment;
  slice: Record<Modality, number[]>;
  /** per modality, the items (words for text) as groups of slice positions, with their whole-video ref */
  groups: Record<Modality, { ref: number; positions: number[] }[]>;
  present: Modality[];
  absent: Partial<Record<Modality, string>>;
  /** nothing in the segment could be read: reported with the model's prior, weight 0 in the verdict */
  empty: boolean;
  sentiment: number[];
  emotion: number[];
  intensity: number;
  weights: number[];
  predicted: number;
  /** P(predicted) with the modality removed */
  modalityDrops: Partial<Record<Modality, number>>;
  checked: Record<Modality, CheckedItem[]>;
  evidence: Record<Modality, CheckedItem[]>;
  comprehensiveness: number | null;
  sufficiency: number | null;
  rationale: number;
}

const softmax = (xs: ArrayLike<number>): number[] => {
  const arr = Array.from(xs);
  const m = Math.max(...arr);
  const e = arr.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};
const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));

interface RowOut {
  sentiment: number[];
  emotion: number[];
  intensity: number;
  weights: number[];
  importance: Record<Modality, Float32Array>;
}

/** The slice of output `name` that belongs to row `b` of a run. */
function rowSlice(o: Outputs, name: string, b: number): Float32Array {
  const t = o[name]!;
  const width = t.dims.slice(1).reduce((a, c) => a * c, 1);
  return t.data.subarray(b * width, (b + 1) * width);
}

/**
 * One row's outputs, copied out of the run's buffers (a view would keep every run's outputs alive
 * until the last pass). Importances are kept only where asked.
 */
function rowOf(o: Outputs, b: number, slice: Record<Modality, readonly number[]>, withImportance: boolean): RowOut {
  const importance = {} as Record<Modality, Float32Array>;
  for (const m of MODALITIES) importance[m] = withImportance ? rowSlice(o, `${m}_importance`, b).slice(0, slice[m].length) : EMPTY;
  return {
    sentiment: softmax(rowSlice(o, 'sentiment_logits', b)),
    emotion: softmax(rowSlice(o, 'emotion_logits', b)),
    intensity: Math.max(-1, Math.min(1, rowSlice(o, 'intensity', b)[0]!)),
    weights: Array.from(rowSlice(o, 'modality_weights', b)),
    importance,
  };
}

/** Softmax probability of class k of row b's sentiment logits, without building the distribution. */
function sentimentProbability(o: Outputs, b: number, k: number): number {
  const logits = rowSlice(o, 'sentiment_logits', b);
  let max = -Infinity;
  for (const x of logits) if (x > max) max = x;
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  return Math.exp(logits[k]! - max) / sum;
}

const EMPTY = new Float32Array(0);

/**
 * Runs rows through the model in as few runs as the batch limits allow, visiting each row's outputs
 * (row b of run o) in row order. Deletion rows, the bulk, take one number each (sentimentProbability):
 * no per-row objects outlive the run, which is most of what a long video's fusion would otherwise
 * leave for the garbage collector.
 */
async function runRows(
  rows: RowSpec[],
  seqs: Record<Modality, ModalitySequence>,
  run: RunRows,
  limits: TimelineLimitsForEvidence,
  visit: (row: number, o: Outputs, b: number) => void,
  allocate?: FeedAllocator,
): Promise<void> {
  for (let i = 0; i < rows.length;) {
    let bytes = 0;
    let j = i;
    while (j < rows.length && j - i < limits.maxBatchRows) {
      const b = rowBytes(rows[j]!, seqs);
      if (j > i && bytes + b > limits.maxBatchBytes) break;
      bytes += b;
      j++;
    }
    const batch = rows.slice(i, j);
    const outputs = await run(buildRowFeeds(batch, seqs, allocate), batch.length);
    for (let b = 0; b < batch.length; b++) visit(i + b, outputs, b);
    i = j;
  }
}

const ones = (n: number) => new Uint8Array(n).fill(1);
/** How much more than its better half a span's drop must be to be reported (see the evidence step). */
const SPAN_MARGIN = 0.05;

export interface TimelineFusionInput {
  seqs: Record<Modality, ModalitySequence>;
  plan: PlannedSegment[];
  /** video-level reasons for absent modalities */
  absent: Record<string, string>;
  /** modalities the fusion model declares it does not weigh (manifest provenance.modalityReasons) */
  unweighed: Partial<Record<Modality, string>>;
  run: RunRows;
  limits?: TimelineLimitsForEvidence;
  /** below this many seconds of VAD voice a segment's audio is treated as absent */
  minVoiceSeconds?: number;
  /** the VAD's voiced stretches (null: no VAD ran); an audio item less than 30 % inside them is not fused */
  voice?: readonly { start: number; end: number }[] | null;
  /** false: pass 1 only (no item deletion, no faithfulness); for measuring what verification costs */
  verify?: boolean;
  /**
   * Rows [from, to) of a present modality's sequence (`to - from` × dim floats), read per window of
   * segments. Without it, every present `seqs[m].data` holds the whole video.
   */
  readRows?: (m: Modality, from: number, to: number) => Promise<Float32Array>;
  /** where the feeds' floats come from (default: new arrays); `run` may recycle them once it is done */
  allocate?: FeedAllocator;
  /** handed each window's rows from readRows once the window is fused: the caller may reuse them */
  recycle?: (rows: Float32Array) => void;
}

export interface TimelineFusionOutput {
  segments: SegmentFusion[];
  words: Word[];
  rows: { pass1: number; pass2: number; pass3: number; runs: number };
}

/** Assigns every item to the segment its time falls in (words by their first token). */
function sliceSegments(input: TimelineFusionInput, words: Word[]): Pick<SegmentFusion, 'plan' | 'slice' | 'groups' | 'present' | 'absent' | 'empty'>[] {
  const { seqs, plan } = input;
  const last = plan.length - 1;
  const inSeg = (t: number, i: number) => {
    const p = plan[i]!;
    return t >= p.start && (t < p.end || (i === last && t <= p.end + 1e-6));
  };
  // binary search over the ordered plan
  const segOf = (t: number) => {
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (plan[mid]!.start <= t) lo = mid;
      else hi = mid - 1;
    }
    return inSeg(t, lo) ? lo : t > (plan[last]?.end ?? 0) ? last : lo;
  };
  const out = plan.map((p) => ({
    plan: p,
    slice: { text: [] as number[], audio: [] as number[], vision: [] as number[] },
    groups: {
      text: [] as { ref: number; positions: number[] }[],
      audio: [] as { ref: number; positions: number[] }[],
      vision: [] as { ref: number; positions: number[] }[],
    },
    present: [] as Modality[],
    absent: {} as Partial<Record<Modality, string>>,
    empty: false,
  }));
  if (seqs.text.present) {
    const tokens = seqs.text.items as TokenItem[];
    words.forEach((w, ref) => {
      const first = tokens[w.tokens[0]!]!;
      const seg = out[segOf((first.start + first.end) / 2)]!;
      const positions = w.tokens.map((t) => {
        seg.slice.text.push(t);
        return seg.slice.text.length - 1;
      });
      seg.groups.text.push({ ref, positions });
    });
  }
  if (seqs.audio.present) {
    const voice = input.voice ?? null;
    (seqs.audio.items as SegmentItem[]).forEach((a, ref) => {
      if (voice && voicedFraction(a, voice) < 0.3) return;
      const seg = out[segOf((a.start + a.end) / 2)]!;
      seg.slice.audio.push(ref);
      seg.groups.audio.push({ ref, positions: [seg.slice.audio.length - 1] });
    });
  }
  if (seqs.vision.present) {
    (seqs.vision.items as FrameItem[]).forEach((f, ref) => {
      const seg = out[segOf(f.time)]!;
      seg.slice.vision.push(ref);
      seg.groups.vision.push({ ref, positions: [seg.slice.vision.length - 1] });
    });
  }
  const minVoice = input.minVoiceSeconds ?? 0.25;
  for (const seg of out) {
    for (const m of MODALITIES) {
      if (!seqs[m].present) {
        seg.absent[m] = input.absent[m] ?? 'no embeddings were pushed for this modality';
        continue;
      }
      if (m === 'audio' && seg.plan.voiceSeconds !== null && seg.plan.voiceSeconds < minVoice) {
        // no voice here: emotion2vec frames of silence or music are not vocal expression
        seg.absent.audio = 'no voice in this stretch';
        seg.slice.audio = [];
        seg.groups.audio = [];
        continue;
      }
      if (seg.slice[m].length === 0) {
        seg.absent[m] = m === 'text' ? 'no words in this stretch' : m === 'audio' ? 'no audio in this stretch' : 'no frame in this stretch';
        continue;
      }
      seg.present.push(m);
    }
    seg.empty = seg.present.length === 0;
  }
  return out;
}

/** Fraction of [start, end] inside the (ordered, disjoint) voiced stretches. */
export function voicedFraction(item: { start: number; end: number }, voice: readonly { start: number; end: number }[]): number {
  const len = item.end - item.start;
  if (len <= 0) return 0;
  let inside = 0;
  for (const v of voice) {
    if (v.start >= item.end) break;
    inside += Math.max(0, Math.min(item.end, v.end) - Math.max(item.start, v.start));
  }
  return inside / len;
}

export async function fuseTimeline(input: TimelineFusionInput): Promise<TimelineFusionOutput> {
  const limits = input.limits ?? EVIDENCE_LIMITS;
  const { seqs } = input;
  const words = seqs.text.present ? groupWords(seqs.text.items as TokenItem[]) : [];
  const segments: SegmentFusion[] = sliceSegments(input, words).map((s) => ({
    ...s,
    sentiment: [],
    emotion: [],
    intensity: 0,
    weights: [0, 0, 0],
    predicted: 0,
    modalityDrops: {},
    checked: { text: [], audio: [], vision: [] },
    evidence: { text: [], audio: [], vision: [] },
    comprehensiveness: null,
    sufficiency: null,
    rationale: 0,
  }));
  const rows = { pass1: 0, pass2: 0, pass3: 0, runs: 0 };
  const run: RunRows = (feeds, n) => {
    rows.runs++;
    return input.run(feeds, n);
  };
  // A window's rows, masks and outputs are dropped before the next window starts, and with readRows
  // so are its embeddings: what fusion holds at once does not grow with the video's length.
  const size = Math.max(1, limits.windowSegments);
  for (let w = 0; w < segments.length; w += size) {
    const window = segments.slice(w, w + size);
    const seqs = await windowSequences(input, window);
    await fuseWindow(window, seqs, run, limits, input, rows);
    if (input.readRows && input.recycle)
      for (const m of MODALITIES) if (seqs[m].data !== input.seqs[m].data && seqs[m].data.length) input.recycle(seqs[m].data);
  }
  return { segments, words, rows };
}

/** The sequences one window of segments reads: with readRows, only the span of items its slices touch. */
async function windowSequences(input: TimelineFusionInput, window: readonly SegmentFusion[]): Promise<Record<Modality, ModalitySequence>> {
  const { seqs, readRows } = input;
  if (!readRows) return seqs;
  const out = {} as Record<Modality, ModalitySequence>;
  for (const m of MODALITIES) {
    const s = seqs[m];
    let from = Infinity;
    let to = -Infinity;
    for (const seg of window) {
      for (const i of seg.slice[m]) {
        if (i < from) from = i;
        if (i + 1 > to) to = i + 1;
      }
    }
    if (!s.present || to <= from) {
      out[m] = { ...s, data: EMPTY, offset: 0 };
      continue;
    }
    const data = await readRows(m, from, to);
    if (data.length !== (to - from) * s.dim) throw new Error(`readRows(${m}, ${from}, ${to}) returned ${data.length} floats, not ${(to - from) * s.dim}`);
    out[m] = { ...s, data, offset: from };
  }
  return out;
}

/** Passes 1–3 (see the top of this file) over one window of segments, batched across its segments. */
async function fuseWindow(
  segments: readonly SegmentFusion[],
  seqs: Record<Modality, ModalitySequence>,
  run: RunRows,
  limits: TimelineLimitsForEvidence,
  input: TimelineFusionInput,
  rows: TimelineFusionOutput['rows'],
): Promise<void> {
  // each pass's rows, counted and run in as few runs as the limits allow (runRows)
  const runPass = (pass: 'pass1' | 'pass2' | 'pass3', specs: RowSpec[], visit: (row: number, o: Outputs, b: number) => void) => {
    rows[pass] += specs.length;
    return runRows(specs, seqs, run, limits, visit, input.allocate);
  };
  const keepAll = (s: SegmentFusion): Record<Modality, Uint8Array | null> =>
    Object.fromEntries(MODALITIES.map((m) => [m, s.present.includes(m) ? ones(s.slice[m].length) : null])) as Record<Modality, Uint8Array | null>;

  // ---- pass 1: each segment as it is, and without each present modality
  const rows1: RowSpec[] = [];
  const index1: { seg: number; without: Modality | null }[] = [];
  // a segment's rows share its all-kept masks (nothing writes to a row's masks once it is built)
  const asIs = segments.map((s) => keepAll(s));
  segments.forEach((s, seg) => {
    rows1.push({ slice: s.slice, keep: asIs[seg]! });
    index1.push({ seg, without: null });
    for (const m of s.present) {
      rows1.push({ slice: s.slice, keep: { ...asIs[seg]!, [m]: null } });
      index1.push({ seg, without: m });
    }
  });
  // only a segment as it is needs its outputs and importances (they pick the candidates); its
  // deletion rows come after it in the same order, and need P(predicted) alone
  const full: RowOut[] = [];
  await runPass('pass1', rows1, (i, o, b) => {
    const { seg, without } = index1[i]!;
    const s = segments[seg]!;
    if (without === null) {
      const out = rowOf(o, b, s.slice, true);
      full[seg] = out;
      s.sentiment = out.sentiment;
      s.emotion = out.emotion;
      s.intensity = out.intensity;
      s.weights = out.weights;
      s.predicted = argmax(out.sentiment);
    } else {
      s.modalityDrops[without] = s.sentiment[s.predicted]! - sentimentProbability(o, b, s.predicted);
    }
  });

  if (input.verify === false) return;
  // ---- pass 2: each candidate item alone masked
  const rows2: RowSpec[] = [];
  const index2: { seg: number; item: CheckedItem }[] = [];
  segments.forEach((s, seg) => {
    for (const m of s.present) {
      if (input.unweighed[m]) continue; // an unweighed modality decided nothing: it offers no evidence
      const imp = full[seg]!.importance[m];
      const groups = s.groups[m];
      const weight = groups.map((g) => g.positions.reduce((a, p) => a + (imp[p] ?? 0), 0));
      // the most attended items, by index (a stable sort: ties keep their order in time)
      const singles = groups
        .map((_, order) => order)
        .sort((a, b) => weight[b]! - weight[a]!)
        .slice(0, limits.candidates[m]);
      const chosen = new Set(singles);
      // adjacent pairs among the candidates (words and voice segments; frames are 2 s apart)
      const pairs =
        m === 'vision'
          ? []
          : singles
              .filter((o) => chosen.has(o + 1))
              .map((o) => ({
                refs: [groups[o]!.ref, groups[o + 1]!.ref],
                positions: [...groups[o]!.positions, ...groups[o + 1]!.positions],
                weight: weight[o]! + weight[o + 1]!,
              }));
      const candidates = [...singles.map((o) => ({ refs: [groups[o]!.ref], positions: groups[o]!.positions, weight: weight[o]! })), ...pairs];
      for (const g of candidates) {
        const item: CheckedItem = { modality: m, positions: g.positions, refs: g.refs, weight: g.weight, deletionDrop: 0 };
        s.checked[m].push(item);
        if (g.positions.length === s.slice[m].length) {
          // the item is all the modality has here: masking it is removing the modality
          item.deletionDrop = s.modalityDrops[m] ?? 0;
          continue;
        }
        rows2.push({ slice: s.slice, keep: asIs[seg]!, masked: { modality: m, positions: g.positions } });
        index2.push({ seg, item });
      }
    }
  });
  await runPass('pass2', rows2, (i, o, b) => {
    const { seg, item } = index2[i]!;
    const s = segments[seg]!;
    item.deletionDrop = s.sentiment[s.predicted]! - sentimentProbability(o, b, s.predicted);
  });

  // ---- evidence: ranked by the verified drop; pass 3: faithfulness of the verified set
  const rows3: RowSpec[] = [];
  const index3: { seg: number; kind: 'comp' | 'suff' }[] = [];
  segments.forEach((s, seg) => {
    for (const m of MODALITIES) {
      // A span is evidence only where its halves fall short of it (redundancy): when one half alone
      // explains most of the pair's drop, that half is the item and the span would just pad it.
      const singleDrop = new Map(s.checked[m].filter((e) => e.refs.length === 1).map((e) => [e.refs[0]!, e.deletionDrop]));
      const eligible = s.checked[m].filter((e) => {
        if (e.refs.length === 1) return true;
        const halves = Math.max(...e.refs.map((r) => singleDrop.get(r) ?? 0));
        return e.deletionDrop - halves >= Math.max(SPAN_MARGIN, 0.25 * e.deletionDrop);
      });
      // by drop, each item kept only if it shares nothing with one already kept
      const used = new Set<number>();
      s.evidence[m] = [];
      for (const e of eligible.sort((a, b) => b.deletionDrop - a.deletionDrop || a.refs.length - b.refs.length || b.weight - a.weight)) {
        if (s.evidence[m].length >= limits.topK[m]) break;
        if (e.positions.some((p) => used.has(p))) continue;
        e.positions.forEach((p) => used.add(p));
        s.evidence[m].push(e);
      }
    }
    const rationale = MODALITIES.flatMap((m) => s.evidence[m].filter((e) => verifiedDrop(e.deletionDrop)));
    s.rationale = rationale.length;
    if (rationale.length === 0) return;
    const without = keepAll(s);
    const only = Object.fromEntries(MODALITIES.map((m) => [m, s.present.includes(m) ? new Uint8Array(s.slice[m].length) : null])) as Record<
      Modality,
      Uint8Array | null
    >;
    for (const e of rationale) {
      for (const p of e.positions) {
        without[e.modality]![p] = 0;
        only[e.modality]![p] = 1;
      }
    }
    rows3.push({ slice: s.slice, keep: without }, { slice: s.slice, keep: only });
    index3.push({ seg, kind: 'comp' }, { seg, kind: 'suff' });
  });
  await runPass('pass3', rows3, (i, o, b) => {
    const { seg, kind } = index3[i]!;
    const s = segments[seg]!;
    const drop = s.sentiment[s.predicted]! - sentimentProbability(o, b, s.predicted);
    if (kind === 'comp') s.comprehensiveness = drop;
    else s.sufficiency = drop;
  });
}

/** Drops are reported to 4 decimals; "verified" is decided on the reported value so the two never disagree. */
export const roundDrop = (x: number) => Math.round(x * 1e4) / 1e4;
export const verifiedDrop = (x: number) => roundDrop(x) > 0;

/** The label names of a segment's prediction (for messages). */
export const labelOf = (s: SegmentFusion) => ({ sentiment: SENTIMENT_LABELS[s.predicted]!, emotion: EMOTION_LABELS[argmax(s.emotion)]! });

export function unweighedOf(manifest: FusionManifest): Partial<Record<Modality, string>> {
  return (manifest.provenance as { modalityReasons?: Partial<Record<Modality, string>> } | undefined)?.modalityReasons ?? {};
}
