import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { EMOTION_LABELS, MODALITIES, SENTIMENT_LABELS, mulberry32, type FusionManifest, type Modality } from '@omniaffect/core';
import {
  GraphBuilder,
  ModelBuilder,
  REAL_ENCODER_DIMS,
  SIGLIP_TEXT_LENGTH,
  assertSessionContract,
  buildStandInPack,
  describeSession,
  checkSessionContract,
} from '@omniaffect/models';
import {
  EMOTION_SENTIMENT,
  SIGLIP_ASSUMED,
  ZERO_SHOT_TEXT_REASON,
  buildZeroShotFusion,
  emotionSentimentTable,
  headMappings,
  type ZeroShotResult,
} from '../src/index';

/**
 * The zero-shot fusion over stand-in encoders with the REAL widths (768 audio / vision / text), run
 * in onnxruntime-node exactly as services/fusion feeds it: row 0 the real input, then one row per
 * present modality with that modality removed (the deletion test).
 */
const D = REAL_ENCODER_DIMS;
type Present = Partial<Record<Modality, Float32Array[]>>;

function feedsFor(present: Present): { feeds: Record<string, ort.Tensor>; rows: (Modality | null)[] } {
  const dims: Record<Modality, number> = { text: D.text, audio: D.audio, vision: D.vision };
  const on = MODALITIES.filter((m) => present[m]?.length);
  const rows: (Modality | null)[] = [null, ...on];
  const B = rows.length;
  const feeds: Record<string, ort.Tensor> = {};
  for (const m of MODALITIES) {
    const items = present[m]?.length ? present[m]! : [new Float32Array(dims[m])];
    const L = items.length;
    const feat = new Float32Array(B * L * dims[m]);
    const mask = new Float32Array(B * L);
    for (let b = 0; b < B; b++) {
      items.forEach((it, i) => feat.set(it, (b * L + i) * dims[m]));
      if (on.includes(m) && rows[b] !== m) mask.fill(1, b * L, (b + 1) * L);
    }
    feeds[`${m}_features`] = new ort.Tensor('float32', feat, [B, L, dims[m]]);
    feeds[`${m}_mask`] = new ort.Tensor('float32', mask, [B, L]);
  }
  const mm = new Float32Array(B * 3);
  for (let b = 0; b < B; b++) MODALITIES.forEach((m, i) => (mm[b * 3 + i] = on.includes(m) && rows[b] !== m ? 1 : 0));
  feeds.modality_mask = new ort.Tensor('float32', mm, [B, 3]);
  return { feeds, rows };
}

const row = (t: ort.Tensor, b: number) => {
  const w = t.dims.slice(1).reduce((a, c) => a * c, 1);
  return Array.from((t.data as Float32Array).subarray(b * w, (b + 1) * w));
};
const softmax = (xs: number[]) => {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, c) => a + c, 0);
  return e.map((x) => x / s);
};
const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));
const noise = (seed: number, n: number, scale = 1) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
};

test('sentiment tables are balanced: an undecided emotion distribution reads uniform, a decided one keeps its valence', () => {
  const t = emotionSentimentTable();
  const of = (p: number[]) => {
    const raw = [0, 1, 2].map((c) => p.reduce((a, x, r) => a + x * t[r * 3 + c]!, 0));
    const z = raw.reduce((a, x) => a + x, 0);
    return raw.map((x) => x / z);
  };
  of(new Array(7).fill(1 / 7)).forEach((x) => assert.ok(Math.abs(x - 1 / 3) < 1e-6));
  for (const e of EMOTION_LABELS) {
    const p = EMOTION_LABELS.map((x) => (x === e ? 1 : 0));
    const s = of(p);
    const want = EMOTION_SENTIMENT[e];
    assert.equal(argmax(s), e === 'surprised' ? argmax(s) : argmax(want), e);
  }
  const nine = headMappings(['angry', 'disgusted', 'fearful', 'happy', 'neutral', 'other', 'sad', 'surprised', 'unknown']);
  const raw = [0, 1, 2].map((c) => [...Array(9).keys()].reduce((a, r) => a + nine.toSentiment[r * 3 + c]! / 9, 0));
  raw.forEach((x) => assert.ok(Math.abs(x - raw[0]!) < 1e-6, `uniform head → uniform sentiment ${raw}`));
});

describe('zero-shot fusion over real-dimension stand-ins', { timeout: 120_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'zero-shot-'));
  const modelDir = join(root, 'models');
  let built: ZeroShotResult;
  let session: ort.InferenceSession;
  let head: { weight: number[][]; bias: number[] };

  before(async () => {
    buildStandInPack(modelDir);
    built = await buildZeroShotFusion({ modelDir });
    session = await ort.InferenceSession.create(built.onnxPath);
    head = JSON.parse(readFileSync(join(modelDir, 'audio-emotion', 'head.json'), 'utf8')) as typeof head;
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test("fusion.json: zero-shot, the encoders' real dims, text weight 0 with its reason, assumed SigLIP constants", () => {
    type Prov = {
      kind: string;
      trained: boolean;
      modalityReasons: unknown;
      vision: { siglip: { assumed: boolean; logitScale: number }; prompts: { language: string; used: boolean; text: string }[] };
    };
    const m = JSON.parse(readFileSync(built.manifestPath, 'utf8')) as FusionManifest & { provenance: Prov };
    assert.deepEqual(m.dims, { text: 768, audio: 768, vision: 768 });
    assert.equal(m.provenance.kind, 'zero-shot');
    assert.equal(m.provenance.trained, false);
    assert.deepEqual(m.provenance.modalityReasons, { text: ZERO_SHOT_TEXT_REASON });
    assert.deepEqual(m.sentimentLabels, SENTIMENT_LABELS);
    assert.deepEqual(m.emotionLabels, EMOTION_LABELS);
    assert.equal(m.provenance.vision.siglip.assumed, true);
    assert.equal(m.provenance.vision.siglip.logitScale, SIGLIP_ASSUMED.logitScale);
    const prompts = m.provenance.vision.prompts;
    assert.equal(prompts.length, 28);
    assert.ok(prompts.some((p) => p.language === 'zh' && p.used && p.text.includes('快乐')));
    assert.ok(prompts.some((p) => p.text === 'a photo of an angry face'));
  });

  test("passes the fusion service's load-time contract check (assertSessionContract)", () => {
    assertSessionContract('fusion', session, 'fusion.onnx');
    const rows = checkSessionContract('fusion', describeSession(session), 'fusion.onnx');
    assert.ok(rows.length >= 15 && rows.every((r) => r.ok), JSON.stringify(rows.filter((r) => !r.ok)));
  });

  test('an audio embedding the head calls angry gives angry / negative, the table mapping exactly, text weight 0', async () => {
    // Along the head's angry row, away from its happy row: the head itself must say angry (checked here).
    const angry = head.weight[0]!;
    const n2 = angry.reduce((a, x) => a + x * x, 0);
    const e = Float32Array.from(angry, (x) => (2 * x) / n2);
    const logits = head.weight.map((w, r) => head.bias[r]! + w.reduce((a, x, d) => a + x * e[d]!, 0));
    assert.equal(argmax(logits), 0, `head logits ${logits}`);
    const text = [noise(1, D.text), noise(2, D.text)];
    const { feeds, rows } = feedsFor({ audio: [e, e, e], text });
    const out = await session.run(feeds);
    const emo = softmax(row(out.emotion_logits!, 0));
    const sent = softmax(row(out.sentiment_logits!, 0));
    assert.equal(EMOTION_LABELS[argmax(emo)], 'angry');
    assert.equal(SENTIMENT_LABELS[argmax(sent)], 'negative');
    // exactly the head's softmax pushed through the documented 9→7 and 9→3 tables
    const p9 = softmax(logits);
    const maps = headMappings(['angry', 'disgusted', 'fearful', 'happy', 'neutral', 'other', 'sad', 'surprised', 'unknown']);
    const want7 = EMOTION_LABELS.map((_, k) => p9.reduce((a, p, r) => a + p * maps.toEmotion[r * 7 + k]!, 0));
    want7.forEach((w, k) => assert.ok(Math.abs(emo[k]! - w) < 1e-4, `${EMOTION_LABELS[k]}: ${emo[k]} vs ${w}`));
    const raw3 = [0, 1, 2].map((c) => p9.reduce((a, p, r) => a + p * maps.toSentiment[r * 3 + c]!, 0));
    const want3 = raw3.map((x) => x / raw3.reduce((a, y) => a + y, 0));
    want3.forEach((w3, c) => assert.ok(Math.abs(sent[c]! - w3) < 1e-4, `${SENTIMENT_LABELS[c]}: ${sent[c]} vs ${w3}`));
    const w = row(out.modality_weights!, 0);
    assert.deepEqual(w, [0, 1, 0]);
    assert.ok(Math.abs(row(out.intensity!, 0)[0]! - (sent[2]! - sent[0]!)) < 1e-5);
    // deletion row for text: identical outputs (text has no say); importances are distributions
    const textRow = rows.indexOf('text');
    assert.deepEqual(row(out.sentiment_logits!, textRow), row(out.sentiment_logits!, 0));
    const ti = row(out.text_importance!, 0);
    assert.ok(
      ti.every((x) => Math.abs(x - 0.5) < 1e-6),
      `uniform text importance ${ti}`,
    );
    const ai = row(out.audio_importance!, 0);
    assert.ok(Math.abs(ai.reduce((a, x) => a + x, 0) - 1) < 1e-5);
  });

  test('an image embedding equal to a "happy" prompt embedding gives happy / positive; that frame outweighs a noise frame', async () => {
    // The prompt embedded independently of the builder: the library tokenizer and the text tower.
    const { Tokenizer } = (await import('@huggingface/tokenizers')) as unknown as {
      Tokenizer: new (j: object, c: object) => { encode(t: string): { ids: number[] } };
    };
    const tok = new Tokenizer(JSON.parse(readFileSync(join(modelDir, 'vision', 'tokenizer.json'), 'utf8')) as object, {});
    const ids = new BigInt64Array(SIGLIP_TEXT_LENGTH); // pad id 0 (<pad>) in the stand-in's tokenizer_config
    tok.encode('a photo of a happy face').ids.forEach((id, i) => (ids[i] = BigInt(id)));
    const tower = await ort.InferenceSession.create(join(modelDir, 'vision', 'onnx', 'text_model.onnx'));
    const happy = (await tower.run({ input_ids: new ort.Tensor('int64', ids, [1, SIGLIP_TEXT_LENGTH]) }, ['pooler_output'])).pooler_output!
      .data as Float32Array;
    const { feeds } = feedsFor({ vision: [happy, noise(3, D.vision)] });
    const out = await session.run(feeds);
    const emo = softmax(row(out.emotion_logits!, 0));
    assert.equal(EMOTION_LABELS[argmax(emo)], 'happy', `emotion ${emo.map((p) => p.toFixed(3))}`);
    assert.equal(SENTIMENT_LABELS[argmax(softmax(row(out.sentiment_logits!, 0)))], 'positive');
    const vi = row(out.vision_importance!, 0);
    assert.ok(vi[0]! > vi[1]!, `frame weights ${vi}`);
    assert.deepEqual(row(out.modality_weights!, 0), [0, 0, 1]);
  });

  test('audio and vision together: the output is exactly the weighted mix of the single-modality rows; deletion drops follow', async () => {
    const e = Float32Array.from(head.weight[0]!, (x) => x * 0.05);
    const { feeds, rows } = feedsFor({ text: [noise(4, D.text)], audio: [e, e], vision: [noise(5, D.vision), noise(6, D.vision)] });
    const out = await session.run(feeds);
    const w = row(out.modality_weights!, 0);
    assert.equal(w[0], 0);
    assert.ok(w[1]! > 0 && w[2]! > 0 && Math.abs(w[1]! + w[2]! - 1) < 1e-6, `weights ${w}`);
    const onlyAudio = softmax(row(out.emotion_logits!, rows.indexOf('vision')));
    const onlyVision = softmax(row(out.emotion_logits!, rows.indexOf('audio')));
    const fused = softmax(row(out.emotion_logits!, 0));
    fused.forEach((p, k) => assert.ok(Math.abs(p - (w[1]! * onlyAudio[k]! + w[2]! * onlyVision[k]!)) < 1e-5, `${EMOTION_LABELS[k]}`));
    for (const name of Object.keys(out)) assert.ok((out[name]!.data as Float32Array).every(Number.isFinite), `${name} finite`);
  });

  test('text only: every weight 0 and the outputs say neutral (nothing to go on), not the first label', async () => {
    const { feeds } = feedsFor({ text: [noise(7, D.text)] });
    const out = await session.run(feeds);
    assert.deepEqual(row(out.modality_weights!, 0), [0, 0, 0]);
    assert.equal(SENTIMENT_LABELS[argmax(row(out.sentiment_logits!, 0))], 'neutral');
    assert.equal(EMOTION_LABELS[argmax(row(out.emotion_logits!, 0))], 'neutral');
  });

  test('no emotion2vec head: refuses with what to do', async () => {
    const dir = join(root, 'no-head');
    cpSync(modelDir, dir, { recursive: true });
    unlinkSync(join(dir, 'audio-emotion', 'head.json'));
    await assert.rejects(buildZeroShotFusion({ modelDir: dir }), /9-class head: .*head\.json .*missing.*models pull --pack standard/s);
  });

  test('prompts the tokenizer cannot read are dropped and named; a trained fusion is not overwritten without --force', async () => {
    const dir = join(root, 'en-only');
    cpSync(modelDir, dir, { recursive: true });
    const tf = join(dir, 'vision', 'tokenizer.json');
    const tj = JSON.parse(readFileSync(tf, 'utf8')) as { model: { vocab: [string, number][] } };
    // An English-only vocabulary (like base SigLIP's): CJK pieces become <unk>, kept in place so ids do not move.
    tj.model.vocab = tj.model.vocab.map(([p, s]) => (/[\u4e00-\u9fff]/.test(p) ? [`<cjk-removed-${p.codePointAt(0)}>`, s] : [p, s]));
    writeFileSync(tf, JSON.stringify(tj));
    const r = await buildZeroShotFusion({ modelDir: dir, logitScale: 50, logitBias: -5 });
    const zh = r.prompts.filter((p) => p.language === 'zh');
    assert.ok(zh.length === 14 && zh.every((p) => !p.used && /<unk>/.test(p.note ?? '')));
    assert.ok(r.prompts.filter((p) => p.language === 'en').every((p) => p.used));
    assert.deepEqual({ s: r.siglip.logitScale, b: r.siglip.logitBias, assumed: r.siglip.assumed }, { s: 50, b: -5, assumed: false });
    const mf = join(dir, 'fusion', 'fusion.json');
    const m = JSON.parse(readFileSync(mf, 'utf8')) as FusionManifest;
    writeFileSync(mf, JSON.stringify({ ...m, name: 'trained', provenance: { kind: 'trained-policy' } }));
    await assert.rejects(buildZeroShotFusion({ modelDir: dir }), /trained-policy model .*--force/);
    await buildZeroShotFusion({ modelDir: dir, force: true });
  });

  test('logit_scale / logit_bias are read from a full onnx/model.onnx (exp applied where the graph applies it)', async () => {
    const dir = join(root, 'full-model');
    cpSync(modelDir, dir, { recursive: true });
    const g = new GraphBuilder('siglip_full_stand_in');
    const x = g.input('x', 'float32', [1]);
    g.initFloat([Math.log(110)], [1], 'logit_scale');
    g.initFloat([-11], [1], 'logit_bias');
    g.op('Add', [g.op('Mul', [x, g.op('Exp', ['logit_scale'])]), 'logit_bias'], {}, 'y');
    g.output('y', 'float32', [1]);
    new ModelBuilder(g).save(join(dir, 'vision', 'onnx', 'model.onnx'));
    const r = await buildZeroShotFusion({ modelDir: dir, logitScale: 1, logitBias: 0 });
    assert.ok(Math.abs(r.siglip.logitScale - 110) < 1e-3, String(r.siglip.logitScale));
    assert.ok(Math.abs(r.siglip.logitBias + 11) < 1e-6);
    assert.equal(r.siglip.assumed, false);
    assert.match(r.siglip.source, /onnx\/model\.onnx \(logit_scale, exp applied, logit_bias\)/);
  });
});
