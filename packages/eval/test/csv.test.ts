import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvField, parseCsv, parseCsvTable, toCsv } from '../src/csv';

test('quoted fields keep commas, CRLF/LF newlines and doubled quotes', () => {
  const text = 'a,b,c\r\n1,"x, y","he said ""hi"""\r\n2,"line1\nline2\r\nline3",z\n3,,\n';
  const { records, errors } = parseCsv(text);
  assert.deepEqual(errors, []);
  assert.deepEqual(
    records.map((r) => r.fields),
    [
      ['a', 'b', 'c'],
      ['1', 'x, y', 'he said "hi"'],
      ['2', 'line1\nline2\r\nline3', 'z'],
      ['3', '', ''],
    ],
  );
  // The record after the multi-line field starts on physical line 6.
  assert.deepEqual(
    records.map((r) => r.line),
    [1, 2, 3, 6],
  );
});

test('BOM, missing final newline, blank lines and trailing empty field', () => {
  const { records } = parseCsv('\ufeffh1,h2\n\nx,\n"q",y');
  assert.deepEqual(
    records.map((r) => r.fields),
    [
      ['h1', 'h2'],
      ['x', ''],
      ['q', 'y'],
    ],
  );
});

test('an unterminated quote and stray text after a quote are reported', () => {
  const bad = parseCsv('a,b\n"ok"x,1\n2,"never closed\n');
  assert.deepEqual(
    bad.errors.map((e) => e.line),
    [2, 3],
  );
  assert.match(bad.errors[0]!.reason, /after closing quote/);
  assert.match(bad.errors[1]!.reason, /unterminated/);
});

test('writer round-trips through the parser', () => {
  const rows = [
    ['-3g5yACwYnA', '00012', 'hi, "you"\nthere', ' padded '],
    ['a', '', '0', 'x'],
  ];
  const text = toCsv(['video_id', 'clip_id', 'text', 'k'], rows);
  const table = parseCsvTable(text);
  assert.deepEqual(table.header, ['video_id', 'clip_id', 'text', 'k']);
  assert.deepEqual(
    table.rows.map((r) => r.fields),
    rows,
  );
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a"b'), '"a""b"');
});

test('header lookup is by trimmed, case-insensitive name', () => {
  const t = parseCsvTable('video_id, Label_T ,mode\n1,2,3\n');
  assert.equal(t.columns.get('label_t'), 1);
  assert.equal(t.columns.get('mode'), 2);
});
