import { finished } from 'node:stream/promises';
import busboy from 'busboy';
import { ProblemError, SizeLimitError, artifactPaths, type ArtifactStore } from '@omniaffect/core';
import type { Request } from 'express';
import { isAcceptableMedia } from './submission';

export interface StoredUpload {
  path: string;
  filename: string;
  contentType: string;
  sizeBytes: number;
}

export interface MultipartResult {
  fields: Record<string, string>;
  file: StoredUpload | null;
}

/**
 * Streams the multipart field `file` straight into the artifact store under the video's source path,
 * never buffering it. On any failure the partial file is gone before this rejects, and the rest of the
 * request body is drained so the client reads the problem instead of a reset connection.
 */
export function receiveMultipart(req: Request, store: ArtifactStore, videoId: string, limitBytes: number): Promise<MultipartResult> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        // One byte over the limit is enough for writeStream to notice; busboy then skips the rest.
        limits: { files: 1, fileSize: limitBytes + 1, fields: 20, fieldSize: 64 * 1024, parts: 40 },
      });
    } catch (err) {
      return reject(new ProblemError('validation', `malformed multipart request: ${(err as Error).message}`));
    }
    const fields: Record<string, string> = {};
    let file: StoredUpload | null = null;
    let writing: Promise<void> | null = null;
    let fileStream: NodeJS.ReadableStream & { destroy(err?: Error): void; readableEnded: boolean } | null = null;
    let settled = false;

    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      req.unpipe(bb);
      // Detaching busboy (not destroying the file stream under it) keeps it from waiting forever on backpressure.
      bb.removeAllListeners('file');
      if (fileStream && !fileStream.readableEnded) fileStream.destroy(new Error('upload aborted'));
      req.resume();
      const drained = req.readableEnded ? Promise.resolve() : finished(req).catch(() => undefined);
      void Promise.allSettled([drained, writing ?? Promise.resolve()])
        .then(() => store.removeVideo(videoId))
        .finally(() => reject(err));
    };

    bb.on('file', (name, stream, info) => {
      if (name !== 'file' || writing) {
        stream.resume();
        return;
      }
      const filename = info.filename ?? 'upload';
      const contentType = info.mimeType || 'application/octet-stream';
      if (!isAcceptableMedia(contentType, filename)) {
        stream.resume();
        fail(
          new ProblemError('unsupported-content-type', `${contentType} (${filename}) is not an audio or video file`, {
            contentType,
          }),
        );
        return;
      }
      const rel = artifactPaths.source(videoId);
      fileStream = stream;
      writing = store.writeStream(rel, stream, limitBytes).then(
        (sizeBytes) => {
          file = { path: rel, filename, contentType, sizeBytes };
        },
        (err: unknown) => {
          fail(
            err instanceof SizeLimitError
              ? new ProblemError('payload-too-large', `the upload is larger than ${limitBytes} bytes`, { limitBytes })
              : err,
          );
        },
      );
    });
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(new ProblemError('validation', `field ${name} is too long`));
      fields[name] = value;
    });
    bb.on('filesLimit', () => fail(new ProblemError('validation', 'send exactly one file part, named file')));
    bb.on('error', (err: Error) => fail(new ProblemError('validation', `malformed multipart request: ${err.message}`)));
    bb.on('close', () => {
      void (writing ?? Promise.resolve()).then(() => {
        if (settled) return;
        settled = true;
        resolve({ fields, file });
      });
    });
    req.on('close', () => {
      if (!req.complete) fail(new ProblemError('validation', 'the client closed the connection during the upload'));
    });
    req.pipe(bb);
  });
}
