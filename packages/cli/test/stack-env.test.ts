import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PORTS, localIntraOpThreads, serviceEnv, type StackOptions } from '../src/stack';

const opts = (env: NodeJS.ProcessEnv): StackOptions => ({ stateDir: '/tmp/x', env, ports: DEFAULT_PORTS, apiKeys: ['k'], logDir: '/tmp/x/logs' });

test('the local stack shares the cores among the four model workers (at least one ORT thread each)', () => {
  assert.equal(localIntraOpThreads(1), 1);
  assert.equal(localIntraOpThreads(2), 1);
  assert.equal(localIntraOpThreads(7), 1);
  assert.equal(localIntraOpThreads(8), 2);
  assert.equal(localIntraOpThreads(16), 4);
});

test('every ONNX service gets INTRA_OP_THREADS unless it is set; the others get none', () => {
  const want = String(localIntraOpThreads());
  for (const name of ['asr', 'audio-emotion', 'vision', 'text', 'fusion'] as const) {
    assert.equal(serviceEnv(name, opts({})).INTRA_OP_THREADS, want, name);
    // a value the user chose wins, 0 (ORT's own default) included
    assert.equal(serviceEnv(name, opts({ INTRA_OP_THREADS: '0' })).INTRA_OP_THREADS, '0', name);
    assert.equal(serviceEnv(name, opts({ INTRA_OP_THREADS: '3' })).INTRA_OP_THREADS, '3', name);
  }
  for (const name of ['gateway', 'orchestrator', 'media'] as const) assert.equal(serviceEnv(name, opts({})).INTRA_OP_THREADS, undefined, name);
});
