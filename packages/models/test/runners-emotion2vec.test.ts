import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { layerNormStats } from '@omniaffect/features';
import { GraphBuilder, ModelBuilder } from '../src/onnx-builder';
import { buildTinyPack } from '../src/tiny';
import { Emotion2vecRunner, emotion2vecFrameCount, graphNormalisesInput, headLabel, peekOnnxGraph, type PeekedGraph } from '../src/runners';

const SR = 16000;
let root: string;
let audioDir: string;
let runner: Emotion2vecRunner;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tiny-pack.json is read as loose JSON
let pack: any;

before(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'oa-runners-e2v-'));
  buildTinyPack(root);
  pack = JSON.parse(readFileSync(path.join(root, 'tiny-pack.json'), 'utf8'));
  audioDir = path.join(root, pack.dirs.audioEmotion);
  runner = await Emotion2vecRunner.load(audioDir);
});
after(() => rmSync(root, { recursive: true, force: true }));

function sine(seconds: number, hz: number, amplitude: number): Float32Array {
  const x = new Float32Array(Math.round(seconds * SR));
  for (let i = 0; i < x.length; i++) x[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / SR);
  return x;
}

const argmaxLabel = (e: { labels: string[]; probabilities: number[] }) => e.labels[e.probabilities.indexOf(Math.max(...e.probabilities))];
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

test('conv formula: the frame counts of the real feature encoder', () => {
  for (const [n, frames] of Object.entries(pack.models['audio-emotion'].frames as Record<string, number>)) {
    assert.equal(emotion2vecFrameCount(Number(n)), frames, `n=${n}`);
  }
  assert.equal(emotion2vecFrameCount(399), 0);
  assert.equal(emotion2vecFrameCount(40000), 124);
});

test('the tiny export normalises in its graph, detected from the ONNX nodes', () => {
  assert.equal(runner.normalisation, 'graph');
  const g = peekOnnxGraph(path.join(audioDir, 'model.onnx'));
  assert.deepEqual(g.inputs, ['input']);
  assert.equal(g.nodes[0]!.opType, 'ReduceMean');
});

test('graph inspection: x − ReduceMean(x) or a LayerNormalization on the input counts, other graphs do not', () => {
  const graph = (nodes: PeekedGraph['nodes']): PeekedGraph => ({ inputs: ['input'], initializers: new Set(), nodes });
  assert.equal(
    graphNormalisesInput(
      graph([
        { opType: 'Cast', inputs: ['input'], outputs: ['xc'] },
        { opType: 'ReduceMean', inputs: ['xc'], outputs: ['m'] },
        { opType: 'Sub', inputs: ['xc', 'm'], outputs: ['d'] },
      ]),
      'input',
    ),
    true,
  );
  assert.equal(graphNormalisesInput(graph([{ opType: 'LayerNormalization', inputs: ['input', 's', 'b'], outputs: ['y'] }]), 'input'), true);
  assert.equal(
    graphNormalisesInput(
      graph([
        { opType: 'Unsqueeze', inputs: ['input', 'ax'], outputs: ['u'] },
        { opType: 'Conv', inputs: ['u', 'w'], outputs: ['c'] },
        { opType: 'ReduceMean', inputs: ['c'], outputs: ['m'] },
        { opType: 'Sub', inputs: ['c', 'm'], outputs: ['d'] },
      ]),
      'input',
    ),
    false,
  );
});

test('2.5 s: 124 frames at 50 Hz, three 1 s segments (the last one 0.5 s), utterance = mean of frames', async () => {
  const r = await runner.analyze(sine(2.5, 200, 0.3));
  assert.deepEqual(r.frames, { count: 124, dim: pack.models['audio-emotion'].dim, hz: 50 });
  assert.deepEqual(
    r.segments.map((s) => [s.start, s.end, s.frames]),
    [
      [0, 1, 50],
      [1, 2, 50],
      [2, 2.5, 24],
    ],
  );
  assert.equal(r.utterance.length, 32);
  for (let d = 0; d < 32; d++) {
    const weighted = r.segments.reduce((a, s) => a + s.embedding[d]! * s.frames, 0) / 124;
    assert.ok(Math.abs(weighted - r.utterance[d]!) < 1e-5);
  }
  assert.equal(r.chunks, 1);
});

test('segmentSeconds changes the pooling grid', async () => {
  const r = await runner.analyze(sine(2.5, 200, 0.3), { segmentSeconds: 0.5 });
  assert.deepEqual(
    r.segments.map((s) => s.frames),
    [25, 25, 25, 25, 24],
  );
  assert.deepEqual(
    r.segments.map((s) => s.end),
    [0.5, 1, 1.5, 2, 2.5],
  );
});

test('head: probabilities over the nine labels sum to 1 and follow the designed rules', async () => {
  const loud = await runner.analyze(sine(1.5, 200, 0.8));
  assert.deepEqual(loud.emotion!.labels, ['angry', 'disgusted', 'fearful', 'happy', 'neutral', 'other', 'sad', 'surprised', 'unknown']);
  assert.ok(Math.abs(sum(loud.emotion!.probabilities) - 1) < 1e-9);
  assert.equal(argmaxLabel(loud.emotion!), 'angry');
  assert.equal(argmaxLabel((await runner.analyze(sine(1.5, 300, 0.1))).emotion!), 'happy');
  assert.equal(argmaxLabel((await runner.analyze(sine(1.5, 120, 0.1))).emotion!), 'sad');
  assert.ok(loud.segments.every((s) => s.emotion && Math.abs(sum(s.emotion.probabilities) - 1) < 1e-9));
});

test('unuse_* entries of tokens.txt are masked before the softmax and dropped from the labels', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oa-runners-e2v-old-tokens-'));
  try {
    cpSync(audioDir, dir, { recursive: true });
    const old = ['生气/angry', 'unuse_0', 'unuse_1', '开心/happy', '中立/neutral', 'unuse_2', '难过/sad', 'unuse_3', '<unk>'];
    writeFileSync(path.join(dir, 'tokens.txt'), old.join('\n') + '\n');
    const masked = await Emotion2vecRunner.load(dir);
    const x = sine(1.5, 200, 0.8);
    const full = (await runner.analyze(x)).emotion!;
    const r = (await masked.analyze(x)).emotion!;
    assert.deepEqual(r.labels, ['angry', 'happy', 'neutral', 'sad', 'unknown']);
    assert.ok(Math.abs(sum(r.probabilities) - 1) < 1e-9);
    // Masking to −inf = renormalising the kept classes of the full softmax.
    const keep = [0, 3, 4, 6, 8];
    const z = sum(keep.map((i) => full.probabilities[i]!));
    keep.forEach((i, k) => assert.ok(Math.abs(r.probabilities[k]! - full.probabilities[i]! / z) < 1e-9));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(headLabel('生气/angry'), 'angry');
  assert.equal(headLabel('<unk>'), 'unknown');
  assert.equal(headLabel('unuse_3'), null);
});

test('long audio runs in 30 s chunks whose frames tile the whole-audio frames exactly', async () => {
  const x = sine(65, 200, 0.3);
  const chunked = await runner.analyze(x);
  const whole = await runner.analyze(x, { chunkSeconds: 120 });
  assert.equal(chunked.chunks, 3);
  assert.equal(whole.chunks, 1);
  assert.equal(chunked.frames.count, emotion2vecFrameCount(65 * SR));
  assert.equal(chunked.frames.count, whole.frames.count);
  assert.equal(chunked.segments.length, 65);
  // A stationary signal has the same statistics in every chunk, so the in-graph per-chunk
  // normalisation matches the whole-utterance one and the features agree.
  for (let d = 0; d < 32; d++) assert.ok(Math.abs(chunked.utterance[d]! - whole.utterance[d]!) < 1e-4);
});

test('omniaffect.json can place normalisation in code', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oa-runners-e2v-code-'));
  try {
    cpSync(audioDir, dir, { recursive: true });
    writeFileSync(path.join(dir, 'omniaffect.json'), JSON.stringify({ normalize: 'code' }));
    const r = await Emotion2vecRunner.load(dir);
    assert.equal(r.normalisation, 'code');
    const res = await r.analyze(sine(1, 200, 0.3));
    assert.equal(res.normalisation, 'code');
    assert.equal(res.frames.count, 49);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a model whose frame count breaks the conv formula is refused; too-short audio is a RangeError', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oa-runners-e2v-bogus-'));
  try {
    const g = new GraphBuilder('bogus');
    const x = g.input('input', 'float32', ['batch_size', 'sequence_length']);
    g.op('Unsqueeze', [x, g.i64(2)], {}, 'output'); // one "frame" per sample
    g.output('output', 'float32', ['batch_size', 'sequence_length', 1]);
    mkdirSync(dir, { recursive: true });
    new ModelBuilder(g).save(path.join(dir, 'emotion2vec'));
    const bogus = await Emotion2vecRunner.load(dir);
    assert.equal(bogus.normalisation, 'code');
    await assert.rejects(bogus.analyze(sine(1, 200, 0.3)), /conv formula/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(runner.analyze(new Float32Array(399)), RangeError);
  await assert.rejects(runner.analyze(sine(1, 200, 0.3), { sampleRate: 8000 }), /16 kHz/);
});

test('stream(): a 65 s recording fed in uneven pieces gives exactly what analyze() gives on it whole', async () => {
  const x = sine(65, 200, 0.3);
  for (let i = 0; i < x.length; i++) x[i]! += 0.05 * Math.sin(i / 3000); // not stationary, so per-chunk statistics differ
  const whole = await runner.analyze(x, { segmentSeconds: 2 });
  const stream = runner.stream({ totalSamples: x.length, segmentSeconds: 2 });
  for (let i = 0, k = 0; i < x.length; k++) {
    const n = [1, 77_777, 160_000, 319, 480_080][k % 5]!;
    await stream.push(x.subarray(i, i + n));
    i += n;
  }
  const streamed = await stream.finish();
  assert.equal(streamed.chunks, 3);
  assert.deepEqual(streamed.frames, whole.frames);
  assert.deepEqual(
    streamed.segments.map((s) => [s.start, s.end, s.frames, Array.from(s.embedding)]),
    whole.segments.map((s) => [s.start, s.end, s.frames, Array.from(s.embedding)]),
  );
  assert.deepEqual(Array.from(streamed.utterance), Array.from(whole.utterance));
  assert.ok(streamed.inferenceMs > 0 && streamed.inferenceMs <= performance.now());
  await assert.rejects(
    (async () => {
      const s = runner.stream({ totalSamples: 1000 });
      await s.push(new Float32Array(600));
      return s.finish();
    })(),
    /ended after 600/,
  );
});

test('stream() in code-normalisation mode needs the whole recording statistics, and then matches analyze()', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oa-runners-e2v-code-stream-'));
  try {
    cpSync(audioDir, dir, { recursive: true });
    writeFileSync(path.join(dir, 'omniaffect.json'), JSON.stringify({ normalize: 'code' }));
    const r = await Emotion2vecRunner.load(dir);
    const x = sine(40, 150, 0.2);
    for (let i = 0; i < x.length; i++) x[i]! += i < 16000 * 10 ? 0.3 : 0; // an offset in the first 10 s only: the mean is the whole recording's
    assert.throws(() => r.stream({ totalSamples: x.length }), /needs the recording's layerNormStats/);
    const norm = layerNormStats((s, n) => x.subarray(s, s + n), x.length);
    const stream = r.stream({ totalSamples: x.length, norm });
    for (let i = 0; i < x.length; i += 123_457) await stream.push(x.subarray(i, i + 123_457));
    const streamed = await stream.finish();
    const whole = await r.analyze(x);
    assert.equal(streamed.chunks, 2);
    assert.deepEqual(Array.from(streamed.utterance), Array.from(whole.utterance));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
