import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per process with prom-client's default metrics plus the families every dashboard panel
 * reads. Names are shared across services and told apart by the `service` default label.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly stageDuration: Histogram<'stage' | 'outcome'>;
  readonly inferenceSeconds: Histogram<'model'>;
  readonly batchSize: Histogram<'model'>;
  readonly queueWaitSeconds: Histogram<'queue'>;
  readonly queueDepth: Gauge<'queue' | 'state'>;
  readonly webhookDeliveries: Counter<'outcome'>;
  readonly videos: Counter<'status'>;
  readonly httpRequests: Histogram<'method' | 'route' | 'status'>;

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    const r = [this.registry];
    this.stageDuration = new Histogram({
      name: 'omniaffect_stage_duration_seconds',
      help: 'Wall time of one stage job, from pick-up to completion',
      labelNames: ['stage', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
      registers: r,
    });
    this.inferenceSeconds = new Histogram({
      name: 'omniaffect_inference_seconds',
      help: 'Time spent inside ONNX Runtime per model call (one batch)',
      labelNames: ['model'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    });
    this.batchSize = new Histogram({
      name: 'omniaffect_batch_size',
      help: 'Items per model call after dynamic batching',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: r,
    });
    this.queueWaitSeconds = new Histogram({
      name: 'omniaffect_queue_wait_seconds',
      help: 'Time a job waited in its queue before a worker took it',
      labelNames: ['queue'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
      registers: r,
    });
    this.queueDepth = new Gauge({
      name: 'omniaffect_queue_jobs',
      help: 'Jobs per BullMQ queue and state (sampled at scrape time)',
      labelNames: ['queue', 'state'],
      registers: r,
    });
    this.webhookDeliveries = new Counter({
      name: 'omniaffect_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome',
      labelNames: ['outcome'],
      registers: r,
    });
    this.videos = new Counter({
      name: 'omniaffect_videos_total',
      help: 'Videos reaching a status',
      labelNames: ['status'],
      registers: r,
    });
    this.httpRequests = new Histogram({
      name: 'omniaffect_http_request_duration_seconds',
      help: 'Gateway HTTP request duration',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: r,
    });
  }

  /** Runs before each scrape, e.g. to sample queue depths. */
  onScrape(fn: () => Promise<void>): void {
    this.scrapeHooks.push(fn);
  }

  async render(): Promise<string> {
    await Promise.allSettled(this.scrapeHooks.map((f) => f()));
    return this.registry.metrics();
  }

  private readonly scrapeHooks: (() => Promise<void>)[] = [];
}
