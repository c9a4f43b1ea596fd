import { describe, expect, it } from '@jest/globals';
import { isValidRepositoryName, isValidTag } from '../../src/registry/names.js';

describe('repository names', () => {
  it.each([
    'a',
    'library/ubuntu',
    'acme/team/app',
    'a.b',
    'a_b',
    'a__b',
    'a---b',
    'x1/y2/z3',
    'a'.repeat(255),
  ])('accepts %s', (n) => expect(isValidRepositoryName(n)).toBe(true));
  it.each([
    '',
    'A',
    'a/',
    '/a',
    'a//b',
    'a..b',
    'a___b',
    '-a',
    'a-',
    'a/.b',
    'a b',
    'a'.repeat(256),
    'a/B',
  ])('rejects %s', (n) => expect(isValidRepositoryName(n)).toBe(false));
});

describe('tags', () => {
  it.each(['latest', 'v1.2.3', '_x', 'A-b_c.d', 'a'.repeat(128)])('accepts %s', (t) =>
    expect(isValidTag(t)).toBe(true),
  );
  it.each(['', '-x', '.x', 'a/b', 'a:b', 'a'.repeat(129)])('rejects %s', (t) =>
    expect(isValidTag(t)).toBe(false),
  );
});
