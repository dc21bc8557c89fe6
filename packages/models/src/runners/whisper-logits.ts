/**
 * Whisper logits processors for greedy decoding, following OpenAI `decoding.py` (SuppressTokens,
 * SuppressBlank, ApplyTimestampRules) and the HF processors that copy them. They edit one row of
 * logits in place; `generated` holds only the tokens after the prompt.
 */
export interface WhisperTokenIds {
  eot: number;
  sot: number;
  transcribe: number;
  translate: number;
  noSpeech: number;
  noTimestamps: number;
  /** First timestamp token (<|0.00|>); every id from here up is a timestamp. */
  timestampBegin: number;
}

export interface LogitsRules {
  ids: WhisperTokenIds;
  suppressTokens: readonly number[];
  beginSuppressTokens: readonly number[];
  timestamps: boolean;
  /** Largest timestamp index allowed as the first generated token (OpenAI max_initial_timestamp = 1.0 s). */
  maxInitialTimestampIndex: number | null;
}

export function applyLogitsRules(logits: Float32Array, generated: readonly number[], rules: LogitsRules): void {
  const { ids } = rules;
  const vocab = logits.length;
  for (const t of rules.suppressTokens) if (t < vocab) logits[t] = -Infinity;
  if (generated.length === 0) for (const t of rules.beginSuppressTokens) if (t < vocab) logits[t] = -Infinity;
  if (ids.noTimestamps < vocab) logits[ids.noTimestamps] = -Infinity;
  if (!rules.timestamps) {
    fill(logits, ids.timestampBegin, vocab);
    return;
  }

  const isTs = (t: number) => t >= ids.timestampBegin;
  const n = generated.length;
  const lastWasTs = n >= 1 && isTs(generated[n - 1]!);
  const penultimateWasTs = n < 2 || isTs(generated[n - 2]!);
  if (lastWasTs) {
    // A timestamp closes a segment or opens one: after a pair comes text, after a single one comes
    // its partner (or the end).
    if (penultimateWasTs) fill(logits, ids.timestampBegin, vocab);
    else fill(logits, 0, ids.eot);
  }

  let lastTs = -1;
  for (let i = n - 1; i >= 0; i--) {
    if (isTs(generated[i]!)) {
      lastTs = generated[i]!;
      break;
    }
  }
  if (lastTs >= 0) {
    // Timestamps never go backwards; a closing timestamp may equal its opener, a new one may not.
    const bound = lastWasTs && !penultimateWasTs ? lastTs : lastTs + 1;
    fill(logits, ids.timestampBegin, Math.min(bound, vocab));
  }

  if (n === 0) {
    fill(logits, 0, ids.timestampBegin);
    if (rules.maxInitialTimestampIndex !== null) {
      fill(logits, ids.timestampBegin + rules.maxInitialTimestampIndex + 1, vocab);
    }
  }

  // When the timestamps together outweigh the best text token, a timestamp must come next. OpenAI compares
  // log-probabilities, logsumexp(ts) − logZ > max(text) − logZ; the log-partition logZ is on both sides, so the
  // logits are compared directly and the exp over the whole ~52k-token row (most of this function's cost, once
  // per decoder step) is never taken.
  const tsLogSum = logSumExp(logits, ids.timestampBegin, vocab);
  let maxText = -Infinity;
  for (let i = 0; i < ids.timestampBegin && i < vocab; i++) if (logits[i]! > maxText) maxText = logits[i]!;
  if (tsLogSum > maxText) fill(logits, 0, ids.timestampBegin);
}

export function argmax(values: Float32Array): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i]! > bestValue) {
      bestValue = values[i]!;
      best = i;
    }
  }
  return best;
}

export function logSumExp(values: Float32Array, from: number, to: number): number {
  let max = -Infinity;
  for (let i = from; i < to; i++) if (values[i]! > max) max = values[i]!;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = from; i < to; i++) sum += Math.exp(values[i]! - max);
  return max + Math.log(sum);
}

/** log-softmax value of one entry of a logits row. */
export function logProbOf(values: Float32Array, index: number): number {
  return values[index]! - logSumExp(values, 0, values.length);
}

function fill(values: Float32Array, from: number, to: number): void {
  values.fill(-Infinity, Math.max(0, from), Math.max(0, Math.min(to, values.length)));
}
