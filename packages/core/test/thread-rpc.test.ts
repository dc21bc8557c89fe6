import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ThreadClient, serveThread } from '../src/thread-rpc';

const FIXTURE = path.join(__dirname, 'fixtures', 'echo-thread.js');

test('round trip: arguments in, values out, calls answered in order', async (t) => {
  const client = ThreadClient.start(FIXTURE, { tag: 't1' });
  t.after(() => client.close());
  assert.deepEqual(await client.call('echo', [{ a: [1, 2] }]), { tag: 't1', x: { a: [1, 2] } });
  const sums = await Promise.all([1, 2, 3, 4].map((i) => client.call<number>('add', [i, 10])));
  assert.deepEqual(sums, [11, 12, 13, 14]);
});

test('typed arrays can be transferred', async (t) => {
  const client = ThreadClient.start(FIXTURE, { tag: 't2' });
  t.after(() => client.close());
  const arr = new Float32Array([1.5, 2.5, 3]);
  assert.equal(await client.call<number>('sum', [arr], [arr.buffer]), 7);
  assert.equal(arr.byteLength, 0, 'the buffer was transferred, not copied');
});

test('a thrown error rejects that call with its name and message; the thread keeps serving', async (t) => {
  const client = ThreadClient.start(FIXTURE, { tag: 't3' });
  t.after(() => client.close());
  await assert.rejects(client.call('fail', ['bad input']), (err: Error) => err.name === 'RangeError' && err.message === 'bad input');
  await assert.rejects(client.call('nope'), /unknown method nope/);
  assert.equal(await client.call<number>('add', [2, 3]), 5);
});

test('a thread crash rejects pending calls and every later call', async (t) => {
  const client = ThreadClient.start(FIXTURE, { tag: 't4' });
  t.after(() => client.close());
  assert.equal(await client.call<number>('add', [1, 1]), 2);
  // crash schedules an uncaught exception and never answers; the next calls queue behind it.
  const crash = client.call('crash');
  const queued = client.call('hang');
  const orphan = client.call('echo', [1]);
  await assert.rejects(crash, /thread blew up/);
  await assert.rejects(queued, /thread blew up/);
  await assert.rejects(orphan, /thread blew up/);
  await assert.rejects(client.call('echo', [2]), /thread blew up|exited/);
});

test('a thread that exits rejects pending calls with its exit code', async (t) => {
  const client = ThreadClient.start(FIXTURE, { tag: 't5' });
  t.after(() => client.close());
  await assert.rejects(client.call('exit', [3]), /inference thread exited with code 3/);
  await assert.rejects(client.call('echo', [1]), /exited with code 3/);
});

test('serveThread refuses to run on the main thread', () => {
  assert.throws(() => serveThread({}), /must run inside a worker_thread/);
});

test('a call past its timeout terminates the thread, fails pending calls and fires onExit', async () => {
  const client = ThreadClient.start(FIXTURE, { tag: 't7' });
  const exited = new Promise<Error>((r) => client.onExit(r));
  const other = client.call('hang');
  await assert.rejects(client.call('hang', [], [], 200), /exceeded 200 ms/);
  await assert.rejects(other, /exceeded 200 ms/);
  assert.match((await exited).message, /exceeded/);
  assert.ok(client.dead);
  await assert.rejects(client.call('echo', [1]), /exceeded/);
});

test('close() does not fire onExit (a graceful shutdown is not a crash)', async () => {
  const client = ThreadClient.start(FIXTURE, { tag: 't8' });
  let fired = false;
  client.onExit(() => (fired = true));
  assert.deepEqual(await client.call('echo', [2]), { tag: 't8', x: 2 });
  await client.close();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(fired, false);
});
