import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import KeyvRedis from '@keyv/redis';
import { createCache, type Cache } from 'cache-manager';
import { Keyv } from 'keyv';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';

/** How long a cache operation may take before the database answers instead. */
const OP_TIMEOUT_MS = 250;
/** A second invalidation this long after the first catches a reader that raced the write. */
const SECOND_DELETE_MS = 500;
const KEY_PREFIX = 'aerugo:';

export type CacheStatus = 'ok' | 'degraded';

function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error('cache timeout')), OP_TIMEOUT_MS);
      timer.unref();
    }),
  ]);
}

/**
 * Cache-aside over cache-manager: an in-memory store by default (one node), Redis when REDIS_URL
 * is set (shared by every node). Never throws: when the store fails or is slow, reads miss and
 * the caller falls back to PostgreSQL; health reports the cache as degraded meanwhile.
 * Only hits are cached, never "not found", so a write on one node is visible on every node.
 */
@Injectable()
export class CacheService implements OnModuleDestroy {
  private readonly logger = new Logger('Cache');
  private readonly cache: Cache;
  private readonly keyv: Keyv;
  private readonly ttlMs: number;
  readonly backend: 'memory' | 'redis';
  private lastFailure = 0;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.ttlMs = config.redisTtlSeconds * 1000;
    if (config.redisUrl) {
      const store = new KeyvRedis(config.redisUrl, {
        throwOnConnectError: false,
        throwOnErrors: true,
        connectionTimeout: 1000,
      });
      this.keyv = new Keyv({ store, namespace: undefined, useKeyPrefix: false });
      this.backend = 'redis';
    } else {
      this.keyv = new Keyv();
      this.backend = 'memory';
    }
    this.keyv.on('error', () => this.markFailure());
    this.cache = createCache({ stores: [this.keyv], ttl: this.ttlMs });
  }

  private markFailure(): void {
    if (Date.now() - this.lastFailure > 30_000)
      this.logger.warn('cache store unavailable; serving from the database');
    this.lastFailure = Date.now();
  }

  async get<T>(key: string): Promise<T | undefined> {
    try {
      const v = await withTimeout(this.cache.get<T>(KEY_PREFIX + key));
      return v ?? undefined;
    } catch {
      this.markFailure();
      return undefined;
    }
  }

  async set<T>(key: string, value: T): Promise<void> {
    try {
      await withTimeout(this.cache.set(KEY_PREFIX + key, value, this.ttlMs));
    } catch {
      this.markFailure();
    }
  }

  /** Cache-aside read: returns the cached value, or loads it and caches it when found. */
  async getOrLoad<T>(key: string, load: () => Promise<T | null>): Promise<T | null> {
    const hit = await this.get<T>(key);
    if (hit !== undefined) return hit;
    const value = await load();
    if (value !== null) await this.set(key, value);
    return value;
  }

  /** Invalidates after a write has committed (and once more shortly after, see SECOND_DELETE_MS). */
  async invalidate(...keys: string[]): Promise<void> {
    if (!keys.length) return;
    await this.deleteKeys(keys);
    setTimeout(() => void this.deleteKeys(keys), SECOND_DELETE_MS).unref();
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    try {
      await withTimeout(this.cache.mdel(keys.map((k) => KEY_PREFIX + k)));
    } catch {
      this.markFailure();
    }
  }

  async status(): Promise<CacheStatus> {
    try {
      await withTimeout(this.cache.set(`${KEY_PREFIX}health`, Date.now(), 10_000));
      return Date.now() - this.lastFailure < 5_000 ? 'degraded' : 'ok';
    } catch {
      this.markFailure();
      return 'degraded';
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.cache.disconnect().catch(() => undefined);
  }
}
