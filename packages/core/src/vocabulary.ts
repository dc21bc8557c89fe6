/**
 * The pipeline's vocabulary, in one place: video statuses, stages and their states, modalities,
 * languages, services and their default ports. Every other list (queue names, API enums, the CLI's
 * stack, the state machine's terminal sets) is derived from these, so adding a stage or a status is
 * one edit here and a compile error everywhere that has to handle it.
 *
 * Order is part of the contract where it is said so below (tensor axes, start order).
 */

// ---------------------------------------------------------------------------------------------- videos

/** Every status a video can be in, in the order it moves through them. */
export const VIDEO_STATUSES = ['queued', 'processing', 'succeeded', 'failed', 'canceled'] as const;
export type VideoStatusName = (typeof VIDEO_STATUSES)[number];

/** Statuses a video never leaves: no stage runs for it again, and its result (or error) is final. */
export const TERMINAL_VIDEO_STATUSES = ['succeeded', 'failed', 'canceled'] as const satisfies readonly VideoStatusName[];
export type TerminalVideoStatus = (typeof TERMINAL_VIDEO_STATUSES)[number];

export function isTerminalVideoStatus(s: string): s is TerminalVideoStatus {
  return (TERMINAL_VIDEO_STATUSES as readonly string[]).includes(s);
}

// ---------------------------------------------------------------------------------------------- stages

/**
 * The stages of one analysis, in dispatch order. A stage's name is also its queue's name, its
 * artifact's file name (`videos/<id>/<stage>.json`) and its key in results (`models`, `timings`).
 */
export const STAGES = ['media', 'asr', 'audio-emotion', 'vision', 'text', 'fusion'] as const;
export type StageName = (typeof STAGES)[number];

/** The stages a worker service runs off a queue (fusion is driven by the orchestrator). */
export const WORKER_STAGES = ['media', 'asr', 'audio-emotion', 'vision', 'text'] as const satisfies readonly StageName[];
export type WorkerStageName = (typeof WORKER_STAGES)[number];

/** The states of one stage of one video. */
export const STAGE_STATES = ['pending', 'running', 'done', 'failed', 'skipped'] as const;
export type StageState = (typeof STAGE_STATES)[number];

/** States a stage never leaves within one analysis. */
export const TERMINAL_STAGE_STATES = ['done', 'failed', 'skipped'] as const satisfies readonly StageState[];
export type TerminalStageState = (typeof TERMINAL_STAGE_STATES)[number];

export function isTerminalStageState(s: string): s is TerminalStageState {
  return (TERMINAL_STAGE_STATES as readonly string[]).includes(s);
}

/** How a run of a stage ends, as its worker reports it: exactly the terminal stage states. */
export const STAGE_OUTCOMES = TERMINAL_STAGE_STATES;
export type StageOutcome = TerminalStageState;

// ---------------------------------------------------------------------------------------- modalities

/** Modality order used in every tensor that has a modality axis (fusion inputs, weights, masks). */
export const MODALITIES = ['text', 'audio', 'vision'] as const;
export type Modality = (typeof MODALITIES)[number];

/**
 * The stage whose embeddings make up each modality. The audio modality is produced by the
 * `audio-emotion` stage: "audio" names what fusion sees (one tensor axis, `modality: 'audio'` in
 * EmbeddingChunk), "audio-emotion" names the work (queue, service, artifact, result key). Code that
 * crosses between the two goes through this map rather than spelling either name by hand.
 */
export const MODALITY_STAGE = { text: 'text', audio: 'audio-emotion', vision: 'vision' } as const satisfies Record<Modality, StageName>;

/** The inverse of MODALITY_STAGE: which modality a stage feeds, if any. */
export const STAGE_MODALITY: Partial<Record<StageName, Modality>> = Object.fromEntries(
  (Object.entries(MODALITY_STAGE) as [Modality, StageName][]).map(([m, s]) => [s, m]),
);

// ----------------------------------------------------------------------------------------- languages

/**
 * Languages the models analyse (Whisper's output is kept only in these, the text stage has one
 * encoder per entry, results say one of these or null). Index order is used by the policy features.
 */
export const SUPPORTED_LANGUAGES = ['zh', 'en'] as const;
export type Language = (typeof SUPPORTED_LANGUAGES)[number];

export function isSupportedLanguage(s: unknown): s is Language {
  return typeof s === 'string' && (SUPPORTED_LANGUAGES as readonly string[]).includes(s);
}

/**
 * What a submission may ask for: a supported language, or `auto` (let ASR detect it). Not the same
 * list as SUPPORTED_LANGUAGES: `auto` is a request, never an answer.
 */
export const LANGUAGE_OPTIONS = ['auto', ...SUPPORTED_LANGUAGES] as const;
export type LanguageOption = (typeof LANGUAGE_OPTIONS)[number];

export function isLanguageOption(s: unknown): s is LanguageOption {
  return typeof s === 'string' && (LANGUAGE_OPTIONS as readonly string[]).includes(s);
}

// ------------------------------------------------------------------------------------------ services

/** The services of the stack, in start order (the orchestrator and fusion first: the rest call them). */
export const SERVICES = ['orchestrator', 'fusion', 'media', 'asr', 'audio-emotion', 'vision', 'text', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Services without an HTTP API of their own: they serve /metrics, /healthz and /readyz on OPS_PORT. */
export type OpsServiceName = Exclude<ServiceName, 'gateway'>;

/**
 * Default ports. Each service's OPS_PORT / GRPC_PORT / PORT defaults to these, and the local stack
 * (`omniaffect up`) lays the same ones out; Kubernetes manifests set them explicitly.
 */
export const DEFAULT_PORTS = {
  /** The public HTTP API (PORT). */
  gateway: 8080,
  orchestratorGrpc: 50051,
  fusionGrpc: 50052,
  /** OPS_PORT per non-HTTP service: consecutive from 9101 in start order (OPS_PORT_BASE moves them together). */
  ops: { orchestrator: 9101, fusion: 9102, media: 9103, asr: 9104, 'audio-emotion': 9105, vision: 9106, text: 9107 },
} as const satisfies { gateway: number; orchestratorGrpc: number; fusionGrpc: number; ops: Record<OpsServiceName, number> };

/** Where a service that calls fusion or the orchestrator finds it by default (same host). */
export const DEFAULT_GRPC_URLS = {
  orchestrator: `127.0.0.1:${DEFAULT_PORTS.orchestratorGrpc}`,
  fusion: `127.0.0.1:${DEFAULT_PORTS.fusionGrpc}`,
} as const;
