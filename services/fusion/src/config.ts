import { z } from 'zod';
import { DEFAULT_PORTS, baseEnv, loadConfig, modelWorkerEnv, port } from '@omniaffect/core';

export const fusionEnv = {
  ...baseEnv,
  MODEL_DIR: modelWorkerEnv.MODEL_DIR,
  EXECUTION_PROVIDER: modelWorkerEnv.EXECUTION_PROVIDER,
  INTRA_OP_THREADS: modelWorkerEnv.INTRA_OP_THREADS,
  FUSION_MODEL_DIR: z.string().optional(),
  OPS_PORT: port(DEFAULT_PORTS.ops.fusion),
  GRPC_PORT: port(DEFAULT_PORTS.fusionGrpc),
  GRPC_HOST: z.string().default('127.0.0.1'),
};

export const loadFusionConfig = (env = process.env) => loadConfig('fusion', fusionEnv, env);
export type FusionConfig = ReturnType<typeof loadFusionConfig>;
