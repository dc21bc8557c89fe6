import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ServiceMetrics } from '../src/metrics';
import { scrubPaths, startOpsServer, type Readiness } from '../src/ops-server';

// What onnxruntime-node says when the CUDA provider cannot load (shape of the real message).
const LOADER =
  'cuda:0: /home/runner/work/omniaffect/node_modules/.pnpm/onnxruntime-node@1.30.0/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so: ' +
  'cannot open shared object file: No such file or directory; Failed to load library; OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library ' +
  '(model /srv/secret-layout/models/asr/encoder.onnx); hint: ONNXRUNTIME_NODE_INSTALL=cuda12';

test('scrubPaths keeps the last component and the loader words, drops the directories', () => {
  const s = scrubPaths(LOADER);
  assert.ok(!s.includes('/home/runner'), s);
  assert.ok(!s.includes('/srv/'), s);
  assert.ok(!s.includes('node_modules'), s);
  assert.match(s, /…\/libonnxruntime_providers_cuda\.so: cannot open shared object file/);
  assert.match(s, /OrtSessionOptionsAppendExecutionProvider_Cuda/);
  assert.match(s, /\(model …\/encoder\.onnx\)/);
  assert.match(s, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
  assert.equal(scrubPaths('C:\\Users\\ops\\models\\x.onnx missing'), '…\\x.onnx missing');
  assert.equal(scrubPaths('redis connecting to redis://redis:6379'), 'redis connecting to redis://redis:6379', 'URLs are not paths');
});

test('/readyz serves the scrubbed detail; an exception answers 500 without its text', async (t) => {
  let ready: () => Promise<Readiness> = async () => ({
    ok: false,
    detail: { error: LOADER, models: { asr: { file: '/srv/secret-layout/models/asr/encoder.onnx' } } },
  });
  const ops = await startOpsServer({ host: '127.0.0.1', port: 0, metrics: new ServiceMetrics('ops-test'), ready: () => ready() });
  t.after(() => ops.close());
  const res = await fetch(`http://127.0.0.1:${ops.port}/readyz`);
  assert.equal(res.status, 503);
  const body = await res.text();
  assert.ok(!body.includes('/srv/') && !body.includes('/home/'), body);
  const doc = JSON.parse(body) as { status: string; error: string; models: { asr: { file: string } } };
  assert.equal(doc.status, 'not-ready');
  assert.match(doc.error, /OrtSessionOptionsAppendExecutionProvider_Cuda/);
  assert.equal(doc.models.asr.file, '…/encoder.onnx');

  ready = async () => {
    throw new Error('ENOENT: no such file /srv/secret-layout/x');
  };
  const broken = await fetch(`http://127.0.0.1:${ops.port}/readyz`);
  assert.equal(broken.status, 500);
  assert.deepEqual(await broken.json(), { error: 'internal error' });
});
