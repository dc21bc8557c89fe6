import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TextOutputSchema } from '@omniaffect/core';
import { loadTextConfig } from '../src/config';
import { capTokens } from '../src/text-stage';

test('a transcript past TEXT_MAX_TOKENS is cut to the first pieces and the drop is counted', () => {
  const pieces = Array.from({ length: 10 }, (_, i) => `p${i}`);
  assert.deepEqual(capTokens(pieces, 10), { kept: pieces, dropped: 0 });
  assert.deepEqual(capTokens(pieces, 4), { kept: ['p0', 'p1', 'p2', 'p3'], dropped: 6 });
  // the stage output that reports it is part of the contract
  const out = { tokens: 4, tokensDropped: 6, windows: 1, model: { name: 'm', provider: 'cpu', language: 'en', slot: 'en' } };
  assert.ok(TextOutputSchema.safeParse(out).success);
  assert.ok(!TextOutputSchema.safeParse({ ...out, tokensDropped: 0 }).success, 'no drop is reported by leaving the field out');
});

test('TEXT_MAX_TOKENS defaults to 16384 (48 MiB of 768-d float32, under the 64 MiB gRPC bound) and must be positive', () => {
  const base = { MODEL_DIR: '/m', OMNIAFFECT_INSECURE_GRPC: 'true' };
  assert.equal(loadTextConfig(base).TEXT_MAX_TOKENS, 16_384);
  assert.ok(16_384 * 768 * 4 < 64 * 1024 * 1024);
  assert.equal(loadTextConfig({ ...base, TEXT_MAX_TOKENS: '100' }).TEXT_MAX_TOKENS, 100);
  assert.throws(() => loadTextConfig({ ...base, TEXT_MAX_TOKENS: '0' }), /TEXT_MAX_TOKENS/);
});
