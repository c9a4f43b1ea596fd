/**
 * The touch windows of a blob link (see "HEAD then skip" at the top of src/gc/gc.service.ts).
 *
 * - `touchWindowSeconds` (W): the registry's touch of a link writes only when the link's
 *   `touched_at` is older than W, so after a touch statement whose `now()` is D the link has
 *   `touched_at ≥ D − W` (whoever wrote it: this node, another node, an upload or a mount).
 * - `leaseMs` (L): after its own touch statement found the link, a node skips touching it again
 *   for L (its monotonic clock, started before the statement was sent).
 *
 * A collector removes the link only in a statement whose `now()` is past `touched_at` + grace,
 * so at least grace − W after the touch; a HEAD answered from the lease comes at most L after
 * it; so the link stays at least grace − W − L after that HEAD. With W = grace/4 and L a little
 * less than grace/4 (LEASE_MARGIN: for clock rates, and for the time between the check and the
 * answer) that is more than grace/2, the promise a HEAD has always made.
 */

import { BoundedMap } from '../common/bounded-map.js';
export function touchWindowSeconds(graceSeconds: number): number {
  return graceSeconds / 4;
}

/** The share of the touch window a lease lasts (the rest is a margin). */
const LEASE_SHARE = 0.95;

export function leaseMs(graceSeconds: number): number {
  return touchWindowSeconds(graceSeconds) * 1000 * LEASE_SHARE;
}

/** At most this many leases are held; the oldest grants go first (a lost lease costs a touch). */
export const MAX_LEASES = 100_000;

/** Milliseconds of a clock that never goes back (process uptime). */
export function monotonicMs(): number {
  return performance.now();
}

/**
 * Leases of one node, by link. A lease is granted with the clock reading taken before the touch
 * statement was sent, and holds while less than `leaseMs` has passed since. Bounded: past
 * `max` entries the oldest grants are dropped (leases are granted in clock order, so these are
 * also the first to end).
 */
export class TouchLeases {
  private readonly granted: BoundedMap<string, number>;

  constructor(
    private readonly leaseMs: number,
    max = MAX_LEASES,
    /** The clock (tests replace it). */
    public clock: () => number = monotonicMs,
  ) {
    this.granted = new BoundedMap(max);
  }

  /** Whether this node's own touch of the link, taken at `now` or later, is still recent. */
  holds(key: string, now: number): boolean {
    const at = this.granted.get(key);
    if (at === undefined) return false;
    if (now - at < this.leaseMs) return true;
    this.granted.delete(key);
    return false;
  }

  /** Records a touch statement that found the link, sent after the clock read `at`. */
  grant(key: string, at: number): void {
    if (this.leaseMs <= 0) return;
    this.granted.set(key, at);
  }

  drop(key: string): void {
    this.granted.delete(key);
  }

  get size(): number {
    return this.granted.size;
  }
}
