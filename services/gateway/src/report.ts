import { DISCLAIMER, STAND_IN_NOTICE, EMOTION_LABELS, MODALITIES, SENTIMENT_LABELS, type AnalysisResult } from '@omniaffect/core';

/**
 * The HTML report: one self-contained page (inline CSS, no scripts, no external resources) rendered
 * from the result document. Every piece of text that came from the media or the user is escaped.
 */
export function renderReport(r: AnalysisResult): string {
  const duration = timelineDuration(r);
  const body = [
    header(r),
    ...(r.disclaimer?.startsWith(STAND_IN_NOTICE)
      ? [
          `<p class="stand-in" role="alert"><strong>${esc(STAND_IN_NOTICE)}</strong> The models behind this report are generated test stand-ins; the labels and weights below show the pipeline working, not what the video expresses.</p>`,
        ]
      : []),
    `<p class="disclaimer" role="note">${esc(r.disclaimer || DISCLAIMER)}</p>`,
    section('Timeline', timeline(r, duration)),
    section('Transcript', transcript(r)),
    section('Modality contributions', modalityBars(r)),
    section(
      'Sentiment',
      probabilityBars(SENTIMENT_LABELS, r.sentiment.probabilities, r.sentiment.label) +
        `<p>Intensity: <b>${num(r.sentiment.intensity, 2)}</b> on a scale from −1 (negative) to 1 (positive).</p>`,
    ),
    section('Emotion', probabilityBars(EMOTION_LABELS, r.emotion.probabilities, r.emotion.label)),
    section('Decision path', decisionPath(r)),
    section('Voice evidence', voiceTable(r)),
    section('Models and timings', modelsAndTimings(r)),
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OmniAffect report ${esc(r.id)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const num = (v: unknown, digits: number): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');
const pct = (v: number): string => `${(Math.max(0, Math.min(1, v)) * 100).toFixed(1)}%`;
const clamp01 = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.min(1, v)) : 0);
const secs = (v: number): string => `${num(v, 2)} s`;

function section(title: string, inner: string): string {
  return `<section><h2>${esc(title)}</h2>\n${inner}\n</section>`;
}

function header(r: AnalysisResult): string {
  return `<header>
<h1>OmniAffect report</h1>
<dl class="summary">
<dt>Video</dt><dd><code>${esc(r.id)}</code></dd>
<dt>Language</dt><dd>${esc(r.language ?? 'unknown')}</dd>
<dt>Sentiment</dt><dd class="label">${esc(r.sentiment.label)} (${num(r.sentiment.intensity, 2)})</dd>
<dt>Emotion</dt><dd class="label">${esc(r.emotion.label)}</dd>
</dl>
</header>`;
}

/** The latest time any part of the result mentions, so every block fits on the same axis. */
function timelineDuration(r: AnalysisResult): number {
  const ends = [
    ...r.transcript.segments.map((s) => s.end),
    ...r.evidence.words.map((w) => w.end),
    ...r.evidence.audioSegments.map((s) => s.end),
    ...r.evidence.frames.map((f) => f.time),
  ].filter((t) => Number.isFinite(t));
  return Math.max(1, ...ends);
}

function block(start: number, end: number, duration: number, weight: number, cls: string, title: string): string {
  const left = pct(start / duration);
  const width = `${Math.max(0.4, ((end - start) / duration) * 100).toFixed(2)}%`;
  const opacity = (0.15 + 0.85 * clamp01(weight)).toFixed(2);
  return `<div class="block ${cls}" style="left:${left};width:${width};opacity:${opacity}" title="${esc(title)}"></div>`;
}

function timeline(r: AnalysisResult, duration: number): string {
  const row = (label: string, blocks: string[]) =>
    `<div class="row"><span class="row-label">${esc(label)}</span><div class="track">${blocks.join('')}</div></div>`;
  const ticks: string[] = [];
  const step = niceStep(duration);
  for (let t = 0; t <= duration + 1e-9; t += step) {
    ticks.push(`<span class="tick" style="left:${pct(t / duration)}">${esc(num(t, step < 1 ? 1 : 0))}s</span>`);
  }
  return `<div class="timeline">
${row(
  'speech',
  r.transcript.segments.map((s) => block(s.start, s.end, duration, 0.35, 'speech', `${secs(s.start)}–${secs(s.end)}: ${s.text}`)),
)}
${row(
  'words',
  r.evidence.words.map((w) => block(w.start, w.end, duration, w.weight, 'word', `“${w.text}” weight ${num(w.weight, 2)}`)),
)}
${row(
  'voice',
  r.evidence.audioSegments.map((s) => block(s.start, s.end, duration, s.weight, 'voice', `${secs(s.start)}–${secs(s.end)} weight ${num(s.weight, 2)}`)),
)}
${row(
  'frames',
  r.evidence.frames.map((f) => block(f.time, f.time + duration / 200, duration, f.weight, 'frame', `frame at ${secs(f.time)} weight ${num(f.weight, 2)}`)),
)}
<div class="row"><span class="row-label"></span><div class="axis">${ticks.join('')}</div></div>
</div>`;
}

function niceStep(duration: number): number {
  const raw = duration / 8;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
}

/** Highlights evidence words in the transcript by their character offsets; overlapping spans keep the first. */
function transcript(r: AnalysisResult): string {
  const text = r.transcript.text ?? '';
  if (text.length === 0) return '<p class="muted">No speech was transcribed.</p>';
  const words = [...r.evidence.words]
    .filter((w) => Number.isInteger(w.charStart) && Number.isInteger(w.charEnd) && w.charStart < w.charEnd && w.charStart >= 0)
    .sort((a, b) => a.charStart - b.charStart);
  let out = '';
  let pos = 0;
  for (const w of words) {
    const start = Math.min(w.charStart, text.length);
    const end = Math.min(w.charEnd, text.length);
    if (start < pos || start >= end) continue;
    out += esc(text.slice(pos, start));
    const alpha = (0.15 + 0.85 * clamp01(w.weight)).toFixed(2);
    out +=
      `<mark style="background:rgba(255,153,0,${alpha})" data-weight="${num(w.weight, 3)}" ` +
      `title="weight ${num(w.weight, 2)}, ${secs(w.start)}–${secs(w.end)}">${esc(text.slice(start, end))}</mark>`;
    pos = end;
  }
  out += esc(text.slice(pos));
  return `<p class="transcript" lang="${esc(r.transcript.language ?? '')}">${out}</p>`;
}

function bar(label: string, value: number, strong: boolean, note = ''): string {
  return (
    `<div class="bar${strong ? ' strong' : ''}"><span class="bar-label">${esc(label)}</span>` +
    `<span class="bar-track"><span class="bar-fill" style="width:${pct(value)}"></span></span>` +
    `<span class="bar-value">${pct(value)}</span>${note ? `<span class="muted"> ${esc(note)}</span>` : ''}</div>`
  );
}

function modalityBars(r: AnalysisResult): string {
  const top = Math.max(...MODALITIES.map((m) => r.modalities[m]?.contribution ?? 0));
  return MODALITIES.map((m) => {
    const rep = r.modalities[m];
    if (!rep) return '';
    const note = rep.present ? '' : `absent: ${rep.reason ?? 'not present'}`;
    return bar(m, rep.present ? rep.contribution : 0, rep.present && rep.contribution === top, note);
  }).join('\n');
}

function probabilityBars(labels: readonly string[], probs: Record<string, number>, chosen: string): string {
  return labels.map((l) => bar(l, clamp01(probs[l]), l === chosen)).join('\n');
}

function decisionPath(r: AnalysisResult): string {
  const items = [...r.decisionPath]
    .sort((a, b) => a.step - b.step)
    .map((s) => {
      const extra = Object.entries(s).filter(([k]) => k !== 'step' && k !== 'description');
      const facts = extra.length
        ? `<dl class="facts">${extra.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(typeof v === 'object' ? JSON.stringify(v) : v)}</dd>`).join('')}</dl>`
        : '';
      return `<li>${esc(s.description)}${facts}</li>`;
    });
  return `<ol class="decision-path">${items.join('\n')}</ol>`;
}

function voiceTable(r: AnalysisResult): string {
  if (r.evidence.audioSegments.length === 0) return '<p class="muted">No voice segments.</p>';
  const rows = r.evidence.audioSegments.map(
    (s) =>
      `<tr><td>${secs(s.start)}–${secs(s.end)}</td><td>${num(s.weight, 2)}</td><td>${num(s.prosody.f0MeanHz, 0)}</td>` +
      `<td>${num(s.prosody.energyDb, 1)}</td><td>${num(s.prosody.voicedRatio, 2)}</td><td>${num(s.prosody.rateProxy, 2)}</td></tr>`,
  );
  return `<table><thead><tr><th>segment</th><th>weight</th><th>pitch (Hz)</th><th>energy (dB)</th><th>voiced</th><th>rate</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

function modelsAndTimings(r: AnalysisResult): string {
  const models = Object.entries(r.models ?? {}).map(
    ([k, m]) => `<tr><td>${esc(k)}</td><td>${esc(m.name)}</td><td>${esc(m.version ?? '')}</td><td>${esc(m.provider ?? '')}</td></tr>`,
  );
  const timings = Object.entries(r.timings ?? {}).map(([k, t]) => {
    const seconds = typeof t === 'number' ? t : (t as { seconds?: number })?.seconds;
    return `<tr><td>${esc(k)}</td><td>${num(seconds, 2)} s</td></tr>`;
  });
  return `<table><thead><tr><th>role</th><th>model</th><th>version</th><th>provider</th></tr></thead><tbody>${models.join('')}</tbody></table>
<table><thead><tr><th>stage</th><th>time</th></tr></thead><tbody>${timings.join('')}</tbody></table>`;
}

const CSS = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:60rem;padding:1rem 1.5rem;color:#1d1d1f}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.6rem 0 .5rem;border-bottom:1px solid #ddd}
.summary{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:0}.summary dt{color:#666}
.label{font-weight:600;text-transform:capitalize}
.disclaimer{background:#fff6db;border-left:4px solid #e0a800;padding:.5rem .8rem}
.stand-in{background:#fde2e1;border-left:6px solid #c62828;padding:.6rem .8rem;font-size:1.05rem}
.muted{color:#777}
.timeline .row{display:flex;align-items:center;margin:.15rem 0}.row-label{width:5rem;color:#555;font-size:.85rem}
.track{position:relative;flex:1;height:1.1rem;background:#f2f2f2;border-radius:3px}
.axis{position:relative;flex:1;height:1.1rem;font-size:.75rem;color:#777}.tick{position:absolute;transform:translateX(-50%)}
.block{position:absolute;top:0;bottom:0;border-radius:2px}
.speech{background:#8e8e93}.word{background:#ff9900}.voice{background:#0a84ff}.frame{background:#30b158}
.transcript{font-size:1.05rem;background:#fafafa;padding:.6rem .8rem;border-radius:4px;white-space:pre-wrap}
mark{border-radius:2px;padding:0 1px;color:inherit}
.bar{display:flex;align-items:center;gap:.6rem;margin:.2rem 0}.bar-label{width:6rem;text-transform:capitalize}
.bar-track{flex:0 0 18rem;height:.8rem;background:#eee;border-radius:3px;overflow:hidden}
.bar-fill{display:block;height:100%;background:#7a7aff}.bar.strong .bar-fill{background:#3b3bd6}.bar-value{width:4rem;text-align:right;font-variant-numeric:tabular-nums}
.decision-path li{margin:.3rem 0}.facts{display:grid;grid-template-columns:max-content 1fr;gap:0 .8rem;font-size:.85rem;color:#555;margin:.1rem 0}
table{border-collapse:collapse;margin:.4rem 0 .8rem}td,th{border-bottom:1px solid #eee;padding:.15rem .6rem;text-align:left;font-size:.9rem}
`;
