import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { ADAPT_RECORD, adaptAudioEmotionDir, adaptTextDir, buildTinyAudioEmotion, floatTensor, verifyModelDir } from '../src';
import { Emotion2vecRunner } from '../src/runners';
import { EMOTION2VEC_TOKENS, tinyEmotionHead } from '../src/tiny/audio-emotion';

/**
 * The fill-mask graph comes from scripts/reference/make_fill_mask_bert.py (python3-onnx), not from the
 * project's builder, so the adapter is tested on a layout it did not produce: decomposed LayerNorm,
 * Erf GELU, dynamic head reshapes, and an MLM decoder tied to the word embeddings through a Transpose.
 */
const FIXTURE = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'fill-mask-bert');
const meta = JSON.parse(readFileSync(path.join(FIXTURE, 'meta.json'), 'utf8')) as {
  encoderOutput: string;
  headNodes: number;
  headInitializers: string[];
  tiedInitializer: string;
  hidden: number;
  vocab: number;
};

let root: string;
before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'oa-adapt-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

function fixtureCopy(name: string): string {
  const dir = path.join(root, name);
  cpSync(FIXTURE, dir, { recursive: true });
  rmSync(path.join(dir, 'meta.json'));
  return dir;
}

/** Two padded sentences: ids from the fixture's vocab (104+ are words), token types and a mask with padding. */
function bertFeeds(): Record<string, ort.Tensor> {
  const B = 2;
  const S = 7;
  const ids = [101, 104, 107, 110, 105, 116, 102, 101, 113, 114, 102, 0, 0, 0];
  const mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0];
  const types = [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
  const t = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [B, S]);
  return { input_ids: t(ids), attention_mask: t(mask), token_type_ids: t(types) };
}

async function run(file: string, outputs: string[]): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(file);
  try {
    return (await s.run(bertFeeds(), outputs)) as Record<string, ort.Tensor>;
  } finally {
    await s.release();
  }
}

test('fill-mask BERT: the original is refused by verify, the adapted graph passes `models verify text`', async () => {
  const dir = fixtureCopy('bert-verify');
  const before = await verifyModelDir('text', dir);
  assert.equal(before.ok, false);
  assert.ok(
    before.rows.some((r) => /fill-mask/.test(r.reason)),
    'the refusal names the fill-mask export',
  );

  const r = adaptTextDir(dir);
  assert.equal(r.report.changed, true);
  assert.equal(r.report.tensor, meta.encoderOutput, 'found the tensor the generator recorded as the encoder output');
  assert.equal(r.report.droppedNodes, meta.headNodes, 'dropped exactly the MLM head nodes');
  assert.ok(existsSync(path.join(dir, 'source', 'model.onnx')), 'the original is kept in source/');
  const after = await verifyModelDir('text', dir);
  assert.equal(after.ok, true, JSON.stringify(after.rows.filter((x) => !x.ok)));

  const adapted = onnx.ModelProto.decode(readFileSync(path.join(dir, 'onnx', 'model.onnx'))) as onnx.ModelProto & { graph: onnx.GraphProto };
  const inits = new Set(adapted.graph.initializer.map((t) => t.name));
  for (const name of meta.headInitializers) assert.ok(!inits.has(name), `head initializer ${name} dropped`);
  assert.ok(inits.has(meta.tiedInitializer), 'the word embeddings (tied to the dropped decoder) are still used by the encoder');
  assert.deepEqual(
    adapted.graph.output.map((o) => o.name),
    ['last_hidden_state'],
  );
  assert.deepEqual(
    adapted.graph.input.map((i) => i.name),
    ['input_ids', 'attention_mask', 'token_type_ids'],
  );
  const record = JSON.parse(readFileSync(path.join(dir, ADAPT_RECORD), 'utf8')) as { tensor: string; from: string };
  assert.equal(record.tensor, meta.encoderOutput);
  assert.equal(record.from, 'source/model.onnx');
});

test('fill-mask BERT: last_hidden_state equals the original graph encoder output bit for bit', async () => {
  const dir = fixtureCopy('bert-bits');
  // The original with its intermediate exposed, next to its logits.
  const original = onnx.ModelProto.decode(readFileSync(path.join(FIXTURE, 'onnx', 'model.onnx')));
  original.graph!.output!.push({ name: meta.encoderOutput, type: { tensorType: { elemType: 1 } } });
  const exposed = path.join(root, 'bert-exposed.onnx');
  writeFileSync(exposed, onnx.ModelProto.encode(original).finish());
  const ref = await run(exposed, ['logits', meta.encoderOutput]);

  adaptTextDir(dir);
  const out = await run(path.join(dir, 'onnx', 'model.onnx'), ['last_hidden_state']);
  const a = ref[meta.encoderOutput]!;
  const b = out['last_hidden_state']!;
  assert.deepEqual(b.dims, [2, 7, meta.hidden]);
  assert.deepEqual(a.dims, b.dims);
  const bytesA = Buffer.from((a.data as Float32Array).buffer, (a.data as Float32Array).byteOffset, (a.data as Float32Array).byteLength);
  const bytesB = Buffer.from((b.data as Float32Array).buffer, (b.data as Float32Array).byteOffset, (b.data as Float32Array).byteLength);
  assert.ok(bytesA.equals(bytesB), 'identical float32 bytes');
  // Not a constant or degenerate output: rows differ by token.
  const d = b.data as Float32Array;
  assert.notEqual(d[0], d[meta.hidden]);
  assert.deepEqual(ref['logits']!.dims, [2, 7, meta.vocab]);
});

test('adapt text: rerunning re-adapts from source/ to the same bytes; an explicit bad tensor is refused', () => {
  const dir = fixtureCopy('bert-rerun');
  adaptTextDir(dir);
  const first = readFileSync(path.join(dir, 'onnx', 'model.onnx'));
  adaptTextDir(dir);
  assert.ok(readFileSync(path.join(dir, 'onnx', 'model.onnx')).equals(first));
  assert.throws(() => adaptTextDir(dir, { tensor: 'no/such/tensor' }), /no node .* produces "no\/such\/tensor"/);
});

test('adapt text: a feature-extraction export is left as it is', async () => {
  const dir = fixtureCopy('bert-fe');
  adaptTextDir(dir);
  // The adapted graph is now the "export"; adapting it again is a no-op.
  rmSync(path.join(dir, 'source'), { recursive: true });
  const r = adaptTextDir(dir);
  assert.equal(r.report.changed, false);
  assert.equal((await verifyModelDir('text', dir)).ok, true);
});

// --- emotion2vec -------------------------------------------------------------------------------

function sine(seconds: number, hz: number, amplitude: number): Float32Array {
  const x = new Float32Array(Math.round(seconds * 16000));
  for (let i = 0; i < x.length; i++) x[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / 16000);
  return x;
}

function renameIo(model: onnx.ModelProto, from: string, to: string): void {
  const g = model.graph!;
  for (const n of g.node!) {
    n.input = n.input!.map((x) => (x === from ? to : x));
    n.output = n.output!.map((x) => (x === from ? to : x));
  }
  for (const v of [...g.input!, ...g.output!]) if (v.name === from) v.name = to;
}

test('adapt audio-emotion: a backbone with other tensor names and the pankotaro head JSON become the FunASR contract', async () => {
  const dir = path.join(root, 'e2v-renamed');
  mkdirSync(path.join(dir, 'source'), { recursive: true });
  const model = buildTinyAudioEmotion().toProto();
  renameIo(model, 'input', 'audio');
  renameIo(model, 'output', 'features');
  writeFileSync(path.join(dir, 'source', 'emotion2vec_plus_base.onnx'), onnx.ModelProto.encode(model).finish());
  const head = tinyEmotionHead();
  const labels = ['angry', 'disgusted', 'fearful', 'happy', 'neutral', 'other', 'sad', 'surprised', 'unknown'];
  writeFileSync(path.join(dir, 'source', 'emotion2vec_head.json'), JSON.stringify({ labels, ...head }));
  assert.equal((await verifyModelDir('audio-emotion', dir)).ok, false, 'nothing loadable before adapt');

  const r = adaptAudioEmotionDir(dir);
  assert.match(r.report.note, /renamed input audio → input.*renamed output features → output/);
  const v = await verifyModelDir('audio-emotion', dir);
  assert.equal(v.ok, true, JSON.stringify(v.rows.filter((x) => !x.ok)));
  assert.equal(readFileSync(path.join(dir, 'tokens.txt'), 'utf8').trim().split('\n').at(-1), '<unk>');
  const runner = await Emotion2vecRunner.load(dir);
  const res = await runner.analyze(sine(1, 200, 0.8));
  assert.equal(
    res.emotion!.labels[res.emotion!.probabilities.indexOf(Math.max(...res.emotion!.probabilities))],
    'angry',
    'the tiny head still reads loud audio as angry',
  );
});

test('adapt audio-emotion: an end-to-end graph (mean → linear → softmax) gets its frames exposed and its head extracted', async () => {
  const dir = path.join(root, 'e2v-e2e');
  mkdirSync(dir, { recursive: true });
  const model = buildTinyAudioEmotion().toProto();
  const g = model.graph as onnx.GraphProto;
  const head = tinyEmotionHead();
  const D = head.weight[0]!.length;
  // MatMul weight is [D, 9]: the transpose of head.json's [9][D].
  const wT = new Float32Array(D * 9);
  head.weight.forEach((row, l) => row.forEach((v, d) => (wT[d * 9 + l] = v)));
  g.initializer.push(floatTensor('proj.weight', wT, [D, 9]) as onnx.TensorProto, floatTensor('proj.bias', head.bias, [9]) as onnx.TensorProto);
  const node = (opType: string, input: string[], output: string, attribute: onnx.IAttributeProto[] = []) =>
    g.node.push(onnx.NodeProto.create({ opType, input, output: [output], name: `head/${opType}`, attribute }));
  node('ReduceMean', ['output'], 'pooled', [
    { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] },
    { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
  ]);
  node('MatMul', ['pooled', 'proj.weight'], 'logits9');
  node('Add', ['logits9', 'proj.bias'], 'scores');
  node('Softmax', ['scores'], 'probs', [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 }]);
  g.output = [
    onnx.ValueInfoProto.create({ name: 'probs', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch_size' }, { dimValue: 9 }] } } } }),
  ];
  const e2e = path.join(dir, 'model.onnx');
  writeFileSync(e2e, onnx.ModelProto.encode(model).finish());

  const wave = sine(1, 300, 0.1);
  const s = await ort.InferenceSession.create(e2e);
  const probs = Array.from((await s.run({ input: new ort.Tensor('float32', wave, [1, wave.length]) }))['probs']!.data as Float32Array);
  await s.release();

  const r = adaptAudioEmotionDir(dir);
  assert.equal(r.report.tensor, 'output');
  assert.equal(JSON.parse(readFileSync(path.join(dir, ADAPT_RECORD), 'utf8')).headFrom, 'graph');
  assert.deepEqual(readFileSync(path.join(dir, 'tokens.txt'), 'utf8').trim().split('\n'), EMOTION2VEC_TOKENS);
  const extracted = JSON.parse(readFileSync(path.join(dir, 'head.json'), 'utf8')) as { weight: number[][]; bias: number[] };
  extracted.weight.forEach((row, l) => row.forEach((v, d) => assert.equal(v, Math.fround(head.weight[l]![d]!))));
  const v = await verifyModelDir('audio-emotion', dir);
  assert.equal(v.ok, true, JSON.stringify(v.rows.filter((x) => !x.ok)));

  // The runner over the exposed frames + extracted head reproduces the end-to-end probabilities.
  const runner = await Emotion2vecRunner.load(dir);
  const res = await runner.analyze(wave);
  res.emotion!.probabilities.forEach((p, i) => assert.ok(Math.abs(p - probs[i]!) < 1e-5, `class ${i}: ${p} vs ${probs[i]}`));
});
