import { describe, expect, it } from '@jest/globals';
import { leaseMs, TouchLeases, touchWindowSeconds } from '../../src/registry/touch-leases.js';

describe('touch windows and leases of blob links', () => {
  it('a HEAD answered from a lease keeps its link more than half a grace period', () => {
    for (const grace of [2, 60, 3600, 30 * 24 * 3600]) {
      const w = touchWindowSeconds(grace) * 1000;
      const l = leaseMs(grace);
      expect(l).toBeLessThan(w);
      // The collector removes a link at the earliest grace − W after a touch statement; the
      // HEAD came at most L after it.
      expect(grace * 1000 - w - l).toBeGreaterThan((grace * 1000) / 2);
    }
  });

  it('with a grace period of 0 nothing is leased', () => {
    expect(leaseMs(0)).toBe(0);
    const leases = new TouchLeases(leaseMs(0));
    leases.grant('a', 0);
    expect(leases.holds('a', 0)).toBe(false);
    expect(leases.size).toBe(0);
  });

  it('holds for less than its length from the clock reading taken before the touch', () => {
    const leases = new TouchLeases(1000);
    expect(leases.holds('a', 5)).toBe(false);
    leases.grant('a', 10);
    expect(leases.holds('a', 10)).toBe(true);
    expect(leases.holds('a', 1009)).toBe(true);
    expect(leases.holds('a', 1010)).toBe(false);
    // An ended lease is forgotten.
    expect(leases.size).toBe(0);
    leases.grant('b', 0);
    leases.drop('b');
    expect(leases.holds('b', 1)).toBe(false);
  });

  it('keeps at most `max` leases, dropping the oldest grants first', () => {
    const leases = new TouchLeases(1000, 3);
    for (const [k, t] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      leases.grant(k, t);
    leases.grant('a', 4); // granted again: now the newest
    leases.grant('d', 5);
    expect(leases.size).toBe(3);
    expect(leases.holds('b', 6)).toBe(false);
    expect(['a', 'c', 'd'].every((k) => leases.holds(k, 6))).toBe(true);
  });
});
