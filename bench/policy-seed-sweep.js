#!/usr/bin/env node
// How much the synthetic-policy figures depend on the seeds: trains the configuration of
// packages/policy/test/synthetic-training.test.ts for each (data seed, training seed) pair and prints
// held-out accuracy, decisive=planted, the warm-start → GRPO change on validation, and faithfulness.
//   node bench/policy-seed-sweep.js [dataSeeds=1,2] [trainSeeds=1,2,3,4,5,6]
// Needs the compiled output (pnpm exec tsc -b).
const path = require('node:path');
const p = require(path.join(__dirname, '..', 'packages', 'policy', 'dist', 'src', 'index.js'));

const list = (arg, dflt) => (arg ?? dflt).split(',').map(Number);
const dataSeeds = list(process.argv[2], '1,2');
const trainSeeds = list(process.argv[3], '1,2,3,4,5,6');
const dims = { text: 32, audio: 32, vision: 32 };
let raised = 0;
let runs = 0;
for (const dataSeed of dataSeeds) {
  const set = p.makeSyntheticFeatureSet({ n: 1800, dims, seed: dataSeed });
  const train = set.samples.slice(0, 1500);
  const heldOut = set.samples.slice(1500);
  for (const seed of trainSeeds) {
    const t0 = Date.now();
    const s = p.train(
      { train: train.slice(0, 1350), valid: train.slice(1350) },
      {
        seed,
        dims,
        hidden: 32,
        batchSize: 32,
        warmStartEpochs: 15,
        patience: 3,
        grpoSteps: 60,
        grpoBatchSize: 64,
        grpoEvalEvery: 20,
        contrastive: { enabled: true },
      },
      {},
    );
    const e = p.evaluate(s.params, heldOut);
    const f = p.faithfulnessReport(s.params, heldOut, 2);
    const warm = s.planted.warm.weights;
    const grpo = s.planted.final.weights;
    runs++;
    if (grpo >= warm) raised++;
    console.log(
      `data ${dataSeed} seed ${seed}: held-out acc ${e.accuracy.toFixed(3)} decisive=planted ${e.decisivePlantedRate.toFixed(3)} ` +
        `| valid decisive warm ${warm.toFixed(3)} → GRPO ${grpo.toFixed(3)} | top-vs-lowest ${f.topBeatsLowestRate.toFixed(3)} (${Date.now() - t0} ms)`,
    );
  }
}
console.log(`GRPO ≥ warm start on validation decisive=planted in ${raised} of ${runs} runs`);
