import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicBatcher } from '../src/runners/batcher';

test('a full batch is dispatched at once, without waiting for the timer', async () => {
  const seen: number[][] = [];
  const b = new DynamicBatcher<number, number>({
    maxBatch: 3,
    maxWaitMs: 60_000, // would hang the test if size did not trigger the run
    run: (items) => {
      seen.push(items);
      return items.map((x) => x * 10);
    },
  });
  const out = await Promise.all([1, 2, 3].map((x) => b.submit(x)));
  assert.deepEqual(out, [10, 20, 30]);
  assert.deepEqual(seen, [[1, 2, 3]]);
  assert.deepEqual(b.counters, { batches: 1, items: 3, lastBatchSize: 3, failedBatches: 0 });
});

test('more items than maxBatch are split into consecutive batches, each caller gets its own result', async () => {
  const seen: number[][] = [];
  const b = new DynamicBatcher<number, string>({
    maxBatch: 2,
    maxWaitMs: 5,
    run: async (items) => {
      seen.push(items);
      return items.map((x) => `r${x}`);
    },
  });
  const out = await Promise.all([1, 2, 3, 4, 5].map((x) => b.submit(x)));
  assert.deepEqual(out, ['r1', 'r2', 'r3', 'r4', 'r5']);
  assert.deepEqual(seen, [[1, 2], [3, 4], [5]]);
  assert.equal(b.counters.batches, 3);
  assert.equal(b.counters.items, 5);
  assert.equal(b.counters.lastBatchSize, 1);
});

test('a partial batch runs when maxWaitMs passes', async () => {
  const seen: number[][] = [];
  const b = new DynamicBatcher<number, number>({
    maxBatch: 10,
    maxWaitMs: 20,
    run: (items) => {
      seen.push(items);
      return items;
    },
  });
  const p1 = b.submit(1);
  const p2 = b.submit(2);
  assert.equal(b.pending, 2);
  assert.deepEqual(seen, []); // nothing ran synchronously
  assert.deepEqual(await Promise.all([p1, p2]), [1, 2]);
  assert.deepEqual(seen, [[1, 2]]);
  // A later submission starts a new batch of its own.
  assert.equal(await b.submit(3), 3);
  assert.deepEqual(seen, [[1, 2], [3]]);
  assert.equal(b.counters.lastBatchSize, 1);
});

test('a failing batch rejects every caller of that batch and only them', async () => {
  const b = new DynamicBatcher<number, number>({
    maxBatch: 2,
    maxWaitMs: 1,
    run: (items) => {
      if (items.includes(2)) throw new Error('model exploded');
      return items;
    },
  });
  const results = await Promise.allSettled([1, 2, 3].map((x) => b.submit(x)));
  assert.equal(results[0]!.status, 'rejected');
  assert.equal(results[1]!.status, 'rejected');
  assert.match(String((results[0] as PromiseRejectedResult).reason), /model exploded/);
  assert.deepEqual(results[2], { status: 'fulfilled', value: 3 });
  assert.equal(b.counters.failedBatches, 1);
  assert.equal(b.counters.batches, 2);
});

test('a run returning the wrong number of outputs is an error for the batch', async () => {
  const b = new DynamicBatcher<number, number>({ maxBatch: 2, maxWaitMs: 1, run: () => [1] });
  await assert.rejects(Promise.all([b.submit(1), b.submit(2)]), /returned 1 outputs for 2 items/);
});

test('invalid options are refused', () => {
  assert.throws(() => new DynamicBatcher({ maxBatch: 0, maxWaitMs: 1, run: () => [] }), /maxBatch/);
  assert.throws(() => new DynamicBatcher({ maxBatch: 1, maxWaitMs: -1, run: () => [] }), /maxWaitMs/);
});
