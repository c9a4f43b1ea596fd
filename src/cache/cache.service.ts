import {
  Inject,
  Injectable,
  Logger,
  OnModuleDestroy,
  OnModuleInit,
  Optional,
} from '@nestjs/common';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { isClusterWorker } from '../cluster/cluster.js';
import {
  type CacheStore,
  ClusterMemoryCacheStore,
  MemoryCacheStore,
  RedisCacheStore,
} from './cache-store.js';
import { cacheLookups } from '../observability/metrics.js';

/**
 * Cache-aside over a store in this process (one node) or in Redis (shared by every node), for
 * facts read from PostgreSQL (see CacheKeys for every key and the writes that invalidate it).
 *
 * Why a stale load can never overwrite a newer invalidation
 * -------------------------------------------------------
 * Every writer changes PostgreSQL first, and the keys it changed are invalidated after its
 * transaction has committed (by the after-commit consumers of the event it recorded, which
 * EventsService runs on the writing node before the write returns; see CacheKeys). A reader that misses takes the key's *load token* in the same atomic step that
 * finds no value, then loads from PostgreSQL, then stores what it loaded only if the token is
 * still the key's current one (an atomic compare-and-set: a Lua script in Redis, a step that never
 * yields in memory). An invalidation deletes the value and the token together, atomically, and a
 * deleted token never comes back: a new one is drawn from a counter that never repeats.
 *
 * Take a load L that read facts older than a write W. L's database reads began before W
 * committed; L took its token before its reads; W invalidates after its commit. So W's
 * invalidation comes after L took its token, and it either
 *  - comes before L's store: the token is gone (or replaced), so the store is refused; or
 *  - comes after L's store: it deletes what L stored.
 * Store and invalidation are each atomic, so there is no third order. A load that began after W's
 * invalidation reads the committed write. Hence no stale value survives an invalidation, on any
 * node, however slow the load: no timed second delete is needed. Loads that outlive their token
 * (TOKEN_TTL_MS) simply store nothing. The same holds for "not found" entries (`negative`), so
 * the paths that create a row invalidate its key too.
 *
 * When the store fails
 * --------------------
 * Nothing here throws: a read that fails is a miss and the caller loads from PostgreSQL. The
 * Redis client has no offline queue, so a command fails at once while the connection is down;
 * every call also has a budget (OP_TIMEOUT_MS) for a Redis that hangs. After any failure the
 * breaker opens: the store is skipped entirely (no request waits for it) while a background probe
 * pings it every PROBE_INTERVAL_MS; the first answer closes the breaker. An invalidation that
 * fails or is skipped is remembered and retried until it succeeds or whatever it meant to delete
 * has expired anyway; meanwhile this node neither reads nor stores that key, so a store that comes
 * back holding the old value never makes this node serve it. (Another node that can still reach
 * Redis may serve that value until the retry lands: the window is the partition, not the TTL.)
 */

/** How long a store operation may take before PostgreSQL answers instead. */
const OP_TIMEOUT_MS = 250;
/** How often a store that failed is pinged while the breaker is open. */
const PROBE_INTERVAL_MS = 1000;
/** How often invalidations that failed are tried again. */
const RETRY_DELETE_MS = 1000;
/** At most this many failed invalidations are remembered; the oldest are forgotten first. */
const MAX_PENDING_DELETES = 100_000;
/** "Not found" entries live at most this long (bounds what probing random names can fill). */
const NEGATIVE_TTL_MS = 60_000;

export type CacheStatus = 'ok' | 'degraded';

/** Counters of store operations since start (health and tests). */
export interface CacheStats {
  /** Operations sent to the store. */
  attempted: number;
  /** Of those, failed or over budget. */
  failed: number;
  /** Of the failed, over budget. */
  timedOut: number;
  /** Operations not sent because the breaker was open. */
  skipped: number;
}

/**
 * Optional provider: a Map to hold the values of the in-memory store instead of a private one
 * when REDIS_URL is unset (tests provide one whose operations they can make fail).
 */
export const CACHE_STORE = Symbol('CACHE_STORE');

class SkippedError extends Error {}

interface PendingDelete {
  at: number;
}

function withTimeout<T>(p: Promise<T>, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout();
        reject(new Error('cache timeout'));
      }, OP_TIMEOUT_MS);
      timer.unref();
    }),
  ]);
}

function encode(value: unknown): string {
  return JSON.stringify({ v: value });
}

/** The cached value (null for "not found"), or undefined for a payload of another format. */
function decode<T>(payload: string): T | null | undefined {
  try {
    const parsed: unknown = JSON.parse(payload);
    if (typeof parsed === 'object' && parsed !== null && Object.hasOwn(parsed, 'v'))
      return (parsed as { v: T | null }).v;
  } catch {
    // not ours
  }
  return undefined;
}

/**
 * Key kinds the lookup counter is labelled with: `acl:<scope>:<kind>:…` (cache-keys.ts) and the
 * registry's `tagref:…`, `manifest:…` (ManifestsService) and `blob:…` (BlobsService).
 */
const LOOKUP_KINDS = new Set([
  'repo',
  'ns',
  'user',
  'apikey',
  'session',
  'tagref',
  'manifest',
  'blob',
]);

function countLookup(key: string, result: 'hit' | 'miss'): void {
  const first = key.slice(0, key.indexOf(':'));
  const kind = first === 'acl' ? key.split(':', 3)[2] : first;
  cacheLookups.inc({ kind: kind !== undefined && LOOKUP_KINDS.has(kind) ? kind : 'other', result });
}

@Injectable()
export class CacheService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Cache');
  private readonly store: CacheStore;
  private readonly ttlMs: number;
  readonly backend: 'memory' | 'redis';
  private lastWarning = 0;
  /** Open breaker: the store is skipped until a probe gets an answer. */
  private broken = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private readonly counters: CacheStats = { attempted: 0, failed: 0, timedOut: 0, skipped: 0 };
  /** Keys whose invalidation failed, with when it last failed (one object per failure). */
  private readonly pendingDeletes = new Map<string, PendingDelete>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retrying = false;
  private closed = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Optional() @Inject(CACHE_STORE) localStore?: Map<string, unknown>,
  ) {
    this.ttlMs = config.redisTtlSeconds * 1000;
    if (config.redisUrl) {
      this.store = new RedisCacheStore(config.redisUrl, (e) => this.trip(e));
      this.backend = 'redis';
    } else {
      // Several workers per node share invalidations through the primary process.
      this.store = isClusterWorker()
        ? new ClusterMemoryCacheStore(localStore)
        : new MemoryCacheStore(localStore);
      this.backend = 'memory';
    }
  }

  /** Gives Redis a moment to connect before the node serves requests (never fails start-up). */
  async onModuleInit(): Promise<void> {
    if (this.store instanceof RedisCacheStore) await this.store.connected(1000);
  }

  /** Counters of store operations since start. */
  get stats(): Readonly<CacheStats> {
    return { ...this.counters };
  }

  /** Whether the store is being skipped after a failure. */
  get circuitOpen(): boolean {
    return this.broken;
  }

  /** Number of invalidations waiting for the store to come back (for tests and diagnostics). */
  get pendingInvalidations(): number {
    return this.pendingDeletes.size;
  }

  /** Opens the breaker after a failure; a background probe closes it once the store answers. */
  private trip(e?: unknown): void {
    if (this.closed) return;
    if (Date.now() - this.lastWarning > 30_000) {
      const why = e instanceof Error ? ` (${e.message})` : '';
      this.logger.warn(`cache store unavailable${why}; serving from the database`);
      this.lastWarning = Date.now();
    }
    if (this.broken) return;
    this.broken = true;
    this.probeTimer ??= setInterval(() => void this.probe(), PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      await withTimeout(this.store.ping(), () => undefined);
      this.broken = false;
      if (this.probeTimer) clearInterval(this.probeTimer);
      this.probeTimer = undefined;
      this.logger.log('cache store reachable again');
      void this.retryDeletes();
    } catch {
      // still down; the next probe tries again
    } finally {
      this.probing = false;
    }
  }

  /**
   * Runs one store operation within its budget (none for reads and writes of a store that answers
   * at once); throws (without waiting) while broken.
   */
  private async op<T>(call: () => Promise<T>, immediate = false): Promise<T> {
    if (this.broken) {
      this.counters.skipped++;
      throw new SkippedError();
    }
    this.counters.attempted++;
    try {
      return await (immediate ? call() : withTimeout(call(), () => this.counters.timedOut++));
    } catch (e) {
      this.counters.failed++;
      this.trip(e);
      throw e;
    }
  }

  /**
   * Cache-aside read: the cached value, or the loader's answer, stored when no invalidation of
   * the key came since the load began. "Not found" (null) is stored only when `negative` is set.
   */
  async getOrLoad<T>(
    key: string,
    load: () => Promise<T | null>,
    opts: { negative?: boolean } = {},
  ): Promise<T | null> {
    if (this.pendingDeletes.has(key)) {
      countLookup(key, 'miss');
      return load();
    }
    let token: string | undefined;
    try {
      const read = await this.op(() => this.store.read(key), this.store.immediate);
      if (read.hit) {
        const value = decode<T>(read.payload);
        if (value !== undefined && (value !== null || opts.negative)) {
          countLookup(key, 'hit');
          return value;
        }
      } else {
        token = read.token;
      }
    } catch {
      // a miss
    }
    countLookup(key, 'miss');
    const value = await load();
    if (token !== undefined && (value !== null || opts.negative) && !this.pendingDeletes.has(key)) {
      const ttl = value === null ? Math.min(this.ttlMs, NEGATIVE_TTL_MS) : this.ttlMs;
      const t = token;
      await this.op(() => this.store.write(key, t, encode(value), ttl), this.store.immediate).catch(
        () => undefined,
      );
    }
    return value;
  }

  /** Invalidates after a write has committed. */
  async invalidate(...keys: string[]): Promise<void> {
    const unique = [...new Set(keys)];
    if (!unique.length) return;
    const before = unique.map((k) => [k, this.pendingDeletes.get(k)] as const);
    try {
      await this.op(() => this.store.remove(unique));
      this.settle(before);
    } catch {
      this.remember(unique);
    }
  }

  private remember(keys: string[]): void {
    const at = Date.now();
    for (const k of keys) {
      this.pendingDeletes.delete(k);
      this.pendingDeletes.set(k, { at });
    }
    for (const k of this.pendingDeletes.keys()) {
      if (this.pendingDeletes.size <= MAX_PENDING_DELETES) break;
      this.pendingDeletes.delete(k);
    }
    this.retryTimer ??= setInterval(() => void this.retryDeletes(), RETRY_DELETE_MS);
    this.retryTimer.unref();
  }

  /**
   * Forgets the failed invalidations a successful delete covered. A key whose invalidation failed
   * again meanwhile stays pending: that newer write may have committed after this delete.
   */
  private settle(deleted: readonly (readonly [string, PendingDelete | undefined])[]): void {
    for (const [k, p] of deleted)
      if (p && this.pendingDeletes.get(k) === p) this.pendingDeletes.delete(k);
  }

  private async retryDeletes(): Promise<void> {
    if (this.retrying || this.broken) return;
    this.retrying = true;
    try {
      // Whatever was cached before an invalidation failed has expired TTL after that failure.
      const expired = Date.now() - this.ttlMs;
      for (const [k, p] of this.pendingDeletes) if (p.at <= expired) this.pendingDeletes.delete(k);
      const batch = [...this.pendingDeletes];
      if (batch.length) {
        try {
          await this.op(() => this.store.remove(batch.map(([k]) => k)));
          this.settle(batch);
        } catch {
          // still failing; tried again later
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
    if (this.broken) return 'degraded';
    try {
      await this.op(() => this.store.ping());
      return 'ok';
    } catch {
      return 'degraded';
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearInterval(this.retryTimer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    await this.store.close();
  }
}
