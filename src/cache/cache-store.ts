import { createClient } from '@keyv/redis';
import { askPrimary, INVALIDATE, onPrimaryCast } from '../cluster/cluster.js';
import { BoundedMap } from '../common/bounded-map.js';

/**
 * The two stores behind the CacheService: one in this process (one node) and Redis (shared by
 * every node). Both keep, next to each cached value, a *load token* per key, and implement the
 * same three atomic steps (see the argument at the top of cache.service.ts):
 *
 * - `read(key)`: the value when there is one; otherwise the key's current load token, made (from a
 *   counter that never repeats) when the key has none.
 * - `write(key, token, …)`: stores the value only while `token` is still the key's load token.
 * - `remove(keys)`: deletes each key's value and load token together.
 */
export type StoreRead = { hit: true; payload: string } | { hit: false; token: string };

export interface CacheStore {
  /**
   * True when `read` and `write` answer without waiting on anything (this process's memory): the
   * CacheService then gives them no time budget (a timer per operation, for nothing).
   */
  readonly immediate?: boolean;
  read(key: string): Promise<StoreRead>;
  /** Stores `payload` for `ttlMs` when `token` is still the key's load token; says whether it did. */
  write(key: string, token: string, payload: string, ttlMs: number): Promise<boolean>;
  remove(keys: string[]): Promise<void>;
  /** Resolves when the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const KEY_PREFIX = 'aerugo:';
const TOKEN_PREFIX = 'aerugo:gen:';
const TOKEN_SEQUENCE = 'aerugo:gen-seq';
/**
 * How long a load token lives. A load that takes longer finds its token gone and stores nothing
 * (it still answers its own request); tokens are only needed while a load is under way.
 */
export const TOKEN_TTL_MS = 60_000;

/** The value, or when the key has none its load token (made when missing), in one step. */
const READ_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
local t = redis.call('GET', KEYS[2])
if not t then
  t = tostring(redis.call('INCR', KEYS[3]))
  redis.call('SET', KEYS[2], t, 'PX', ARGV[1])
end
return {0, t}`;

/** Stores the value only while the caller's load token is the key's current one. */
const WRITE_SCRIPT = `
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

type RedisClient = ReturnType<typeof createClient>;

/**
 * Redis through the node-redis client that @keyv/redis ships. Commands fail at once while the
 * connection is down (no offline queue): a cache that cannot answer now is skipped, never waited
 * for.
 */
export class RedisCacheStore implements CacheStore {
  private readonly client: RedisClient;

  constructor(url: string, onError: (e: unknown) => void) {
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 1000,
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
      },
    });
    this.client.on('error', onError);
    this.client.connect().catch(onError);
  }

  /** Resolves once connected, or after `ms` (whichever comes first). */
  async connected(ms: number): Promise<void> {
    if (this.client.isReady) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.client.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async read(key: string): Promise<StoreRead> {
    const reply = (await this.client.eval(READ_SCRIPT, {
      keys: [KEY_PREFIX + key, TOKEN_PREFIX + key, TOKEN_SEQUENCE],
      arguments: [String(TOKEN_TTL_MS)],
    })) as [number, string];
    return Number(reply[0]) === 1
      ? { hit: true, payload: String(reply[1]) }
      : { hit: false, token: String(reply[1]) };
  }

  async write(key: string, token: string, payload: string, ttlMs: number): Promise<boolean> {
    const stored = await this.client.eval(WRITE_SCRIPT, {
      keys: [KEY_PREFIX + key, TOKEN_PREFIX + key],
      arguments: [token, payload, String(Math.max(1, Math.round(ttlMs)))],
    });
    return Number(stored) === 1;
  }

  async remove(keys: string[]): Promise<void> {
    // One DEL of every value and token: atomic, so no write can land between two of them.
    await this.client.del(keys.flatMap((k) => [KEY_PREFIX + k, TOKEN_PREFIX + k]));
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    try {
      this.client.destroy();
    } catch {
      // never connected
    }
  }
}

interface MemoryEntry {
  payload: string;
  expiresAt: number;
}

/** At most this many values are kept in memory; the oldest written go first. */
const MAX_MEMORY_ENTRIES = 100_000;

/**
 * This process's store (one node). Each step runs without yielding to other requests, which makes
 * it atomic. `entries` may be given (tests pass a Map whose operations they can make fail); the
 * load tokens live in a private map.
 */
export class MemoryCacheStore implements CacheStore {
  readonly immediate = true;
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  private sequence = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly entries: Map<string, unknown> = new BoundedMap(MAX_MEMORY_ENTRIES),
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
  }

  async read(key: string): Promise<StoreRead> {
    const now = this.now();
    const entry = this.entries.get(KEY_PREFIX + key) as MemoryEntry | undefined;
    if (entry && entry.expiresAt > now) return { hit: true, payload: entry.payload };
    let t = this.tokens.get(key);
    if (!t || t.expiresAt <= now) {
      t = { token: String(++this.sequence), expiresAt: now + TOKEN_TTL_MS };
      this.tokens.set(key, t);
    }
    return { hit: false, token: t.token };
  }

  async write(key: string, token: string, payload: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const t = this.tokens.get(key);
    if (!t || t.expiresAt <= now || t.token !== token) return false;
    const name = KEY_PREFIX + key;
    this.entries.set(name, { payload, expiresAt: now + ttlMs } satisfies MemoryEntry);
    return true;
  }

  async remove(keys: string[]): Promise<void> {
    // Tokens first: even when deleting a value fails, no load under way can store any more.
    for (const k of keys) this.tokens.delete(k);
    for (const k of keys) this.entries.delete(KEY_PREFIX + k);
  }

  async ping(): Promise<void> {
    // always reachable
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, t] of this.tokens) if (t.expiresAt <= now) this.tokens.delete(k);
    try {
      for (const [k, e] of this.entries)
        if ((e as MemoryEntry).expiresAt <= now) this.entries.delete(k);
    } catch {
      // a test store refusing deletes; expired values are never served anyway
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}

/**
 * The in-memory store of one worker of a node that runs several (WORKERS > 1, no Redis): reads
 * and writes stay in this process; a removal is also made in every other worker of the node,
 * through the primary process, before it returns (src/cluster/cluster.ts), so that a write's
 * invalidation holds for the whole node as it does for one process.
 */
export class ClusterMemoryCacheStore extends MemoryCacheStore {
  constructor(entries?: Map<string, unknown>) {
    super(entries);
    onPrimaryCast(INVALIDATE, (keys) => super.remove(keys as string[]));
  }

  override async remove(keys: string[]): Promise<void> {
    await super.remove(keys);
    await askPrimary(INVALIDATE, keys);
  }
}
