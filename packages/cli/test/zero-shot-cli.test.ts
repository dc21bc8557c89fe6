import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '@omniaffect/core';
import { buildStandInPack, buildTinyPack } from '@omniaffect/models';
import { TINY_MODELS_WARNING, preflightModels } from '../src/stack-commands';

const run = promisify(execFile);
const CLI = path.join(repoRoot(), 'packages', 'cli', 'dist', 'src', 'main.js');
const root = mkdtempSync(path.join(os.tmpdir(), 'oa-zero-shot-cli-'));

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, OMNIAFFECT_STATE_DIR: path.join(root, 'state'), ...env },
      timeout: 120_000,
    });
    return { code: 0, out: `${r.stdout}${r.stderr}` };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

describe('train --zero-shot and the up/demo model preflight', { timeout: 180_000 }, () => {
  after(() => rmSync(root, { recursive: true, force: true }));
  const models = path.join(root, 'models');
  buildStandInPack(models);

  test('up refuses a MODEL_DIR without fusion/, naming the exact command; nothing is started', async () => {
    assert.throws(
      () => preflightModels({ MODEL_DIR: models }),
      (err: Error) => err.message.includes(`omniaffect train --zero-shot --model-dir ${models}\n`),
    );
    const r = await cli(['up'], { MODEL_DIR: models });
    assert.equal(r.code, 1, r.out);
    assert.ok(r.out.includes(`omniaffect train --zero-shot --model-dir ${models}`), r.out);
    assert.ok(!existsSync(path.join(root, 'state', 'stack.json')), 'no stack was recorded');
  });

  test('train without --features or --zero-shot says what it needs', async () => {
    const r = await cli(['train']);
    assert.equal(r.code, 1);
    assert.match(r.out, /--features DIR .* or --zero-shot --model-dir DIR/);
  });

  test('train --zero-shot --model-dir writes fusion/ for 768-d encoders; then the preflight passes, loud about stand-ins', async () => {
    const r = await cli(['train', '--zero-shot', '--model-dir', models, '--logit-scale', '100']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /zero-shot fusion for text 768-d, audio 768-d, vision 768-d/);
    assert.match(r.out, /text: weight 0 \(no trained text head\)/);
    assert.match(r.out, /logit scale 100, bias -12\.93 from flags \(the other one assumed\)/);
    const m = JSON.parse(readFileSync(path.join(models, 'fusion', 'fusion.json'), 'utf8')) as { provenance: { kind: string } };
    assert.equal(m.provenance.kind, 'zero-shot');
    const p = preflightModels({ MODEL_DIR: models });
    assert.equal(p.fusionKind, 'zero-shot');
    assert.equal(p.tiny, true, 'the real-dimension stand-ins are stand-ins too');
    assert.ok(p.notices.some((l) => l.includes(TINY_MODELS_WARNING.toUpperCase())));
    assert.ok(p.notices.some((l) => /fusion: zero-shot .*text weight 0/.test(l)));
  });

  test('the tiny pack passes the preflight and is announced as "tiny stand-in models: not a real prediction"', () => {
    const tiny = path.join(root, 'tiny');
    buildTinyPack(tiny);
    const p = preflightModels({ MODEL_DIR: tiny });
    assert.equal(p.tiny, true);
    assert.equal(p.fusionKind, 'tiny-generated');
    assert.ok(p.notices.join('\n').includes('TINY STAND-IN MODELS: NOT A REAL PREDICTION'));
  });

  test('a MODEL_DIR of (apparently) real encoders with a fusion prints no stand-in banner', () => {
    const real = path.join(root, 'real');
    buildStandInPack(real);
    rmSync(path.join(real, 'stand-in-pack.json'));
    assert.throws(() => preflightModels({ MODEL_DIR: real }), /no fusion model/);
    const p = preflightModels({ MODEL_DIR: real, FUSION_MODEL_DIR: path.join(models, 'fusion') });
    assert.equal(p.tiny, false);
    assert.ok(!p.notices.join('\n').includes('STAND-IN'));
  });
});
