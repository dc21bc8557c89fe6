import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot, validateResult, type AnalysisResult } from '@omniaffect/core';
import { buildStandInPack } from '@omniaffect/models';
import { speechVideo } from '../support/media-fixtures';
import { startTestStack, type TestStack } from '../support/stack-fixture';

const run = promisify(execFile);

/**
 * The whole stack on encoders with the real widths (768-d emotion2vec, SigLIP and BERT stand-ins)
 * and the fusion `omniaffect train --zero-shot` builds for them, through the real CLI: the fusion
 * service loads it with its own contract check and runs its deletion rows on it unchanged.
 */
describe('zero-shot fusion through the whole stack', { timeout: 600_000 }, () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'oa-e2e-zero-shot-'));
  const modelDir = path.join(root, 'models');
  let s: TestStack;
  let result: AnalysisResult;
  const ms: Record<string, number> = {};

  before(async () => {
    let t = Date.now();
    buildStandInPack(modelDir);
    const cli = path.join(repoRoot(), 'packages', 'cli', 'dist', 'src', 'main.js');
    await run(process.execPath, [cli, 'train', '--zero-shot', '--model-dir', modelDir], { timeout: 120_000 });
    ms.build = Date.now() - t;
    t = Date.now();
    s = await startTestStack({ MODEL_DIR: modelDir });
    ms.stackStart = Date.now() - t;
    t = Date.now();
    const { id } = await s.client.submitFile(speechVideo(root), { language: 'auto' });
    const doc = await s.client.waitForTerminal(id, 300_000);
    assert.equal(doc.status, 'succeeded', `${JSON.stringify(doc.error)}\n${s.logs()}`);
    result = await s.client.result<AnalysisResult>(id);
    ms.video = Date.now() - t;
    console.log(`zero-shot e2e timings (ms, 768-d stand-ins): ${JSON.stringify(ms)}`);
    if (process.env.E2E_SHOW_RESULT) console.log(JSON.stringify({ ...result, models: { ...result.models, fusion: '…' } }, null, 1));
  });

  after(async () => {
    await s?.teardown();
    rmSync(root, { recursive: true, force: true });
  });

  test('the result names the zero-shot fusion and validates against the result schema', () => {
    const v = validateResult(result);
    assert.ok(v.ok, v.errors.join('; '));
    const fusion = result.models.fusion as { name: string; provenance: { kind: string; modalityReasons: Record<string, string> } };
    assert.equal(fusion.name, 'omniaffect-zero-shot-fusion');
    assert.equal(fusion.provenance.kind, 'zero-shot');
    assert.equal(fusion.provenance.modalityReasons.text, 'no trained text head');
  });

  test('text is present but contributes 0; audio and vision carry the prediction', () => {
    const m = result.modalities;
    assert.deepEqual([m.text.present, m.audio.present, m.vision.present], [true, true, true]);
    assert.equal(m.text.contribution, 0);
    assert.equal(m.text.reason, 'no trained text head', 'the result says why text weighs nothing');
    assert.equal(result.evidence.words.length, 0, 'no word evidence from a modality nothing weighed');
    assert.ok(result.decisionPath.some((d) => d.description === 'Text: not weighed (no trained text head).'));
    assert.ok(Math.abs(m.audio.contribution + m.vision.contribution - 1) < 1e-3);
    const drops = result.decisionPath.find((d) => d.deletionDrops)?.deletionDrops as Record<string, number> | undefined;
    assert.ok(drops, 'deletion step');
    assert.equal(drops.text, 0, 'removing text changes nothing');
    assert.ok(result.evidence.frames.length > 0 && result.evidence.audioSegments.length > 0);
  });
});
