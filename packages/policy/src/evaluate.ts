import { MODALITIES, SUPPORTED_LANGUAGES } from '@omniaffect/core';
import { collate } from './batch';
import { forward } from './forward';
import type { BatchTargets } from './losses';
import { N_EMO, N_MOD, N_SENT, type PolicyParams } from './params';
import { deletionDrops, deletionRanking, weightRanking } from './rewards';
import type { PolicySample } from './types';

export interface EvalMetrics {
  n: number;
  /** sentiment accuracy (= WAR) */
  accuracy: number;
  /** sentiment macro recall over classes present in the gold labels */
  uar: number;
  /** over emotion-labelled clips; NaN if none */
  emotionAccuracy: number;
  intensityMae: number;
  /** share of clips whose highest-weighted modality is the planted one (clips with plantedModality only) */
  decisivePlantedRate: number;
  /** share of clips whose largest-deletion-drop modality is the planted one */
  deletionPlantedRate: number;
  /** share of clips whose highest-weighted modality is also the largest-deletion-drop one */
  weightDeletionAgreement: number;
}

export function targetsOf(samples: readonly PolicySample[]): BatchTargets {
  return {
    sentiment: Int32Array.from(samples, (s) => s.sentiment),
    emotion: Int32Array.from(samples, (s) => (typeof s.emotion === 'number' ? s.emotion : -1)),
    intensity: Float64Array.from(samples, (s) => s.intensity),
    language: Uint8Array.from(samples, (s) => Math.max(0, SUPPORTED_LANGUAGES.indexOf(s.language))),
  };
}

function argmax(x: ArrayLike<number>, off: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (x[off + j]! > x[off + best]!) best = j;
  return best;
}

export function evaluate(params: PolicyParams, samples: readonly PolicySample[], batchSize = 512): EvalMetrics {
  let correct = 0;
  let emoN = 0;
  let emoCorrect = 0;
  let mae = 0;
  let planted = 0;
  let decisivePlanted = 0;
  let deletionPlanted = 0;
  let agree = 0;
  const perClass = new Float64Array(N_SENT);
  const perClassCorrect = new Float64Array(N_SENT);
  for (let s = 0; s < samples.length; s += batchSize) {
    const chunk = samples.slice(s, s + batchSize);
    const batch = collate(chunk, params.dims);
    const out = forward(params, batch);
    const gold = Int32Array.from(chunk, (x) => x.sentiment);
    const { drops } = deletionDrops(params, out, gold);
    chunk.forEach((sample, b) => {
      const pred = argmax(out.sentimentLogits, b * N_SENT, N_SENT);
      perClass[sample.sentiment]++;
      if (pred === sample.sentiment) {
        correct++;
        perClassCorrect[sample.sentiment]++;
      }
      if (typeof sample.emotion === 'number') {
        emoN++;
        if (argmax(out.emotionLogits, b * N_EMO, N_EMO) === sample.emotion) emoCorrect++;
      }
      mae += Math.abs(out.intensity[b]! - sample.intensity);
      const wTop = weightRanking(out.modalityWeights, batch.modalityMask, b * N_MOD)[0];
      const dTop = deletionRanking(drops, b * N_MOD)[0];
      if (wTop === dTop) agree++;
      if (sample.plantedModality) {
        planted++;
        const p = MODALITIES.indexOf(sample.plantedModality);
        if (wTop === p) decisivePlanted++;
        if (dTop === p) deletionPlanted++;
      }
    });
  }
  const n = samples.length;
  let recallSum = 0;
  let classes = 0;
  for (let c = 0; c < N_SENT; c++) {
    if (perClass[c]! > 0) {
      recallSum += perClassCorrect[c]! / perClass[c]!;
      classes++;
    }
  }
  return {
    n,
    accuracy: n ? correct / n : NaN,
    uar: classes ? recallSum / classes : NaN,
    emotionAccuracy: emoN ? emoCorrect / emoN : NaN,
    intensityMae: n ? mae / n : NaN,
    decisivePlantedRate: planted ? decisivePlanted / planted : NaN,
    deletionPlantedRate: planted ? deletionPlanted / planted : NaN,
    weightDeletionAgreement: n ? agree / n : NaN,
  };
}
