import { readFile, stat } from 'node:fs/promises';
import { artifactPaths, type AnalysisResult, type ArtifactStore } from '@omniaffect/core';
import type { ReportOptions } from './report-page';

/** At most this many thumbnails, each at most this large: the report stays a few hundred KB for an hour of video. */
const MAX_THUMBNAILS = 24;
const MAX_THUMBNAIL_BYTES = 256 * 1024;

/**
 * The verified key frames as data URIs (the strongest first, at most MAX_THUMBNAILS), read from the
 * artifact store while retention keeps them. Paths come from the result but are re-derived from the
 * video id and checked, so a result can never make the gateway read outside the video's frames.
 */
export async function keyFrames(store: ArtifactStore, r: AnalysisResult): Promise<ReportOptions['frames']> {
  if (!r.modalities.vision.present) return { none: 'report.frames.novideo' };
  const prefix = `${artifactPaths.framesDir(r.id)}/`;
  const wanted = [
    ...new Map(
      r.timeline
        .flatMap((t) => t.evidence.frames.filter((f) => f.verified))
        .sort((a, b) => b.deletionDrop - a.deletionDrop)
        .filter((f) => typeof f.path === 'string' && f.path.startsWith(prefix) && /^\d{6}\.jpg$/.test(f.path.slice(prefix.length)))
        .map((f) => [f.time, f.path!] as const),
    ),
  ].slice(0, MAX_THUMBNAILS);
  if (!wanted.length) return { none: 'report.frames.noverified' };
  const out = new Map<number, string>();
  for (const [time, rel] of wanted) {
    const file = store.resolve(rel);
    const size = await stat(file).then(
      (s) => s.size,
      () => -1,
    );
    if (size < 0 || size > MAX_THUMBNAIL_BYTES) continue;
    out.set(time, `data:image/jpeg;base64,${(await readFile(file)).toString('base64')}`);
  }
  return out.size ? out : { none: 'report.frames.erased' };
}

/** Whether the source media is still in the store (retention erases it). */
export async function mediaRetained(store: ArtifactStore, id: string): Promise<boolean> {
  return store.exists(artifactPaths.source(id));
}
