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
