import { DISCLAIMER, EMOTION_LABELS, MODALITIES, SENTIMENT_LABELS, STAND_IN_NOTICE, type AnalysisResult, type WordEvidence } from '@omniaffect/core';
import { MODALITY_COLOURS, SENTIMENT_COLOURS, decisionSvg, resultDuration, timelineSvg, voiceSvg } from './charts';
import { pageCsp, pageHead } from './csp';
import { BI_CSS, LANGS, bi, both, esc, fmt, tr, type Lang } from './i18n';
import { prosodyFact, rationale } from './rationale';

/**
 * The report page: one HTML document rendered from the result, bilingual (see i18n.ts), with inline
 * SVG charts and one small inline script (CSP nonce) for the language switch, seeking the video from
 * the timeline and saving a rating. It needs no network: thumbnails are data URIs, and the video is
 * a signed link only while the media is retained and the page is served (an exported file says why
 * it has none). Everything that came from the media or the user is escaped.
 */
export interface ReportOptions {
  lang: Lang;
  /** per-response CSP nonce */
  nonce: string;
  /** a playable link to the media, or why there is none */
  media: { url: string; type: string } | { none: 'report.video.exported' | 'report.video.erased' | 'report.video.audio' };
  /** key-frame thumbnails by frame time (data URIs), or why there are none */
  frames: Map<number, string> | { none: 'report.frames.erased' | 'report.frames.novideo' | 'report.frames.noverified' };
  /** an exported file: no rating form, no links back to the API */
  exported: boolean;
}

export function reportCsp(nonce: string, exported: boolean): string {
  // an exported file talks to nothing; served, it plays the media and saves ratings on its own origin
  return pageCsp(nonce, { connect: !exported, media: !exported, framed: true });
}

/**
 * A horizontal bar as inline SVG: the page's CSP allows no style attributes (only its nonce'd
 * stylesheet), and an SVG rect's width is an attribute, not a style.
 */
const barSvg = (fraction: number, colour: string) =>
  `<svg class="ptrack" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true"><rect width="100" height="8" class="pbg"/><rect width="${(100 * Math.max(0, Math.min(1, fraction))).toFixed(2)}" height="8" fill="${colour}"/></svg>`;
const keySvg = (colour: string) => `<svg class="key" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" rx="2" fill="${colour}"/></svg>`;

/** The result's disclaimer in Chinese (the result carries the English one). */
const zhDisclaimer = (standIn: boolean) =>
  (standIn ? '测试替身模型：并非真实预测。' : '') +
  'OmniAffect 报告的是情绪如何被表达、以及观察者可能如何感知（言语、声音、面部）；它并不测量一个人真实的感受。请勿据此对个人做出决定。';

const section = (id: string, titleKey: string, inner: string) => `<section id="${id}"><h2>${bi(titleKey)}</h2>\n${inner}\n</section>`;

function header(r: AnalysisResult): string {
  const duration = resultDuration(r);
  const conf = r.sentiment.probabilities[r.sentiment.label];
  const fusion = r.models.fusion as { name?: string; version?: string; provenance?: { kind?: string } } | undefined;
  const standIn = r.disclaimer.startsWith(STAND_IN_NOTICE);
  const zeroShot = fusion?.provenance?.kind === 'zero-shot';
  const models = Object.entries(r.models)
    .map(
      ([role, m]) =>
        `<li><b>${esc(role)}</b> ${esc(m.name)}${m.version ? ` <span class="muted">${esc(m.version)}</span>` : ''}${m.standIn ? ` <span class="flag">${esc(String(m.standIn))}</span>` : ''}</li>`,
    )
    .join('');
  const probBars = (labels: readonly string[], probs: Record<string, number>, prefix: string, chosen: string) =>
    labels
      .map(
        (l) =>
          `<div class="pbar${l === chosen ? ' chosen' : ''}" data-label="${l}"><span class="pname">${bi(`${prefix}.${l}`)}</span>${barSvg(probs[l]!, prefix === 'sentiment' ? SENTIMENT_COLOURS[l]! : '#7b6fd6')}<span class="pval">${both((x) => esc(fmt(x).pct(probs[l]!, 1)))}</span></div>`,
      )
      .join('');
  return `<header>
<div class="top"><h1>${bi('report.title')}</h1><button type="button" id="lang-switch" class="switch">${bi('report.switch')}</button></div>
${standIn ? `<p class="stand-in" role="alert"><strong>${bi('report.standIn')}</strong> ${bi('report.standIn.more')}</p>` : ''}
${zeroShot ? `<p class="zero-shot" role="note">${bi('report.zeroShot')}</p>` : ''}
<div class="verdict-card">
<div><div class="verdict s-${r.sentiment.label}" data-sentiment="${r.sentiment.label}"><span class="big">${bi(`sentiment.${r.sentiment.label}`)}</span> <span class="conf">${both((x) => esc(fmt(x).pct(conf, 1)))}</span>
<div>${bi('report.intensity')}: <b class="intensity">${both((x) => esc(fmt(x).num(r.sentiment.intensity, 2)))}</b> · ${bi('report.emotion')}: <b class="emotion" data-emotion="${r.emotion.label}">${bi(`emotion.${r.emotion.label}`)}</b></div></div>
<dl class="facts"><dt>${bi('report.video')}</dt><dd><code>${esc(r.id)}</code></dd><dt>${bi('report.language')}</dt><dd>${esc(r.language ?? '–')}</dd>
<dt>${bi('report.duration')}</dt><dd class="duration">${both((x) => esc(fmt(x).time(duration)))}</dd><dt>${bi('report.models')}</dt><dd><ul class="models">${models}</ul></dd></dl></div>
<div class="probs"><h3>${bi('report.sentiment')}</h3>${probBars(SENTIMENT_LABELS, r.sentiment.probabilities, 'sentiment', r.sentiment.label)}
<h3>${bi('report.emotion')}</h3>${probBars(EMOTION_LABELS, r.emotion.probabilities, 'emotion', r.emotion.label)}</div>
</div>
<p class="disclaimer" role="note"><strong>${bi('report.disclaimer.title')}.</strong> ${both((l) => esc(l === 'en' ? r.disclaimer || DISCLAIMER : zhDisclaimer(standIn)))}</p>
</header>`;
}

function timelineSection(r: AnalysisResult, o: ReportOptions): string {
  const video =
    'url' in o.media
      ? `<video id="player" controls preload="metadata" src="${esc(o.media.url)}"${o.media.type ? ` data-type="${esc(o.media.type)}"` : ''}></video>`
      : `<p class="muted video-none" data-why="${o.media.none}">${both((l) => esc(tr(l, 'report.video.none', { why: tr(l, (o.media as { none: string }).none) })))}</p>`;
  const legend = `<p class="legend">${SENTIMENT_LABELS.map((s) => `${keySvg(SENTIMENT_COLOURS[s]!)}${bi(`sentiment.${s}`)}`).join(' ')} · ${MODALITIES.map((m) => `${keySvg(MODALITY_COLOURS[m])}${bi(`modality.${m}`)}`).join(' ')}</p>`;
  return section(
    'timeline',
    'report.timeline',
    `${video}<p class="muted">${bi('report.timeline.help')} ${r.timeline.length === 1 ? bi('report.timeline.oneSegment') : bi('report.timeline.segments', { n: r.timeline.length })}</p>${legend}
<div class="chart scroll">${both((l) => timelineSvg(r, l))}</div>`,
  );
}

/** Every verified word of every segment, highlighted in the transcript by its drop. */
function transcriptSection(r: AnalysisResult): string {
  const text = r.transcript.text ?? '';
  if (!text) return section('transcript', 'report.transcript', `<p class="muted">${bi('report.transcript.none')}</p>`);
  const words: WordEvidence[] = r.timeline
    .flatMap((t) => t.evidence.words)
    .filter((w) => w.verified && w.charStart >= 0 && w.charEnd > w.charStart && w.charEnd <= text.length)
    .sort((a, b) => a.charStart - b.charStart);
  const maxDrop = Math.max(1e-6, ...words.map((w) => w.deletionDrop));
  let out = '';
  let pos = 0;
  for (const w of words) {
    if (w.charStart < pos) continue;
    out += esc(text.slice(pos, w.charStart));
    // five shades by the drop relative to the largest (classes, not style attributes: see barSvg)
    const shade = Math.max(1, Math.min(5, Math.ceil((5 * w.deletionDrop) / maxDrop)));
    out += `<mark class="d${shade}" data-drop="${w.deletionDrop}" data-start="${w.start}" title="−${w.deletionDrop.toFixed(3)} · ${w.start.toFixed(1)} s">${esc(text.slice(w.charStart, w.charEnd))}</mark>`;
    pos = w.charEnd;
  }
  out += esc(text.slice(pos));
  return section(
    'transcript',
    'report.transcript',
    `<p class="muted">${bi('report.transcript.help')}</p><p class="transcript" lang="${esc(r.transcript.language ?? '')}">${out}</p>`,
  );
}

function voiceSection(r: AnalysisResult): string {
  if (!r.voice || !r.modalities.audio.present) {
    const why = r.modalities.audio.reason ? ` <span class="reason">(${esc(r.modalities.audio.reason)})</span>` : '';
    return section('voice', 'report.voice', `<p class="muted">${bi('report.voice.none')}${why}</p>`);
  }
  const facts = r.timeline
    .flatMap((t) => t.evidence.audioSegments.filter((a) => a.verified))
    .sort((a, b) => b.deletionDrop - a.deletionDrop)
    .slice(0, 8);
  const list = facts.length
    ? `<ul class="prosody-facts">${facts
        .map((a) => {
          const line = both((l) => {
            const fact = prosodyFact(l, a, r.voice);
            const f = fmt(l);
            return `${esc(f.seconds(a.start))}–${esc(f.seconds(a.end))}: ${fact ? esc(fact) + '; ' : ''}${esc(tr(l, 'drop'))} ${esc(f.num(a.deletionDrop, 2))}`;
          });
          return `<li data-start="${a.start}">${line}</li>`;
        })
        .join('')}</ul>`
    : '';
  return section('voice', 'report.voice', `<p class="muted">${bi('report.voice.help')}</p><div class="chart">${both((l) => voiceSvg(r, l))}</div>${list}`);
}

function framesSection(r: AnalysisResult, o: ReportOptions): string {
  if (!(o.frames instanceof Map)) {
    const why = o.frames.none;
    return section(
      'frames',
      'report.frames',
      `<p class="muted frames-none" data-why="${why}">${both((l) => esc(tr(l, 'report.frames.none', { why: tr(l, why) })))}</p>`,
    );
  }
  const items = r.timeline
    .flatMap((t, i) => t.evidence.frames.filter((fr) => fr.verified).map((fr) => ({ fr, i })))
    .filter(({ fr }) => (o.frames as Map<number, string>).has(fr.time))
    .sort((a, b) => b.fr.deletionDrop - a.fr.deletionDrop);
  const seen = new Set<number>();
  const cards = items
    .filter(({ fr }) => !seen.has(fr.time) && seen.add(fr.time))
    .map(
      ({ fr, i }) =>
        `<figure class="frame" data-start="${fr.time}" data-segment="${i}"><img alt="frame ${fr.time.toFixed(1)} s" src="${(o.frames as Map<number, string>).get(fr.time)}"><figcaption>${both(
          (l) => {
            const f = fmt(l);
            return `${esc(f.seconds(fr.time))} · ${esc(tr(l, 'drop'))} ${esc(f.num(fr.deletionDrop, 2))} · ${esc(tr(l, 'weight'))} ${esc(f.pct(fr.weight))}`;
          },
        )}</figcaption></figure>`,
    );
  return section(
    'frames',
    'report.frames',
    cards.length ? `<div class="frames">${cards.join('')}</div>` : `<p class="muted">${both((l) => esc(tr(l, 'report.frames.noverified')))}</p>`,
  );
}

function contributionsSection(r: AnalysisResult): string {
  const rows = MODALITIES.map((m) => {
    const rep = r.modalities[m];
    const why = rep.reason ? `<span class="reason">${esc(rep.reason)}</span>` : '';
    return `<div class="pbar modality" data-modality="${m}" data-present="${rep.present}"><span class="pname">${bi(`modality.${m}`)}</span>${barSvg(rep.contribution, MODALITY_COLOURS[m])}<span class="pval">${rep.present ? both((l) => esc(fmt(l).pct(rep.contribution, 1))) : bi('absent')}</span> ${why}</div>`;
  }).join('');
  return section('contributions', 'report.contributions', rows);
}

function decisionSection(r: AnalysisResult): string {
  const steps = [...r.decisionPath]
    .sort((a, b) => a.step - b.step)
    .map((s) => `<li>${esc(s.description)}</li>`)
    .join('');
  const fa = r.faithfulness;
  const faith =
    fa.comprehensiveness !== null
      ? `<h3>${bi('report.faithfulness')}</h3><p class="faith"><span>${bi('report.comprehensiveness')}: <b class="comp">${both((l) => esc(fmt(l).num(fa.comprehensiveness, 3)))}</b></span> · <span>${bi('report.sufficiency')}: <b class="suff">${both((l) => esc(fmt(l).num(fa.sufficiency, 3)))}</b></span></p><p class="muted">${bi('report.faithfulness.help')}</p>`
      : `<h3>${bi('report.faithfulness')}</h3><p class="muted">${esc(fa.reason ?? '')}</p>`;
  return section(
    'decision',
    'report.decision',
    `<h3>${bi('report.decision.diagram')}</h3><div class="chart">${both((l) => decisionSvg(r, l))}</div>${faith}<h3>${bi('report.decision.steps')}</h3><ol class="steps" lang="en">${steps}</ol>`,
  );
}

function ratingSection(r: AnalysisResult, o: ReportOptions): string {
  if (o.exported) return section('rating', 'report.rating', `<p class="muted">${bi('report.rating.offline')}</p>`);
  const scale = (name: string) =>
    `<fieldset><legend>${bi(`report.rating.${name}`)}</legend>${[1, 2, 3, 4, 5].map((v) => `<label><input type="radio" name="${name}" value="${v}" required> ${v}</label>`).join(' ')}</fieldset>`;
  return section(
    'rating',
    'report.rating',
    `<form id="rating-form" data-video="${esc(r.id)}" ${LANGS.map((l) => `data-saved-${l}="${esc(tr(l, 'report.rating.saved'))}"`).join(' ')}>${scale('clarity')}${scale('relevance')}<label class="comment">${bi('report.rating.comment')}<textarea name="comment" maxlength="2000" rows="2"></textarea></label>
<button type="submit">${bi('report.rating.submit')}</button> <span id="rating-status" role="status"></span><p class="muted" id="rating-nokey" hidden>${bi('report.rating.offline')}</p></form>`,
  );
}

function timingsSection(r: AnalysisResult): string {
  const models = Object.entries(r.models)
    .map(([k, m]) => `<tr><td>${esc(k)}</td><td>${esc(m.name)}</td><td>${esc(m.version ?? '')}</td><td>${esc(m.provider ?? '')}</td></tr>`)
    .join('');
  const timings = Object.entries(r.timings)
    .map(([k, t]) => `<tr><td>${esc(k)}</td><td>${typeof t === 'number' ? t.toFixed(2) : ((t as { seconds?: number })?.seconds ?? 0).toFixed(2)} s</td></tr>`)
    .join('');
  return section('timings', 'report.timings', `<table><tbody>${models}</tbody></table><table><tbody>${timings}</tbody></table>`);
}

const CSS = `
${BI_CSS}
:root{--fg:#1d1d1f;--muted:#6b6b70;--line:#e3e3e6}
body{font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC","PingFang SC","Hiragino Sans GB","Microsoft YaHei","Source Han Sans SC","WenQuanYi Micro Hei",sans-serif;margin:0 auto;max-width:66rem;padding:1rem 1.5rem 3rem;color:var(--fg)}
h1{font-size:1.45rem;margin:.2rem 0}h2{font-size:1.15rem;margin:1.8rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}h3{font-size:.95rem;margin:.8rem 0 .3rem}
.top{display:flex;justify-content:space-between;align-items:center}.switch{font:inherit;border:1px solid var(--line);background:#fafafa;border-radius:6px;padding:.2rem .7rem;cursor:pointer}
.muted{color:var(--muted)}.reason{color:var(--muted);font-size:.85em}.flag{background:#fde2e1;color:#a01818;border-radius:3px;padding:0 .3rem;font-size:.8em}
.disclaimer{background:#fff6db;border-left:4px solid #e0a800;padding:.5rem .8rem}
.stand-in{background:#fde2e1;border-left:6px solid #c62828;padding:.6rem .8rem;font-size:1.05rem}.zero-shot{background:#e8f0fe;border-left:6px solid #1a56db;padding:.6rem .8rem}
.verdict-card{display:grid;grid-template-columns:1fr 1fr;gap:.5rem 2rem;align-items:start}
.verdict .big{font-size:1.9rem;font-weight:700}.verdict .conf{font-size:1.2rem;color:var(--muted)}
.s-positive .big{color:#2e9d5b}.s-negative .big{color:#d64545}.s-neutral .big{color:#5f6368}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.8rem 0 0}.facts dt{color:var(--muted)}.models{margin:0;padding-left:1rem}
.pbar{display:flex;align-items:center;gap:.5rem;margin:.12rem 0}.pname{width:6.5rem}.ptrack{flex:0 0 14rem;width:14rem;height:.7rem;border-radius:3px}.pbg{fill:#eee}
.pval{width:4.2rem;text-align:right;font-variant-numeric:tabular-nums}.pbar.chosen .pname{font-weight:700}
video{width:100%;max-height:24rem;background:#000;border-radius:6px}
.chart svg{width:100%;height:auto;font:11px system-ui,sans-serif}.scroll{overflow-x:auto}.chart svg.wide{width:auto;max-width:none}.row-label{fill:var(--muted);font-size:12px}.tick{fill:var(--muted);font-size:10px}.axis{stroke:#bbb}
.seg{cursor:pointer}.seg:focus .seg-bar,.seg.active .seg-bar{stroke:#111;stroke-width:2}.seg-label{fill:#fff;font-size:10px;pointer-events:none}.seg-hit:hover{fill:rgba(0,0,0,.05)}
.playhead{stroke:#111;stroke-width:1.5}.voice .f0 polyline{fill:none;stroke:#3b82f6;stroke-width:1.6}.voice .energy polyline{fill:none;stroke:#9b59b6;stroke-width:1.2}
.voice-evidence{fill:rgba(59,130,246,.15)}.median{stroke:#3b82f6;stroke-dasharray:4 3;opacity:.6}
.legend .key{width:.8rem;height:.8rem;margin:0 .25rem 0 .6rem;vertical-align:-1px}
.transcript{font-size:1.05rem;background:#fafafa;padding:.6rem .8rem;border-radius:6px;white-space:pre-wrap}mark{border-radius:2px;padding:0 1px;color:inherit;cursor:pointer}mark.d1{background:rgba(242,157,56,.25)}mark.d2{background:rgba(242,157,56,.42)}mark.d3{background:rgba(242,157,56,.6)}mark.d4{background:rgba(242,157,56,.8)}mark.d5{background:rgba(242,157,56,1)}
.frames{display:flex;flex-wrap:wrap;gap:.7rem}.frame{margin:0;width:10rem;cursor:pointer}.frame img{width:100%;border-radius:4px;display:block}.frame figcaption{font-size:.8rem;color:var(--muted)}
.box{fill:#f7f7f9;stroke:#c9c9ce}.box.absent{fill:#fff;stroke-dasharray:4 3}.box.m-text{stroke:#f29d38}.box.m-audio{stroke:#3b82f6}.box.m-vision{stroke:#16a394}
.box.gate,.box.fused,.box.rule{fill:#eef2ff;stroke:#7b6fd6}.box.verdict{stroke-width:2}.s-positive.box{stroke:#2e9d5b}.s-negative.box{stroke:#d64545}
.box-text{font-size:12px;fill:#222}.arrow{stroke:#999;stroke-width:1.5}.arrowhead{fill:#999}
.faith b{font-variant-numeric:tabular-nums}.steps li{margin:.2rem 0}
fieldset{border:1px solid var(--line);border-radius:6px;display:inline-block;margin:.2rem .5rem .2rem 0}.comment{display:block;margin:.4rem 0}.comment textarea{display:block;width:100%;max-width:40rem;font:inherit}
table{border-collapse:collapse;margin:.4rem 1rem .8rem 0;display:inline-table;vertical-align:top}td{border-bottom:1px solid #eee;padding:.15rem .6rem;font-size:.9rem}
@media (max-width:48rem){.verdict-card{grid-template-columns:1fr}.ptrack{flex-basis:8rem}}
`;

/** Language switch, seeking the video from the timeline, the playhead and the rating form. */
const SCRIPT = `
(function(){
  var html=document.documentElement;
  try{var saved=sessionStorage.getItem('omniaffect.lang');if(saved==='en'||saved==='zh')html.lang=saved;}catch(e){}
  document.getElementById('lang-switch').addEventListener('click',function(){html.lang=html.lang==='zh'?'en':'zh';try{sessionStorage.setItem('omniaffect.lang',html.lang);}catch(e){}});
  var player=document.getElementById('player');
  function seek(t,el){
    document.querySelectorAll('.seg.active').forEach(function(s){s.classList.remove('active');});
    if(el&&el.classList)el.classList.add('active');
    document.body.setAttribute('data-seeked',String(t));
    if(player){player.currentTime=t;var p=player.play();if(p&&p.catch)p.catch(function(){});}
  }
  document.querySelectorAll('.seg').forEach(function(g){
    function go(){var i=g.getAttribute('data-i');document.querySelectorAll('.seg[data-i="'+i+'"]').forEach(function(x){x.classList.add('active');});seek(Number(g.getAttribute('data-start')),g);}
    g.addEventListener('click',go);g.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();go();}});
  });
  document.querySelectorAll('mark[data-start],.frame[data-start],.prosody-facts li[data-start]').forEach(function(m){m.addEventListener('click',function(){seek(Number(m.getAttribute('data-start')),null);});});
  if(player){player.addEventListener('timeupdate',function(){
    document.querySelectorAll('svg.timeline').forEach(function(svg){
      var d=Number(svg.getAttribute('data-duration')),l=Number(svg.getAttribute('data-left')),w=Number(svg.getAttribute('data-width')),ph=svg.querySelector('#playhead');
      if(!ph||!d)return;var x=l+Math.min(1,player.currentTime/d)*(w-l-10);ph.setAttribute('x1',x);ph.setAttribute('x2',x);ph.setAttribute('visibility','visible');
    });
  });}
  var form=document.getElementById('rating-form');
  if(form){
    var key=null;try{key=sessionStorage.getItem('omniaffect.apiKey');}catch(e){}
    if(!key){document.getElementById('rating-nokey').hidden=false;}
    form.addEventListener('submit',function(e){
      e.preventDefault();var st=document.getElementById('rating-status');
      if(!key){document.getElementById('rating-nokey').hidden=false;return;}
      var fd=new FormData(form);var body={clarity:Number(fd.get('clarity')),relevance:Number(fd.get('relevance'))};
      var c=String(fd.get('comment')||'').trim();if(c)body.comment=c;
      fetch('/v1/videos/'+encodeURIComponent(form.getAttribute('data-video'))+'/ratings',{method:'POST',headers:{'Authorization':'Bearer '+key,'Content-Type':'application/json'},body:JSON.stringify(body)})
        .then(function(r){return r.json().then(function(j){return {ok:r.ok,j:j};});})
        .then(function(x){if(x.ok){st.textContent=form.getAttribute('data-saved-'+html.lang);st.setAttribute('data-saved','true');}else{st.textContent=x.j.title+(x.j.detail?': '+x.j.detail:'');}})
        .catch(function(err){st.textContent=String(err);});
    });
  }
})();
`;

export function renderReport(r: AnalysisResult, o: ReportOptions): string {
  const body = [
    header(r),
    section('rationale', 'report.rationale', `<div class="rationale">${both((l) => rationale(r, l))}</div>`),
    timelineSection(r, o),
    transcriptSection(r),
    voiceSection(r),
    framesSection(r, o),
    contributionsSection(r),
    decisionSection(r),
    ratingSection(r, o),
    timingsSection(r),
  ].join('\n');
  return `${pageHead({ lang: o.lang, nonce: o.nonce, csp: reportCsp(o.nonce, o.exported), title: `${tr(o.lang, 'report.title')} · ${r.id}`, css: CSS })}
<body data-video-id="${esc(r.id)}">
${body}
<script nonce="${esc(o.nonce)}">${SCRIPT}</script>
</body>
</html>
`;
}
