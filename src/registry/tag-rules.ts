import { matchesPattern } from '../common/patterns.js';
import { RegistryError } from './errors.js';

/**
 * Immutable tag patterns of a repository (pure rules; stored in `immutable_tag_patterns`).
 *
 * - A pattern is a tag name in which `*` stands for any run of characters (also none) and `?` for
 *   exactly one: `v*`, `release-*`, `v1.?`, or an exact name such as `stable`. Its characters are
 *   those of a tag plus `*` and `?` (at most 128); a repository holds at most
 *   MAX_IMMUTABLE_PATTERNS of them. A pattern matches the whole tag, case-sensitively, as tags are.
 * - A tag that matches a pattern may be created (pushed the first time) and pushed again with the
 *   same digest, but not moved to another manifest, deleted, or deleted with its manifest: the
 *   registry answers DENIED naming the pattern, the management API 409 TAG_IMMUTABLE. The check is
 *   made inside the write's transaction under the tag row's lock (manifests.data.ts).
 */

/** The most patterns one repository may hold. */
export const MAX_IMMUTABLE_PATTERNS = 32;

/** The grammar of a pattern: a tag's characters plus the wildcards `*` and `?`. */
export const TAG_PATTERN = /^[a-zA-Z0-9_*?][a-zA-Z0-9._*?-]{0,127}$/;

export function isValidTagPattern(pattern: string): boolean {
  return TAG_PATTERN.test(pattern);
}

/**
 * Whether `tag` matches `pattern` (whole tag; `*` any run, `?` one character; the `tag` mode of
 * common/patterns.ts).
 */
export function tagMatches(pattern: string, tag: string): boolean {
  return matchesPattern('tag', pattern, tag);
}

/** The first pattern (in the given order) that makes `tag` immutable; null when none does. */
export function immutableRuleFor(patterns: readonly string[], tag: string): string | null {
  return patterns.find((p) => tagMatches(p, tag)) ?? null;
}

/**
 * Checks and normalizes a new list of patterns (duplicates dropped, order kept): the list, or the
 * reason it is refused.
 */
export function normalizePatterns(
  patterns: readonly string[],
): { ok: true; patterns: string[] } | { ok: false; reason: string } {
  const bad = patterns.find((p) => !isValidTagPattern(p));
  if (bad !== undefined)
    return {
      ok: false,
      reason: `"${bad}" is not a tag pattern (tag characters [A-Za-z0-9_.-] with * and ?, at most 128)`,
    };
  const unique = [...new Set(patterns)];
  if (unique.length > MAX_IMMUTABLE_PATTERNS)
    return { ok: false, reason: `at most ${MAX_IMMUTABLE_PATTERNS} patterns per repository` };
  return { ok: true, patterns: unique };
}

/** The refusal of a change to an immutable tag: `DENIED` on /v2/, 409 TAG_IMMUTABLE on /api/v1. */
export class ImmutableTagError extends RegistryError {
  constructor(
    readonly tag: string,
    readonly rule: string,
    change: 'moved' | 'deleted',
  ) {
    super(
      'DENIED',
      `tag "${tag}" is immutable (repository rule "${rule}"): it may not be ${change}`,
      { tag, rule },
    );
  }
}
