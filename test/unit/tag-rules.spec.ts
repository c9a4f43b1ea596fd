import { describe, expect, it } from '@jest/globals';
import {
  immutableRuleFor,
  isValidTagPattern,
  MAX_IMMUTABLE_PATTERNS,
  normalizePatterns,
  tagMatches,
} from '../../src/registry/tag-rules.js';

describe('immutable tag patterns', () => {
  it.each([
    // pattern, tag, matches
    ['v*', 'v1', true],
    ['v*', 'v', true],
    ['v*', 'v1.2.3', true],
    ['v*', 'latest', false],
    ['v*', 'xv1', false],
    ['release-*', 'release-2024', true],
    ['release-*', 'release', false],
    ['release-*', 'prerelease-1', false],
    ['stable', 'stable', true],
    ['stable', 'stable2', false],
    ['stable', 'Stable', false],
    ['v1.?', 'v1.2', true],
    ['v1.?', 'v1.22', false],
    ['v1.?', 'v1.', false],
    ['*', 'anything', true],
    ['*-rc*', '1.0-rc3', true],
    ['*-rc*', '1.0-beta', false],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'axxbyy', false],
    ['a*b*c', 'abcbc', true],
    ['**', 'x', true],
    ['v.1', 'vx1', false],
  ])('%s matches %s: %s', (pattern, tag, expected) => {
    expect(tagMatches(pattern, tag)).toBe(expected);
  });

  it('names the first pattern that applies', () => {
    expect(immutableRuleFor(['stable', 'v*', 'v1*'], 'v1.0')).toBe('v*');
    expect(immutableRuleFor(['stable', 'v*'], 'latest')).toBeNull();
    expect(immutableRuleFor([], 'v1')).toBeNull();
  });

  it.each([
    ['v*', true],
    ['release-*', true],
    ['v1.?', true],
    ['*', true],
    ['', false],
    ['.hidden', false],
    ['-x', false],
    ['a/b', false],
    ['v 1', false],
    ['[ab]', false],
    ['x'.repeat(128), true],
    ['x'.repeat(129), false],
  ])('pattern %j is valid: %s', (pattern, ok) => {
    expect(isValidTagPattern(pattern)).toBe(ok);
  });

  it('normalizes a list: duplicates dropped, invalid or too many refused', () => {
    expect(normalizePatterns(['v*', 'stable', 'v*'])).toEqual({
      ok: true,
      patterns: ['v*', 'stable'],
    });
    expect(normalizePatterns(['v*', 'a b'])).toMatchObject({ ok: false });
    const many = Array.from({ length: MAX_IMMUTABLE_PATTERNS + 1 }, (_, i) => `t${i}`);
    expect(normalizePatterns(many)).toMatchObject({ ok: false });
    expect(normalizePatterns(many.slice(1))).toMatchObject({ ok: true });
  });
});
