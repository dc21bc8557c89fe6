import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DISCLAIMER, type AnalysisResult, type Logger } from '@omniaffect/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createGatewayApp, gatewayPort } from '../src/app';
import { loadGatewayConfig } from '../src/config';
import { FakeOrchestrator } from './fake-orchestrator';

export const KEY = 'test-key-alpha';
export const OTHER_KEY = 'test-key-beta';

export interface Gateway {
  fake: FakeOrchestrator;
  app: NestExpressApplication;
  base: string;
  artifactDir: string;
  /** Every log line the gateway wrote, as JSON text (level, fields, message), in order. */
  logs: string[];
  /** fetch with this suite's API key unless the caller sets its own Authorization. */
  api(pathname: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/**
 * A logger that keeps every line in memory, so tests can assert on what would have been logged.
 * Errors are kept with message and stack, which JSON.stringify would otherwise drop.
 */
function recordingLogger(lines: string[]): Logger {
  const record =
    (level: string) =>
    (...args: unknown[]) => {
      lines.push(
        JSON.stringify({ level, args }, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v)),
      );
    };
  const log: Record<string, unknown> = { level: 'trace' };
  for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace']) log[level] = record(level);
  log.child = () => log;
  log.isLevelEnabled = () => true;
  return log as unknown as Logger;
}

/** Each gateway counts its rate limits under its own Redis prefix, so suites never share counters. */
let instances = 0;

/**
 * A gateway in-process on a free port, talking gRPC to a fresh fake orchestrator, with its own artifact
 * dir, counting rate limits in the real Redis at REDIS_URL (default 127.0.0.1:6379).
 */
export async function startGateway(env: Record<string, string> = {}): Promise<Gateway> {
  const fake = await FakeOrchestrator.start();
  const artifactDir = await mkdtemp(path.join(tmpdir(), 'omniaffect-gateway-'));
  instances += 1;
  const config = loadGatewayConfig({
    OMNIAFFECT_API_KEYS: `${KEY}, ${OTHER_KEY}`,
    PORT: '0',
    ARTIFACT_DIR: artifactDir,
    ORCHESTRATOR_GRPC_URL: fake.address,
    LOG_LEVEL: 'silent',
    QUEUE_PREFIX: `gwtest-${process.pid}-${Date.now()}-${instances}`,
    // Off unless a suite is about the limits: suites send more than a client would in a minute.
    RATE_LIMIT_REQUESTS_PER_MINUTE: '0',
    RATE_LIMIT_SUBMISSIONS_PER_MINUTE: '0',
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...env,
  });
  const logs: string[] = [];
  const app = await createGatewayApp(config, { ssePollMs: 20, sseHeartbeatMs: 30, logger: recordingLogger(logs) });
  const base = `http://127.0.0.1:${gatewayPort(app)}`;
  return {
    fake,
    app,
    base,
    artifactDir,
    logs,
    api: (pathname, init = {}) => {
      const headers = new Headers(init.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${KEY}`);
      return fetch(base + pathname, { ...init, headers });
    },
    close: async () => {
      await app.close();
      await fake.close();
      await rm(artifactDir, { recursive: true, force: true });
    },
  };
}

/** Every file under dir (recursively), relative; empty when nothing was left behind. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)));
}

export function uploadForm(bytes: Uint8Array, opts: { type?: string; filename?: string; fields?: Record<string, string> } = {}): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(opts.fields ?? {})) form.append(k, v);
  form.append('file', new Blob([bytes], { type: opts.type ?? 'video/mp4' }), opts.filename ?? 'clip.mp4');
  return form;
}

export const TRANSCRIPT = 'I <b>love</b> this & "that" — 真好';

/** A valid result whose transcript needs escaping; the evidence words point into it by offsets. */
export function sampleResult(id: string): AnalysisResult {
  const love = TRANSCRIPT.indexOf('love');
  const zh = TRANSCRIPT.indexOf('真好');
  return {
    id,
    status: 'succeeded',
    language: 'en',
    sentiment: { label: 'positive', probabilities: { negative: 0.05, neutral: 0.15, positive: 0.8 }, intensity: 0.7 },
    emotion: {
      label: 'happy',
      probabilities: { happy: 0.7, sad: 0.05, angry: 0.05, fearful: 0.05, disgusted: 0.05, surprised: 0.05, neutral: 0.05 },
    },
    modalities: {
      text: { present: true, contribution: 0.6 },
      audio: { present: true, contribution: 0.4 },
      vision: { present: false, contribution: 0, reason: 'audio-only file' },
    },
    evidence: {
      words: [
        { text: 'love', start: 0.4, end: 0.8, charStart: love, charEnd: love + 4, weight: 0.9 },
        { text: '真好', start: 2.0, end: 2.6, charStart: zh, charEnd: zh + 2, weight: 0.3 },
      ],
      audioSegments: [
        {
          start: 0,
          end: 2,
          weight: 0.7,
          prosody: { f0MeanHz: 180, f0StdHz: 20, f0MinHz: 120, f0MaxHz: 240, energyDb: -20, voicedRatio: 0.6, rateProxy: 3.2 },
        },
      ],
      frames: [],
    },
    decisionPath: [
      { step: 1, description: 'Text carries most weight (0.60)' },
      { step: 2, description: 'The word <love> pushes towards positive', modality: 'text' },
    ],
    transcript: { language: 'en', text: TRANSCRIPT, segments: [{ start: 0, end: 3, text: TRANSCRIPT }] },
    models: { asr: { name: 'whisper-tiny-test', version: '1' }, fusion: { name: 'fusion-test' } },
    timings: { media: { seconds: 0.2 }, fusion: { seconds: 0.1 }, totalSeconds: 1.2 } as unknown as AnalysisResult['timings'],
    disclaimer: DISCLAIMER,
  };
}

export async function problemOf(res: Response): Promise<{ type: string; status: number; title: string; detail?: string; instance?: string }> {
  const ct = res.headers.get('content-type') ?? '';
  if (!ct.startsWith('application/problem+json')) throw new Error(`expected problem+json, got ${ct} (${res.status}): ${await res.text()}`);
  return (await res.json()) as { type: string; status: number; title: string; detail?: string; instance?: string };
}

export const slugOf = (type: string): string => type.split('/').pop() ?? '';
