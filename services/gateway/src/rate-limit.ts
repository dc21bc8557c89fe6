import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ProblemError, type Logger, type redisConnection } from '@omniaffect/core';
import type { Request, Response } from 'express';
import type { AuthedRequest } from './auth';

/** ioredis' client, named through core (which owns the dependency). */
type Redis = ReturnType<typeof redisConnection>;
import { GATEWAY, type GatewayContext } from './context';

export interface Bucket {
  /** Part of the Redis key: 'requests', 'submissions'. */
  name: string;
  limit: number;
}

export interface BucketState {
  name: string;
  limit: number;
  count: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

const WINDOW_MS = 60_000;
/** A Redis slower than this is treated like a Redis that is down: the request goes ahead. */
const REDIS_TIMEOUT_MS = 250;

/**
 * Fixed windows that Redis owns: the first INCR of a window sets its expiry, so every replica sees the
 * same window whatever its clock. One script for all buckets of a request keeps it one round trip and
 * atomic (a crash between INCR and PEXPIRE cannot leave a counter that never expires).
 */
const SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if n == 1 or ttl < 0 then
    redis.call('PEXPIRE', key, ARGV[1])
    ttl = tonumber(ARGV[1])
  end
  out[#out + 1] = n
  out[#out + 1] = ttl
end
return out`;

/**
 * Per-API-key request counters in Redis, shared by every gateway replica.
 *
 * A Redis outage must not take the API down, so the limiter FAILS OPEN: when Redis is not connected,
 * or does not answer within REDIS_TIMEOUT_MS, the request is allowed and a warning is logged (once per
 * outage, not per request). Rate limiting protects capacity; refusing all traffic because the
 * limiter's store is gone would turn a degraded limiter into a full outage.
 */
export class RateLimiter {
  private degraded = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  /** The state of each bucket after counting this request, or null when Redis could not be asked. */
  async hit(owner: string, buckets: readonly Bucket[]): Promise<BucketState[] | null> {
    const active = buckets.filter((b) => b.limit > 0);
    if (active.length === 0) return [];
    // While disconnected ioredis would queue the command until Redis is back; queued commands would
    // pile up in memory for the whole outage, so don't send one at all.
    if (this.redis.status !== 'ready') return this.failOpen(new Error(`redis connection is ${this.redis.status}`));
    const keys = active.map((b) => `${this.prefix}:ratelimit:${b.name}:${owner}`);
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = (await Promise.race([
        this.redis.eval(SCRIPT, keys.length, ...keys, String(WINDOW_MS)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`redis did not answer within ${REDIS_TIMEOUT_MS} ms`)), REDIS_TIMEOUT_MS);
        }),
      ])) as number[];
      if (this.degraded) {
        this.degraded = false;
        this.log.info('rate limiting restored: redis answers again');
      }
      return active.map((b, i) => ({ name: b.name, limit: b.limit, count: Number(reply[2 * i]), resetMs: Number(reply[2 * i + 1]) }));
    } catch (err) {
      return this.failOpen(err);
    } finally {
      clearTimeout(timer);
    }
  }

  private failOpen(err: unknown): null {
    if (!this.degraded) {
      this.degraded = true;
      this.log.warn({ err: (err as Error).message }, 'rate limiting is off: redis is unreachable, requests are allowed through (fail open)');
    }
    return null;
  }
}

/**
 * Runs after AuthGuard (registered after it), so public routes and rejected keys are never counted.
 * Every answer carries RateLimit-* headers of the tightest bucket; over the limit it is 429
 * 'rate-limited' with Retry-After.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(@Inject(GATEWAY) private readonly ctx: GatewayContext) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<AuthedRequest & Request>();
    const owner = req.owner;
    if (!owner) return true;
    await enforceRateLimit(this.ctx, owner, req, context.switchToHttp().getResponse<Response>());
    return true;
  }
}

/**
 * Counts one request against `owner`'s buckets, sets the RateLimit-* headers, and throws 429
 * 'rate-limited' over the limit. The guard calls it for requests with an API key; a handler reached by a
 * signed link calls it itself once it knows whose link it is, so a shared link is paced like its owner's key.
 */
export async function enforceRateLimit(ctx: GatewayContext, owner: string, req: Request, res: Response): Promise<void> {
  const { RATE_LIMIT_REQUESTS_PER_MINUTE, RATE_LIMIT_SUBMISSIONS_PER_MINUTE } = ctx.config;
  const buckets: Bucket[] = [{ name: 'requests', limit: RATE_LIMIT_REQUESTS_PER_MINUTE }];
  if (req.method === 'POST' && (req.route as { path?: string } | undefined)?.path === '/v1/videos') {
    buckets.push({ name: 'submissions', limit: RATE_LIMIT_SUBMISSIONS_PER_MINUTE });
  }
  const states = await ctx.rateLimiter.hit(owner, buckets);
  if (!states || states.length === 0) return;
  const over = states.filter((s) => s.count > s.limit);
  // The bucket the client should pace itself by: the exceeded one, else the one with least room.
  const shown = over[0] ?? states.reduce((a, b) => (b.limit - b.count < a.limit - a.count ? b : a));
  const resetS = Math.max(1, Math.ceil(shown.resetMs / 1000));
  res.setHeader('RateLimit-Limit', String(shown.limit));
  res.setHeader('RateLimit-Remaining', String(Math.max(0, shown.limit - shown.count)));
  res.setHeader('RateLimit-Reset', String(resetS));
  res.setHeader('RateLimit-Policy', states.map((s) => `${s.limit};w=${WINDOW_MS / 1000};comment="${s.name}"`).join(', '));
  if (over.length > 0) {
    res.setHeader('Retry-After', String(resetS));
    throw new ProblemError('rate-limited', `more than ${shown.limit} ${shown.name} per minute for this API key; retry in ${resetS} s`, {
      limit: shown.limit,
      bucket: shown.name,
    });
  }
}
