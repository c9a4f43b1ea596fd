import { Logger, OnModuleDestroy } from '@nestjs/common';
import { createClient } from '@keyv/redis';
import type { CacheKeys } from '../cache/cache-keys.js';
import { type AttemptLimiter, InMemoryAttemptLimiter, type LimitKey } from './attempt-limiter.js';

/** How long a Redis call may take before the node's own counters answer instead. */
const OP_TIMEOUT_MS = 250;
const KEY_PREFIX = 'aerugo:';

/**
 * Adds one failure to every key, atomically: a key's window starts with its first failure
 * (INCR to 1 sets the expiry) and ends a window later, when the key disappears with its count.
 * A key left without an expiry (which only a foreign write could cause) gets one.
 */
const RECORD_SCRIPT = `
local out = {}
for _, k in ipairs(KEYS) do
  local n = redis.call('INCR', k)
  if n == 1 or redis.call('PTTL', k) < 0 then redis.call('PEXPIRE', k, ARGV[1]) end
  out[#out + 1] = n
end
return out`;

/**
 * Count and remaining milliseconds of each of the first ARGV[1] keys (0 and -2 for a key without
 * failures), then the remaining milliseconds of each hold key that follows them (-2: not held).
 */
const READ_SCRIPT = `
local out = {}
local n = tonumber(ARGV[1])
for i, k in ipairs(KEYS) do
  if i <= n then
    out[#out + 1] = tonumber(redis.call('GET', k) or '0')
    out[#out + 1] = redis.call('PTTL', k)
  else
    out[#out + 1] = redis.call('PTTL', k)
  end
end
return out`;

/**
 * Counts one attempt against every key unless one of them is at its limit (ARGV[i + 1]); returns
 * 0 when counted, else the milliseconds until the fullest key's window ends. Check and count are
 * one atomic step, so concurrent attempts on any node never all slip under the limit.
 */
const CONSUME_SCRIPT = `
local wait = 0
for i, k in ipairs(KEYS) do
  if tonumber(redis.call('GET', k) or '0') >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('PTTL', k)
    if ttl < 0 then ttl = tonumber(ARGV[1]) end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for _, k in ipairs(KEYS) do
  local n = redis.call('INCR', k)
  if n == 1 or redis.call('PTTL', k) < 0 then redis.call('PEXPIRE', k, ARGV[1]) end
end
return 0`;

type RedisClient = ReturnType<typeof createClient>;

function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error('redis timeout')), OP_TIMEOUT_MS);
      timer.unref();
    }),
  ]);
}

/**
 * Sign-in failure and registration counters shared by every node through Redis (used when
 * REDIS_URL is set).
 * Each key counts the failures of a fixed window that starts with its first failure: past `limit`
 * failures, the key is blocked until the window ends.
 *
 * Redis is never a reason to refuse or hang a sign-in: when it is unreachable, slow (more than
 * 250 ms) or failing, failures are counted in this node's memory instead (InMemoryAttemptLimiter),
 * and both counters are consulted while either holds failures.
 */
export class RedisAttemptLimiter implements AttemptLimiter, OnModuleDestroy {
  private readonly logger = new Logger('AttemptLimiter');
  private readonly client: RedisClient;
  private readonly fallback: InMemoryAttemptLimiter;
  private lastWarning = 0;
  private closed = false;

  constructor(
    url: string,
    private readonly windowMs: number,
    private readonly cacheKeys: CacheKeys,
    private readonly purpose = 'sign-in rate limits',
  ) {
    this.fallback = new InMemoryAttemptLimiter(windowMs);
    this.client = createClient({
      url,
      // Commands fail at once while disconnected instead of queueing until Redis is back.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 1000,
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
      },
    });
    this.client.on('error', (e: unknown) => this.degraded(e));
    this.client.connect().catch((e: unknown) => this.degraded(e));
  }

  private degraded(e: unknown): void {
    if (this.closed) return;
    if (Date.now() - this.lastWarning > 30_000) {
      this.logger.warn(
        `Redis unavailable for ${this.purpose} (${e instanceof Error ? e.message : String(e)}); counting on this node meanwhile`,
      );
    }
    this.lastWarning = Date.now();
  }

  /** Whether failures are counted in Redis right now (else in this node's memory). */
  get shared(): boolean {
    return this.client.isReady;
  }

  private redisKeys(keys: { key: string }[]): string[] {
    return keys.map((k) => KEY_PREFIX + this.cacheKeys.signInFailures(k.key));
  }

  private holdKeys(keys: { key: string }[]): string[] {
    return keys.map((k) => KEY_PREFIX + this.cacheKeys.signInFailures(`hold:${k.key}`));
  }

  /** Runs a Redis call within the time budget, or returns undefined (the fallback answers). */
  private async redis<T>(call: (c: RedisClient) => Promise<T>): Promise<T | undefined> {
    if (!this.client.isReady) {
      this.degraded(new Error('not connected'));
      return undefined;
    }
    try {
      return await withTimeout(call(this.client));
    } catch (e) {
      this.degraded(e);
      return undefined;
    }
  }

  async blockedFor(keys: LimitKey[]): Promise<number> {
    const local = await this.fallback.blockedFor(keys);
    if (!keys.length) return local;
    const reply = await this.redis(
      (c) =>
        c.eval(READ_SCRIPT, {
          keys: [...this.redisKeys(keys), ...this.holdKeys(keys)],
          arguments: [String(keys.length)],
        }) as Promise<unknown>,
    );
    if (!Array.isArray(reply)) return local;
    let waitMs = 0;
    keys.forEach(({ limit }, i) => {
      const count = Number(reply[2 * i]);
      const ttl = Number(reply[2 * i + 1]);
      if (count >= limit) waitMs = Math.max(waitMs, ttl >= 0 ? ttl : this.windowMs);
      const held = Number(reply[2 * keys.length + i]);
      if (held > 0) waitMs = Math.max(waitMs, held);
    });
    return Math.max(local, Math.ceil(waitMs / 1000));
  }

  async recordFailure(keys: LimitKey[]): Promise<number[]> {
    if (!keys.length) return [];
    const counts = await this.redis((c) =>
      c.eval(RECORD_SCRIPT, {
        keys: this.redisKeys(keys),
        arguments: [String(this.windowMs)],
      }),
    );
    if (!Array.isArray(counts)) return this.fallback.recordFailure(keys);
    return counts.map(Number);
  }

  async hold(key: string, ms: number): Promise<void> {
    if (ms <= 0) return;
    const done = await this.redis((c) =>
      c.set(this.holdKeys([{ key }])[0], '1', { PX: Math.ceil(ms) }),
    );
    if (done === undefined) await this.fallback.hold(key, ms);
  }

  async consume(keys: LimitKey[]): Promise<number> {
    if (!keys.length) return 0;
    const local = await this.fallback.blockedFor(keys);
    if (local > 0) return local;
    const waitMs = await this.redis((c) =>
      c.eval(CONSUME_SCRIPT, {
        keys: this.redisKeys(keys),
        arguments: [String(this.windowMs), ...keys.map((k) => String(k.limit))],
      }),
    );
    if (waitMs === undefined) return this.fallback.consume(keys);
    return Math.ceil(Number(waitMs) / 1000);
  }

  async reset(keys: string[]): Promise<void> {
    await this.fallback.reset(keys);
    const named = keys.map((key) => ({ key }));
    if (keys.length)
      await this.redis((c) => c.del([...this.redisKeys(named), ...this.holdKeys(named)]));
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.fallback.close();
    try {
      this.client.destroy();
    } catch {
      // never connected
    }
  }
}
