import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as ort from 'onnxruntime-node';
import { BertTokenizer, parseVocabTxt } from '@omniaffect/features';
import { CONTRACTS, EMOTION2VEC_TOKENS, TINY_PACK_DIRS, buildTinyPack, describeSession, verifyModelDir, type ModelDirKind } from '../src';

let dir: string;
before(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'tiny-pack-')), 'pack');
  buildTinyPack(dir);
});

const open = (p: string) => ort.InferenceSession.create(join(dir, p));
const f32 = (data: Float32Array | number[], dims: number[]) => new ort.Tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data), dims);
const i64 = (data: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(data.map(BigInt)), dims);

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

test('every tiny model directory passes verifyModelDir', async () => {
  const dirs: [ModelDirKind, string][] = [
    ['asr', TINY_PACK_DIRS.asr],
    ['audio-emotion', TINY_PACK_DIRS.audioEmotion],
    ['vision', TINY_PACK_DIRS.vision],
    ['text', TINY_PACK_DIRS.textEn],
    ['text', TINY_PACK_DIRS.textZh],
    ['fusion', TINY_PACK_DIRS.fusion],
  ];
  for (const [kind, sub] of dirs) {
    const r = await verifyModelDir(kind, join(dir, sub));
    assert.equal(
      r.ok,
      true,
      `${sub}: ${r.rows
        .filter((x) => !x.ok)
        .map((x) => `${x.file} ${x.tensor}: ${x.reason}`)
        .join('; ')}`,
    );
  }
});

test('the pack is byte-for-byte deterministic and describes itself in tiny-pack.json', () => {
  const again = join(mkdtempSync(join(tmpdir(), 'tiny-pack2-')), 'pack');
  buildTinyPack(again);
  const files = listFiles(dir);
  assert.deepEqual(listFiles(again), files);
  for (const f of files) assert.ok(readFileSync(join(dir, f)).equals(readFileSync(join(again, f))), `${f} differs between builds`);
  const desc = JSON.parse(readFileSync(join(dir, 'tiny-pack.json'), 'utf8')) as { models: Record<string, unknown>; dirs: Record<string, string> };
  assert.deepEqual(Object.keys(desc.models).sort(), ['asr', 'audio-emotion', 'fusion', 'text-en', 'text-zh', 'vision']);
  assert.deepEqual(desc.dirs, TINY_PACK_DIRS);
});

test('exact public names, dtypes and ranks', async () => {
  const enc = describeSession(await open('asr/onnx/encoder_model.onnx'));
  assert.deepEqual(enc.inputs, [{ name: 'input_features', type: 'float32', shape: ['batch_size', 128, 3000] }]);
  assert.deepEqual(enc.outputs, [{ name: 'last_hidden_state', type: 'float32', shape: ['batch_size', 1500, 8] }]);
  const dec = describeSession(await open('asr/onnx/decoder_model_merged.onnx'));
  assert.equal(dec.inputs.length, 2 + 2 * 4 + 1);
  assert.equal(dec.outputs.length, 1 + 2 * 4);
  assert.deepEqual(
    dec.inputs.find((m) => m.name === 'use_cache_branch'),
    { name: 'use_cache_branch', type: 'bool', shape: [1] },
  );
  assert.deepEqual(dec.outputs[0], { name: 'logits', type: 'float32', shape: ['batch_size', 'decoder_sequence_length', 51866] });
  const audio = describeSession(await open('audio-emotion/model.onnx'));
  assert.deepEqual(audio.inputs, [{ name: 'input', type: 'float32', shape: ['batch_size', 'sequence_length'] }]);
  assert.deepEqual(audio.outputs, [{ name: 'output', type: 'float32', shape: ['batch_size', 'frames', 32] }]);
  const vision = describeSession(await open('vision/onnx/vision_model.onnx'));
  assert.deepEqual(vision.inputs, [{ name: 'pixel_values', type: 'float32', shape: ['batch_size', 3, 224, 224] }]);
  assert.deepEqual(vision.outputs.map((m) => [m.name, m.shape.length]).sort(), [
    ['last_hidden_state', 3],
    ['pooler_output', 2],
  ]);
  const en = describeSession(await open('text-en/onnx/model.onnx'));
  assert.deepEqual(en.inputs.map((m) => `${m.name}:${m.type}:${m.shape.length}`).sort(), [
    'attention_mask:int64:2',
    'input_ids:int64:2',
    'token_type_ids:int64:2',
  ]);
  assert.deepEqual(en.outputs, [{ name: 'last_hidden_state', type: 'float32', shape: ['batch_size', 'sequence_length', 32] }]);
  // The fusion contract written out independently of FUSION_INPUTS / FUSION_OUTPUTS (the builder, the
  // policy exporter and the loader's check are all derived from those, so comparing with them proves
  // nothing). Source: docs/model-contracts.md §6 (the fusion policy): per-modality sequences and masks → sentiment
  // logits, emotion logits, intensity, modality weights, per-item importances, plus the value head; the
  // label sets are fixed (3 sentiments, 7 emotions, 3 modalities [text, audio, vision]). 'D' is an
  // encoder width: free in the contract, 32 in the tiny pack.
  const inputs: [string, (number | string)[]][] = [
    ['text_features', ['batch', 'text_len', 'D']],
    ['text_mask', ['batch', 'text_len']],
    ['audio_features', ['batch', 'audio_len', 'D']],
    ['audio_mask', ['batch', 'audio_len']],
    ['vision_features', ['batch', 'vision_len', 'D']],
    ['vision_mask', ['batch', 'vision_len']],
    ['modality_mask', ['batch', 3]],
  ];
  const outputs: [string, (number | string)[]][] = [
    ['sentiment_logits', ['batch', 3]],
    ['emotion_logits', ['batch', 7]],
    ['intensity', ['batch']],
    ['modality_weights', ['batch', 3]],
    ['text_importance', ['batch', 'text_len']],
    ['audio_importance', ['batch', 'audio_len']],
    ['vision_importance', ['batch', 'vision_len']],
    ['value', ['batch']],
  ];
  const inTinyPack = (rows: typeof inputs) => rows.map(([name, shape]) => ({ name, type: 'float32', shape: shape.map((d) => (d === 'D' ? 32 : d)) }));
  const asChecked = (rows: typeof inputs) =>
    rows.map(([name, shape]) => ({
      name,
      type: 'float32',
      rank: shape.length,
      fixed: Object.fromEntries(shape.flatMap((d, i) => (typeof d === 'number' ? [[String(i), d]] : []))),
    }));
  const fusion = describeSession(await open('fusion/fusion.onnx'));
  assert.deepEqual(fusion.inputs, inTinyPack(inputs));
  assert.deepEqual(fusion.outputs, inTinyPack(outputs));
  // ...and what the fusion service checks a loaded model against is the same table.
  const checked = (rows: typeof CONTRACTS.fusion.inputs) => rows.map(({ name, type, rank, fixed }) => ({ name, type, rank, fixed }));
  assert.deepEqual(checked(CONTRACTS.fusion.inputs), asChecked(inputs));
  assert.deepEqual(checked(CONTRACTS.fusion.outputs), asChecked(outputs));
});

test('text-zh lists no token_type_ids (XLM-R-like input list)', async () => {
  const s = await open('text-zh/onnx/model.onnx');
  assert.deepEqual([...s.inputNames].sort(), ['attention_mask', 'input_ids']);
});

test('emotion2vec stand-in follows the conv frame formula', async () => {
  const s = await open('audio-emotion/model.onnx');
  for (const [n, frames] of [
    [16000, 49],
    [32000, 99],
    [48000, 149],
    [400, 1],
  ] as const) {
    const x = new Float32Array(n).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 220 * i) / 16000));
    const r = await s.run({ input: f32(x, [1, n]) });
    assert.deepEqual(r.output!.dims, [1, frames, 32], `${n} samples`);
  }
});

test('emotion head: loud → angry, quiet high pitch → happy, quiet low pitch → sad', async () => {
  const s = await open('audio-emotion/model.onnx');
  const head = JSON.parse(readFileSync(join(dir, 'audio-emotion/head.json'), 'utf8')) as { weight: number[][]; bias: number[] };
  const labels = readFileSync(join(dir, 'audio-emotion/tokens.txt'), 'utf8').trim().split('\n');
  assert.deepEqual(labels, EMOTION2VEC_TOKENS);
  const classify = async (amp: number, hz: number) => {
    const n = 32000;
    const x = new Float32Array(n).map((_, i) => amp * Math.sin((2 * Math.PI * hz * i) / 16000));
    const out = (await s.run({ input: f32(x, [1, n]) })).output!;
    const [, T, D] = out.dims as number[];
    const mean = new Array<number>(D!).fill(0);
    const d = out.data as Float32Array;
    for (let t = 0; t < T!; t++) for (let c = 0; c < D!; c++) mean[c]! += d[t * D! + c]! / T!;
    const logits = head.weight.map((w, k) => w.reduce((acc, v, c) => acc + v * mean[c]!, head.bias[k]!));
    return labels[logits.indexOf(Math.max(...logits))];
  };
  assert.equal(await classify(0.8, 150), '生气/angry');
  assert.equal(await classify(0.1, 300), '开心/happy');
  assert.equal(await classify(0.1, 120), '难过/sad');
  assert.equal(await classify(0.32, 200), '中立/neutral');
});

test('emotion2vec stand-in normalises in graph: scaling the waveform leaves the pitch channel unchanged', async () => {
  const s = await open('audio-emotion/model.onnx');
  const x = new Float32Array(16000).map((_, i) => 0.2 * Math.sin((2 * Math.PI * 260 * i) / 16000));
  const a = (await s.run({ input: f32(x, [1, 16000]) })).output!.data as Float32Array;
  const b = (
    await s.run({
      input: f32(
        x.map((v) => v * 3),
        [1, 16000],
      ),
    })
  ).output!.data as Float32Array;
  assert.ok(Math.abs(a[0]! - b[0]!) < 1e-4, 'pitch channel depends on scale');
  assert.ok(b[1]! > a[1]! + 0.1, 'loudness channel does not follow the raw level');
});

test('vision pooler carries mean colour: red ≠ blue, identical frames → identical output', async () => {
  const s = await open('vision/onnx/vision_model.onnx');
  const frame = (rgb: [number, number, number]) => {
    const x = new Float32Array(3 * 224 * 224);
    for (let c = 0; c < 3; c++) x.fill(rgb[c]!, c * 224 * 224, (c + 1) * 224 * 224);
    return x;
  };
  const run = async (x: Float32Array) => (await s.run({ pixel_values: f32(x, [1, 3, 224, 224]) })).pooler_output!.data as Float32Array;
  const red = await run(frame([1, -1, -1]));
  const red2 = await run(frame([1, -1, -1]));
  const blue = await run(frame([-1, -1, 1]));
  assert.deepEqual([...red], [...red2]);
  assert.ok(red[0]! > 0.9 && blue[0]! < -0.9);
  assert.ok(blue[2]! > 0.9 && red[2]! < -0.9);
  const both = await s.run({ pixel_values: f32(new Float32Array([...frame([1, -1, -1]), ...frame([-1, -1, 1])]), [2, 3, 224, 224]) });
  assert.deepEqual(both.last_hidden_state!.dims, [2, 196, 32]);
  const patches = both.last_hidden_state!.data as Float32Array;
  assert.ok(Math.abs(patches[0]! - red[0]!) < 1e-6); // uniform frame: every patch equals the pooler
});

test('text encoders plant polarity on channel 0 (tokenised with the generated vocab)', async () => {
  for (const [sub, pos, neg, lowercase] of [
    ['text-en', 'I love this WONDERFUL day', 'this was a terrible, awful meeting', true],
    ['text-zh', '我今天很开心', '我很难过，讨厌', false],
  ] as const) {
    const s = await open(`${sub}/onnx/model.onnx`);
    const tok = new BertTokenizer(parseVocabTxt(readFileSync(join(dir, sub, 'vocab.txt'), 'utf8')), { lowercase });
    const polarity = async (text: string) => {
      const ids = tok.encode(text)[0]!.ids;
      assert.ok(!ids.includes(100), `${sub}: "${text}" hits [UNK]`);
      const feeds: Record<string, ort.Tensor> = {
        input_ids: i64(ids, [1, ids.length]),
        attention_mask: i64(
          ids.map(() => 1),
          [1, ids.length],
        ),
      };
      if (s.inputNames.includes('token_type_ids'))
        feeds.token_type_ids = i64(
          ids.map(() => 0),
          [1, ids.length],
        );
      const h = (await s.run(feeds)).last_hidden_state!.data as Float32Array;
      let sum = 0;
      for (let t = 0; t < ids.length; t++) sum += h[t * 32]!;
      return sum / ids.length;
    };
    assert.ok((await polarity(pos)) > 0.1, `${sub} positive`);
    assert.ok((await polarity(neg)) < -0.1, `${sub} negative`);
  }
});

test('text encoder masks padded positions', async () => {
  const s = await open('text-en/onnx/model.onnx');
  const r = await s.run({ input_ids: i64([101, 140, 102, 0], [1, 4]), attention_mask: i64([1, 1, 1, 0], [1, 4]), token_type_ids: i64([0, 0, 0, 0], [1, 4]) });
  const h = r.last_hidden_state!.data as Float32Array;
  assert.ok(h.slice(96, 128).every((v) => v === 0));
  assert.ok(h.slice(32, 64).some((v) => v !== 0));
});

test('fusion: modality weights sum to 1 over present modalities and are exactly 0 for absent ones', async () => {
  const s = await open('fusion/fusion.onnx');
  const feats = (n: number, seed: number) => new Float32Array(n * 32).map((_, i) => Math.sin(i * 0.37 + seed) * 0.5);
  const run = async (present: [number, number, number]) => {
    const [t, a, v] = present;
    return s.run({
      text_features: f32(t ? feats(5, 1) : new Float32Array(32), [1, t ? 5 : 1, 32]),
      text_mask: f32(t ? [1, 1, 1, 1, 0] : [0], [1, t ? 5 : 1]),
      audio_features: f32(a ? feats(3, 2) : new Float32Array(32), [1, a ? 3 : 1, 32]),
      audio_mask: f32(a ? [1, 1, 1] : [0], [1, a ? 3 : 1]),
      vision_features: f32(v ? feats(2, 3) : new Float32Array(32), [1, v ? 2 : 1, 32]),
      vision_mask: f32(v ? [1, 1] : [0], [1, v ? 2 : 1]),
      modality_mask: f32(present, [1, 3]),
    });
  };
  const all = await run([1, 1, 1]);
  const w = all.modality_weights!.data as Float32Array;
  assert.ok(Math.abs(w[0]! + w[1]! + w[2]! - 1) < 1e-6);
  assert.ok(w.every((x) => x > 0));
  const ti = all.text_importance!.data as Float32Array;
  assert.equal(ti[4], 0); // masked item
  assert.ok(Math.abs(ti.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.deepEqual(all.sentiment_logits!.dims, [1, 3]);
  assert.deepEqual(all.emotion_logits!.dims, [1, 7]);
  assert.deepEqual(all.intensity!.dims, [1]);
  assert.deepEqual(all.value!.dims, [1]);

  const noVision = await run([1, 1, 0]);
  const w2 = noVision.modality_weights!.data as Float32Array;
  assert.equal(w2[2], 0);
  assert.ok(Math.abs(w2[0]! + w2[1]! - 1) < 1e-6);
  assert.equal((noVision.vision_importance!.data as Float32Array)[0], 0);

  const textOnly = await run([1, 0, 0]);
  assert.deepEqual([...(textOnly.modality_weights!.data as Float32Array)], [1, 0, 0]);
  const again = await run([1, 1, 1]);
  assert.deepEqual([...(again.sentiment_logits!.data as Float32Array)], [...(all.sentiment_logits!.data as Float32Array)]);
});
