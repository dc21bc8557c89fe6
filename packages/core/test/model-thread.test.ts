import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { createLogger } from '../src/logger';
import { startModelThread } from '../src/model-worker';
import { EXIT_CODES } from '../src/service-runtime';
import { ThreadClient } from '../src/thread-rpc';

/** startModelThread: the model thread's life cycle shared by runModelWorker and fusion. */
const THREAD = path.join(__dirname, 'fixtures', 'model-thread.js');
const HOST = path.join(__dirname, 'fixtures', 'model-thread-host.js');
const log = createLogger('model-thread-test', 'silent');

test('a good load hands back what the thread loaded, with its workerData; calls are bounded by timeoutMs', async (t) => {
  const m = await startModelThread<{ name: string; dims: number[] }>({ threadFile: THREAD, data: { load: 'ok', model: 'siglip' }, timeoutMs: 150, log });
  t.after(() => m.close());
  assert.deepEqual(m.loaded, { name: 'siglip', dims: [4] });
  assert.equal(m.dead, null, 'alive: /readyz may say ok');
  assert.equal(m.thread.defaultTimeoutMs, 150);
  assert.equal(await m.thread.call<number>('add', [2, 3]), 5);
});

test("a load that fails rejects with the loader's message and closes the thread it started", async (t) => {
  const closed: ThreadClient[] = [];
  const close = ThreadClient.prototype.close;
  ThreadClient.prototype.close = function (this: ThreadClient) {
    closed.push(this);
    return close.call(this);
  };
  t.after(() => {
    ThreadClient.prototype.close = close;
  });
  await assert.rejects(
    startModelThread({ threadFile: THREAD, data: { load: 'throw', model: 'fusion.onnx' }, log }),
    /cannot open fusion\.onnx: CUDA provider not available/,
  );
  assert.equal(closed.length, 1, 'no thread is left behind by a failed setup attempt');
});

test('a thread that dies after its load exits the process with EXIT_CODES.software, logging why', () => {
  const run = spawnSync(process.execPath, [HOST, 'hang'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.status, EXIT_CODES.software, run.stdout + run.stderr);
  const lines = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines[0], { loaded: { name: 'm', dims: [4] } });
  const fatal = lines.find((l) => l.msg === 'model thread died; exiting');
  assert.ok(fatal, run.stdout);
  assert.equal(fatal.level, 60);
  assert.equal(fatal.thread, 'model-thread.js');
  assert.match(String((fatal.err as { message?: string }).message), /inference call hang exceeded 200 ms/);
});

test('a thread that dies during its load fails that attempt and does not exit the process', () => {
  const run = spawnSync(process.execPath, [HOST, 'die-in-load'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const lines = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines, [{ loadFailed: 'thread blew up while loading' }]);
});
