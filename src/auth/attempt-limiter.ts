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
  /** Seconds until the next attempt is allowed for all keys, or 0 when allowed now. */
  blockedFor(keys: LimitKey[]): Promise<number>;
  recordFailure(keys: LimitKey[]): Promise<void>;
  /**
   * Counts one attempt against every key when none is at its limit, in one atomic step (so that
   * concurrent attempts cannot all slip under the limit); else counts nothing and returns the
   * seconds until an attempt is allowed again. 0 means allowed (and counted).
   */
  consume(keys: LimitKey[]): Promise<number>;
  /** Forgets the failures of keys (e.g. the account after a successful sign-in). */
  reset(keys: string[]): Promise<void>;
}

export const ATTEMPT_LIMITER = Symbol('ATTEMPT_LIMITER');
/** The limiter of self-registrations per client address (its own window). */
export const REGISTRATION_LIMITER = Symbol('REGISTRATION_LIMITER');

/** In-process sliding-window counters (one node; see AttemptLimiter). */
export class InMemoryAttemptLimiter implements AttemptLimiter {
  private readonly failures = new Map<string, number[]>();
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
      const list = this.recent(key);
      if (list.length >= limit) {
        const until = list[list.length - limit] + this.windowMs;
        wait = Math.max(wait, Math.ceil((until - this.now()) / 1000));
      }
    }
    return Math.max(wait, 0);
  }

  async recordFailure(keys: LimitKey[]): Promise<void> {
    this.record(keys);
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
    for (const k of keys) this.failures.delete(k);
  }

  private sweep(): void {
    for (const key of [...this.failures.keys()]) this.recent(key);
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
