import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sharedFile } from '../src/shared-assets';

function withSharedDir<T>(dir: string, fn: () => T): T {
  const before = process.env.OMNIAFFECT_SHARED_DIR;
  process.env.OMNIAFFECT_SHARED_DIR = dir;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.OMNIAFFECT_SHARED_DIR;
    else process.env.OMNIAFFECT_SHARED_DIR = before;
  }
}

test('sharedFile: null when shared/ is absent (skip), the path when present, and an error for a missing file in a present shared/', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'oa-shared-'));
  try {
    mkdirSync(path.join(root, 'assets', 'bert'), { recursive: true });
    writeFileSync(path.join(root, 'assets', 'bert', 'vocab.txt'), '[PAD]\n');
    withSharedDir(root, () => {
      assert.equal(sharedFile('assets', 'bert', 'vocab.txt'), path.join(root, 'assets', 'bert', 'vocab.txt'));
      assert.throws(() => sharedFile('assets', 'bert', 'vocab-typo.txt'), /is present but assets\/bert\/vocab-typo\.txt is missing/);
    });
    withSharedDir(path.join(root, 'nowhere'), () => assert.equal(sharedFile('assets', 'bert', 'vocab.txt'), null));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
