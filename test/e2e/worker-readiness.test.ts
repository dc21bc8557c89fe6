import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '@omniaffect/core';
import { buildTinyPack } from '@omniaffect/models';
import { freePort } from '@omniaffect/cli';

const dir = mkdtempSync(path.join(os.tmpdir(), 'oa-ready-'));
const modelDir = path.join(dir, 'models');
buildTinyPack(modelDir);
after(() => rmSync(dir, { recursive: true, force: true }));

function startAsr(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [path.join(repoRoot(), 'services', 'asr', 'dist', 'src', 'main.js')], {
    env: {
      ...process.env,
      MODEL_DIR: modelDir,
      ARTIFACT_DIR: path.join(dir, 'a'),
      QUEUE_PREFIX: 'ready-test',
      PROTO_DIR: path.join(repoRoot(), 'proto'),
      OMNIAFFECT_SERVICE_TOKEN: randomBytes(32).toString('hex'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d));
  child.stderr.on('data', (d: Buffer) => (output += d));
  return { child, output: () => output };
}

test('a CUDA provider that cannot load keeps /readyz failing with the loader message (no silent CPU fallback)', async () => {
  const port = await freePort();
  const { child, output } = startAsr({ EXECUTION_PROVIDER: 'cuda:0', OPS_PORT: String(port) });
  try {
    let body: { status?: string; error?: string } = {};
    let status = 0;
    for (let i = 0; i < 300 && (!body.error || body.error === 'starting'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        status = res.status;
        body = (await res.json()) as typeof body;
      } catch {
        /* not listening yet */
      }
    }
    assert.equal(status, 503);
    assert.equal(body.status, 'not-ready');
    assert.match(body.error ?? '', /cuda:0/);
    // onnxruntime's own words come through, not only our hint
    assert.match(body.error ?? '', /OrtSessionOptionsAppendExecutionProvider_Cuda|Failed to load/);
    assert.match(body.error ?? '', /ONNXRUNTIME_NODE_INSTALL=cuda12/);
    // still alive and saying why, rather than crash-looping or running on the CPU
    assert.equal(child.exitCode, null);
    // /readyz learns of the failure before the log line is flushed: give the line a moment on a busy machine
    for (let i = 0; i < 50 && !/service setup failed/.test(output()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(output(), /service setup failed/);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
  } finally {
    child.kill('SIGKILL');
  }
});

test('an invalid setting stops the service at start with a message naming the variable', async () => {
  const { child, output } = startAsr({ EXECUTION_PROVIDER: 'gpu', WORKER_CONCURRENCY: 'many' });
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 78);
  assert.match(output(), /asr: invalid configuration/);
  assert.match(output(), /EXECUTION_PROVIDER: expected cpu, cuda or cuda:<id> \(value not shown\)/);
  assert.match(output(), /WORKER_CONCURRENCY/);
});
