import busboy from 'busboy';
import { ProblemError, SizeLimitError, artifactPaths, type ArtifactStore } from '@omniaffect/core';
import type { Request, Response } from 'express';
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

export interface MultipartLimits {
  /** Largest accepted file part, in bytes. */
  fileBytes: number;
  /** No body bytes for this long (while we are not applying backpressure) abandons the upload. */
  idleTimeoutMs: number;
}

/** The form carries one file and a handful of short options; anything beyond is not a real client. */
const FIELD_LIMITS = { fields: 20, fieldSize: 64 * 1024, parts: 40 } as const;
/** Room for the boundaries and option fields around the file when a failed request is drained. */
const DRAIN_SLACK_BYTES = 2 * 1024 * 1024;

/**
 * Streams the multipart field `file` straight into the artifact store at artifactPaths.source(videoId),
 * never buffering it, and settles exactly once.
 *
 * Every way a hostile or broken client can end a form (a second file, a file under another name, an
 * oversized or surplus field, a truncated body, a bad boundary, an abort, a stall) becomes a
 * ProblemError rejection, after the partial file is gone. Robustness rests on two rules: every stream
 * busboy hands us gets an 'error' listener the moment we see it (busboy destroys file streams with an
 * error when the form ends early, and an unlistened 'error' kills the process), and on failure busboy
 * is destroyed as a whole rather than poking at the file stream under it.
 *
 * After a failure the rest of the body is read and discarded (up to what a valid request could have
 * sent) so the client, still writing, reads the problem instead of a reset connection; `res` gets
 * `Connection: close` because the body's framing can no longer be trusted for keep-alive.
 */
export function receiveMultipart(req: Request, res: Response, store: ArtifactStore, videoId: string, limits: MultipartLimits): Promise<MultipartResult> {
  return new Promise((resolve, reject) => {
    const limitBytes = limits.fileBytes;
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        // One byte over the limit is enough for writeStream to notice; busboy then skips the rest.
        limits: { ...FIELD_LIMITS, files: 1, fileSize: limitBytes + 1 },
      });
    } catch (err) {
      // Missing or malformed boundary, or not multipart at all: nothing was read yet.
      res.setHeader('Connection', 'close');
      reject(new ProblemError('validation', `malformed multipart request: ${(err as Error).message}`));
      return;
    }

    const fields: Record<string, string> = {};
    let file: StoredUpload | null = null;
    let writing: Promise<void> | null = null;
    let failure: unknown = null;
    let settled = false;
    let receivedBytes = 0;

    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      outcome();
    };

    // Slowloris defence: a body that stops arriving is abandoned. While the request is paused by
    // pipe backpressure (the disk is slower than the client) the silence is ours, not the client's.
    const idle = setTimeout(function onIdle() {
      if (req.readableFlowing === false && failure === null) {
        idle.refresh();
        return;
      }
      if (failure === null) {
        fail(new ProblemError('validation', `no upload data received for ${limits.idleTimeoutMs} ms`), false);
      } else {
        // Stalled while we were draining after a failure: give up on the client.
        req.socket.destroy();
      }
    }, limits.idleTimeoutMs);
    idle.unref();

    req.on('data', (chunk: Buffer) => {
      receivedBytes += chunk.length;
      idle.refresh();
      if (failure !== null && receivedBytes > limitBytes + DRAIN_SLACK_BYTES) req.socket.destroy();
    });
    // Without a listener an aborted request's error would be swallowed by Node anyway; with one it is
    // a failure like any other, and listening makes that explicit rather than an accident of Node.
    req.on('error', () => fail(new ProblemError('validation', 'the client closed the connection during the upload'), false));
    req.on('close', () => {
      if (!req.complete) fail(new ProblemError('validation', 'the client closed the connection during the upload'), false);
    });

    /**
     * First failure wins. busboy is stopped (which errors the open file stream, and with it the
     * store's write, which removes its temporary file), the video's directory is removed (a file
     * that completed before a later bad field would otherwise stay), then the body is drained.
     */
    function fail(err: unknown, drain = true): void {
      if (failure !== null || settled) return;
      failure = err;
      req.unpipe(bb);
      bb.destroy();
      res.setHeader('Connection', 'close');
      const drained = new Promise<void>((done) => {
        if (!drain || req.complete || req.destroyed) return done();
        req.once('end', done);
        req.once('close', done);
        req.resume();
      });
      void Promise.allSettled([drained, writing ?? Promise.resolve()])
        .then(() => store.removeVideo(videoId))
        .catch(() => undefined)
        .finally(() => settle(() => reject(failure)));
    }

    /** busboy's file streams: listened to at once, drained when not ours. */
    const discard = (stream: NodeJS.ReadableStream) => {
      stream.on('error', () => undefined);
      stream.resume();
    };

    bb.on('file', (name, stream, info) => {
      // The 'error' listener goes on before anything else can happen to the stream.
      stream.on('error', () => undefined);
      if (failure !== null) return discard(stream);
      if (name !== 'file') {
        discard(stream);
        return fail(new ProblemError('validation', 'unexpected file part; send exactly one file part, named `file`', { part: name.slice(0, 100) }));
      }
      const filename = info.filename ?? 'upload';
      const contentType = info.mimeType || 'application/octet-stream';
      if (!isAcceptableMedia(contentType, filename)) {
        discard(stream);
        return fail(new ProblemError('unsupported-content-type', `${contentType} (${filename}) is not an audio or video file`, { contentType }));
      }
      // The orchestrator derives the source path from the video id; storing anywhere else would
      // leave the media stage without its input.
      const rel = artifactPaths.source(videoId);
      writing = store.writeStream(rel, stream, limitBytes).then(
        (sizeBytes) => {
          file = { path: rel, filename, contentType, sizeBytes };
        },
        (err: unknown) => {
          if (err instanceof SizeLimitError) {
            fail(new ProblemError('payload-too-large', `the upload is larger than ${limitBytes} bytes`, { limitBytes }));
          } else if (failure === null) {
            // Not caused by the client. A full or over-quota volume passes (503 + Retry-After: the
            // client should send it again later); anything else (permissions) is a 500, logged.
            const code = (err as NodeJS.ErrnoException | null)?.code;
            fail(code === 'ENOSPC' || code === 'EDQUOT' ? new ProblemError('unavailable', 'the artifact store is out of space; try again later') : err);
          }
        },
      );
    });
    bb.on('field', (name, value, info) => {
      if (failure !== null) return;
      if (info.valueTruncated) {
        return fail(new ProblemError('validation', `field ${name} is longer than ${FIELD_LIMITS.fieldSize} bytes`, { field: name }));
      }
      fields[name] = value;
    });
    bb.on('filesLimit', () => fail(new ProblemError('validation', 'send exactly one file part, named `file`')));
    bb.on('fieldsLimit', () => fail(new ProblemError('validation', `at most ${FIELD_LIMITS.fields} fields`)));
    bb.on('partsLimit', () => fail(new ProblemError('validation', `at most ${FIELD_LIMITS.parts} parts`)));
    // Stays attached for busboy's whole life: destroying it in fail() can emit one more 'error'.
    bb.on('error', (err: Error) => fail(new ProblemError('validation', `malformed multipart request: ${err.message}`)));
    bb.on('close', () => {
      if (failure !== null) return;
      void (writing ?? Promise.resolve()).then(() => {
        if (failure !== null) return;
        settle(() => resolve({ fields, file }));
      });
    });
    req.pipe(bb);
  });
}
