/**
 * The report's and the console's words in English and Chinese. Pages carry both: every translatable
 * piece is a pair of spans (`bi`), and the page's `<html lang>` decides which one shows (CSS), so the
 * language switch needs no round trip and works in an exported file opened with no server.
 */
export const LANGS = ['en', 'zh'] as const;
export type Lang = (typeof LANGS)[number];

type Dict = Record<string, string>;

const EN: Dict = {
  'report.title': 'OmniAffect report',
  'report.video': 'Video',
  'report.language': 'Language',
  'report.duration': 'Duration',
  'report.verdict': 'Verdict',
  'report.sentiment': 'Sentiment',
  'report.emotion': 'Expressed emotion',
  'report.intensity': 'Intensity',
  'report.models': 'Models',
  'report.disclaimer.title': 'Perceived, not felt',
  'report.standIn': 'Tiny stand-in models: not a real prediction.',
  'report.standIn.more':
    'The models behind this report are generated test stand-ins; the labels and weights below show the pipeline working, not what the video expresses.',
  'report.zeroShot': 'Zero-shot fusion: the voice and face are read by the encoders’ own heads, not by a trained policy; text is present but not weighed.',
  'report.timeline': 'Emotion timeline',
  'report.timeline.help':
    'One bar per segment, coloured by its sentiment, as tall as its confidence; below it, how much each modality weighed in that segment, and the verified evidence. Click a segment to play it.',
  'report.timeline.segments': '{n} segments',
  'report.timeline.oneSegment': 'One segment.',
  'report.video.none': 'The video is not shown: {why}.',
  'report.video.exported': 'exported reports do not embed media',
  'report.video.erased': 'the media is no longer retained',
  'report.video.audio': 'the media has no video stream',
  'report.rationale': 'Why',
  'report.transcript': 'Transcript',
  'report.transcript.none': 'No speech was transcribed.',
  'report.transcript.help':
    'Highlighted: words whose removal lowered the predicted sentiment’s probability when the model was run again (darker = larger drop).',
  'report.voice': 'Voice',
  'report.voice.none': 'No voice was analysed.',
  'report.voice.help': 'Pitch (F0) and energy over the track; the verified voice evidence is marked.',
  'report.voice.pitch': 'pitch (Hz)',
  'report.voice.energy': 'energy (dBFS)',
  'report.frames': 'Key frames',
  'report.frames.none': 'No frames are shown: {why}.',
  'report.frames.erased': 'frames are no longer retained',
  'report.frames.novideo': 'the media has no video stream',
  'report.frames.noverified': 'no frame was verified as evidence',
  'report.contributions': 'Modality contributions',
  'report.decision': 'Decision path',
  'report.decision.diagram': 'How the numbers flowed',
  'report.decision.steps': 'Steps',
  'report.faithfulness': 'Faithfulness of the evidence',
  'report.faithfulness.help':
    'Comprehensiveness: how far the predicted probability falls without the verified evidence (higher is better). Sufficiency: how far it falls with only that evidence (lower is better).',
  'report.comprehensiveness': 'comprehensiveness',
  'report.sufficiency': 'sufficiency',
  'report.rating': 'Rate this explanation',
  'report.rating.clarity': 'Clarity',
  'report.rating.relevance': 'Relevance',
  'report.rating.comment': 'Comment (optional)',
  'report.rating.submit': 'Save rating',
  'report.rating.saved': 'Saved. Thank you.',
  'report.rating.offline': 'Ratings are saved from the console (an exported report has no API key).',
  'report.timings': 'Models and timings',
  'report.switch': '中文',
  absent: 'absent',
  present: 'present',
  verified: 'verified',
  notVerified: 'not verified',
  weight: 'attention',
  drop: 'deletion drop',
  segment: 'segment',
  seconds: 's',
  'modality.text': 'text',
  'modality.audio': 'voice',
  'modality.vision': 'face',
  'sentiment.negative': 'negative',
  'sentiment.neutral': 'neutral',
  'sentiment.positive': 'positive',
  'emotion.happy': 'happy',
  'emotion.sad': 'sad',
  'emotion.angry': 'angry',
  'emotion.fearful': 'fearful',
  'emotion.disgusted': 'disgusted',
  'emotion.surprised': 'surprised',
  'emotion.neutral': 'neutral',
  'stage.media': 'media',
  'stage.asr': 'speech recognition',
  'stage.audio-emotion': 'voice',
  'stage.vision': 'face',
  'stage.text': 'text',
  'stage.fusion': 'fusion',
  'diagram.gate': 'gate',
  'diagram.fused': 'fused reading',
  'diagram.rule': 'timeline rule',
  'diagram.removed': 'without it: {change}',
};

const ZH: Dict = {
  'report.title': 'OmniAffect 分析报告',
  'report.video': '视频',
  'report.language': '语言',
  'report.duration': '时长',
  'report.verdict': '结论',
  'report.sentiment': '情感倾向',
  'report.emotion': '表达的情绪',
  'report.intensity': '强度',
  'report.models': '模型',
  'report.disclaimer.title': '感知到的表达，而非真实感受',
  'report.standIn': '测试替身模型：并非真实预测。',
  'report.standIn.more': '本报告背后是自动生成的测试替身模型；下面的标签和权重只说明流水线在工作，并不代表视频的真实表达。',
  'report.zeroShot': '零样本融合：语音和面部由编码器自带的分类头判断，而非训练过的策略；文字存在但不计权重。',
  'report.timeline': '情绪时间线',
  'report.timeline.help': '每个片段一条柱：颜色表示情感倾向，高度表示置信度；下方是各模态在该片段中的权重以及经过验证的证据。点击片段即可播放。',
  'report.timeline.segments': '{n} 个片段',
  'report.timeline.oneSegment': '共 1 个片段。',
  'report.video.none': '未显示视频：{why}。',
  'report.video.exported': '导出的报告不嵌入媒体文件',
  'report.video.erased': '媒体文件已不再保留',
  'report.video.audio': '媒体没有视频流',
  'report.rationale': '理由',
  'report.transcript': '转写文本',
  'report.transcript.none': '没有转写出语音。',
  'report.transcript.help': '高亮：重新运行模型时，去掉这些词会使预测情感的概率下降（颜色越深，下降越多）。',
  'report.voice': '语音',
  'report.voice.none': '未分析语音。',
  'report.voice.help': '整段音轨的音高（F0）和能量；已验证的语音证据已标出。',
  'report.voice.pitch': '音高（Hz）',
  'report.voice.energy': '能量（dBFS）',
  'report.frames': '关键帧',
  'report.frames.none': '未显示画面：{why}。',
  'report.frames.erased': '画面帧已不再保留',
  'report.frames.novideo': '媒体没有视频流',
  'report.frames.noverified': '没有画面被验证为证据',
  'report.contributions': '各模态贡献',
  'report.decision': '决策路径',
  'report.decision.diagram': '数字如何一步步得出',
  'report.decision.steps': '步骤',
  'report.faithfulness': '证据的忠实度',
  'report.faithfulness.help': '全面性：去掉已验证的证据后，预测概率下降多少（越高越好）。充分性：只保留这些证据时，概率下降多少（越低越好）。',
  'report.comprehensiveness': '全面性',
  'report.sufficiency': '充分性',
  'report.rating': '为这份解释打分',
  'report.rating.clarity': '清晰度',
  'report.rating.relevance': '相关性',
  'report.rating.comment': '评论（可选）',
  'report.rating.submit': '保存评分',
  'report.rating.saved': '已保存，谢谢。',
  'report.rating.offline': '请在控制台中评分（导出的报告不含 API 密钥）。',
  'report.timings': '模型与耗时',
  'report.switch': 'English',
  absent: '缺失',
  present: '存在',
  verified: '已验证',
  notVerified: '未验证',
  weight: '注意力',
  drop: '删除后下降',
  segment: '片段',
  seconds: '秒',
  'modality.text': '文字',
  'modality.audio': '语音',
  'modality.vision': '面部',
  'sentiment.negative': '消极',
  'sentiment.neutral': '中性',
  'sentiment.positive': '积极',
  'emotion.happy': '开心',
  'emotion.sad': '难过',
  'emotion.angry': '生气',
  'emotion.fearful': '害怕',
  'emotion.disgusted': '厌恶',
  'emotion.surprised': '惊讶',
  'emotion.neutral': '平静',
  'stage.media': '媒体',
  'stage.asr': '语音识别',
  'stage.audio-emotion': '语音',
  'stage.vision': '面部',
  'stage.text': '文字',
  'stage.fusion': '融合',
  'diagram.gate': '门控',
  'diagram.fused': '融合结果',
  'diagram.rule': '时间线规则',
  'diagram.removed': '去掉后：{change}',
};

export const DICTIONARIES: Record<Lang, Dict> = { en: EN, zh: ZH };

/** One language's text for `key`, with `{name}` placeholders filled. Unknown keys are a bug: they throw. */
export function tr(lang: Lang, key: string, params: Record<string, string | number> = {}): string {
  const template = DICTIONARIES[lang][key];
  if (template === undefined) throw new Error(`no ${lang} text for "${key}"`);
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => String(params[name] ?? `{${name}}`));
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (value: unknown): string => String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** Both languages as a pair of spans; the page's lang shows one (see BI_CSS). Params are escaped. */
export function bi(key: string, params: Record<string, string | number> = {}): string {
  return both((lang) => esc(tr(lang, key, params)));
}

/** A pair of spans from already-escaped HTML per language (for composed sentences). */
export function both(html: (lang: Lang) => string): string {
  return LANGS.map((l) => `<span lang="${l}" data-l="${l}">${html(l)}</span>`).join('');
}

/** Shows the spans of the page's language and hides the other. */
export const BI_CSS = `html[lang=en] [data-l=zh],html[lang=zh] [data-l=en]{display:none}`;

/**
 * The language the reader asked for: `?lang=` wins, then Accept-Language by q-value (zh-CN, zh-TW,
 * en-GB … map to their base language), else English.
 */
export function pickLanguage(acceptLanguage: string | undefined, query?: unknown): Lang {
  if (query === 'zh' || query === 'en') return query;
  const ranked = String(acceptLanguage ?? '')
    .split(',')
    .map((part, i) => {
      const [tag, ...opts] = part.trim().split(';');
      const q = opts.map((o) => /^\s*q=([0-9.]+)\s*$/.exec(o)).find(Boolean);
      return { base: (tag ?? '').trim().toLowerCase().split('-')[0]!, q: q ? Number(q[1]) : 1, i };
    })
    .filter((x) => x.base && Number.isFinite(x.q) && x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  const hit = ranked.find((x) => x.base === 'zh' || x.base === 'en');
  return (hit?.base as Lang | undefined) ?? 'en';
}

/** Seconds as m:ss.s (h:mm:ss.s from an hour). */
function fmtTime(t: number): string {
  const s = Math.max(0, t);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = (s % 60).toFixed(1).padStart(4, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Locale-formatted numbers and times. */
export function fmt(lang: Lang) {
  const locale = lang === 'zh' ? 'zh-CN' : 'en-GB';
  const n = (digits: number) => new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return {
    num: (v: number | null | undefined, digits = 2) => (typeof v === 'number' && Number.isFinite(v) ? n(digits).format(v) : '–'),
    pct: (v: number | null | undefined, digits = 0) =>
      typeof v === 'number' && Number.isFinite(v)
        ? new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: digits, minimumFractionDigits: digits }).format(v)
        : '–',
    time: fmtTime,
    /** short times in seconds ("12.5 s"), from a minute on as a clock ("1:02:03.5") */
    seconds: (t: number) => (t >= 60 ? fmtTime(t) : `${n(1).format(t)}${lang === 'zh' ? ' 秒' : ' s'}`),
  };
}
