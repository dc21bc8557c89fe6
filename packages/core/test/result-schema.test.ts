import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DISCLAIMER, validateResult, type AnalysisResult } from '../src/result-schema';

function validDoc(): AnalysisResult {
  const part = {
    sentiment: { label: 'positive', probabilities: { negative: 0.1, neutral: 0.2, positive: 0.7 }, intensity: 0.5 },
    emotion: {
      label: 'happy',
      probabilities: { happy: 0.4, sad: 0.1, angry: 0.1, fearful: 0.1, disgusted: 0.1, surprised: 0.1, neutral: 0.1 },
    },
    modalities: {
      text: { present: true, contribution: 0.5 },
      audio: { present: true, contribution: 0.5 },
      vision: { present: false, contribution: 0, reason: 'no video stream' },
    },
    evidence: {
      words: [{ text: 'great', start: 0.5, end: 0.9, charStart: 4, charEnd: 9, weight: 0.8, deletionDrop: 0.31, verified: true, segment: 0 }],
      audioSegments: [
        {
          start: 0,
          end: 1,
          weight: 0.6,
          deletionDrop: -0.01,
          verified: false,
          prosody: { f0MeanHz: 180, f0StdHz: 10, f0MinHz: 150, f0MaxHz: 210, energyDb: -20, voicedRatio: 0.7, rateProxy: 4 },
        },
      ],
      frames: [],
    },
    faithfulness: { comprehensiveness: 0.4, sufficiency: 0.05, items: 1 },
    decisionPath: [{ step: 1, description: 'Modalities present: text, audio.' }],
  } satisfies Partial<AnalysisResult>;
  return {
    id: 'a7f1c1de-0000-4000-8000-000000000001',
    status: 'succeeded',
    language: 'en',
    sentiment: { label: 'positive', probabilities: { negative: 0.1, neutral: 0.2, positive: 0.7 }, intensity: 0.5 },
    emotion: {
      label: 'happy',
      probabilities: { happy: 0.4, sad: 0.1, angry: 0.1, fearful: 0.1, disgusted: 0.1, surprised: 0.1, neutral: 0.1 },
    },
    modalities: {
      text: { present: true, contribution: 0.5 },
      audio: { present: true, contribution: 0.5 },
      vision: { present: false, contribution: 0, reason: 'no video stream' },
    },
    evidence: structuredClone(part.evidence),
    faithfulness: { ...part.faithfulness },
    timeline: [{ start: 0, end: 1.2, speech: true, verdictWeight: 1, ...structuredClone(part) }],
    decisionPath: [{ step: 1, description: 'Modalities present: text, audio.' }],
    transcript: { language: 'en', text: 'how great', segments: [{ start: 0, end: 1, text: 'how great' }] },
    models: { fusion: { name: 'tiny-fusion', version: '1' } },
    timings: { media: { seconds: 0.2 }, totalSeconds: 1 } as unknown as AnalysisResult['timings'],
    disclaimer: DISCLAIMER,
  };
}

function expectInvalid(mutate: (d: AnalysisResult & Record<string, unknown>) => void, pattern: RegExp): void {
  const doc = validDoc() as AnalysisResult & Record<string, unknown>;
  mutate(doc);
  const r = validateResult(doc);
  assert.equal(r.ok, false, 'expected the document to be refused');
  assert.ok(
    r.errors.some((e) => pattern.test(e)),
    `no error matching ${pattern} in ${JSON.stringify(r.errors)}`,
  );
}

test('a valid document passes', () => {
  const r = validateResult(validDoc());
  assert.deepEqual(r.errors, []);
  assert.equal(r.ok, true);
});

test('an all-present document whose contributions sum to 1 passes', () => {
  const d = validDoc();
  d.modalities.vision = { present: true, contribution: 0.2 };
  d.modalities.text.contribution = 0.3;
  assert.deepEqual(validateResult(d).errors, []);
});

test('contributions of present modalities not summing to 1 fail', () => {
  expectInvalid((d) => (d.modalities.text.contribution = 0.6), /contributions of present modalities sum to 1\.1/);
});

test('an absent modality with a contribution fails', () => {
  expectInvalid((d) => {
    d.modalities.vision.contribution = 0.2;
    d.modalities.text.contribution = 0.3;
  }, /\/modalities\/vision absent but contributes/);
});

test('an absent modality without a reason fails', () => {
  expectInvalid((d) => delete d.modalities.vision.reason, /\/modalities\/vision absent without a reason/);
});

test('sentiment probabilities not summing to 1 fail', () => {
  expectInvalid((d) => (d.sentiment.probabilities.positive = 0.9), /\/sentiment\/probabilities do not sum to 1/);
});

test('emotion probabilities not summing to 1 fail', () => {
  expectInvalid((d) => (d.emotion.probabilities.neutral = 0.3), /\/emotion\/probabilities do not sum to 1/);
});

test('reversed word spans (chars or times) fail', () => {
  expectInvalid((d) => Object.assign(d.evidence.words[0], { charStart: 9, charEnd: 4 }), /\/evidence\/words has a reversed span/);
  expectInvalid((d) => Object.assign(d.evidence.words[0], { start: 0.9, end: 0.5 }), /\/evidence\/words has a reversed span/);
});

test('a reversed audio segment fails', () => {
  expectInvalid((d) => Object.assign(d.evidence.audioSegments[0], { start: 2, end: 1 }), /\/evidence\/audioSegments has a reversed span/);
});

test('extra keys fail at every closed level', () => {
  expectInvalid((d) => (d.extra = 1), /^\/ must NOT have additional properties/);
  expectInvalid((d) => ((d.sentiment as Record<string, unknown>).confidence = 1), /^\/sentiment must NOT have additional properties/);
  expectInvalid(
    (d) => ((d.modalities as Record<string, unknown>).smell = { present: false, contribution: 0, reason: 'x' }),
    /^\/modalities must NOT have additional properties/,
  );
  expectInvalid((d) => ((d.evidence.words[0] as unknown as Record<string, unknown>).pos = 'ADJ'), /^\/evidence\/words\/0 must NOT have additional properties/);
  expectInvalid((d) => ((d.timeline[0] as unknown as Record<string, unknown>).mood = 'x'), /^\/timeline\/0 must NOT have additional properties/);
});

test('verified must mean a positive deletion drop, in the result and in every segment', () => {
  expectInvalid((d) => (d.evidence.words[0]!.verified = false), /^\/evidence: verified must be true exactly when deletionDrop > 0/);
  expectInvalid((d) => (d.timeline[0]!.evidence.audioSegments[0]!.verified = true), /^\/timeline\/0\/evidence: verified must be true/);
  expectInvalid((d) => (d.evidence.words[0]!.deletionDrop = 1.5), /deletionDrop must be <= 1/);
});

test('the timeline must start at 0, run in order without gaps or overlaps, and its verdict weights sum to 1', () => {
  const two = (mutate: (d: AnalysisResult) => void) => (d: AnalysisResult) => {
    const second = structuredClone(d.timeline[0]!);
    Object.assign(second, { start: 1.2, end: 3, verdictWeight: 0.4 });
    d.timeline[0]!.verdictWeight = 0.6;
    d.timeline.push(second);
    mutate(d);
  };
  assert.deepEqual(
    validateResult(
      (() => {
        const d = validDoc();
        two(() => undefined)(d);
        return d;
      })(),
    ).errors,
    [],
  );
  expectInvalid(
    two((d) => (d.timeline[1]!.start = 1.5)),
    /\/timeline\/1 does not start where \/timeline\/0 ends/,
  );
  expectInvalid(
    two((d) => (d.timeline[1]!.start = 1)),
    /\/timeline\/1 does not start where/,
  );
  expectInvalid(
    two((d) => (d.timeline[0]!.start = 0.5)),
    /\/timeline does not start at 0/,
  );
  expectInvalid(
    two((d) => (d.timeline[1]!.verdictWeight = 0.9)),
    /\/timeline verdict weights sum to 1\.5/,
  );
  expectInvalid(
    two((d) => (d.timeline[1]!.modalities.vision.contribution = 0.2)),
    /\/timeline\/1\/modalities\/vision absent but contributes/,
  );
  expectInvalid((d) => (d.timeline = []), /^\/timeline must NOT have fewer than 1 items/);
});

test('missing keys, out-of-range values and unknown labels fail', () => {
  expectInvalid((d) => delete (d as Partial<AnalysisResult>).transcript, /must have required property 'transcript'/);
  expectInvalid((d) => (d.sentiment.intensity = 1.5), /^\/sentiment\/intensity must be <= 1/);
  expectInvalid((d) => ((d.sentiment as { label: string }).label = 'ecstatic'), /^\/sentiment\/label must be equal to one of the allowed values/);
  expectInvalid((d) => (d.decisionPath = []), /^\/decisionPath must NOT have fewer than 1 items/);
  expectInvalid((d) => (d.evidence.words[0].weight = -0.1), /^\/evidence\/words\/0\/weight must be >= 0/);
});
