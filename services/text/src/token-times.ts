/**
 * Whisper gives segment times, not word times, so a token's time is interpolated linearly by its
 * character position inside its segment. Good enough to place evidence on a timeline; not forced
 * alignment (the cross-attention DTW of the _timestamped exports would be the upgrade).
 */
export function tokenTimes(
  segments: { start: number; end: number; charStart: number; charEnd: number }[],
  charStart: number,
  charEnd: number,
): { start: number; end: number } {
  const seg =
    segments.find((s) => charStart >= s.charStart && charStart < s.charEnd) ?? segments.find((s) => charStart < s.charEnd) ?? segments[segments.length - 1];
  if (!seg) return { start: 0, end: 0 };
  const span = Math.max(1, seg.charEnd - seg.charStart);
  const at = (c: number) => seg.start + ((Math.min(Math.max(c, seg.charStart), seg.charEnd) - seg.charStart) / span) * (seg.end - seg.start);
  return { start: at(charStart), end: Math.max(at(charStart), at(charEnd)) };
}
