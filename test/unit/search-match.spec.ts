import { describe, expect, it } from '@jest/globals';
import {
  type MatchSql,
  MATCH_TIERS,
  nameMatch,
  planPage,
  repositoryNameMatch,
  searchTerm,
  tierCounts,
} from '../../src/search/match.js';

/** PostgreSQL LIKE with its default escape character (backslash), as a RegExp. */
function like(value: string, pattern: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') re += pattern[++i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(value);
}

/**
 * Evaluates the generated SQL on one row: the conditions are `<column> = :param` and
 * `<column> LIKE :param` joined by OR, and `lower(<column>)`; the tier is a CASE over them.
 */
function evaluate(m: MatchSql, row: Record<string, string | null>): string | null {
  const cond = (sql: string): boolean =>
    [...sql.matchAll(/(lower\()?([a-z_.]+)\)? (=|LIKE) :([a-z_]+)/g)].some(
      ([, lower, column, op, param]) => {
        const raw = row[column];
        if (raw === null || raw === undefined) return false;
        const v = lower ? raw.toLowerCase() : raw;
        return op === '=' ? v === m.params[param] : like(v, m.params[param]);
      },
    );
  if (!cond(m.where)) return null;
  const whens = [...m.tier.matchAll(/WHEN (\(.*?\)) THEN (\d)/g)];
  for (const [, sql, tier] of whens) if (cond(sql)) return MATCH_TIERS[Number(tier)];
  return MATCH_TIERS[2];
}

describe('search terms', () => {
  it('are trimmed and lower-cased; blank terms search nothing', () => {
    expect(searchTerm('  App ')?.text).toBe('app');
    expect(searchTerm('   ')).toBeNull();
    expect(searchTerm('')).toBeNull();
  });

  it('escape LIKE wildcards', () => {
    const t = searchTerm('50%_off\\')!;
    expect(t.contains).toBe('%50\\%\\_off\\\\%');
    expect(t.prefix).toBe('50\\%\\_off\\\\%');
    expect(like('50%_off\\', t.contains)).toBe(true);
    expect(like('50xxoff\\', t.contains)).toBe(false);
  });
});

describe('match tiers', () => {
  const repo = (name: string, q: string) =>
    evaluate(repositoryNameMatch('r.name', searchTerm(q)!), { 'r.name': name });
  it.each([
    ['acme/team/app', 'app', 'exact'],
    ['acme/team/app', 'team/app', 'exact'],
    ['acme/team/app', 'acme/team/app', 'exact'],
    ['acme/team/app', 'ACME/Team/App', 'exact'],
    ['acme/team/app', 'acme', 'prefix'],
    ['acme/team/app', 'te', 'prefix'],
    ['acme/team/app', 'acme/te', 'prefix'],
    ['acme/team/app', 'ap', 'prefix'],
    ['acme/team/app', 'eam', 'substring'],
    ['acme/team/app', 'm/a', 'substring'],
    ['acme/team/app', 'pp', 'substring'],
    ['acme/team/app', 'cme/team/app', 'substring'],
    ['acme/team/app', 'apps', null],
    ['acme/team/app', 'a_p', null],
    ['acme/my_app', 'y_a', 'substring'],
    ['acme/myapp', 'app', 'substring'],
  ])('repository %s, term %p: %s', (name, q, tier) => {
    expect(repo(name, q)).toBe(tier);
  });

  const named = (name: string, display: string | null, q: string) =>
    evaluate(nameMatch('u.username', 'u.display_name', searchTerm(q)!), {
      'u.username': name,
      'u.display_name': display,
    });
  it.each([
    ['alice', 'Alice Liddell', 'alice', 'exact'],
    ['alice', 'Alice Liddell', 'alice liddell', 'exact'],
    ['alice', 'Alice Liddell', 'ali', 'prefix'],
    ['alice', 'Alice Liddell', 'Lid', 'prefix'],
    ['alice', 'Alice Liddell', 'lic', 'substring'],
    ['alice', 'Alice Liddell', 'e l', 'substring'],
    ['alice', 'Alice Liddell', 'bob', null],
    ['alice', null, 'lid', null],
    ['alice', null, 'lic', 'substring'],
    ['al-ice', null, 'ice', 'substring'],
  ])('%s (%p), term %p: %s', (name, display, q, tier) => {
    expect(named(name, display, q)).toBe(tier);
  });
});

describe('planPage', () => {
  it.each([
    {
      what: 'the first page starts with the exact matches of each kind, in kind order',
      counts: { repository: [2, 1, 0], organization: [1, 0, 0], user: [1, 5, 5] },
      page: 1,
      perPage: 5,
      want: [
        { kind: 'repository', tier: 'exact', offset: 0, limit: 2 },
        { kind: 'organization', tier: 'exact', offset: 0, limit: 1 },
        { kind: 'user', tier: 'exact', offset: 0, limit: 1 },
        { kind: 'repository', tier: 'prefix', offset: 0, limit: 1 },
      ],
    },
    {
      what: 'a later page skips whole segments, then part of one',
      counts: { repository: [2, 1, 0], organization: [1, 0, 0], user: [1, 5, 5] },
      page: 2,
      perPage: 5,
      want: [{ kind: 'user', tier: 'prefix', offset: 0, limit: 5 }],
    },
    {
      what: 'a page may span tiers',
      counts: { repository: [2, 1, 0], organization: [1, 0, 0], user: [1, 5, 5] },
      page: 2,
      perPage: 7,
      want: [
        { kind: 'user', tier: 'prefix', offset: 2, limit: 3 },
        { kind: 'user', tier: 'substring', offset: 0, limit: 4 },
      ],
    },
    {
      what: 'the last page is short',
      counts: { repository: [2, 1, 0], organization: [1, 0, 0], user: [1, 5, 5] },
      page: 3,
      perPage: 7,
      want: [{ kind: 'user', tier: 'substring', offset: 4, limit: 1 }],
    },
    {
      what: 'beyond the end, nothing',
      counts: { repository: [2, 1, 0], organization: [1, 0, 0], user: [1, 5, 5] },
      page: 4,
      perPage: 7,
      want: [],
    },
    {
      what: 'kinds left out are not searched',
      counts: { user: [1, 5, 5] },
      page: 1,
      perPage: 3,
      want: [
        { kind: 'user', tier: 'exact', offset: 0, limit: 1 },
        { kind: 'user', tier: 'prefix', offset: 0, limit: 2 },
      ],
    },
    {
      what: 'deep pages cost one query per segment touched',
      counts: { repository: [0, 0, 1_000_000] },
      page: 40_000,
      perPage: 25,
      want: [{ kind: 'repository', tier: 'substring', offset: 999_975, limit: 25 }],
    },
  ] as const)('$what', ({ counts, page, perPage, want }) => {
    expect(planPage(counts as unknown as Parameters<typeof planPage>[0], page, perPage)).toEqual(
      want,
    );
  });

  it('covers every result exactly once across pages', () => {
    const counts = {
      repository: [3, 0, 4],
      organization: [0, 2, 1],
      user: [1, 1, 0],
    } as Parameters<typeof planPage>[0];
    const total = 12;
    for (const perPage of [1, 2, 5, 12, 13]) {
      const seen: string[] = [];
      for (let page = 1; (page - 1) * perPage < total; page++)
        for (const s of planPage(counts, page, perPage))
          for (let i = 0; i < s.limit; i++) seen.push(`${s.tier}:${s.kind}:${s.offset + i}`);
      expect(seen).toHaveLength(total);
      expect(new Set(seen).size).toBe(total);
    }
  });
});

describe('tierCounts', () => {
  it('folds GROUP BY rows (counts come back as strings)', () => {
    expect(tierCounts([])).toEqual([0, 0, 0]);
    expect(
      tierCounts([
        { tier: 2, n: '7' },
        { tier: '0', n: 3 },
      ]),
    ).toEqual([3, 0, 7]);
  });
});
