import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheService } from '../../src/cache/cache.service.js';
import { loadConfig } from '../../src/config/config.js';
import { redisReachable, TEST_REDIS_URL } from '../support/redis.js';
import { freePort } from '../support/server.js';

/** Resolves when `cond` holds, polling; fails after `tries` polls. */
async function until(cond: () => boolean, what: string, tries = 400): Promise<void> {
  for (let i = 0; i < tries && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

/** A loader that stays open until released, and says when it has started. */
function heldLoad<T>(value: T) {
  let release!: () => void;
  let started!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const entered = new Promise<void>((r) => (started = r));
  return {
    release,
    entered,
    load: async () => {
      started();
      await gate;
      return value;
    },
  };
}

describe('CacheService with the memory store', () => {
  const cache = new CacheService(loadConfig({}));

  afterAll(() => cache.onModuleDestroy());

  it('caches what a loader finds, "not found" only when asked, and forgets invalidated keys', async () => {
    let loads = 0;
    const load = async () => {
      loads++;
      return { n: loads };
    };
    expect(await cache.getOrLoad('k', load)).toEqual({ n: 1 });
    expect(await cache.getOrLoad('k', load)).toEqual({ n: 1 });
    expect(loads).toBe(1);
    await cache.invalidate('k');
    expect(await cache.getOrLoad('k', load)).toEqual({ n: 2 });

    let misses = 0;
    const missing = async () => {
      misses++;
      return null;
    };
    expect(await cache.getOrLoad('absent', missing)).toBeNull();
    expect(await cache.getOrLoad('absent', missing)).toBeNull();
    expect(misses).toBe(2);
    expect(await cache.getOrLoad('gone', missing, { negative: true })).toBeNull();
    expect(await cache.getOrLoad('gone', missing, { negative: true })).toBeNull();
    expect(misses).toBe(3);
    // Creating the row invalidates its "not found".
    await cache.invalidate('gone');
    expect(await cache.getOrLoad('gone', async () => 'created', { negative: true })).toBe(
      'created',
    );
  });

  it('a load that straddles an invalidation stores nothing, however long it takes', async () => {
    expect(await cache.getOrLoad('facts', async () => 'public')).toBe('public');
    await cache.invalidate('facts');
    // A load begins (it read the old facts), the write commits and invalidates, the load ends.
    const slow = heldLoad('public');
    const pending = cache.getOrLoad('facts', slow.load);
    await slow.entered;
    await cache.invalidate('facts');
    slow.release();
    expect(await pending).toBe('public');
    expect(await cache.getOrLoad('facts', async () => 'private')).toBe('private');
    expect(await cache.getOrLoad('facts', async () => 'wrong')).toBe('private');
  });
});

const redisUp = await redisReachable(TEST_REDIS_URL);
if (!redisUp && process.env.CI === 'true')
  throw new Error(`Redis is required in CI at ${TEST_REDIS_URL} (TEST_REDIS_URL)`);

(redisUp ? describe : describe.skip)('CacheService on Redis shared by two nodes', () => {
  const config = loadConfig({ REDIS_URL: TEST_REDIS_URL, REDIS_TTL_SECONDS: '3600' });
  const a = new CacheService(config);
  const b = new CacheService(config);
  const key = `test:${randomUUID()}`;

  beforeAll(async () => {
    await Promise.all([a.onModuleInit(), b.onModuleInit()]);
  });

  afterAll(async () => {
    await Promise.all([a.onModuleDestroy(), b.onModuleDestroy()]);
  });

  it('a load on A held open across an invalidation on B stores nothing on either node', async () => {
    expect(await a.getOrLoad(key, async () => 'old')).toBe('old');
    expect(await b.getOrLoad(key, async () => 'unused')).toBe('old');
    // The write commits on B; its invalidation reaches Redis.
    await b.invalidate(key);
    // A load starts on A and reads the facts as they were before a second write…
    const slow = heldLoad('stale');
    const pending = a.getOrLoad(key, slow.load);
    await slow.entered;
    // …which commits on B and invalidates while A's load is still open.
    await b.invalidate(key);
    slow.release();
    expect(await pending).toBe('stale');
    // Neither node sees the stale facts: both load the new ones, and then share them.
    expect(await b.getOrLoad(key, async () => 'new')).toBe('new');
    expect(await a.getOrLoad(key, async () => 'not loaded')).toBe('new');
    expect(a.stats.failed + b.stats.failed).toBe(0);
  });

  it('"not found" is shared too, and creating the row (invalidation) ends it on every node', async () => {
    const name = `test:${randomUUID()}`;
    expect(await a.getOrLoad(name, async () => null, { negative: true })).toBeNull();
    expect(await b.getOrLoad(name, async () => 'unused', { negative: true })).toBeNull();
    await a.invalidate(name);
    expect(await b.getOrLoad(name, async () => 'created', { negative: true })).toBe('created');
  });
});

describe('CacheService with an unreachable Redis', () => {
  let cache: CacheService;

  beforeAll(async () => {
    cache = new CacheService(loadConfig({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` }));
    await cache.onModuleInit();
  });

  afterAll(() => cache.onModuleDestroy());

  it('never throws or waits: the breaker is open, so nothing is sent; invalidations wait', async () => {
    await until(() => cache.circuitOpen, 'the breaker to open');
    const before = cache.stats;
    for (let i = 0; i < 50; i++) expect(await cache.getOrLoad('k', async () => i)).toBe(i);
    await cache.invalidate('k');
    expect(await cache.status()).toBe('degraded');
    expect(cache.pendingInvalidations).toBe(1);
    const after = cache.stats;
    expect(after.attempted - before.attempted).toBe(0);
    expect(after.timedOut).toBe(0);
    expect(after.skipped - before.skipped).toBeGreaterThanOrEqual(51);
  });
});

const redisServer = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) =>
  existsSync(p),
);
if (!redisServer && process.env.CI === 'true') throw new Error('redis-server is required in CI');

(redisServer ? describe : describe.skip)('CacheService when Redis dies mid-run', () => {
  let port: number;
  let redis: ChildProcess | undefined;
  let cache: CacheService;

  async function startRedis(): Promise<void> {
    redis = spawn(
      redisServer!,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore', cwd: mkdtempSync(join(tmpdir(), 'aerugo-redis-')) },
    );
    for (let i = 0; i < 200 && !(await redisReachable(`redis://127.0.0.1:${port}`)); i++)
      await new Promise((r) => setTimeout(r, 25));
  }

  async function killRedis(): Promise<void> {
    const p = redis!;
    p.kill('SIGKILL');
    if (p.exitCode === null && p.signalCode === null) await new Promise((r) => p.once('exit', r));
  }

  beforeAll(async () => {
    port = await freePort();
    await startRedis();
    cache = new CacheService(loadConfig({ REDIS_URL: `redis://127.0.0.1:${port}` }));
    await cache.onModuleInit();
  });

  afterAll(async () => {
    await cache?.onModuleDestroy();
    redis?.kill('SIGKILL');
  });

  it('skips the store while it is down (at most one operation fails), then recovers by itself', async () => {
    expect(await cache.getOrLoad('facts', async () => 'v1')).toBe('v1');
    expect(await cache.getOrLoad('facts', async () => 'unused')).toBe('v1');
    expect(cache.stats.failed).toBe(0);

    await killRedis();
    const before = cache.stats;
    // Requests keep coming while Redis is gone: each is answered by its loader.
    for (let i = 0; i < 100; i++)
      expect(await cache.getOrLoad(`k${i % 5}`, async () => `db${i}`)).toBe(`db${i}`);
    await cache.invalidate('facts'); // a write committed meanwhile
    const during = cache.stats;
    expect(cache.circuitOpen).toBe(true);
    // The loss is seen by the connection itself or by the first operation, never by each request.
    expect(during.failed - before.failed).toBeLessThanOrEqual(1);
    expect(during.attempted - before.attempted).toBeLessThanOrEqual(1);
    expect(during.timedOut).toBe(0);
    expect(during.skipped - before.skipped).toBeGreaterThanOrEqual(100);
    expect(cache.pendingInvalidations).toBe(1);
    expect(await cache.getOrLoad('facts', async () => 'v2')).toBe('v2');

    // Redis comes back (empty here, but a Redis that kept its data would be cleaned the same way):
    // the probe closes the breaker and the remembered invalidation is applied.
    await startRedis();
    await until(() => !cache.circuitOpen && cache.pendingInvalidations === 0, 'recovery');
    expect(await cache.status()).toBe('ok');
    expect(await cache.getOrLoad('facts', async () => 'v2')).toBe('v2');
    expect(await cache.getOrLoad('facts', async () => 'unused')).toBe('v2');
  });
});

/** A Map store whose deletes can be made to fail, the way an unreachable Redis fails them. */
class FlakyStore extends Map<string, unknown> {
  failDeletes = false;
  failedDeletes = 0;

  override delete(key: string): boolean {
    if (this.failDeletes) {
      this.failedDeletes++;
      throw new Error('store unreachable');
    }
    return super.delete(key);
  }
}

describe('CacheService when an invalidation fails', () => {
  const store = new FlakyStore();
  const cache = new CacheService(loadConfig({}), store);

  afterAll(() => cache.onModuleDestroy());

  it('reads the key as a miss while the store still holds it, and deletes it once the store answers', async () => {
    expect(await cache.getOrLoad('facts', async () => ({ level: 'admin' }))).toEqual({
      level: 'admin',
    });
    store.failDeletes = true;
    await cache.invalidate('facts');
    expect(cache.pendingInvalidations).toBe(1);
    expect(store.has('aerugo:facts')).toBe(true);
    // This node loads instead of serving the old entry, and stores nothing for the key meanwhile.
    expect(await cache.getOrLoad('facts', async () => ({ level: 'read' }))).toEqual({
      level: 'read',
    });
    expect(await cache.getOrLoad('facts', async () => ({ level: 'none' }))).toEqual({
      level: 'none',
    });

    store.failDeletes = false;
    await until(() => cache.pendingInvalidations === 0, 'the retried invalidation');
    expect(store.has('aerugo:facts')).toBe(false);
    expect(await cache.getOrLoad('facts', async () => ({ level: 'write' }))).toEqual({
      level: 'write',
    });
    expect(await cache.getOrLoad('facts', async () => ({ level: 'unused' }))).toEqual({
      level: 'write',
    });
  });
});
