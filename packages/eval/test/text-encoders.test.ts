import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { crossLingualReport } from '../src/cross-lingual';
import type { CachedClip } from '../src/feature-cache';
import { writeEvalReport } from '../src/report';
import { deriveTextEncoders, resolveTextEncoders, tallyTextModels, textEncodersProvenance } from '../src/text-encoders';
import { tempDir } from './helpers';

type Clip = Pick<CachedClip, 'dataset' | 'tensors'>;
const clip = (dataset: 'sims2' | 'mosei', textModel: string | null, tokens = 2): Clip => ({
  dataset,
  tensors: [
    { modality: 'text', kind: 'tokens', shape: [tokens, 2], data: new Float32Array(tokens * 2), items: [], model: textModel },
    { modality: 'text', kind: 'pooled', shape: [2], data: new Float32Array(2), items: [], model: textModel },
    { modality: 'audio', kind: 'segments', shape: [1, 2], data: new Float32Array(2), items: [], model: 'emotion2vec' },
  ],
});

test('the setting comes from the text model each clip recorded, per language', () => {
  const split = deriveTextEncoders(
    tallyTextModels([clip('sims2', 'bert-base-chinese'), clip('sims2', 'bert-base-chinese'), clip('mosei', 'bert-base-uncased')]),
  );
  assert.equal(split.features, 'split');
  assert.deepEqual(split.languages, ['en', 'zh']);
  assert.deepEqual(split.models, { zh: [{ name: 'bert-base-chinese', clips: 2 }], en: [{ name: 'bert-base-uncased', clips: 1 }] });

  // tallies of two caches merge; a clip with no text features (0 tokens) counts for nothing
  const shared = deriveTextEncoders(tallyTextModels([clip('sims2', 'mbert')]), tallyTextModels([clip('mosei', 'mbert'), clip('mosei', 'other', 0)]));
  assert.equal(shared.features, 'shared');
  assert.deepEqual(shared.models.en, [{ name: 'mbert', clips: 1 }]);

  // a clip that recorded no model cannot be shown to share the encoder
  const unknown = deriveTextEncoders(tallyTextModels([clip('sims2', 'mbert'), clip('mosei', null)]));
  assert.equal(unknown.features, 'split');
  assert.equal(unknown.unrecorded, 1);

  // one language with two encoders (e.g. ASR detected the other language for some clips) is split too
  assert.equal(deriveTextEncoders(tallyTextModels([clip('mosei', 'a'), clip('mosei', 'b')])).features, 'split');
});

test('cross-lingual features from two encoders are masked unless split is asked for; shared and single-language ones keep text', () => {
  const split = deriveTextEncoders(tallyTextModels([clip('sims2', 'zh-bert'), clip('mosei', 'en-bert')]));
  const masked = resolveTextEncoders(split, { crossLingual: true });
  assert.equal(masked.setting, 'masked');
  assert.equal(masked.maskText, true);
  assert.equal(masked.requested, 'shared');
  assert.match(masked.note, /TEXT_MODEL_DIR_EN=\$MODEL_DIR\/text-zh/);
  assert.deepEqual(textEncodersProvenance(masked).setting, 'masked');
  assert.equal(textEncodersProvenance(masked).en, 'en-bert');
  assert.equal(textEncodersProvenance(masked).zh, 'zh-bert');

  const kept = resolveTextEncoders(split, { crossLingual: true, request: 'split' });
  assert.equal(kept.setting, 'split');
  assert.equal(kept.maskText, false);

  const shared = resolveTextEncoders(deriveTextEncoders(tallyTextModels([clip('sims2', 'mbert'), clip('mosei', 'mbert')])), { crossLingual: true });
  assert.equal(shared.setting, 'shared');
  assert.equal(shared.maskText, false);
  assert.equal(shared.en, 'mbert');
  assert.equal(shared.zh, 'mbert');

  const one = resolveTextEncoders(deriveTextEncoders(tallyTextModels([clip('sims2', 'zh-bert')])), { crossLingual: false });
  assert.equal(one.setting, 'shared');
  assert.equal(one.maskText, false);
  assert.equal(one.en, null);
  assert.equal(one.requested, undefined);
});

test('the report states the text encoder setting next to the cross-lingual table, in HTML and JSON', async () => {
  const rec = resolveTextEncoders(deriveTextEncoders(tallyTextModels([clip('sims2', 'zh-bert'), clip('mosei', 'en-bert')])), { crossLingual: true });
  const { maskText: _unused, ...textEncoders } = rec;
  const dir = tempDir('report-text');
  const written = await writeEvalReport(dir, {
    crossLingual: [
      { ...crossLingualReport({ direction: 'zh→en', inLanguage: { war: 0.6, uar: 0.5 }, cross: { war: 0.45, uar: 0.4 } }), textEncoders: 'masked' },
    ],
    textEncoders,
  });
  const html = readFileSync(written.html, 'utf8');
  const json = JSON.parse(readFileSync(written.json, 'utf8')) as { textEncoders: { setting: string; en: string }; crossLingual: { textEncoders: string }[] };
  assert.equal(json.textEncoders.setting, 'masked');
  assert.equal(json.textEncoders.en, 'en-bert');
  assert.equal(json.crossLingual[0]!.textEncoders, 'masked');
  const section = html.slice(html.indexOf('<h2>Cross-lingual transfer</h2>'), html.indexOf('<h2>Data problems'));
  assert.match(section, /<th>text encoders<\/th>/);
  assert.match(section, /<td>masked<\/td>/);
  assert.match(section, /Text encoders: masked<\/strong> \(zh: zh-bert; en: en-bert\)/);
  assert.match(section, /text was masked for training and evaluation/);

  // without a cross-lingual table the setting still gets its own section
  const alone = await writeEvalReport(tempDir('report-text-alone'), { textEncoders: { ...textEncoders, setting: 'shared', note: 'one' } });
  assert.match(readFileSync(alone.html, 'utf8'), /<h2>Text encoders<\/h2>\n<p class="note" id="text-encoders"><strong>Text encoders: shared/);
});
