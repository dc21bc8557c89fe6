import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { WhisperTokenizer, logMelSpectrogram } from '@omniaffect/features';
import { EN_SEQUENCE, JUNK_TOKEN, TOKENS, ZH_SEQUENCE, buildTinyPack, decoderCacheNamesFromSession, describeSession, verifyModelDir } from '../src';

let dir: string;
let encoder: ort.InferenceSession;
let decoder: ort.InferenceSession;

before(async () => {
  dir = join(mkdtempSync(join(tmpdir(), 'tiny-asr-')), 'pack');
  buildTinyPack(dir);
  encoder = await ort.InferenceSession.create(join(dir, 'asr/onnx/encoder_model.onnx'));
  decoder = await ort.InferenceSession.create(join(dir, 'asr/onnx/decoder_model_merged.onnx'));
});

/** Features filled with -1.5 (silence) and a 1.0 block over [m0, m1) mel bins in the first 100 frames. */
function features(m0: number, m1: number): Float32Array {
  const f = new Float32Array(128 * 3000).fill(-1.5);
  for (let m = m0; m < m1; m++) for (let t = 0; t < 100; t++) f[m * 3000 + t] = 1.0;
  return f;
}

async function encode(f: Float32Array): Promise<ort.Tensor> {
  const out = await encoder.run({ input_features: new ort.Tensor('float32', f, [1, 128, 3000]) });
  return out.last_hidden_state!;
}

function argmaxLast(logits: ort.Tensor): number {
  const [, S, V] = logits.dims as number[];
  const data = logits.data as Float32Array;
  const base = (S! - 1) * V!;
  let best = 0;
  for (let v = 1; v < V!; v++) if (data[base + v]! > data[base + best]!) best = v;
  return best;
}

type CacheMode = 'correct' | 'drop-encoder-cache' | 'zero-encoder-cache';

/** The minimal greedy KV-cache loop of docs/model-contracts.md §1.5, with a switch to mishandle the cache. */
async function greedy(ehs: ort.Tensor, prompt: number[], mode: CacheMode = 'correct', maxSteps = 24): Promise<number[]> {
  const names = decoderCacheNamesFromSession(decoder.inputNames, decoder.outputNames);
  const meta = describeSession(decoder).inputs;
  let past: Record<string, ort.Tensor> = {};
  for (const n of names.past) {
    const shape = meta.find((m) => m.name === n)!.shape.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : 0));
    past[n] = new ort.Tensor('float32', new Float32Array(0), shape);
  }
  const out: number[] = [];
  let ids = prompt;
  for (let step = 0; step < maxSteps; step++) {
    const r = await decoder.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      encoder_hidden_states: ehs,
      use_cache_branch: new ort.Tensor('bool', [step > 0], [1]),
      ...past,
    });
    const next = argmaxLast(r.logits!);
    out.push(next);
    if (next === TOKENS.eot) break;
    const np: Record<string, ort.Tensor> = {};
    names.past.forEach((p, i) => {
      const present = r[names.present[i]!]!;
      const isEnc = p.includes('.encoder.');
      if (!isEnc) np[p] = present;
      else if (step > 0)
        np[p] = past[p]!; // keep the step-0 encoder cache
      else if (mode === 'correct') np[p] = present;
      else if (mode === 'drop-encoder-cache') np[p] = new ort.Tensor('float32', new Float32Array(0), [1, present.dims[1]!, 0, present.dims[3]!]);
      else np[p] = new ort.Tensor('float32', new Float32Array(present.size), present.dims);
    });
    past = np;
    ids = [next];
  }
  return out;
}

test('tiny asr directory passes verifyModelDir', async () => {
  const r = await verifyModelDir('asr', join(dir, 'asr'));
  assert.equal(
    r.ok,
    true,
    r.rows
      .filter((x) => !x.ok)
      .map((x) => `${x.tensor}: ${x.reason}`)
      .join('\n'),
  );
});

test('encoder carries loudness and language score per item', async () => {
  const ehs = await encode(features(0, 40));
  assert.deepEqual(ehs.dims, [1, 1500, 8]);
  const d = ehs.data as Float32Array;
  assert.equal(d[0], 1.0); // L = max
  const lowMean = (1.0 * 100 - 1.5 * 2900) / 3000;
  assert.ok(Math.abs(d[1]! - (lowMean - -1.5)) < 1e-5, `S = ${d[1]}`);
  assert.equal(d[2], 1); // presence
  assert.equal(d[1499 * 8 + 1], d[1]); // every row identical
});

test('low-band features decode to the designed zh sequence through the KV-cache loop', async () => {
  assert.deepEqual(await greedy(await encode(features(0, 40)), [TOKENS.sot]), ZH_SEQUENCE);
});

test('high-band features decode to the designed en sequence', async () => {
  assert.deepEqual(await greedy(await encode(features(40, 128)), [TOKENS.sot]), EN_SEQUENCE);
});

test('a forced no-timestamps prompt yields the text tokens, then <|1.00|> and eot', async () => {
  const out = await greedy(await encode(features(0, 40)), [TOKENS.sot, TOKENS.zh, TOKENS.transcribe, TOKENS.notimestamps]);
  assert.deepEqual(out, ZH_SEQUENCE.slice(3));
});

test('dropping or zeroing the step-0 encoder cache changes the output (cache branch reads past encoder KV)', async () => {
  const ehs = await encode(features(0, 40));
  const dropped = await greedy(ehs, [TOKENS.sot], 'drop-encoder-cache');
  const zeroed = await greedy(ehs, [TOKENS.sot], 'zero-encoder-cache');
  assert.notDeepEqual(dropped, ZH_SEQUENCE);
  assert.equal(dropped[0], TOKENS.zh); // step 0 does not use the cache
  assert.equal(dropped[1], JUNK_TOKEN);
  assert.deepEqual(zeroed, dropped);
});

test('the cache branch returns empty [0,H,1,Dh] encoder presents', async () => {
  const ehs = await encode(features(0, 40));
  const names = decoderCacheNamesFromSession(decoder.inputNames, decoder.outputNames);
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from([BigInt(TOKENS.sot)]), [1, 1]),
    encoder_hidden_states: ehs,
    use_cache_branch: new ort.Tensor('bool', [false], [1]),
  };
  for (const n of names.past) feeds[n] = new ort.Tensor('float32', new Float32Array(0), [1, 2, 0, 4]);
  const first = await decoder.run(feeds);
  assert.deepEqual(first['present.0.encoder.key']!.dims, [1, 2, 1500, 4]);
  assert.deepEqual(first['present.0.decoder.key']!.dims, [1, 2, 1, 4]);
  for (const n of names.past) feeds[n] = first[n.replace('past_key_values', 'present')]!;
  feeds.use_cache_branch = new ort.Tensor('bool', [true], [1]);
  const second = await decoder.run(feeds);
  assert.deepEqual(second['present.1.encoder.value']!.dims, [0, 2, 1, 4]);
  assert.deepEqual(second['present.1.decoder.value']!.dims, [1, 2, 2, 4]);
});

test('<|nospeech|> dominates position 0 for all -1.5 (silent) features', async () => {
  const ehs = await encode(new Float32Array(128 * 3000).fill(-1.5));
  const out = await greedy(ehs, [TOKENS.sot], 'correct', 1);
  assert.deepEqual(out, [TOKENS.nospeech]);
  const speech = await greedy(await encode(features(40, 128)), [TOKENS.sot], 'correct', 1);
  assert.notEqual(speech[0], TOKENS.nospeech);
});

test('calibration against the real log-mel front end: 200 Hz voicing → zh, strong >1 kHz energy → en', async () => {
  const tone = (parts: [number, number][], seconds: number) => {
    const x = new Float32Array(Math.round(seconds * 16000));
    for (let i = 0; i < x.length; i++) for (const [f, a] of parts) x[i]! += a * Math.sin((2 * Math.PI * f * i) / 16000);
    return x;
  };
  const lang = async (x: Float32Array) => (await greedy(await encode(logMelSpectrogram(x)), [TOKENS.sot], 'correct', 1))[0];
  assert.equal(
    await lang(
      tone(
        [
          [200, 0.3],
          [400, 0.15],
          [600, 0.05],
        ],
        1,
      ),
    ),
    TOKENS.zh,
  );
  assert.equal(await lang(tone([[250, 0.3]], 0.5)), TOKENS.zh);
  assert.equal(
    await lang(
      tone(
        [
          [200, 0.1],
          [2000, 0.3],
          [3000, 0.3],
        ],
        1,
      ),
    ),
    TOKENS.en,
  );
  assert.equal(await lang(tone([[1500, 0.3]], 1)), TOKENS.en);
});

test('sparse multilingual.tiktoken decodes the designed sequences to their text', () => {
  const tok = WhisperTokenizer.fromTiktoken(readFileSync(join(dir, 'asr/multilingual.tiktoken'), 'utf8'));
  const text = (ids: number[]) => tok.decode(ids.filter((i) => i < TOKENS.eot));
  assert.equal(text(ZH_SEQUENCE), '你好，世界');
  assert.equal(text(EN_SEQUENCE), ' Hello world');
  const gen = JSON.parse(readFileSync(join(dir, 'asr/generation_config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(gen.lang_to_id, { '<|en|>': 50259, '<|zh|>': 50260 });
  assert.deepEqual(gen.begin_suppress_tokens, [220, 50257]);
  const suppressed = new Set(gen.suppress_tokens as number[]);
  for (const t of [...ZH_SEQUENCE, ...EN_SEQUENCE]) assert.ok(!suppressed.has(t), `designed token ${t} is suppressed`);
});
