import { z } from 'zod';
import { FUSION_SERVICE, baseEnv, createDb, ensureDatabase, loadConfig, migrate, modelWorkerEnv, port, runService, startGrpcServer } from '@omniaffect/core';
import * as path from 'node:path';
import { EmbeddingStore } from './embedding-store';
import { FusionService } from './fusion-service';

const env = {
  ...baseEnv,
  MODEL_DIR: modelWorkerEnv.MODEL_DIR,
  EXECUTION_PROVIDER: modelWorkerEnv.EXECUTION_PROVIDER,
  INTRA_OP_THREADS: modelWorkerEnv.INTRA_OP_THREADS,
  FUSION_MODEL_DIR: z.string().optional(),
  OPS_PORT: port(9102),
  GRPC_PORT: port(50052),
  GRPC_HOST: z.string().default('127.0.0.1'),
};
const config = () => loadConfig('fusion', env);

void runService({
  name: 'fusion',
  config,
  setup: async ({ log, metrics }) => {
    const cfg = config();
    await ensureDatabase(cfg.DATABASE_URL);
    const db = createDb(cfg.DATABASE_URL);
    const service = new FusionService(new EmbeddingStore(db), log, metrics, {
      modelDir: cfg.FUSION_MODEL_DIR ?? path.join(cfg.MODEL_DIR, 'fusion'),
      provider: cfg.EXECUTION_PROVIDER,
      intraOpThreads: cfg.INTRA_OP_THREADS,
    });
    // setup is retried on failure (runService): release what this attempt opened
    const fail = async (err: unknown): Promise<never> => {
      await service.close().catch(() => undefined);
      await db.end().catch(() => undefined);
      throw err;
    };
    await migrate(db).catch(fail);
    await service.load().catch(fail);
    const server = await startGrpcServer(`${cfg.GRPC_HOST}:${cfg.GRPC_PORT}`, [{ name: FUSION_SERVICE, impl: service.grpcImpl() }]);
    server.setServing(true);
    log.info({ port: server.port }, 'fusion gRPC listening');
    return {
      ready: async () => ({ ok: true, detail: { grpcPort: server.port, model: service.manifest?.name } }),
      close: async () => {
        server.setServing(false);
        await server.close();
        await service.close();
        await db.end();
      },
    };
  },
});
