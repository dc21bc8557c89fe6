import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { z } from 'zod';
import { ConfigError, baseEnv, bool, loadConfig, modelWorkerEnv, port } from '../src/config';

test('loadConfig applies defaults to an empty environment', () => {
  const cfg = loadConfig('svc', { ...baseEnv, ...modelWorkerEnv }, {});
  assert.equal(cfg.REDIS_URL, 'redis://127.0.0.1:6379');
  assert.equal(cfg.QUEUE_PREFIX, 'omniaffect');
  assert.equal(cfg.OPS_PORT, 0);
  assert.equal(cfg.JOB_LOCK_MS, 30_000);
  assert.equal(cfg.EXECUTION_PROVIDER, 'cpu');
  assert.equal(cfg.BATCH_MAX, 8);
});

test('loadConfig coerces good values from strings', () => {
  const cfg = loadConfig(
    'svc',
    { ...baseEnv, ...modelWorkerEnv },
    { OPS_PORT: '9100', JOB_LOCK_MS: '4000', EXECUTION_PROVIDER: 'cuda:1', QUEUE_PREFIX: 'e2e_ab-1', LOG_LEVEL: 'debug' },
  );
  assert.equal(cfg.OPS_PORT, 9100);
  assert.equal(cfg.JOB_LOCK_MS, 4000);
  assert.equal(cfg.EXECUTION_PROVIDER, 'cuda:1');
  assert.equal(cfg.QUEUE_PREFIX, 'e2e_ab-1');
  assert.equal(cfg.LOG_LEVEL, 'debug');
});

test('a bad environment throws one ConfigError naming every bad variable, never its value', () => {
  const env = { REDIS_URL: 'not a url', OPS_PORT: '70000', QUEUE_PREFIX: 'has:colon', EXECUTION_PROVIDER: 'tpu' };
  let caught: unknown;
  try {
    loadConfig('media', { ...baseEnv, ...modelWorkerEnv }, env);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, 'expected a ConfigError');
  assert.equal(caught.service, 'media');
  assert.equal(caught.issues.length, 4, caught.message);
  for (const [name, value] of Object.entries(env)) {
    const issue = caught.issues.find((i) => i.startsWith(`${name}:`));
    assert.ok(issue, `no issue for ${name} in ${caught.message}`);
    assert.ok(issue.endsWith('(value not shown)'), issue);
    assert.ok(!caught.message.includes(value), `${value} echoed in ${caught.message}`);
  }
  assert.match(caught.message, /^media: invalid configuration:/);
  assert.match(
    caught.issues.find((i) => i.startsWith('EXECUTION_PROVIDER'))!,
    /expected cpu, cuda or cuda:<id>/,
  );
});

test('secret-bearing values never reach the message: URLs with passwords, tokens, keys, enum and refine failures', () => {
  const secrets = {
    REDIS_URL: 'redis://admin:hunter2-redis-pw@', // not a URL (no host): zod refuses it
    OMNIAFFECT_SERVICE_TOKEN: 'tok-s3cr3t', // too short
    LOG_LEVEL: 'verbose-s3cr3t', // enum: zod's message would say "received '...'"
    API_KEYS: 'oa_key_s3cr3t',
  };
  const shape = {
    ...baseEnv,
    API_KEYS: z.string().refine(
      (v) => v.startsWith('ok_'),
      (v) => ({ message: `bad key ${v}` }),
    ),
  };
  let caught: unknown;
  try {
    loadConfig('gateway', shape, secrets);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError);
  assert.equal(caught.issues.length, 4, caught.message);
  for (const [name, value] of Object.entries(secrets)) {
    assert.ok(caught.message.includes(`${name}:`), `${name} is named`);
    assert.ok(!caught.message.includes(value), `value of ${name} leaked: ${caught.message}`);
    for (const part of value.split(/[:/@]/).filter((p) => p.length >= 6)) assert.ok(!caught.message.includes(part), `${part} leaked`);
  }
  assert.match(caught.message, /LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent/);
  assert.match(caught.message, /API_KEYS: bad key <value>/);
});

test('a required variable that is missing is reported as not set', () => {
  assert.throws(
    () => loadConfig('svc', { SECRET: z.string().min(1) }, {}),
    (err: unknown) => err instanceof ConfigError && err.issues.length === 1 && /^SECRET: .*\(not set\)$/.test(err.issues[0]),
  );
});

test('bool accepts true/false/1/0/yes/no and uses its default when unset', () => {
  const shape = { FLAG: bool(false), ON: bool(true) };
  const cases: [string, boolean][] = [
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ];
  for (const [raw, want] of cases) assert.equal(loadConfig('s', shape, { FLAG: raw }).FLAG, want, raw);
  const dflt = loadConfig('s', shape, {});
  assert.equal(dflt.FLAG, false);
  assert.equal(dflt.ON, true);
});

test('bool refuses anything else, naming the accepted values', () => {
  for (const raw of ['TRUE', 'on', '2', '']) {
    assert.throws(
      () => loadConfig('s', { FLAG: bool(false) }, { FLAG: raw }),
      (err: unknown) => err instanceof ConfigError && err.issues[0].startsWith('FLAG:') && /expected one of true, false/.test(err.issues[0]),
      raw,
    );
  }
});

test('port parses 0..65535 integers and refuses the rest', () => {
  const shape = { P: port(8080) };
  assert.equal(loadConfig('s', shape, {}).P, 8080);
  assert.equal(loadConfig('s', shape, { P: '0' }).P, 0);
  assert.equal(loadConfig('s', shape, { P: '65535' }).P, 65535);
  for (const raw of ['65536', '-1', '80.5', 'http']) {
    assert.throws(
      () => loadConfig('s', shape, { P: raw }),
      (err: unknown) => err instanceof ConfigError && err.issues[0].startsWith('P:') && !err.issues[0].includes(`"${raw}"`),
      raw,
    );
  }
});
