/**
 * A Map of at most `max` entries that forgets the least recently written first. `set` makes the
 * entry the newest even when its key was there already, so the Map's own order (insertion order)
 * is the order of writes and the first key is the one to drop. The per-node memories (verified
 * tokens, remembered credentials, touch leases, last-use stamps, the in-memory cache) use it so
 * that no caller can grow them without bound.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly max: number) {
    super();
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`BoundedMap: max must be ≥ 1`);
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.size > this.max) {
      const oldest = this.keys().next();
      if (!oldest.done) super.delete(oldest.value);
    }
    return this;
  }
}

/**
 * "At most once every `intervalMs` per key, on this node": `take(key)` answers whether the caller
 * should act now (and then counts from now); `forget(key)` undoes a take whose action failed.
 * Bounded like BoundedMap; the clock never goes back (process uptime).
 */
export class PerKeyInterval {
  private readonly last: BoundedMap<string, number>;

  constructor(
    private readonly intervalMs: number,
    max: number,
  ) {
    this.last = new BoundedMap(max);
  }

  take(key: string): boolean {
    const now = performance.now();
    const last = this.last.get(key);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.last.set(key, now);
    return true;
  }

  forget(key: string): void {
    this.last.delete(key);
  }
}
