import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ArtifactStore,
  AsrArtifactSchema,
  DISCLAIMER,
  FUSION_SERVICE,
  ORCHESTRATOR_SERVICE,
  QUEUES,
  Queues,
  STAGE_OUTPUT_SCHEMAS,
  artifactPaths,
  completionJobId,
  createDb,
  grpc,
  grpcClient,
  problemFromGrpc,
  problemToGrpc,
  redisConnection,
  repoRoot,
  startGrpcServer,
  startedJobId,
  unary,
  type AnalysisResult,
  type GrpcServerHandle,
  type Logger,
  type ProblemSlug,
  type StageCompletion,
  type StageName,
  type SubmitRequestWire,
  type VideoDocument,
} from '@omniaffect/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createGatewayApp, gatewayPort } from '../src/app';
import { loadGatewayConfig } from '../src/config';

export const KEY = 'test-key-alpha';
export const OTHER_KEY = 'test-key-beta';
export const CALLBACK_OPERATOR_SECRET = 'whsec_b3BlcmF0b3Itc2VjcmV0LWZvci10ZXN0cw==';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// One service token for this test process: the in-process gateway and proxy read it from the
// environment (packages/core/src/grpc.ts), the spawned orchestrator gets it in its env.
process.env.OMNIAFFECT_SERVICE_TOKEN ||= randomBytes(32).toString('base64url');

export type SubmitRequest = SubmitRequestWire;

const ORCHESTRATOR_METHODS = [
  'Submit',
  'Get',
  'GetResult',
  'Cancel',
  'GetFeatures',
  'CreateWebhook',
  'ListWebhooks',
  'DeleteWebhook',
  'ListDeliveries',
  'GetCallbackSecret',
  'ListVideos',
  'AddRating',
  'ListRatings',
  'RatingsSummary',
  'GetMedia',
] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface OrchestratorOptions {
  callbackSecret?: string | null;
  /** More environment for the orchestrator process (e.g. a short MEDIA_RETENTION_HOURS and RECONCILE_INTERVAL_MS). */
  env?: Record<string, string>;
}

/**
 * Stands in for the fusion service, which is not what these suites test: Fuse answers the fusion
 * part of the result a test asked for (see Orchestrator.succeed), Forget and the rest answer empty.
 */
async function startFakeFusion(parts: Map<string, unknown>): Promise<GrpcServerHandle> {
  const ok = (fn: (req: { videoId: string }) => unknown) => (call: grpc.ServerUnaryCall<{ videoId: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
    try {
      cb(null, fn(call.request));
    } catch (err) {
      cb(problemToGrpc(err));
    }
  };
  const handle = await startGrpcServer('127.0.0.1:0', [
    {
      name: FUSION_SERVICE,
      impl: {
        Fuse: ok((req) => {
          const part = parts.get(req.videoId);
          if (!part) throw new Error(`the test set no fusion part for ${req.videoId}`);
          return { fusionJson: JSON.stringify(part) };
        }),
        Forget: ok(() => ({ removed: 0 })),
        GetFeatures: ok(() => ({ tensors: [] })),
        PushEmbeddings: (call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          call.on('data', () => undefined);
          call.on('end', () => cb(null, { videoId: '', items: 0, bytes: 0 }));
        },
      },
    },
  ]);
  handle.setServing(true);
  return handle;
}

/**
 * The real orchestrator (services/orchestrator/dist/src/main.js, its own process) on a fresh
 * PostgreSQL database and a fresh BullMQ prefix, behind a pass-through gRPC proxy that the gateway
 * talks to. The proxy forwards every call unchanged; it records Submit requests and counts Get calls
 * (so tests can see what the gateway sent and wait for an events stream to poll), and it is the one
 * place that can make the orchestrator look down, slow or broken on demand (failWith, setServing,
 * close): transport failures and raw internal errors the real orchestrator cannot produce when asked.
 *
 * Video state moves the way it does in production: stage completions on the completions queue (what
 * the workers send), the asr artifact in the artifact store, and a stand-in fusion service for Fuse.
 */
export class Orchestrator {
  readonly submits: SubmitRequest[] = [];
  /** Every call that went through the proxy, in order (method and decoded request). */
  readonly requests: { method: string; request: Record<string, unknown> }[] = [];
  /** Number of Get calls that went through the proxy. */
  gets = 0;
  private readonly failures = new Map<string, unknown>();
  private readonly owners = new Map<string, string>();
  private readonly fusionParts = new Map<string, unknown>();
  private proxy!: GrpcServerHandle;
  private fusion!: GrpcServerHandle;
  private child!: ChildProcess;
  private direct!: grpc.Client;
  private output = '';
  private readonly connection = redisConnection(REDIS_URL);
  private readonly tag = randomBytes(4).toString('hex');
  private readonly queues = new Queues(this.connection, `gwo${this.tag}`);
  readonly dbUrl = ADMIN_URL.replace(/\/[^/]*$/, `/oa_gw_${this.tag}`);
  private readonly store: ArtifactStore;

  private constructor(readonly artifactDir: string) {
    this.store = new ArtifactStore(artifactDir);
  }

  static async start(artifactDir: string, opts: OrchestratorOptions = {}): Promise<Orchestrator> {
    const o = new Orchestrator(artifactDir);
    o.fusion = await startFakeFusion(o.fusionParts);
    const grpcPort = await freePort();
    const secret = opts.callbackSecret === undefined ? CALLBACK_OPERATOR_SECRET : opts.callbackSecret;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      REDIS_URL,
      DATABASE_URL: o.dbUrl,
      QUEUE_PREFIX: o.queues.prefix,
      ARTIFACT_DIR: artifactDir,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: String(grpcPort),
      OPS_PORT: '0',
      FUSION_GRPC_URL: `127.0.0.1:${o.fusion.port}`,
      OMNIAFFECT_SERVICE_TOKEN: process.env.OMNIAFFECT_SERVICE_TOKEN,
      OMNIAFFECT_WEBHOOK_ALLOW_PRIVATE: 'true',
      LOG_LEVEL: 'warn',
      ...(secret ? { OMNIAFFECT_CALLBACK_SECRET: secret } : {}),
      ...opts.env,
    };
    const main = path.join(repoRoot(), 'services', 'orchestrator', 'dist', 'src', 'main.js');
    o.child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => (o.output = (o.output + b.toString()).slice(-20_000));
    o.child.stdout!.on('data', keep);
    o.child.stderr!.on('data', keep);
    o.direct = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${grpcPort}`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (o.child.exitCode !== null) throw new Error(`the orchestrator exited (${o.child.exitCode}):\n${o.output}`);
      try {
        await unary(o.direct, 'ListWebhooks', { owner: 'harness-probe' }, { deadlineMs: 1000, idempotent: false });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`the orchestrator did not start: ${(err as Error).message}\n${o.output}`);
        await sleep(100);
      }
    }
    o.proxy = await startGrpcServer('127.0.0.1:0', [{ name: ORCHESTRATOR_SERVICE, impl: o.proxyImpl() }]);
    o.proxy.setServing(true);
    return o;
  }

  /** Where the gateway connects: the proxy in front of the real orchestrator. */
  get address(): string {
    return `127.0.0.1:${this.proxy.port}`;
  }

  /** What the orchestrator process wrote (warnings and errors), for failure messages. */
  get logs(): string {
    return this.output;
  }

  /**
   * Makes every call of `method` fail with `err` (null clears it), without reaching the orchestrator:
   * a ProblemError crosses gRPC as a problem; a plain Error as the orchestrator sends an unexpected one
   * (slug internal with the raw message, e.g. a PostgreSQL outage); a {code, details} object as a
   * bare gRPC status (UNAVAILABLE, DEADLINE_EXCEEDED).
   */
  failWith(method: string, err: unknown): void {
    if (err === null) this.failures.delete(method);
    else this.failures.set(method, err);
  }

  /** The health the gateway's readiness probe sees. */
  setServing(serving: boolean): void {
    this.proxy.setServing(serving);
  }

  /** The orchestrator as the gateway sees it when it is gone: the proxy stops listening. */
  async closeProxy(): Promise<void> {
    await this.proxy.close();
  }

  async close(): Promise<void> {
    await this.proxy.close().catch(() => undefined);
    this.direct.close();
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
    await this.fusion.close();
    for (const q of Object.values(QUEUES))
      await this.queues
        .get(q)
        .obliterate({ force: true })
        .catch(() => undefined);
    await this.queues.close();
    await this.connection.quit();
    const admin = createDb(ADMIN_URL, 1);
    await admin.query(`DROP DATABASE IF EXISTS "oa_gw_${this.tag}" WITH (FORCE)`);
    await admin.end();
  }

  /** The owner (the API key's tenant id) the gateway submitted `id` under. */
  ownerOf(id: string): string {
    const owner = this.owners.get(id);
    if (!owner) throw new Error(`no video ${id} was submitted through this harness`);
    return owner;
  }

  /** The video document, straight from the orchestrator (not through the proxy). */
  async video(id: string): Promise<VideoDocument> {
    const res = await unary<object, { videoJson: string }>(this.direct, 'Get', { owner: this.ownerOf(id), id }, { deadlineMs: 5000, idempotent: true });
    return JSON.parse(res.videoJson) as VideoDocument;
  }

  /** The slug the orchestrator answers Get with for `id` (e.g. 'gone' after an erase), or null. */
  async problemOf(id: string): Promise<string | null> {
    try {
      await this.video(id);
      return null;
    } catch (err) {
      return problemFromGrpc(err).slug;
    }
  }

  /** The result document the orchestrator stored, straight from it. */
  async result(id: string): Promise<AnalysisResult> {
    const res = await unary<object, { json: string }>(this.direct, 'GetResult', { owner: this.ownerOf(id), id }, { deadlineMs: 5000, idempotent: true });
    return JSON.parse(res.json) as AnalysisResult;
  }

  /** DELETE as another client of the orchestrator would send it (not through the gateway under test). */
  async erase(id: string): Promise<void> {
    await unary(this.direct, 'Cancel', { owner: this.ownerOf(id), id }, { deadlineMs: 10_000, idempotent: false });
  }

  /** Runs SQL on the orchestrator's database (for state no API writes, e.g. a delivery log). */
  async sql(text: string, params: unknown[] = []): Promise<void> {
    const db = createDb(this.dbUrl, 1);
    try {
      await db.query(text, params);
    } finally {
      await db.end();
    }
  }

  /** Reads rows from the orchestrator's database (to check what an API call left there). */
  async rows<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    const db = createDb(this.dbUrl, 1);
    try {
      return (await db.query(text, params)).rows as T[];
    } finally {
      await db.end();
    }
  }

  /** A worker picked up the media job: the video is processing. */
  async startProcessing(id: string): Promise<void> {
    await this.report({ videoId: id, stage: 'media', outcome: 'started', startedAt: Date.now(), attempts: 1 } as never, startedJobId(id, 'media', 1));
    await this.waitFor(id, (v) => v.status === 'processing', 'processing');
  }

  /** The media stage fails with a problem (a bad file): the video fails with it. */
  async fail(id: string, slug: ProblemSlug, detail: string): Promise<void> {
    await this.complete(id, 'media', 'failed', { problem: { type: slug, detail } });
    await this.waitFor(id, (v) => v.status === 'failed', 'failed');
  }

  /**
   * Runs the video to success as the workers would: media (audio, no frames), asr (writing asr.json
   * with the result's transcript), audio-emotion and text done, vision skipped; the orchestrator's
   * fusion stage then calls Fuse, which answers the result's fusion part. Returns the stored result.
   */
  async succeed(id: string, result: AnalysisResult): Promise<AnalysisResult> {
    const { sentiment, emotion, modalities, evidence, faithfulness, timeline, voice, decisionPath, models } = result;
    this.fusionParts.set(id, { sentiment, emotion, modalities, evidence, faithfulness, timeline, voice, decisionPath, models: { fusion: models.fusion } });
    const language = result.transcript.language ?? 'en';
    const text = result.transcript.text;
    // Whisper-style segments, each placed in the transcript text by character offsets.
    let at = 0;
    const segments = result.transcript.segments.map((seg) => {
      const charStart = Math.max(0, text.indexOf(seg.text, at));
      at = charStart + seg.text.length;
      return { ...seg, charStart, charEnd: at };
    });
    await this.complete(id, 'media', 'done', { output: { durationSec: 3, hasAudio: true, hasVideo: false, frameCount: 0, formatName: 'wav' } });
    await this.waitFor(id, (v) => stageState(v, 'media') === 'done' && stageState(v, 'vision') === 'skipped', 'media done');
    await this.store.writeJson(
      artifactPaths.stageOutput(id, 'asr'),
      AsrArtifactSchema.parse({
        language,
        languageProbability: 0.99,
        topLanguage: { id: 50259, code: language },
        languageOutOfScope: false,
        noSpeechProbability: 0.01,
        text,
        segments,
      }),
    );
    await this.complete(id, 'asr', 'done', {
      output: { hasSpeech: true, language, languageProbability: 0.99, segments: segments.length, model: models.asr ?? { name: 'whisper-test' } },
    });
    await this.waitFor(id, (v) => stageState(v, 'asr') === 'done', 'asr done');
    await this.complete(id, 'audio-emotion', 'done', {
      output: { segments: 1, dim: 32, speechEmotion: null, model: models['audio-emotion'] ?? { name: 'emotion2vec-test' } },
    });
    await this.complete(id, 'text', 'done', { output: { tokens: 4, windows: 1, model: { name: 'bert-test', language, slot: `text-${language}` } } });
    await this.waitFor(id, (v) => v.status === 'succeeded', 'succeeded');
    return this.result(id);
  }

  private async complete(id: string, stage: StageName, outcome: StageCompletion['outcome'], extra: Partial<StageCompletion>): Promise<void> {
    // What a worker reports must meet the stage's output contract, or this harness is testing nothing real.
    if (outcome === 'done') STAGE_OUTPUT_SCHEMAS[stage].parse(extra.output);
    const now = Date.now();
    await this.report({ videoId: id, stage, outcome, startedAt: now, finishedAt: now, attempts: 1, ...extra }, completionJobId(id, stage));
  }

  private async report(c: StageCompletion, jobId: string): Promise<void> {
    await this.queues.get(QUEUES.completions).add(`${c.stage}:${c.outcome}`, c, { jobId });
  }

  private async waitFor(id: string, ok: (v: VideoDocument) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    let last: VideoDocument | undefined;
    while (Date.now() < deadline) {
      last = await this.video(id);
      if (ok(last)) return;
      await sleep(20);
    }
    throw new Error(`video ${id} never became ${what}: ${JSON.stringify(last)}\n${this.output}`);
  }

  private proxyImpl(): grpc.UntypedServiceImplementation {
    const impl: grpc.UntypedServiceImplementation = {};
    for (const method of ORCHESTRATOR_METHODS) {
      impl[method] = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (method === 'Get') this.gets += 1;
        this.requests.push({ method, request: call.request });
        if (method === 'Submit') this.submits.push(call.request as unknown as SubmitRequest);
        const injected = this.failures.get(method);
        if (injected !== undefined) {
          const isStatus = typeof injected === 'object' && injected !== null && 'code' in injected && !(injected instanceof Error);
          cb(isStatus ? (injected as Partial<grpc.StatusObject>) : problemToGrpc(injected));
          return;
        }
        const deadline = call.getDeadline();
        const fn = (this.direct as unknown as Record<string, (...a: unknown[]) => void>)[method]!;
        fn.call(
          this.direct,
          call.request,
          { deadline: deadline instanceof Date || typeof deadline === 'number' ? deadline : Date.now() + 30_000 },
          (err: grpc.ServiceError | null, res: unknown) => {
            if (err) {
              cb({ code: err.code, details: err.details, metadata: err.metadata });
              return;
            }
            if (method === 'Submit') {
              const doc = JSON.parse((res as { videoJson: string }).videoJson) as { id?: string };
              if (doc.id) this.owners.set(doc.id, String(call.request.owner));
            }
            cb(null, res);
          },
        );
      };
    }
    return impl;
  }
}

const stageState = (v: VideoDocument, stage: StageName): string | undefined => (v.stages as Record<string, { state?: string } | undefined>)[stage]?.state;

export interface Gateway {
  orch: Orchestrator;
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
      lines.push(JSON.stringify({ level, args }, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v)));
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
 * A gateway in-process on a free port, talking gRPC to a real orchestrator of its own (see
 * Orchestrator) that shares its artifact dir, counting rate limits in the real Redis at REDIS_URL.
 */
export async function startGateway(env: Record<string, string> = {}, opts: OrchestratorOptions = {}): Promise<Gateway> {
  const artifactDir = await mkdtemp(path.join(tmpdir(), 'omniaffect-gateway-'));
  const orch = await Orchestrator.start(artifactDir, opts);
  instances += 1;
  const config = loadGatewayConfig({
    OMNIAFFECT_API_KEYS: `${KEY}, ${OTHER_KEY}`,
    PORT: '0',
    ARTIFACT_DIR: artifactDir,
    ORCHESTRATOR_GRPC_URL: orch.address,
    LOG_LEVEL: 'silent',
    QUEUE_PREFIX: `gwtest-${process.pid}-${Date.now()}-${instances}`,
    // Off unless a suite is about the limits: suites send more than a client would in a minute.
    RATE_LIMIT_REQUESTS_PER_MINUTE: '0',
    RATE_LIMIT_SUBMISSIONS_PER_MINUTE: '0',
    OMNIAFFECT_SERVICE_TOKEN: process.env.OMNIAFFECT_SERVICE_TOKEN!,
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...env,
  });
  const logs: string[] = [];
  const app = await createGatewayApp(config, { ssePollMs: 20, sseHeartbeatMs: 30, logger: recordingLogger(logs) });
  const base = `http://127.0.0.1:${gatewayPort(app)}`;
  return {
    orch,
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
      await orch.close();
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
  const evidence: AnalysisResult['evidence'] = {
    words: [
      { text: 'love', start: 0.4, end: 0.8, charStart: love, charEnd: love + 4, weight: 0.9, deletionDrop: 0.42, verified: true, segment: 0 },
      { text: '真好', start: 2.0, end: 2.6, charStart: zh, charEnd: zh + 2, weight: 0.3, deletionDrop: -0.02, verified: false, segment: 0 },
    ],
    audioSegments: [
      {
        start: 0,
        end: 2,
        weight: 0.7,
        deletionDrop: 0.12,
        verified: true,
        segment: 0,
        prosody: { f0MeanHz: 180, f0StdHz: 20, f0MinHz: 120, f0MaxHz: 240, energyDb: -20, voicedRatio: 0.6, rateProxy: 3.2 },
      },
    ],
    frames: [],
  };
  const decisionPath = [
    { step: 1, description: 'Text carries most weight (0.60)' },
    { step: 2, description: 'The word <love> pushes towards positive', modality: 'text' },
  ];
  const sentiment: AnalysisResult['sentiment'] = { label: 'positive', probabilities: { negative: 0.05, neutral: 0.15, positive: 0.8 }, intensity: 0.7 };
  const emotion: AnalysisResult['emotion'] = {
    label: 'happy',
    probabilities: { happy: 0.7, sad: 0.05, angry: 0.05, fearful: 0.05, disgusted: 0.05, surprised: 0.05, neutral: 0.05 },
  };
  const modalities: AnalysisResult['modalities'] = {
    text: { present: true, contribution: 0.6 },
    audio: { present: true, contribution: 0.4 },
    vision: { present: false, contribution: 0, reason: 'audio-only file' },
  };
  const faithfulness = { comprehensiveness: 0.5, sufficiency: 0.1, items: 2 };
  return {
    id,
    status: 'succeeded',
    language: 'en',
    sentiment,
    emotion,
    modalities,
    evidence,
    faithfulness,
    timeline: [
      {
        start: 0,
        end: 3,
        speech: true,
        sentiment,
        emotion,
        modalities,
        evidence: structuredClone(evidence),
        faithfulness,
        verdictWeight: 1,
        decisionPath: structuredClone(decisionPath),
      },
    ],
    voice: {
      medianF0Hz: 170,
      medianEnergyDb: -22,
      contour: [
        { start: 0, end: 1, f0Hz: 180, energyDb: -20, voicedRatio: 0.6 },
        { start: 1, end: 2, f0Hz: 160, energyDb: -24, voicedRatio: 0.6 },
        { start: 2, end: 3, f0Hz: null, energyDb: -60, voicedRatio: 0 },
      ],
    },
    decisionPath,
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
