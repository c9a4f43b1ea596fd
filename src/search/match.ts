import { escapeLike } from '../database/like.js';
/**
 * The rules of global search (`GET /api/v1/search`), as pure functions; the modules that own the
 * searched tables build their queries from them.
 *
 * - The term is trimmed and lower-cased (names are lower-case; display names are compared through
 *   `lower()`), and searched as a substring: LIKE wildcards in it (`%`, `_`, `\`) are literal.
 * - Each match falls in one of three tiers, best first:
 *   - `exact`: a repository's full name, or its last segments (`app` or `team/app` for
 *     `acme/team/app`); a user's or organization's name or whole display name.
 *   - `prefix`: the start of a repository name or of one of its segments (`te` for
 *     `acme/team/app`); the start of a user's or organization's name, or of a word of its display
 *     name.
 *   - `substring`: anywhere else in those names.
 * - Results are ordered by tier, then by kind (repositories, organizations, users), then by name
 *   (byte order). So a page is a run of (tier, kind) segments: `planPage` turns the number of
 *   matches per segment into one LIMIT/OFFSET query per segment the page touches, however deep.
 */

export const SEARCH_KINDS = ['repository', 'organization', 'user'] as const;
export type SearchKind = (typeof SEARCH_KINDS)[number];

export const MATCH_TIERS = ['exact', 'prefix', 'substring'] as const;
export type MatchTier = (typeof MATCH_TIERS)[number];

/** Matches of one kind per tier, in MATCH_TIERS order. */
export type TierCounts = [number, number, number];

export const MAX_TERM_LENGTH = 100;

/** LIKE patterns of a search term (backslash is PostgreSQL's default LIKE escape). */
export interface SearchTerm {
  /** The normalised term itself (for `=` comparisons). */
  text: string;
  /** `term%` */
  prefix: string;
  /** `%term%` */
  contains: string;
  /** `%<separator>term` (with the separator given to likePatterns). */
  lastPart: (separator: string) => string;
  /** `%<separator>term%` */
  partPrefix: (separator: string) => string;
}

/** The normalised term, or null when nothing is left to search for. */
export function searchTerm(raw: string): SearchTerm | null {
  const text = raw.trim().toLowerCase();
  if (!text) return null;
  const e = escapeLike(text);
  return {
    text,
    prefix: `${e}%`,
    contains: `%${e}%`,
    lastPart: (sep) => `%${escapeLike(sep)}${e}`,
    partPrefix: (sep) => `%${escapeLike(sep)}${e}%`,
  };
}

/** SQL of a match: the condition that selects a row and the expression of its tier (0, 1 or 2). */
export interface MatchSql {
  where: string;
  tier: string;
  params: Record<string, string>;
}

/** Builds the tier CASE from the conditions of each tier (SQL over named parameters). */
function tiered(
  exact: string[],
  prefix: string[],
  contains: string[],
  params: Record<string, string>,
): MatchSql {
  const any = (conds: string[]) => `(${conds.join(' OR ')})`;
  return {
    where: any(contains),
    tier: `(CASE WHEN ${any(exact)} THEN 0 WHEN ${any(prefix)} THEN 1 ELSE 2 END)`,
    params,
  };
}

/** A repository name column (`ns/path/app`, lower-case). */
export function repositoryNameMatch(column: string, term: SearchTerm): MatchSql {
  return tiered(
    [`${column} = :sq_text`, `${column} LIKE :sq_last_segment`],
    [`${column} LIKE :sq_prefix`, `${column} LIKE :sq_segment_prefix`],
    [`${column} LIKE :sq_contains`],
    {
      sq_text: term.text,
      sq_last_segment: term.lastPart('/'),
      sq_prefix: term.prefix,
      sq_segment_prefix: term.partPrefix('/'),
      sq_contains: term.contains,
    },
  );
}

/** A lower-case name column and an optional display name column (users, organizations). */
export function nameMatch(nameColumn: string, displayColumn: string, term: SearchTerm): MatchSql {
  const display = `lower(${displayColumn})`;
  return tiered(
    [`${nameColumn} = :sq_text`, `${display} = :sq_text`],
    [
      `${nameColumn} LIKE :sq_prefix`,
      `${display} LIKE :sq_prefix`,
      `${display} LIKE :sq_word_prefix`,
    ],
    [`${nameColumn} LIKE :sq_contains`, `${display} LIKE :sq_contains`],
    {
      sq_text: term.text,
      sq_prefix: term.prefix,
      sq_word_prefix: term.partPrefix(' '),
      sq_contains: term.contains,
    },
  );
}

/** One query of a page: `limit` rows of `kind` in `tier`, after skipping `offset` of them. */
export interface PageSegment {
  kind: SearchKind;
  tier: MatchTier;
  offset: number;
  limit: number;
}

/**
 * The segments that make up page `page` (1-based) of `perPage` results, given how many matches
 * each kind has per tier. Kinds absent from `counts` are not searched.
 */
export function planPage(
  counts: Partial<Record<SearchKind, TierCounts>>,
  page: number,
  perPage: number,
): PageSegment[] {
  let skip = (page - 1) * perPage;
  let want = perPage;
  const out: PageSegment[] = [];
  for (let t = 0; t < MATCH_TIERS.length && want > 0; t++) {
    for (const kind of SEARCH_KINDS) {
      if (want === 0) break;
      const n = counts[kind]?.[t] ?? 0;
      if (skip >= n) {
        skip -= n;
        continue;
      }
      const limit = Math.min(n - skip, want);
      out.push({ kind, tier: MATCH_TIERS[t], offset: skip, limit });
      want -= limit;
      skip = 0;
    }
  }
  return out;
}

export function totalOf(counts: TierCounts | undefined): number {
  return counts ? counts[0] + counts[1] + counts[2] : 0;
}

/** Folds `SELECT tier, count(*) … GROUP BY tier` rows into TierCounts. */
export function tierCounts(rows: { tier: number | string; n: number | string }[]): TierCounts {
  const out: TierCounts = [0, 0, 0];
  for (const r of rows) out[Number(r.tier)] += Number(r.n);
  return out;
}
