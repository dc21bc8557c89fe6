import {
  STAGES,
  TERMINAL_STAGE_STATES,
  isTerminalVideoStatus,
  type StageName,
  type StageOutputs,
  type StageState,
  type VideoStatusName,
} from '@omniaffect/core';

/**
 * The video state machine, as pure functions over a snapshot. The orchestrator applies an event to
 * the snapshot inside a row-locked transaction, writes the changes, and then performs the actions.
 * Actions are derived from the resulting STATE, not from the event, so replaying an event (at-least-
 * once delivery, a crash between commit and enqueue) re-derives the same actions and every action
 * is idempotent (deterministic job ids).
 *
 *   video:  queued → processing → succeeded | failed | canceled
 *   stage:  pending → running → done | failed | skipped
 *   graph:  media → { asr → text, audio-emotion, vision } → fusion
 */
export interface StageSnapshot {
  state: StageState;
  reason: string | null;
  output: Record<string, unknown> | null;
  attempts: number;
}

export interface VideoSnapshot {
  status: VideoStatusName;
  stages: Record<StageName, StageSnapshot>;
}

/**
 * The run a worker's completion reports: when it began (the worker's clock, ms) and which run it was. A
 * short run sends no "started" report (runStageWorker), so its start time and attempt count arrive here.
 */
export interface ReportedRun {
  startedAt: number;
  attempts: number;
}

export type StageEvent =
  | { kind: 'started'; stage: StageName; attempts: number }
  | { kind: 'done'; stage: StageName; output: Record<string, unknown>; run?: ReportedRun }
  | { kind: 'skipped'; stage: StageName; reason: string; output?: Record<string, unknown>; run?: ReportedRun }
  | { kind: 'failed'; stage: StageName; problemType: string; detail: string; run?: ReportedRun }
  | { kind: 'cancel' };

export interface StageChange {
  stage: StageName;
  state: StageState;
  reason?: string | null;
  output?: Record<string, unknown> | null;
  attempts?: number;
  /** the reported run's start (ms), kept only where no "started" report stamped one */
  startedAt?: number;
}

export interface Transition {
  status: VideoStatusName;
  stageChanges: StageChange[];
  error?: { type: string; detail: string; stage?: StageName };
  /** set when this transition made the video terminal (webhooks fire once, from here) */
  becameTerminal: boolean;
}

export const DEPENDENCIES: Record<StageName, StageName[]> = {
  media: [],
  asr: ['media'],
  'audio-emotion': ['media'],
  vision: ['media'],
  text: ['asr'],
  fusion: ['asr', 'audio-emotion', 'vision', 'text'],
};

const TERMINAL_STAGE: ReadonlySet<StageState> = new Set<StageState>(TERMINAL_STAGE_STATES);
export const isTerminalStatus = (s: VideoStatusName): boolean => isTerminalVideoStatus(s);

export function initialSnapshot(): VideoSnapshot {
  const stages = Object.fromEntries(STAGES.map((name) => [name, { state: 'pending', reason: null, output: null, attempts: 0 } satisfies StageSnapshot]));
  return { status: 'queued', stages: stages as VideoSnapshot['stages'] };
}

/**
 * A finished stage's reported output, typed by its contract (stage-contracts.ts; runStageWorker checked
 * it before reporting). Partial: rows written by an older version may lack a field, and every reader
 * here treats a missing field as "unknown".
 */
export function stageOutput<S extends StageName>(snap: VideoSnapshot, stage: S): Partial<StageOutputs[S]> | null {
  return snap.stages[stage].output as Partial<StageOutputs[S]> | null;
}

/** Why a stage will not run, decided from its upstream outputs; null = it should run. */
export function skipReason(stage: StageName, snap: VideoSnapshot): string | null {
  const media = stageOutput(snap, 'media');
  switch (stage) {
    case 'asr':
    case 'audio-emotion':
      return media && !media.hasAudio ? 'no audio track' : null;
    case 'vision':
      return media && !(media.frameCount && media.frameCount > 0) ? 'no video stream' : null;
    case 'text': {
      const asr = snap.stages.asr;
      if (asr.state === 'skipped') return `no transcript (${asr.reason ?? 'asr skipped'})`;
      const out = stageOutput(snap, 'asr');
      if (asr.state === 'done' && out?.skipText) return out.skipText;
      return asr.state === 'done' && out && out.hasSpeech === false ? 'no speech detected' : null;
    }
    default:
      return null;
  }
}

/** What a completion says about its run: the attempt count (never lowered) and the start time. */
function ranAs(current: StageSnapshot, run: ReportedRun | undefined): Pick<StageChange, 'attempts' | 'startedAt'> {
  return run ? { attempts: Math.max(current.attempts, run.attempts), startedAt: run.startedAt } : {};
}

export function applyEvent(snap: VideoSnapshot, ev: StageEvent): Transition {
  const changes: StageChange[] = [];
  if (isTerminalStatus(snap.status)) return { status: snap.status, stageChanges: [], becameTerminal: false };

  if (ev.kind === 'cancel') {
    for (const [name, st] of Object.entries(snap.stages) as [StageName, StageSnapshot][]) {
      if (!TERMINAL_STAGE.has(st.state)) changes.push({ stage: name, state: 'skipped', reason: 'canceled' });
    }
    return { status: 'canceled', stageChanges: changes, becameTerminal: true };
  }

  const current = snap.stages[ev.stage];
  // A late or duplicate event for a stage that already finished changes nothing.
  if (TERMINAL_STAGE.has(current.state)) return { status: snap.status, stageChanges: [], becameTerminal: false };

  switch (ev.kind) {
    case 'started':
      changes.push({ stage: ev.stage, state: 'running', attempts: Math.max(current.attempts, ev.attempts) });
      return { status: 'processing', stageChanges: changes, becameTerminal: false };
    case 'done':
      changes.push({ stage: ev.stage, state: 'done', output: ev.output, ...ranAs(current, ev.run) });
      if (ev.stage === 'fusion') return { status: 'succeeded', stageChanges: changes, becameTerminal: true };
      return { status: 'processing', stageChanges: changes, becameTerminal: false };
    case 'skipped':
      changes.push({ stage: ev.stage, state: 'skipped', reason: ev.reason, output: ev.output ?? null, ...ranAs(current, ev.run) });
      return { status: 'processing', stageChanges: changes, becameTerminal: false };
    case 'failed': {
      changes.push({ stage: ev.stage, state: 'failed', reason: ev.detail, ...ranAs(current, ev.run) });
      for (const [name, st] of Object.entries(snap.stages) as [StageName, StageSnapshot][]) {
        if (name !== ev.stage && !TERMINAL_STAGE.has(st.state)) changes.push({ stage: name, state: 'skipped', reason: `video failed at ${ev.stage}` });
      }
      return { status: 'failed', stageChanges: changes, error: { type: ev.problemType, detail: ev.detail, stage: ev.stage }, becameTerminal: true };
    }
  }
}

export function withChanges(snap: VideoSnapshot, t: Transition): VideoSnapshot {
  const stages = { ...snap.stages };
  for (const c of t.stageChanges) {
    stages[c.stage] = {
      state: c.state,
      reason: c.reason !== undefined ? c.reason : stages[c.stage].reason,
      output: c.output !== undefined ? c.output : stages[c.stage].output,
      attempts: c.attempts ?? stages[c.stage].attempts,
    };
  }
  return { status: t.status, stages };
}

export type Action = { kind: 'enqueue'; stage: StageName } | { kind: 'skip'; stage: StageName; reason: string };

/**
 * What must happen next for this snapshot: stages whose dependencies all finished and that are still
 * pending are either enqueued or skipped. Stages that are pending but already enqueued are listed
 * again; enqueueing is idempotent, and this is what lets a restarted orchestrator resume.
 */
export function nextActions(snap: VideoSnapshot): Action[] {
  if (isTerminalStatus(snap.status)) return [];
  const actions: Action[] = [];
  for (const stage of Object.keys(DEPENDENCIES) as StageName[]) {
    const st = snap.stages[stage];
    if (st.state !== 'pending') continue;
    const deps = DEPENDENCIES[stage];
    if (!deps.every((d) => TERMINAL_STAGE.has(snap.stages[d].state))) continue;
    const reason = skipReason(stage, snap);
    actions.push(reason ? { kind: 'skip', stage, reason } : { kind: 'enqueue', stage });
  }
  return actions;
}

export function progress(snap: VideoSnapshot): number {
  const all = Object.values(snap.stages);
  return all.filter((s) => TERMINAL_STAGE.has(s.state)).length / all.length;
}
