import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FILL_MASK_MESSAGE,
  GraphBuilder,
  ModelBuilder,
  TINY_PACK_DIRS,
  buildTinyPack,
  decoderCacheNames,
  formatVerifyTable,
  verifyModelDir,
  type ElemType,
} from '../src';

let pack: string;
before(() => {
  pack = join(mkdtempSync(join(tmpdir(), 'verify-')), 'pack');
  buildTinyPack(pack);
});

function copyOf(sub: string): string {
  const d = join(mkdtempSync(join(tmpdir(), 'verify-copy-')), sub);
  cpSync(join(pack, sub), d, { recursive: true });
  return d;
}

/** A graph with the given inputs whose outputs are constant tensors of the given shapes (enough for metadata checks). */
function stubModel(inputs: [string, ElemType, (number | string)[]][], outputs: [string, (number | string)[]][]): ModelBuilder {
  const g = new GraphBuilder('stub');
  for (const [n, t, s] of inputs) g.input(n, t, s);
  for (const [n, s] of outputs) {
    const concrete = s.map((d) => (typeof d === 'number' ? d : 1));
    g.op('ConstantOfShape', [g.i64(...concrete)], { value: { tensor: { dims: [1], dataType: 1, floatData: [0] } } }, n);
    g.output(n, 'float32', s);
  }
  return new ModelBuilder(g);
}

test('a fill-mask BERT export is refused with a message naming the feature-extraction export', async () => {
  const d = copyOf(TINY_PACK_DIRS.textEn);
  const seq = ['batch_size', 'sequence_length'];
  stubModel(
    [
      ['input_ids', 'int64', seq],
      ['attention_mask', 'int64', seq],
      ['token_type_ids', 'int64', seq],
    ],
    [['logits', ['batch_size', 'sequence_length', 30522]]],
  ).save(join(d, 'onnx/model.onnx'));
  const r = await verifyModelDir('text', d);
  assert.equal(r.ok, false);
  const row = r.rows.find((x) => x.tensor === 'logits');
  assert.ok(row && !row.ok);
  assert.equal(row.reason, FILL_MASK_MESSAGE);
  assert.match(row.reason, /--task feature-extraction/);
  assert.ok(r.rows.some((x) => x.tensor === 'last_hidden_state' && x.reason === 'missing output'));
});

function decoderStub(inputIdsType: ElemType, presentLayers = 2): ModelBuilder {
  const kv = (len: string): (number | string)[] => ['batch_size', 2, len, 4];
  const names = decoderCacheNames(2);
  const presentNames = decoderCacheNames(presentLayers).present;
  return stubModel(
    [
      ['input_ids', inputIdsType, ['batch_size', 'decoder_sequence_length']],
      ['encoder_hidden_states', 'float32', ['batch_size', 'encoder_sequence_length / 2', 8]],
      ...names.past.map((n): [string, ElemType, (number | string)[]] => [n, 'float32', kv('past')]),
      ['use_cache_branch', 'bool', [1]],
    ],
    [['logits', ['batch_size', 'decoder_sequence_length', 51866]], ...presentNames.map((n): [string, (number | string)[]] => [n, kv('len')])],
  );
}

test('a decoder with an int32 input_ids is refused with "wrong dtype"', async () => {
  const d = copyOf(TINY_PACK_DIRS.asr);
  decoderStub('int32').save(join(d, 'onnx/decoder_model_merged.onnx'));
  const r = await verifyModelDir('asr', d);
  assert.equal(r.ok, false);
  const row = r.rows.find((x) => x.tensor === 'input_ids')!;
  assert.equal(row.ok, false);
  assert.match(row.reason, /wrong dtype: int32, expected int64/);
  assert.match(formatVerifyTable(r.rows), /FAIL\s+onnx\/decoder_model_merged\.onnx\s+input_ids/);
});

test('a well-formed stub decoder passes, so the dtype check is what failed above', async () => {
  const d = copyOf(TINY_PACK_DIRS.asr);
  decoderStub('int64').save(join(d, 'onnx/decoder_model_merged.onnx'));
  const r = await verifyModelDir('asr', d);
  assert.equal(r.ok, true, formatVerifyTable(r.rows));
});

test('mismatched decoder layer counts are reported', async () => {
  const d = copyOf(TINY_PACK_DIRS.asr);
  decoderStub('int64', 3).save(join(d, 'onnx/decoder_model_merged.onnx'));
  const r = await verifyModelDir('asr', d);
  assert.equal(r.ok, false);
  assert.ok(r.rows.some((x) => !x.ok && /mismatched decoder layer counts/.test(x.reason)));
});

test('missing files are named; the FunASR extension-less "emotion2vec" file is accepted', async () => {
  const d = copyOf(TINY_PACK_DIRS.audioEmotion);
  renameSync(join(d, 'model.onnx'), join(d, 'emotion2vec'));
  const ok = await verifyModelDir('audio-emotion', d);
  assert.equal(ok.ok, true, formatVerifyTable(ok.rows));
  assert.ok(ok.rows.some((x) => x.file === 'emotion2vec' && x.actual === 'loaded'));
  rmSync(join(d, 'emotion2vec'));
  const missing = await verifyModelDir('audio-emotion', d);
  assert.equal(missing.ok, false);
  assert.ok(missing.rows.some((x) => x.reason === 'missing file' && x.file.includes('model.onnx')));

  const asr = copyOf(TINY_PACK_DIRS.asr);
  rmSync(join(asr, 'multilingual.tiktoken'));
  const r = await verifyModelDir('asr', asr);
  assert.equal(r.ok, false);
  assert.ok(r.rows.some((x) => x.file === 'tokenizer.json | multilingual.tiktoken' && x.reason === 'missing file'));
});

test('a wrong vision input size is reported with the axis', async () => {
  const d = copyOf(TINY_PACK_DIRS.vision);
  stubModel([['pixel_values', 'float32', ['batch_size', 3, 256, 256]]], [['pooler_output', ['batch_size', 32]]]).save(join(d, 'onnx/vision_model.onnx'));
  const r = await verifyModelDir('vision', d);
  assert.equal(r.ok, false);
  assert.match(r.rows.find((x) => x.tensor === 'pixel_values')!.reason, /axis 2 is 256, expected 224/);
  assert.ok(r.rows.find((x) => x.tensor === 'last_hidden_state')!.ok); // optional output
});
