/**
 * A transcript supplied with a submission may carry times: WebVTT (W3C WebVTT, the cue syntax) or
 * SubRip (.srt), as call-centre and meeting systems export them. Timed cues let the timeline follow
 * the real utterances and place each word, where plain text can only be spread over the whole media.
 * Plain text stays plain text: `parseTimedTranscript` answers null for it.
 */

export interface TimedCue {
  start: number;
  end: number;
  text: string;
}

export class TimedTranscriptError extends Error {}

/** `hh:mm:ss.ttt`, `mm:ss.ttt` (WebVTT) or `hh:mm:ss,ttt` (SubRip) → seconds; NaN when malformed. */
function timestamp(raw: string): number {
  const m = /^(?:(\d+):)?([0-5]\d):([0-5]\d)[.,](\d{3})$/.exec(raw.trim());
  if (!m) return NaN;
  return Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000;
}

const ARROW = /^\s*(\S+)\s+-->\s+(\S+)(?:\s+.*)?$/;
/** Markup inside a cue (`<v Speaker>`, `<i>`, `<00:00:01.000>`) is not spoken text. */
const stripTags = (s: string) => s.replace(/<[^>]*>/g, '');
const decodeEntities = (s: string) =>
  s.replace(/&(amp|lt|gt|nbsp|lrm|rlm);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', nbsp: ' ', lrm: '', rlm: '' })[e] ?? '');

/**
 * The cues of a WebVTT or SubRip document in time order, or null when `text` is neither (plain text).
 * A document that announces itself (WEBVTT header, or a first block that is a numbered SubRip cue)
 * but holds a malformed time, a reversed cue or no cue at all throws TimedTranscriptError, naming the
 * line: a tenant's typo must come back as a clear 4xx, not as a silently untimed transcript.
 */
export function parseTimedTranscript(text: string): TimedCue[] | null {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first < 0) return null;
  const vtt = /^WEBVTT(?:[ \t].*)?$/.test(lines[first]!);
  const srt = !vtt && /^\d+\s*$/.test(lines[first]!) && ARROW.test(lines[first + 1] ?? '');
  if (!vtt && !srt) return null;
  const kind = vtt ? 'WebVTT' : 'SubRip';
  const cues: TimedCue[] = [];
  let i = vtt ? first + 1 : first;
  while (i < lines.length) {
    // blocks are separated by blank lines
    while (i < lines.length && lines[i]!.trim() === '') i++;
    if (i >= lines.length) break;
    const block: { line: string; no: number }[] = [];
    while (i < lines.length && lines[i]!.trim() !== '') block.push({ line: lines[i]!, no: ++i });
    if (vtt && /^(NOTE|STYLE|REGION)(\s|$)/.test(block[0]!.line)) continue;
    const at = block.findIndex((b) => b.line.includes('-->'));
    if (at < 0 || at > 1) throw new TimedTranscriptError(`${kind} line ${block[0]!.no}: expected a cue timing line "start --> end"`);
    const timing = ARROW.exec(block[at]!.line);
    const start = timing ? timestamp(timing[1]!) : NaN;
    const end = timing ? timestamp(timing[2]!) : NaN;
    if (!Number.isFinite(start) || !Number.isFinite(end)) throw new TimedTranscriptError(`${kind} line ${block[at]!.no}: malformed cue timing`);
    if (end < start) throw new TimedTranscriptError(`${kind} line ${block[at]!.no}: the cue ends before it starts`);
    const spoken = block
      .slice(at + 1)
      .map((b) => decodeEntities(stripTags(b.line)).trim())
      .filter(Boolean)
      .join(' ');
    if (spoken) cues.push({ start, end, text: spoken });
  }
  if (cues.length === 0) throw new TimedTranscriptError(`the ${kind} transcript holds no cue with text`);
  return cues.sort((a, b) => a.start - b.start || a.end - b.end);
}
