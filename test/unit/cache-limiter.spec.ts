import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { RedisAttemptLimiter } from '../../src/auth/redis-attempt-limiter.js';
import { CacheKeys } from '../../src/cache/cache-keys.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { redisReachable, TEST_REDIS_URL } from '../support/redis.js';
import { freePort } from '../support/server.js';

/** CacheKeys as a deployment's nodes share it (the scope row is read from a stand-in database). */
async function keysWithScope(scope: string): Promise<CacheKeys> {
  const db = { query: async () => [{ value: scope }] } as unknown as DataSource;
  const keys = new CacheKeys(db);
  await keys.onModuleInit();
  return keys;
}

const WINDOW_MS = 3_600_000;

const redisUp = await redisReachable(TEST_REDIS_URL);
if (!redisUp && process.env.CI === 'true')
  throw new Error(`Redis is required in CI at ${TEST_REDIS_URL} (TEST_REDIS_URL)`);

(redisUp ? describe : describe.skip)('RedisAttemptLimiter on a shared Redis', () => {
  let nodeA: RedisAttemptLimiter;
  let nodeB: RedisAttemptLimiter;
  let otherDeployment: RedisAttemptLimiter;
  const scope = randomUUID();

  /** Waits (boundedly) until the limiter's connection is up, so that it counts in Redis. */
  async function ready(l: RedisAttemptLimiter): Promise<void> {
    for (let i = 0; i < 200 && !l.shared; i++) await new Promise((r) => setTimeout(r, 25));
    expect(l.shared).toBe(true);
  }

  beforeAll(async () => {
    const keys = await keysWithScope(scope);
    nodeA = new RedisAttemptLimiter(TEST_REDIS_URL, WINDOW_MS, keys);
    nodeB = new RedisAttemptLimiter(TEST_REDIS_URL, WINDOW_MS, keys);
    otherDeployment = new RedisAttemptLimiter(
      TEST_REDIS_URL,
      WINDOW_MS,
      await keysWithScope(randomUUID()),
    );
    await Promise.all([ready(nodeA), ready(nodeB), ready(otherDeployment)]);
  });

  afterAll(async () => {
    await Promise.all([
      nodeA?.onModuleDestroy(),
      nodeB?.onModuleDestroy(),
      otherDeployment?.onModuleDestroy(),
    ]);
  });

  it('adds up failures recorded by different nodes and blocks every node at the limit', async () => {
    const keys = [{ key: 'account:mallory', limit: 3 }];
    await nodeA.recordFailure(keys);
    await nodeB.recordFailure(keys);
    expect(await nodeA.blockedFor(keys)).toBe(0);
    await nodeA.recordFailure(keys);
    const waitA = await nodeA.blockedFor(keys);
    const waitB = await nodeB.blockedFor(keys);
    expect(waitA).toBeGreaterThan(0);
    expect(waitA).toBeLessThanOrEqual(WINDOW_MS / 1000);
    expect(waitB).toBeGreaterThan(0);
    // Another deployment on the same Redis has counters of its own.
    expect(await otherDeployment.blockedFor(keys)).toBe(0);
  });

  it('blocks when any key is over its limit, and reset forgets only the keys named', async () => {
    const account = { key: 'account:trudy', limit: 5 };
    const address = { key: 'address:192.0.2.1', limit: 2 };
    await nodeA.recordFailure([account, address]);
    await nodeB.recordFailure([account, address]);
    expect(await nodeA.blockedFor([account])).toBe(0);
    expect(await nodeB.blockedFor([account, address])).toBeGreaterThan(0);
    await nodeB.reset([account.key]);
    expect(await nodeA.blockedFor([account, address])).toBeGreaterThan(0);
    await nodeA.reset([address.key]);
    expect(await nodeB.blockedFor([account, address])).toBe(0);
  });

  it('consume() admits exactly the limit across nodes, also for attempts at once', async () => {
    const keys = [{ key: `register:address:${randomUUID()}`, limit: 4 }];
    const waits = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? nodeA : nodeB).consume(keys)),
    );
    expect(waits.filter((w) => w === 0)).toHaveLength(4);
    for (const w of waits.filter((x) => x !== 0)) {
      expect(w).toBeGreaterThan(0);
      expect(w).toBeLessThanOrEqual(WINDOW_MS / 1000);
    }
    expect(await otherDeployment.consume(keys)).toBe(0);
  });
});

describe('RedisAttemptLimiter without a reachable Redis', () => {
  let limiter: RedisAttemptLimiter;

  beforeAll(async () => {
    limiter = new RedisAttemptLimiter(
      `redis://127.0.0.1:${await freePort()}`,
      WINDOW_MS,
      await keysWithScope(randomUUID()),
    );
  });

  afterAll(() => limiter?.onModuleDestroy());

  it("counts on the node instead: sign-ins are not blocked until the node's own limit", async () => {
    expect(limiter.shared).toBe(false);
    const keys = [{ key: 'account:oscar', limit: 2 }];
    expect(await limiter.blockedFor(keys)).toBe(0);
    await limiter.recordFailure(keys);
    expect(await limiter.blockedFor(keys)).toBe(0);
    await limiter.recordFailure(keys);
    expect(await limiter.blockedFor(keys)).toBeGreaterThan(0);
    await limiter.reset(['account:oscar']);
    expect(await limiter.blockedFor(keys)).toBe(0);
    const registrations = [{ key: 'register:address:192.0.2.7', limit: 1 }];
    expect(await limiter.consume(registrations)).toBe(0);
    expect(await limiter.consume(registrations)).toBeGreaterThan(0);
  });
});

// TRUST_PROXY decides which address the per-address sign-in limit counts.
describe('TRUST_PROXY', () => {
  it('is off by default and when false or 0', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '0' }).trustProxy).toBe(false);
  });

  it('takes a number of proxies or a list of proxy addresses, subnets and named ranges', () => {
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(
      loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8, 192.0.2.1' }).trustProxy,
    ).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8', '192.0.2.1']);
  });

  it.each(['true', 'yes', 'proxy.example.com', '10.0.0.0/33', '::1/129', '-1', '101'])(
    'refuses %s, naming the variable',
    (value) => {
      expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(ConfigError);
      expect(() => loadConfig({ TRUST_PROXY: value })).toThrow('TRUST_PROXY');
    },
  );
});
