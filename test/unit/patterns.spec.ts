import { describe, expect, it } from '@jest/globals';
import { matchesPattern, type PatternMode } from '../../src/common/patterns.js';
import { matchesRepositoryPattern } from '../../src/repos/permissions.js';
import { tagMatches } from '../../src/registry/tag-rules.js';
import { matchesRepositories } from '../../src/webhooks/webhook-rules.js';

/**
 * The three pattern dialects were three matchers; they are now modes of one (common/patterns.ts).
 * The tables say what each matched before, and the old matchers (kept below, as they were) are
 * compared with the new one on every pattern and name over a small alphabet.
 */

/** Scoped keys and robot grants (repos/permissions.ts before): `*` spans `/`. */
function oldRepository(pattern: string, name: string): boolean {
  if (!pattern.includes('*')) return pattern === name;
  const parts = pattern.split('*');
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (name.length < first.length + last.length) return false;
  if (!name.startsWith(first) || !name.endsWith(last)) return false;
  let at = first.length;
  const end = name.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const i = name.indexOf(middle, at);
    if (i < 0 || i + middle.length > end) return false;
    at = i + middle.length;
  }
  return true;
}

/** Webhook repository filters (webhooks/webhook-rules.ts before), on the path below the namespace. */
function oldPath(pattern: string, path: string): boolean {
  const re = pattern
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  return new RegExp(`^${re}$`).test(path);
}

/** Immutable tags and retention keepPattern (registry/tag-rules.ts before). */
function oldTag(pattern: string, tag: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < tag.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === tag[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

type Row = [pattern: string, name: string, matches: boolean];

const repositoryRows: Row[] = [
  ['acme/web/app', 'acme/web/app', true],
  ['acme/web/app', 'acme/web/app2', false],
  ['acme/web/*', 'acme/web/app', true],
  ['acme/web/*', 'acme/web/team/app', true],
  ['acme/web/*', 'acme/web', false],
  ['acme/web/*', 'acme/web/', true],
  ['acme/*/app', 'acme/web/team/app', true],
  ['acme/*', 'acme2/app', false],
  ['*', 'anything/at/all', true],
  ['*app*', 'acme/app/x', true],
  ['a*b*c', 'abc', true],
  ['a*b*c', 'acb', false],
  ['acme/v?', 'acme/v1', false],
  ['acme/v?', 'acme/v?', true],
  ['Acme/*', 'acme/x', false],
];

/** Webhook patterns see the path below the namespace (`acme/web/app` → `web/app`). */
const pathRows: Row[] = [
  ['web/app', 'web/app', true],
  ['web/*', 'web/app', true],
  ['web/*', 'web/team/app', false],
  ['web/**', 'web/team/app', true],
  ['web/**', 'web/', true],
  ['**', 'a/b/c', true],
  ['*', 'a/b', false],
  ['*', 'app', true],
  ['*/app', 'web/app', true],
  ['*/app', 'web/team/app', false],
  ['**/app', 'web/team/app', true],
  ['web***', 'web/x', true],
  ['web***', 'webx', true],
  ['a.b', 'axb', false],
  ['a-b', 'a-b', true],
  ['v?', 'v1', false],
];

const tagRows: Row[] = [
  ['v*', 'v1.2.3', true],
  ['v*', 'V1', false],
  ['v1.?', 'v1.2', true],
  ['v1.?', 'v1.23', false],
  ['release-*', 'release-', true],
  ['stable', 'stable', true],
  ['stable', 'stable2', false],
  ['*-rc?', '1.0-rc1', true],
  ['*-rc?', '1.0-rc', false],
  ['**', '', true],
  ['?', '', false],
  ['a*a*a', 'aaaa', true],
  ['a*a*a', 'aa', false],
];

const dialects: [PatternMode, Row[], (p: string, n: string) => boolean][] = [
  ['repository', repositoryRows, oldRepository],
  ['path', pathRows, oldPath],
  ['tag', tagRows, oldTag],
];

/** Every string of length 0..max over `alphabet`. */
function* strings(alphabet: string, max: number): Generator<string> {
  yield '';
  let level = [''];
  for (let n = 1; n <= max; n++) {
    const next: string[] = [];
    for (const s of level) for (const c of alphabet) next.push(s + c);
    yield* next;
    level = next;
  }
}

describe('name patterns (common/patterns.ts)', () => {
  describe.each(dialects)('%s mode', (mode, rows, old) => {
    it.each(rows)('%s against %s: %s', (pattern, name, expected) => {
      expect(old(pattern, name)).toBe(expected);
      expect(matchesPattern(mode, pattern, name)).toBe(expected);
    });

    it('matches exactly what the old matcher matched, on every short pattern and name', () => {
      const patterns = [...strings('a/*?', 5)];
      const names = [...strings('a/b?', 4)];
      const differ: string[] = [];
      for (const p of patterns)
        for (const n of names)
          if (matchesPattern(mode, p, n) !== old(p, n)) differ.push(`${p} ~ ${n}`);
      expect(differ).toEqual([]);
    });
  });

  it('the places that match patterns use the modes', () => {
    expect(matchesRepositoryPattern('acme/*', 'acme/a/b')).toBe(true);
    expect(matchesRepositories(['web/*'], 'acme/web/app')).toBe(true);
    expect(matchesRepositories(['web/*'], 'acme/web/team/app')).toBe(false);
    expect(matchesRepositories([], 'acme/anything')).toBe(true);
    expect(tagMatches('v1.?', 'v1.2')).toBe(true);
  });
});
