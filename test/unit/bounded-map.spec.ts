import { describe, expect, it } from '@jest/globals';
import { BoundedMap } from '../../src/common/bounded-map.js';

describe('BoundedMap', () => {
  it('keeps at most max entries, forgetting the least recently written first', () => {
    const m = new BoundedMap<string, number>(3);
    m.set('a', 1).set('b', 2).set('c', 3);
    expect([...m.keys()]).toEqual(['a', 'b', 'c']);
    m.set('d', 4);
    expect([...m.entries()]).toEqual([
      ['b', 2],
      ['c', 3],
      ['d', 4],
    ]);
    expect(m.size).toBe(3);
  });

  it('a write of a key already there makes it the newest (it is not the next to go)', () => {
    const m = new BoundedMap<string, number>(3);
    m.set('a', 1).set('b', 2).set('c', 3);
    m.set('a', 10);
    expect([...m.keys()]).toEqual(['b', 'c', 'a']);
    m.set('d', 4);
    expect([...m.entries()]).toEqual([
      ['c', 3],
      ['a', 10],
      ['d', 4],
    ]);
  });

  it('a read does not change the order; deletes free room', () => {
    const m = new BoundedMap<string, number>(2);
    m.set('a', 1).set('b', 2);
    expect(m.get('a')).toBe(1);
    m.set('c', 3);
    expect(m.has('a')).toBe(false);
    m.delete('b');
    m.set('d', 4);
    expect([...m.keys()]).toEqual(['c', 'd']);
  });

  it('a bound of one keeps the last write; keys that are falsy are kept and evicted like others', () => {
    const m = new BoundedMap<number | string, string>(1);
    m.set(0, 'zero');
    expect(m.get(0)).toBe('zero');
    m.set('', 'empty');
    expect([...m.entries()]).toEqual([['', 'empty']]);
  });

  it('refuses a bound that is not a positive integer', () => {
    for (const max of [0, -1, 1.5, Number.NaN]) {
      expect(() => new BoundedMap(max)).toThrow(RangeError);
    }
  });
});
