/** Seconds per Whisper timestamp step (<|0.02|> - <|0.00|>). */
export const TIME_PRECISION = 0.02;

export interface RawSegment {
  /** Seconds from the window start. */
  start: number;
  end: number;
  /** Text tokens of the segment (timestamps removed). */
  tokens: number[];
}

export interface WindowSplit {
  segments: RawSegment[];
  /**
   * How far the next window starts after this one, in seconds: the whole window when its last
   * segment was closed, or the last complete timestamp when the model's output runs past it.
   */
  advanceSeconds: number;
}

/**
 * Splits one window's generated tokens (no prompt, no eot) into segments, following OpenAI
 * `transcribe.py`: consecutive timestamps separate segments; a single final timestamp means the
 * window's speech ended there and the next window starts after this one; otherwise the output was
 * cut off and decoding resumes from the last full timestamp.
 */
export function splitWindow(tokens: readonly number[], timestampBegin: number, windowSeconds: number): WindowSplit {
  const isTs = tokens.map((t) => t >= timestampBegin);
  const n = tokens.length;
  const singleTimestampEnding = n >= 2 && !isTs[n - 2] && isTs[n - 1];
  const cuts: number[] = [];
  for (let i = 1; i < n; i++) if (isTs[i - 1] && isTs[i]) cuts.push(i);
  const segments: RawSegment[] = [];
  const textOf = (slice: readonly number[]) => slice.filter((t) => t < timestampBegin);
  const timeOf = (t: number) => (t - timestampBegin) * TIME_PRECISION;

  if (cuts.length > 0) {
    if (singleTimestampEnding) cuts.push(n);
    let last = 0;
    for (const cut of cuts) {
      const slice = tokens.slice(last, cut);
      const text = textOf(slice);
      const first = slice[0]!;
      const final = slice[slice.length - 1]!;
      if (text.length > 0) {
        segments.push({
          start: first >= timestampBegin ? timeOf(first) : 0,
          end: final >= timestampBegin ? timeOf(final) : windowSeconds,
          tokens: text,
        });
      }
      last = cut;
    }
    if (singleTimestampEnding) return { segments, advanceSeconds: windowSeconds };
    const lastTimestamp = tokens[last - 1]!;
    const advance = timeOf(lastTimestamp);
    // A window that makes no progress would loop forever on the same audio.
    return { segments, advanceSeconds: advance > 0 ? advance : windowSeconds };
  }

  let end = windowSeconds;
  const stamps = tokens.filter((t) => t >= timestampBegin);
  if (stamps.length > 0 && stamps[stamps.length - 1] !== timestampBegin) end = timeOf(stamps[stamps.length - 1]!);
  const text = textOf(tokens);
  const start = n > 0 && isTs[0] ? timeOf(tokens[0]!) : 0;
  if (text.length > 0) segments.push({ start: Math.min(start, end), end, tokens: text });
  return { segments, advanceSeconds: windowSeconds };
}
