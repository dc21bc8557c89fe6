import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** Source-tree fixtures (tests run from dist/test, fixtures are not compiled). */
export const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures');

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `omniaffect-eval-${prefix}-`));
}
