import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CacheService } from '../../src/cache/cache.service.js';
import { loadConfig } from '../../src/config/config.js';
import { freePort } from '../support/server.js';

describe('CacheService with the memory store', () => {
  const cache = new CacheService(loadConfig({}));

  afterAll(() => cache.onModuleDestroy());

  it('caches what a loader finds, never "not found", and forgets invalidated keys', async () => {
    let loads = 0;
    const load = async () => {
      loads++;
      return { n: loads };
    };
    expect(await cache.getOrLoad('k', load)).toEqual({ n: 1 });
    expect(await cache.getOrLoad('k', load)).toEqual({ n: 1 });
    expect(loads).toBe(1);
    await cache.invalidate('k');
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.getOrLoad('k', load)).toEqual({ n: 2 });

    let misses = 0;
    const missing = async () => {
      misses++;
      return null;
    };
    expect(await cache.getOrLoad('absent', missing)).toBeNull();
    expect(await cache.getOrLoad('absent', missing)).toBeNull();
    expect(misses).toBe(2);
  });
});

describe('CacheService with an unreachable Redis', () => {
  let cache: CacheService;

  beforeAll(async () => {
    cache = new CacheService(loadConfig({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` }));
  });

  afterAll(() => cache.onModuleDestroy());

  it('never throws: reads miss, loaders answer, and health says degraded', async () => {
    await cache.set('k', 1);
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.getOrLoad('k', async () => 42)).toBe(42);
    await cache.invalidate('k');
    expect(await cache.status()).toBe('degraded');
    expect(cache.pendingInvalidations).toBe(1);
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
    await cache.set('facts', { level: 'admin' });
    expect(await cache.get('facts')).toEqual({ level: 'admin' });
    store.failDeletes = true;
    await cache.invalidate('facts');
    expect(cache.pendingInvalidations).toBe(1);
    expect(store.has('aerugo:facts')).toBe(true);
    expect(await cache.get('facts')).toBeUndefined();
    // Loading still works; other keys are unaffected.
    expect(await cache.getOrLoad('facts', async () => ({ level: 'read' }))).toEqual({
      level: 'read',
    });
    await cache.set('other', 1);
    expect(await cache.get('other')).toBe(1);
    // Let the second delete (500 ms after the first) fail too, so that only the retry is left.
    for (let i = 0; i < 200 && store.failedDeletes < 2; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(store.failedDeletes).toBeGreaterThanOrEqual(2);

    store.failDeletes = false;
    for (let i = 0; i < 200 && cache.pendingInvalidations > 0; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(cache.pendingInvalidations).toBe(0);
    expect(store.has('aerugo:facts')).toBe(false);
    await cache.set('facts', { level: 'write' });
    expect(await cache.get('facts')).toEqual({ level: 'write' });
  });
});
