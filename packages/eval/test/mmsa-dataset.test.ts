import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { readMmsaDataset } from '../src/mmsa-dataset';
import { tempDir } from './helpers';

function touch(root: string, rel: string) {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), '');
}

test('CH-SIMS v2 meta.csv: ids stay strings, quoted text survives, malformed rows are listed', () => {
  const root = tempDir('sims');
  writeFileSync(
    path.join(root, 'meta.csv'),
    [
      'video_id,clip_id,text,label,label_T,label_A,label_V,annotation,mode',
      'aqgy3_0001,00000,好男人就是我，我就是曾小贤。,0.6,0.4,0.6,0.8,Positive,train',
      'aqgy4_0005,00011_0,"他说：""好, 好""\n然后走了",-0.1,,,,Negative,test',
      'video_0001,0001,我不想嫁给李茶,-1.0,-1.0,-1.0,-1.0,Negative,valid',
      'video_0001,0002,x,1.4,1,1,1,Positive,train',
      'video_0001,0003,x,abc,1,1,1,Positive,train',
      'video_0001,0004,x,0.2,1,1,1,Positive,validation',
      'video_0001,0005,x,0.2,1,1',
      'video_0001,0001,dup,0.2,,,,Positive,train',
      'video_0001,0006,x,0.2,nope,,,Positive,train',
      '',
    ].join('\n'),
  );
  touch(root, 'Raw/aqgy3_0001/00000.mp4');
  const d = readMmsaDataset(root, { dataset: 'sims2' });
  assert.equal(d.labelFile, 'meta.csv');
  assert.deepEqual(
    d.samples.map((s) => s.id),
    ['aqgy3_0001/00000', 'aqgy4_0005/00011_0', 'video_0001/0001'],
  );
  const [a, b, c] = d.samples;
  assert.equal(a!.clipId, '00000');
  assert.equal(a!.labelV, 0.8);
  assert.equal(a!.exists, true);
  assert.equal(a!.mediaPath, 'Raw/aqgy3_0001/00000.mp4');
  assert.equal(b!.text, '他说："好, 好"\n然后走了');
  assert.equal(b!.label, -0.1);
  assert.equal(b!.labelT, undefined);
  assert.equal(b!.exists, false);
  assert.equal(c!.clipId, '0001');
  assert.equal(c!.mode, 'valid');
  // Line numbers count physical lines: the quoted newline pushes later rows down by one.
  assert.deepEqual(
    d.problems.map((p) => p.row),
    [6, 7, 8, 9, 10, 11],
  );
  assert.match(d.problems[0]!.reason, /outside \[-1, 1\]/);
  assert.match(d.problems[1]!.reason, /not a number/);
  assert.match(d.problems[2]!.reason, /mode "validation"/);
  assert.match(d.problems[3]!.reason, /expected 9 fields, found 6/);
  assert.match(d.problems[4]!.reason, /duplicate id video_0001\/0001 \(first on line 5\)/);
  assert.match(d.problems[5]!.reason, /label_t/);
  assert.deepEqual(d.counts, {
    rows: 9,
    accepted: 3,
    rejected: 6,
    byMode: { train: 1, valid: 1, test: 1 },
    bySentiment: { negative: 2, neutral: 0, positive: 1 },
    missingMedia: 2,
  });
});

test('CMU-MOSEI label.csv in MOSEI column order, dash-leading ids, numeric-looking ids, extra columns', () => {
  const root = tempDir('mosei');
  writeFileSync(
    path.join(root, 'label.csv'),
    'video_id,clip_id,text,label,annotation,mode,label_T,label_A,label_V,source\r\n' +
      '-3g5yACwYnA,2,"well, i think ""so""",1.3333,Positive,test,,,,x\r\n' +
      '101787,0,ok,-3,Negative,train,,,,y\r\n' +
      'uogwnZGb-iE,5,hm,0.0,Neutral,valid,,,,z\r\n' +
      'uogwnZGb-iE,6,hm,-3.5,Negative,valid,,,,z\r\n',
  );
  touch(root, 'Raw/-3g5yACwYnA/2.mp4');
  const d = readMmsaDataset(root, { dataset: 'mosei' });
  assert.deepEqual(
    d.samples.map((s) => s.id),
    ['-3g5yACwYnA/2', '101787/0', 'uogwnZGb-iE/5'],
  );
  assert.equal(d.samples[0]!.text, 'well, i think "so"');
  assert.equal(d.samples[0]!.exists, true);
  assert.equal(d.samples[1]!.videoId, '101787');
  assert.equal(d.samples[1]!.labelT, undefined);
  assert.deepEqual(d.samples[2]!.extra, { source: 'z' });
  assert.deepEqual(d.problems, [{ row: 5, reason: 'label -3.5 is outside [-3, 3]' }]);
  assert.throws(() => readMmsaDataset(tempDir('none'), { dataset: 'mosei' }), /no label\.csv/);
});

test('a missing required column is an error, not a pile of row problems', () => {
  const root = tempDir('cols');
  writeFileSync(path.join(root, 'label.csv'), 'video_id,clip_id,text,label\na,1,x,0\n');
  assert.throws(() => readMmsaDataset(root, { dataset: 'mosei' }), /missing column\(s\) mode/);
});

test('ids that would escape Raw/ are rejected', () => {
  const root = tempDir('escape');
  writeFileSync(path.join(root, 'label.csv'), 'video_id,clip_id,text,label,mode\n..,1,x,0,train\na,../../etc,x,0,train\n');
  const d = readMmsaDataset(root, { dataset: 'mosei' });
  assert.equal(d.samples.length, 0);
  assert.equal(d.problems.length, 2);
});
