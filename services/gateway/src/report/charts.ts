import { MODALITIES, type AnalysisResult, type Modality } from '@omniaffect/core';
import { esc, fmt, tr, type Lang } from './i18n';

/**
 * Hand-made SVG for the report (no chart library, no script needed to draw them): the emotion timeline,
 * the voice contour and the decision diagram. Every label that varies by language is drawn in both and
 * hidden by the page's CSS (`data-l`), like the rest of the page.
 */

export const SENTIMENT_COLOURS: Record<string, string> = { negative: '#d64545', neutral: '#9aa0a6', positive: '#2e9d5b' };
export const MODALITY_COLOURS: Record<Modality, string> = { text: '#f29d38', audio: '#3b82f6', vision: '#16a394' };

const W = 1000;
const n2 = (v: number) => (Math.round(v * 100) / 100).toString();
const biText = (x: number, y: number, attrs: string, text: (lang: Lang) => string) =>
  (['en', 'zh'] as const).map((l) => `<text x="${n2(x)}" y="${n2(y)}" ${attrs} data-l="${l}">${esc(text(l))}</text>`).join('');

/** The media's length as the result knows it: the end of the timeline. */
export function resultDuration(r: AnalysisResult): number {
  return Math.max(0.001, r.timeline[r.timeline.length - 1]?.end ?? 0, ...r.transcript.segments.map((s) => s.end));
}

function ticks(duration: number, x: (t: number) => number, y: number, count = 10): string {
  const raw = duration / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
  const f = fmt('en');
  const out: string[] = [`<line x1="${x(0)}" y1="${y}" x2="${x(duration)}" y2="${y}" class="axis"/>`];
  for (let t = 0; t <= duration + 1e-9; t += step) {
    out.push(`<line x1="${n2(x(t))}" y1="${y}" x2="${n2(x(t))}" y2="${y + 4}" class="axis"/>`);
    out.push(`<text x="${n2(x(t))}" y="${y + 15}" class="tick" text-anchor="middle">${esc(f.time(t))}</text>`);
  }
  return out.join('');
}

/**
 * The emotion timeline: per segment a bar coloured by its sentiment and as tall as its confidence, its
 * modality contributions stacked beneath, then the verified evidence marks and a time axis. Each
 * segment is a focusable group with its times in data attributes (the page's script seeks the video).
 */
export function timelineSvg(r: AnalysisResult, lang: Lang): string {
  const duration = resultDuration(r);
  const left = 70;
  // a long video gets a wider chart (at least 6 px a segment) that scrolls, rather than slivers
  const width = Math.max(W, left + 10 + 6 * r.timeline.length);
  const x = (t: number) => left + (Math.max(0, Math.min(duration, t)) / duration) * (width - left - 10);
  const f = fmt(lang);
  const parts: string[] = [];
  parts.push(biText(0, 40, 'class="row-label"', (l) => tr(l, 'report.sentiment')));
  parts.push(biText(0, 95, 'class="row-label"', (l) => tr(l, 'report.contributions').split(' ')[0]!));
  parts.push(biText(0, 132, 'class="row-label"', (l) => tr(l, 'verified')));
  r.timeline.forEach((seg, i) => {
    const x0 = x(seg.start);
    const w = Math.max(1.5, x(seg.end) - x0 - 1);
    const conf = seg.sentiment.probabilities[seg.sentiment.label];
    const h = 8 + 52 * conf;
    const title = `${f.time(seg.start)}–${f.time(seg.end)} · ${tr(lang, `sentiment.${seg.sentiment.label}`)} ${f.pct(conf)} · ${tr(lang, `emotion.${seg.emotion.label}`)}`;
    const stack: string[] = [];
    let y = 78;
    for (const m of MODALITIES) {
      const c = seg.modalities[m].present ? seg.modalities[m].contribution : 0;
      if (c <= 0) continue;
      stack.push(
        `<rect x="${n2(x0)}" y="${n2(y)}" width="${n2(w)}" height="${n2(30 * c)}" fill="${MODALITY_COLOURS[m]}" class="contrib" data-modality="${m}"/>`,
      );
      y += 30 * c;
    }
    const label = w > 46 ? `<text x="${n2(x0 + 3)}" y="${n2(62 - h + 12)}" class="seg-label">${esc(tr(lang, `emotion.${seg.emotion.label}`))}</text>` : '';
    parts.push(
      `<g class="seg" tabindex="0" role="button" data-i="${i}" data-start="${seg.start}" data-end="${seg.end}" data-sentiment="${seg.sentiment.label}">` +
        `<title>${esc(title)}</title>` +
        `<rect x="${n2(x0)}" y="${n2(62 - h)}" width="${n2(w)}" height="${n2(h)}" fill="${SENTIMENT_COLOURS[seg.sentiment.label]}" opacity="${n2(0.35 + 0.65 * seg.verdictWeight ** 0.25)}" class="seg-bar"/>` +
        label +
        stack.join('') +
        `<rect x="${n2(x0)}" y="0" width="${n2(w)}" height="145" fill="transparent" class="seg-hit"/>` +
        `</g>`,
    );
  });
  for (const seg of r.timeline) {
    for (const w of seg.evidence.words.filter((e) => e.verified))
      parts.push(
        `<rect x="${n2(x(w.start))}" y="118" width="${n2(Math.max(2, x(w.end) - x(w.start)))}" height="8" fill="${MODALITY_COLOURS.text}" class="mark"><title>“${esc(w.text)}” −${f.num(w.deletionDrop, 2)}</title></rect>`,
      );
    for (const a of seg.evidence.audioSegments.filter((e) => e.verified))
      parts.push(
        `<rect x="${n2(x(a.start))}" y="128" width="${n2(Math.max(2, x(a.end) - x(a.start)))}" height="8" fill="${MODALITY_COLOURS.audio}" class="mark"><title>${esc(f.time(a.start))}–${esc(f.time(a.end))} −${f.num(a.deletionDrop, 2)}</title></rect>`,
      );
    for (const fr of seg.evidence.frames.filter((e) => e.verified))
      parts.push(
        `<circle cx="${n2(x(fr.time))}" cy="142" r="3.5" fill="${MODALITY_COLOURS.vision}" class="mark"><title>${esc(f.time(fr.time))} −${f.num(fr.deletionDrop, 2)}</title></circle>`,
      );
  }
  parts.push(ticks(duration, x, 152, Math.round((10 * width) / W)));
  parts.push(`<line id="playhead" x1="${left}" y1="0" x2="${left}" y2="150" class="playhead" visibility="hidden"/>`);
  const size = width > W ? ` width="${width}" height="175"` : '';
  return `<svg class="timeline${width > W ? ' wide' : ''}"${size} viewBox="0 0 ${width} 175" role="img" aria-label="${esc(tr(lang, 'report.timeline'))}" data-duration="${duration}" data-left="${left}" data-width="${width}">${parts.join('')}</svg>`;
}

/** Pitch and energy over the track, the speaker's median pitch, and the verified voice evidence shaded. */
export function voiceSvg(r: AnalysisResult, lang: Lang): string {
  const v = r.voice;
  if (!v || v.contour.length === 0) return '';
  const duration = resultDuration(r);
  const left = 70;
  const x = (t: number) => left + (Math.max(0, Math.min(duration, t)) / duration) * (W - left - 10);
  const f0s = v.contour.map((c) => c.f0Hz).filter((z): z is number => z !== null);
  const es = v.contour.map((c) => c.energyDb).filter((z): z is number => z !== null);
  const range = (xs: number[], pad: number) => (xs.length ? [Math.min(...xs) - pad, Math.max(...xs) + pad] : [0, 1]);
  const [f0Lo, f0Hi] = range(f0s, 10);
  const [eLo, eHi] = range(es, 3);
  const yF0 = (z: number) => 10 + (1 - (z - f0Lo!) / Math.max(1e-6, f0Hi! - f0Lo!)) * 70;
  const yE = (z: number) => 100 + (1 - (z - eLo!) / Math.max(1e-6, eHi! - eLo!)) * 50;
  const contour = v.contour;
  const line = (pick: (c: (typeof contour)[number]) => number | null, y: (z: number) => number) => {
    const segs: string[][] = [[]];
    for (const c of contour) {
      const z = pick(c);
      if (z === null) segs.push([]);
      else segs[segs.length - 1]!.push(`${n2(x((c.start + c.end) / 2))},${n2(y(z))}`);
    }
    return segs
      .filter((s) => s.length > 1)
      .map((s) => `<polyline points="${s.join(' ')}"/>`)
      .join('');
  };
  const shaded = r.timeline
    .flatMap((seg) => seg.evidence.audioSegments.filter((a) => a.verified))
    .map((a) => `<rect x="${n2(x(a.start))}" y="5" width="${n2(Math.max(2, x(a.end) - x(a.start)))}" height="150" class="voice-evidence"/>`)
    .join('');
  const median = v.medianF0Hz !== null ? `<line x1="${left}" x2="${W - 10}" y1="${n2(yF0(v.medianF0Hz))}" y2="${n2(yF0(v.medianF0Hz))}" class="median"/>` : '';
  const f = fmt(lang);
  return `<svg class="voice" viewBox="0 0 ${W} 185" role="img" aria-label="${esc(tr(lang, 'report.voice'))}">${shaded}
${biText(0, 45, 'class="row-label"', (l) => tr(l, 'report.voice.pitch'))}${biText(0, 125, 'class="row-label"', (l) => tr(l, 'report.voice.energy'))}
<text x="${left - 4}" y="14" class="tick" text-anchor="end">${esc(f.num(f0Hi, 0))}</text><text x="${left - 4}" y="82" class="tick" text-anchor="end">${esc(f.num(f0Lo, 0))}</text>
${median}<g class="f0">${line((c) => c.f0Hz, yF0)}</g><g class="energy">${line((c) => c.energyDb, yE)}</g>${ticks(duration, x, 160)}</svg>`;
}

/** Per-modality deletion drops of the verdict: the one segment's, or the verdict-weighted mean of the segments'. */
/** A deletion drop as the change it made: −0.21 when removing the modality lowered P, +0.24 when it raised it. */
function signedChange(l: Lang, drop: number): string {
  const v = Number(drop.toFixed(2));
  return v === 0 ? '±0' : `${v > 0 ? '−' : '+'}${fmt(l).num(Math.abs(v), 2)}`;
}

function modalityDrops(r: AnalysisResult): Partial<Record<Modality, number>> {
  const out: Partial<Record<Modality, number>> = {};
  const total: Partial<Record<Modality, number>> = {};
  for (const seg of r.timeline) {
    const step = seg.decisionPath.find((s) => s.deletionDrops && typeof s.deletionDrops === 'object');
    const drops = (step?.deletionDrops ?? {}) as Partial<Record<Modality, number>>;
    const w = r.timeline.length === 1 ? 1 : seg.verdictWeight;
    for (const m of MODALITIES) {
      if (typeof drops[m] !== 'number') continue;
      out[m] = (out[m] ?? 0) + w * drops[m]!;
      total[m] = (total[m] ?? 0) + w;
    }
  }
  for (const m of MODALITIES) if (total[m]) out[m] = out[m]! / total[m]!;
  return out;
}

/**
 * The decision path as a diagram: each modality (present or why absent, its weight and what removing
 * it costs) flows into the gate, the fused reading, the timeline rule when there are several segments,
 * and the verdict, with the numbers at each step.
 */
export function decisionSvg(r: AnalysisResult, lang: Lang): string {
  const f = fmt(lang);
  const drops = modalityDrops(r);
  const boxes: string[] = [];
  const box = (x: number, y: number, w: number, h: number, cls: string, lines: ((l: Lang) => string)[]) =>
    `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="6" class="box ${cls}"/>` +
    lines.map((t, i) => biText(x + 8, y + 18 + i * 16, 'class="box-text"', t)).join('');
  const arrow = (x1: number, y1: number, x2: number, y2: number) =>
    `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" class="arrow" marker-end="url(#arrowhead)"/>`;
  MODALITIES.forEach((m, i) => {
    const rep = r.modalities[m];
    const y = 10 + i * 72;
    const lines: ((l: Lang) => string)[] = [
      (l) => `${tr(l, `modality.${m}`)}: ${rep.present ? f.pct(rep.contribution) : tr(l, 'absent')}`,
      (l) => (rep.present ? (drops[m] !== undefined ? tr(l, 'diagram.removed', { change: signedChange(l, drops[m]!) }) : '') : (rep.reason ?? '').slice(0, 38)),
    ];
    if (rep.present && rep.reason) lines.push(() => rep.reason!.slice(0, 38));
    boxes.push(box(10, y, 250, 60, rep.present ? `m-${m}` : 'absent', lines));
    if (rep.present) boxes.push(arrow(260, y + 30, 318, 118));
  });
  boxes.push(
    box(320, 88, 150, 60, 'gate', [
      (l) => tr(l, 'diagram.gate'),
      (l) =>
        MODALITIES.filter((m) => r.modalities[m].present)
          .map((m) => `${tr(l, `modality.${m}`)} ${fmt(l).pct(r.modalities[m].contribution)}`)
          .join(' · '),
    ]),
  );
  boxes.push(arrow(470, 118, 528, 118));
  const multi = r.timeline.length > 1;
  boxes.push(
    box(530, 88, 170, 60, 'fused', [
      (l) => tr(l, 'diagram.fused'),
      (l) =>
        multi
          ? tr(l, 'report.timeline.segments', { n: r.timeline.length })
          : `${tr(l, `sentiment.${r.sentiment.label}`)} ${fmt(l).pct(r.sentiment.probabilities[r.sentiment.label])}`,
    ]),
  );
  let vx = 740;
  if (multi) {
    boxes.push(arrow(700, 118, 738, 118));
    boxes.push(box(740, 88, 120, 60, 'rule', [(l) => tr(l, 'diagram.rule'), (l) => (l === 'zh' ? '时长 × 置信度' : 'duration × confidence')]));
    vx = 880;
  }
  boxes.push(arrow(multi ? 860 : 700, 118, vx - 2, 118));
  const conf = r.sentiment.probabilities[r.sentiment.label];
  boxes.push(
    box(vx, 73, W - vx - 5, 90, `verdict s-${r.sentiment.label}`, [
      (l) => tr(l, 'report.verdict'),
      (l) => `${tr(l, `sentiment.${r.sentiment.label}`)} ${fmt(l).pct(conf)}`,
      (l) => `${tr(l, 'report.intensity')} ${fmt(l).num(r.sentiment.intensity, 2)}`,
      (l) => `${tr(l, `emotion.${r.emotion.label}`)} ${fmt(l).pct(r.emotion.probabilities[r.emotion.label])}`,
    ]),
  );
  return `<svg class="decision" viewBox="0 0 ${W} 230" role="img" aria-label="${esc(tr(lang, 'report.decision.diagram'))}"><defs><marker id="arrowhead" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" class="arrowhead"/></marker></defs>${boxes.join('')}</svg>`;
}
