/** Timing of a runner's model calls, read by workers to export inference-time metrics. */
export interface InferenceStats {
  /** Wall time of the last public call (transcribe / analyze / embed), in ms. */
  lastRunMs: number;
  /** Public calls so far. */
  runs: number;
  /** Sum of all calls' wall time, in ms. */
  totalMs: number;
  /** ORT `run()` calls so far (a Whisper transcription makes many). */
  sessionRuns: number;
}

export function newStats(): InferenceStats {
  return { lastRunMs: 0, runs: 0, totalMs: 0, sessionRuns: 0 };
}

export function recordRun(stats: InferenceStats, startedAt: number): void {
  const ms = performance.now() - startedAt;
  stats.lastRunMs = ms;
  stats.runs += 1;
  stats.totalMs += ms;
}
