import type * as grpcTypes from '@grpc/grpc-js';
import { FUSION_SERVICE, grpcClient } from './grpc';

export interface EmbeddingPush {
  videoId: string;
  modality: 'text' | 'audio' | 'vision';
  kind: string;
  /** [items, dim] for sequences, [dim] for vectors */
  shape: number[];
  data: Float32Array;
  items: unknown[];
  model: string;
}

const CHUNK_BYTES = 1024 * 1024;

/** Workers push their encoder outputs to fusion over a client-streaming gRPC call, in ≤1 MiB chunks. */
export class FusionPushClient {
  private readonly client: grpcTypes.Client;
  constructor(address: string, private readonly deadlineMs = 60_000) {
    this.client = grpcClient(FUSION_SERVICE, address);
  }

  push(p: EmbeddingPush): Promise<{ items: number; bytes: number }> {
    const bytes = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength);
    return new Promise((resolve, reject) => {
      const call = (this.client as unknown as { PushEmbeddings: Function }).PushEmbeddings(
        { deadline: Date.now() + this.deadlineMs },
        (err: grpcTypes.ServiceError | null, ack: { items: number; bytes: number }) => (err ? reject(err) : resolve(ack)),
      ) as grpcTypes.ClientWritableStream<unknown>;
      call.on('error', () => undefined);
      let offset = 0;
      let first = true;
      do {
        const slice = bytes.subarray(offset, offset + CHUNK_BYTES);
        call.write(
          first
            ? { videoId: p.videoId, modality: p.modality, kind: p.kind, shape: p.shape, data: slice, itemsJson: JSON.stringify(p.items), model: p.model }
            : { data: slice },
        );
        first = false;
        offset += CHUNK_BYTES;
      } while (offset < bytes.length);
      call.end();
    });
  }

  /** Idempotent by construction (a replayed push replaces the stored tensor), so transient failures retry. */
  async pushWithRetry(p: EmbeddingPush, attempts = 4): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        await this.push(p);
        return;
      } catch (err) {
        const code = (err as grpcTypes.ServiceError).code;
        // 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED
        if (i >= attempts - 1 || (code !== 14 && code !== 4)) throw err;
        await new Promise((r) => setTimeout(r, 250 * 2 ** i));
      }
    }
  }

  close(): void {
    this.client.close();
  }
}
