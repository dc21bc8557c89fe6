/**
 * A stage worker process for stage-worker-poison.test.ts: it runs the real runStageWorker against
 * real Redis and dies (exit 70, as a model worker does when its inference thread times out) on the
 * job of POISON_VIDEO; other jobs succeed.
 */
import { createLogger } from '../src/logger';
import { ServiceMetrics } from '../src/metrics';
import { QUEUES, Queues, redisConnection } from '../src/queues';
import { runStageWorker } from '../src/stage-worker';

const connection = redisConnection(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const queues = new Queues(connection, process.env.QUEUE_PREFIX!, { lockDurationMs: 1500, stalledIntervalMs: 500 });
const worker = runStageWorker({
  queues,
  queue: QUEUES.vision,
  stage: 'vision',
  concurrency: 1,
  log: createLogger('crash-worker', 'silent'),
  metrics: new ServiceMetrics('crash-worker'),
  maxCrashes: Number(process.env.MAX_JOB_CRASHES),
  handler: async (job) => {
    if (job.videoId === process.env.POISON_VIDEO) {
      process.stdout.write(`dying on ${job.videoId}\n`);
      process.exit(70);
    }
    return { outcome: 'done', output: { frames: 0, dim: 0, model: { name: 'test/vision' } } };
  },
});
worker.on('ready', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => {
  void worker.close().then(async () => {
    await queues.close();
    connection.disconnect();
    process.exit(0);
  });
});
