import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CUDA_HINT, buildTinyVision, createSession, describeSession, parseExecutionProvider } from '../src';

test('parseExecutionProvider accepts cpu, cuda and cuda:<id> only', () => {
  assert.deepEqual(parseExecutionProvider('cpu'), { name: 'cpu' });
  assert.deepEqual(parseExecutionProvider(undefined), { name: 'cpu' });
  assert.deepEqual(parseExecutionProvider('cuda'), { name: 'cuda', deviceId: 0 });
  assert.deepEqual(parseExecutionProvider('CUDA:3'), { name: 'cuda', deviceId: 3 });
  assert.throws(() => parseExecutionProvider('gpu'), /unknown execution provider "gpu"/);
  assert.throws(() => parseExecutionProvider('cuda:x'), /unknown execution provider/);
});

test('describeSession reports names, types and symbolic/fixed dims', async () => {
  const p = buildTinyVision().save(join(mkdtempSync(join(tmpdir(), 'session-')), 'v.onnx'));
  const s = await createSession(p, { provider: 'cpu', intraOpThreads: 1 });
  const d = describeSession(s);
  assert.deepEqual(d.inputs, [{ name: 'pixel_values', type: 'float32', shape: ['batch_size', 3, 224, 224] }]);
  assert.deepEqual(
    d.outputs.find((o) => o.name === 'pooler_output'),
    { name: 'pooler_output', type: 'float32', shape: ['batch_size', 32] },
  );
  await s.release();
});

test('cuda is requested alone: without a usable CUDA EP the loader error surfaces with the install hint', async (t) => {
  const p = buildTinyVision().save(join(mkdtempSync(join(tmpdir(), 'session-')), 'v.onnx'));
  let session;
  try {
    session = await createSession(p, { provider: 'cuda:0' });
  } catch (err) {
    const msg = (err as Error).message;
    assert.ok(msg.includes('cuda:0'), msg);
    assert.ok(msg.includes(CUDA_HINT));
    assert.match(msg, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
    assert.match(msg, /cuDNN 9/);
    return;
  }
  t.diagnostic('CUDA execution provider loaded on this machine; the failure path was not exercised');
  const out = await session.run({ pixel_values: new (await import('onnxruntime-node')).Tensor('float32', new Float32Array(3 * 224 * 224), [1, 3, 224, 224]) });
  assert.deepEqual(out.pooler_output!.dims, [1, 32]);
  await session.release();
});

test('a missing model file fails with the path in the message', async () => {
  await assert.rejects(createSession('/nonexistent/model.onnx', { provider: 'cpu' }), /cannot open \/nonexistent\/model\.onnx/);
});
