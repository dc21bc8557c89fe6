import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPolicyBench } from '../src/index';

test('policy bench: N is the size of the training split, validation comes on top (N/9), and both are printed', () => {
  const lines: string[] = [];
  const r = runPolicyBench({
    n: 90,
    dims: { text: 4, audio: 4, vision: 4 },
    hidden: 8,
    train: { warmStartEpochs: 1, grpoSteps: 1, contrastive: { enabled: false } },
    print: (l) => lines.push(l),
  });
  assert.equal(r.n, 90);
  assert.equal(r.valid, 10);
  // what the trainer itself saw, not just what the bench reports
  assert.deepEqual([(r.summary.provenance.data as { train: number }).train, (r.summary.provenance.data as { valid: number }).valid], [90, 10]);
  assert.match(lines[0]!, /^policy bench: 90 training samples \+ 10 validation/);
  assert.equal(
    runPolicyBench({ n: 30, valid: 7, dims: { text: 4, audio: 4, vision: 4 }, hidden: 8, train: { warmStartEpochs: 1, grpoSteps: 0 }, print: () => {} }).valid,
    7,
  );
});
