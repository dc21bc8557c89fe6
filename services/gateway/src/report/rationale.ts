import type { AnalysisResult, AudioEvidence, Modality } from '@omniaffect/core';
import { esc, fmt, tr, type Lang } from './i18n';

/**
 * The short "why" of a report, in each language, composed only from the result's numbers and its
 * verified evidence: fixed templates filled with figures, never generated text. Nothing unverified is
 * presented as a reason.
 */

type Item = { modality: Modality; drop: number; html: (lang: Lang) => string };

/** "pitch 30 % above the speaker's median" for a voice stretch, when both are known. */
export function prosodyFact(lang: Lang, a: Pick<AudioEvidence, 'start' | 'end' | 'prosody'>, voice: AnalysisResult['voice']): string | null {
  const f = fmt(lang);
  const parts: string[] = [];
  if (voice?.medianF0Hz && a.prosody.f0MeanHz !== null) {
    const rel = a.prosody.f0MeanHz / voice.medianF0Hz - 1;
    if (Math.abs(rel) >= 0.05) {
      parts.push(
        lang === 'zh'
          ? `音高比说话人的中位数${rel > 0 ? '高' : '低'} ${f.pct(Math.abs(rel))}`
          : `pitch ${f.pct(Math.abs(rel))} ${rel > 0 ? 'above' : 'below'} the speaker’s median`,
      );
    }
  }
  if (voice?.medianEnergyDb !== null && voice?.medianEnergyDb !== undefined && a.prosody.energyDb !== null) {
    const d = a.prosody.energyDb - voice.medianEnergyDb;
    if (Math.abs(d) >= 2)
      parts.push(
        lang === 'zh' ? `能量${d > 0 ? '高' : '低'} ${f.num(Math.abs(d), 0)} dB` : `energy ${f.num(Math.abs(d), 0)} dB ${d > 0 ? 'above' : 'below'} it`,
      );
  }
  if (!parts.length) return null;
  const span = `${f.seconds(a.start)}–${f.seconds(a.end)}`;
  return lang === 'zh' ? `${span}：${parts.join('，')}` : `${parts.join(', ')} in ${span}`;
}

function verifiedItems(r: AnalysisResult): Item[] {
  const label = (lang: Lang) => tr(lang, `sentiment.${r.sentiment.label}`);
  const words: Item[] = r.evidence.words
    .filter((w) => w.verified)
    .map((w) => ({
      modality: 'text',
      drop: w.deletionDrop,
      html: (lang) => {
        const f = fmt(lang);
        return lang === 'zh'
          ? `去掉“${esc(w.text)}”（${f.seconds(w.start)}）后，“${esc(label(lang))}”的概率下降 ${f.num(w.deletionDrop, 2)}。`
          : `Masking “${esc(w.text)}” (${f.seconds(w.start)}) lowers P(${esc(label(lang))}) by ${f.num(w.deletionDrop, 2)}.`;
      },
    }));
  const voice: Item[] = r.evidence.audioSegments
    .filter((a) => a.verified)
    .map((a) => ({
      modality: 'audio',
      drop: a.deletionDrop,
      html: (lang) => {
        const f = fmt(lang);
        const fact = prosodyFact(lang, a, r.voice);
        return lang === 'zh'
          ? `去掉 ${f.seconds(a.start)}–${f.seconds(a.end)} 的语音后，“${esc(label(lang))}”的概率下降 ${f.num(a.deletionDrop, 2)}${fact ? `（${esc(fact)}）` : ''}。`
          : `Masking the voice in ${f.seconds(a.start)}–${f.seconds(a.end)} lowers P(${esc(label(lang))}) by ${f.num(a.deletionDrop, 2)}${fact ? ` (${esc(fact)})` : ''}.`;
      },
    }));
  const frames: Item[] = r.evidence.frames
    .filter((fr) => fr.verified)
    .map((fr) => ({
      modality: 'vision',
      drop: fr.deletionDrop,
      html: (lang) => {
        const f = fmt(lang);
        return lang === 'zh'
          ? `去掉 ${f.seconds(fr.time)} 处的画面后，“${esc(label(lang))}”的概率下降 ${f.num(fr.deletionDrop, 2)}。`
          : `Masking the frame at ${f.seconds(fr.time)} lowers P(${esc(label(lang))}) by ${f.num(fr.deletionDrop, 2)}.`;
      },
    }));
  return [...words, ...voice, ...frames].sort((a, b) => b.drop - a.drop);
}

/** The rationale as HTML sentences in one language. */
export function rationale(r: AnalysisResult, lang: Lang): string {
  const f = fmt(lang);
  const s = (k: string) => esc(tr(lang, `sentiment.${k}`));
  const e = (k: string) => esc(tr(lang, `emotion.${k}`));
  const out: string[] = [];
  const p = r.sentiment.probabilities[r.sentiment.label];
  const pe = r.emotion.probabilities[r.emotion.label];
  out.push(
    lang === 'zh'
      ? `整体判断为${s(r.sentiment.label)}（${f.pct(p)}），强度 ${f.num(r.sentiment.intensity, 2)}；表达的情绪为${e(r.emotion.label)}（${f.pct(pe)}）。`
      : `The video reads ${s(r.sentiment.label)} (${f.pct(p)}), intensity ${f.num(r.sentiment.intensity, 2)}; the expressed emotion reads ${e(r.emotion.label)} (${f.pct(pe)}).`,
  );
  if (r.timeline.length > 1) {
    const agree = r.timeline.filter((t) => t.sentiment.label === r.sentiment.label);
    const w = agree.reduce((a, t) => a + t.verdictWeight, 0);
    out.push(
      lang === 'zh'
        ? `视频分为 ${r.timeline.length} 个片段，其中 ${agree.length} 个判断为${s(r.sentiment.label)}，占结论权重的 ${f.pct(w)}（权重 = 时长 × 置信度）。`
        : `Of ${r.timeline.length} segments, ${agree.length} read ${s(r.sentiment.label)} and carry ${f.pct(w)} of the verdict (weight = duration × confidence).`,
    );
  }
  const present = (['text', 'audio', 'vision'] as const).filter((m) => r.modalities[m].present && r.modalities[m].contribution > 0);
  const top = [...present].sort((a, b) => r.modalities[b].contribution - r.modalities[a].contribution)[0];
  if (top) {
    const name = esc(tr(lang, `modality.${top}`));
    out.push(
      lang === 'zh'
        ? `${name}的权重最大（${f.pct(r.modalities[top].contribution)}）。`
        : `The ${name} weighed most (${f.pct(r.modalities[top].contribution)}).`,
    );
  }
  // a drop that rounds to nothing at two decimals is verified, but it is no reason worth stating
  const items = verifiedItems(r)
    .filter((i) => i.drop >= 0.01)
    .slice(0, 3);
  if (items.length) out.push(...items.map((i) => i.html(lang)));
  else
    out.push(
      lang === 'zh'
        ? '单独去掉任何一个词、一段语音或一帧画面都没有改变判断：结论依赖于各模态的整体。'
        : 'No single word, voice stretch or frame changed the reading when removed: it rests on the modalities together.',
    );
  const fa = r.faithfulness;
  if (fa.comprehensiveness !== null && fa.sufficiency !== null) {
    // A change is stated by its direction: sufficiency is negative when the evidence alone reads more
    // strongly than the whole ("falls by -0.24" would say the opposite of what happened).
    const change = (d: number) => {
      const v = Number(d.toFixed(2));
      if (v === 0) return lang === 'zh' ? '不变' : 'stays the same';
      const by = f.num(Math.abs(v), 2);
      return lang === 'zh' ? (v > 0 ? `下降 ${by}` : `反而上升 ${by}`) : v > 0 ? `falls by ${by}` : `rises by ${by}`;
    };
    out.push(
      lang === 'zh'
        ? `去掉全部已验证证据后概率${change(fa.comprehensiveness)}；只保留这些证据时${change(fa.sufficiency)}。`
        : `Without the verified evidence P(${s(r.sentiment.label)}) ${change(fa.comprehensiveness)}; with it alone it ${change(fa.sufficiency)}.`,
    );
  }
  return out.map((x) => `<p>${x}</p>`).join('');
}
