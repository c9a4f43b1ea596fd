/** A key whose failed attempts are counted, with how many are allowed per window. */
export interface LimitKey {
  key: string;
  limit: number;
}

/**
 * Counts attempts per key (failed sign-ins per account and address; registrations per address) in
 * a window. Kept behind this interface so that the counters can live in a shared store (Redis,
 * see RedisAttemptLimiter) without touching callers.
 */
export interface AttemptLimiter {
  /**
   * Seconds until the next attempt is allowed for all keys (a key at its limit, or held by
   * `hold`), or 0 when allowed now.
   */
  blockedFor(keys: LimitKey[]): Promise<number>;
  /** Counts one failure against every key; returns each key's count in its window. */
  recordFailure(keys: LimitKey[]): Promise<number[]>;
  /** Refuses attempts on the key for `ms` (the growing delay between failed sign-ins). */
  hold(key: string, ms: number): Promise<void>;
  /**
   * Counts one attempt against every key when none is at its limit, in one atomic step (so that
   * concurrent attempts cannot all slip under the limit); else counts nothing and returns the
   * seconds until an attempt is allowed again. 0 means allowed (and counted).
   */
  consume(keys: LimitKey[]): Promise<number>;
  /** Forgets the failures and holds of keys (e.g. the pair after a successful sign-in). */
  reset(keys: string[]): Promise<void>;
}

/** The longest delay between two failed sign-ins of one account from one address. */
export const MAX_FAILURE_DELAY_SECONDS = 60;

/**
 * The delay after the `failures`-th failed sign-in of one account from one client address, when
 * `limit` failures refuse the pair for the rest of the window: the first half of the limit costs
 * nothing (typos), then each failure holds the pair for `baseSeconds`, doubling with every
 * further failure, at most MAX_FAILURE_DELAY_SECONDS (never with `baseSeconds` 0). With the
 * defaults (limit 10, 1 s): failures 1–5 free, then 1, 2, 4 and 8 s, then refusal.
 */
export function failureDelaySeconds(failures: number, baseSeconds: number, limit: number): number {
  const free = Math.floor(limit / 2);
  if (baseSeconds <= 0 || failures <= free || failures >= limit) return 0;
  const exponent = Math.min(failures - free - 1, 16);
  return Math.min(baseSeconds * 2 ** exponent, MAX_FAILURE_DELAY_SECONDS);
}

/**
 * The counters of one sign-in attempt: the account from this client address (the pair) and the
 * address across accounts. There is no counter of the account alone, so failures from one address
 * never refuse its owner elsewhere. `extra` are further pair-like keys (e.g. the credential that
 * asks to change a password), limited like the pair.
 */
export function signInLimitKeys(
  account: string,
  address: string | undefined,
  limits: { perPair: number; perAddress: number },
  extra: string[] = [],
): LimitKey[] {
  const keys: LimitKey[] = [{ key: `pair:${account}|${address ?? ''}`, limit: limits.perPair }];
  for (const k of extra) keys.push({ key: k, limit: limits.perPair });
  if (address) keys.push({ key: `address:${address}`, limit: limits.perAddress });
  return keys;
}

export const ATTEMPT_LIMITER = Symbol('ATTEMPT_LIMITER');
/** The limiter of self-registrations per client address (its own window). */
export const REGISTRATION_LIMITER = Symbol('REGISTRATION_LIMITER');

/** In-process sliding-window counters (one node; see AttemptLimiter). */
export class InMemoryAttemptLimiter implements AttemptLimiter {
  private readonly failures = new Map<string, number[]>();
  /** Key → epoch milliseconds until which it is held. */
  private readonly holds = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(windowMs, 1000));
    this.sweeper.unref();
  }

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }

  async blockedFor(keys: LimitKey[]): Promise<number> {
    return this.waitFor(keys);
  }

  private waitFor(keys: LimitKey[]): number {
    let wait = 0;
    for (const { key, limit } of keys) {
      const held = this.holds.get(key);
      if (held !== undefined) {
        if (held > this.now()) wait = Math.max(wait, Math.ceil((held - this.now()) / 1000));
        else this.holds.delete(key);
      }
      const list = this.recent(key);
      if (list.length >= limit) {
        const until = list[list.length - limit] + this.windowMs;
        wait = Math.max(wait, Math.ceil((until - this.now()) / 1000));
      }
    }
    return Math.max(wait, 0);
  }

  async recordFailure(keys: LimitKey[]): Promise<number[]> {
    this.record(keys);
    return keys.map(({ key }) => this.recent(key).length);
  }

  async hold(key: string, ms: number): Promise<void> {
    if (ms > 0) this.holds.set(key, Math.max(this.holds.get(key) ?? 0, this.now() + ms));
  }

  async consume(keys: LimitKey[]): Promise<number> {
    // Check and count without yielding in between: atomic within this process.
    const wait = this.waitFor(keys);
    if (wait === 0) this.record(keys);
    return wait;
  }

  private record(keys: LimitKey[]): void {
    const t = this.now();
    for (const { key, limit } of keys) {
      const list = this.recent(key);
      list.push(t);
      this.failures.set(key, list.slice(-limit));
    }
  }

  async reset(keys: string[]): Promise<void> {
    for (const k of keys) {
      this.failures.delete(k);
      this.holds.delete(k);
    }
  }

  private sweep(): void {
    for (const key of [...this.failures.keys()]) this.recent(key);
    const now = this.now();
    for (const [key, until] of [...this.holds]) if (until <= now) this.holds.delete(key);
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
