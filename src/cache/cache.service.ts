import { Inject, Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import KeyvRedis from '@keyv/redis';
import { createCache, type Cache } from 'cache-manager';
import { Keyv } from 'keyv';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';

/** How long a cache operation may take before the database answers instead. */
const OP_TIMEOUT_MS = 250;
/** A second invalidation this long after the first catches a reader that raced the write. */
const SECOND_DELETE_MS = 500;
/** How often invalidations that failed (store unreachable) are tried again. */
const RETRY_DELETE_MS = 1000;
/** At most this many failed invalidations are remembered; the oldest are forgotten first. */
const MAX_PENDING_DELETES = 100_000;
const KEY_PREFIX = 'aerugo:';

export type CacheStatus = 'ok' | 'degraded';

/**
 * Optional provider: a Map-like Keyv store to use instead of the private in-memory one when
 * REDIS_URL is unset (tests provide one whose operations they can make fail).
 */
export const CACHE_STORE = Symbol('CACHE_STORE');

interface PendingDelete {
  at: number;
}

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
 *
 * An invalidation that fails (the store is unreachable or slow) is remembered and tried again
 * until it succeeds or the entry has expired anyway; meanwhile this node reads the key as a miss,
 * so a store that comes back holding the old entry never makes this node serve it.
 */
@Injectable()
export class CacheService implements OnModuleDestroy {
  private readonly logger = new Logger('Cache');
  private readonly cache: Cache;
  private readonly keyv: Keyv;
  private readonly redisStore: KeyvRedis<unknown> | undefined;
  private readonly ttlMs: number;
  readonly backend: 'memory' | 'redis';
  private lastFailure = 0;
  /** Keys whose invalidation failed, with when it last failed (one object per failure). */
  private readonly pendingDeletes = new Map<string, PendingDelete>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retrying = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Optional() @Inject(CACHE_STORE) localStore?: Map<string, unknown>,
  ) {
    this.ttlMs = config.redisTtlSeconds * 1000;
    if (config.redisUrl) {
      const store = new KeyvRedis(config.redisUrl, {
        throwOnConnectError: false,
        throwOnErrors: true,
        connectionTimeout: 1000,
      });
      // Store errors must reach this service (not only Keyv's error event): a failed delete has
      // to be known as failed to be retried.
      this.keyv = new Keyv({
        store,
        namespace: undefined,
        useKeyPrefix: false,
        throwOnErrors: true,
      });
      this.redisStore = store;
      this.backend = 'redis';
    } else {
      this.keyv = localStore
        ? new Keyv({
            store: localStore,
            namespace: undefined,
            useKeyPrefix: false,
            throwOnErrors: true,
          })
        : new Keyv();
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
    if (this.pendingDeletes.has(key)) return undefined;
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
    const before = keys.map((k) => [k, this.pendingDeletes.get(k)] as const);
    try {
      await withTimeout(this.cache.mdel(keys.map((k) => KEY_PREFIX + k)));
      this.settle(before);
    } catch {
      this.markFailure();
      const at = Date.now();
      for (const k of keys) this.pendingDeletes.set(k, { at });
      for (const k of this.pendingDeletes.keys()) {
        if (this.pendingDeletes.size <= MAX_PENDING_DELETES) break;
        this.pendingDeletes.delete(k);
      }
      this.retryTimer ??= setInterval(() => void this.retryDeletes(), RETRY_DELETE_MS);
      this.retryTimer.unref();
    }
  }

  /**
   * Forgets the failed invalidations a successful delete covered. A key whose invalidation failed
   * again meanwhile stays pending: that newer write may have committed after this delete.
   */
  private settle(deleted: readonly (readonly [string, PendingDelete | undefined])[]): void {
    for (const [k, p] of deleted)
      if (p && this.pendingDeletes.get(k) === p) this.pendingDeletes.delete(k);
  }

  /** Number of invalidations waiting for the store to come back (for tests and diagnostics). */
  get pendingInvalidations(): number {
    return this.pendingDeletes.size;
  }

  private async retryDeletes(): Promise<void> {
    if (this.retrying) return;
    this.retrying = true;
    try {
      // Whatever was cached before an invalidation failed has expired TTL after that failure.
      const expired = Date.now() - this.ttlMs;
      for (const [k, p] of this.pendingDeletes) if (p.at <= expired) this.pendingDeletes.delete(k);
      const batch = [...this.pendingDeletes];
      if (batch.length) {
        try {
          await withTimeout(this.cache.mdel(batch.map(([k]) => KEY_PREFIX + k)));
          this.settle(batch);
        } catch {
          this.markFailure();
        }
      }
      if (!this.pendingDeletes.size && this.retryTimer) {
        clearInterval(this.retryTimer);
        this.retryTimer = undefined;
      }
    } finally {
      this.retrying = false;
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
    if (this.retryTimer) clearInterval(this.retryTimer);
    try {
      await withTimeout(this.cache.disconnect());
    } catch {
      // A graceful close waits for an unreachable Redis forever: drop the connection instead.
      await this.redisStore?.disconnect(true).catch(() => undefined);
    }
  }
}
