/**
 * Name patterns: one matcher, with a mode per place that takes patterns.
 *
 * A pattern matches a whole name. Every character of a pattern stands for itself, except the
 * wildcards of its mode:
 *
 * | mode         | where                                                   | `*`                          | `**`                    | `?`           |
 * | ------------ | ------------------------------------------------------- | ---------------------------- | ----------------------- | ------------- |
 * | `repository` | API key scopes, robot grants (full repository names)     | any run of characters, `/` included | as `*`           | itself        |
 * | `path`       | webhook repository filters (the path below the namespace) | any run without `/`          | any run, `/` included   | itself        |
 * | `tag`        | immutable tag patterns, retention `keepPattern`         | any run of characters        | as `*`                  | one character |
 *
 * A run may be empty. In `path` mode stars pair from the left: `***` is `**` then `*`. Matching
 * is case-sensitive (repository names are lower case; tags keep their case). Which characters a
 * pattern may hold is each place's own grammar (`isRepositoryPattern` in name-grammar.ts and in
 * webhook-rules.ts, `isValidTagPattern` in tag-rules.ts); this module only matches. It builds no
 * regular expression from input, and runs in time linear in practice (`repository`, `tag`) or at
 * most pattern length × name length (`path`).
 */
export type PatternMode = 'repository' | 'path' | 'tag';

/** A compiled pattern: characters, and the wildcards ANY (a run, `/` too), SEGMENT, ONE. */
type Token = string | typeof ANY | typeof SEGMENT | typeof ONE;
const ANY = 0;
const SEGMENT = 1;
const ONE = 2;

function compile(mode: PatternMode, pattern: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (mode !== 'path') out.push(ANY);
      else if (pattern[i + 1] === '*') {
        out.push(ANY);
        i++;
      } else out.push(SEGMENT);
    } else if (c === '?' && mode === 'tag') out.push(ONE);
    else out.push(c);
  }
  return out;
}

/** Whether `name` matches `pattern` in `mode` (see the table above). */
export function matchesPattern(mode: PatternMode, pattern: string, name: string): boolean {
  const tokens = compile(mode, pattern);
  return tokens.includes(SEGMENT) ? matchTable(tokens, name) : matchGlob(tokens, name);
}

/**
 * Glob matching with one kind of star: on a mismatch, go back to the last star and let it take
 * one more character (an earlier star never needs to take more once a later one matched).
 */
function matchGlob(tokens: Token[], name: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < name.length) {
    // Past the last token `tok` is undefined, which matches no character and is no star.
    const tok = tokens[p];
    if (tok === ONE || tok === name[t]) {
      p++;
      t++;
    } else if (tok === ANY) {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (tokens[p] === ANY) p++;
  return p === tokens.length;
}

/** Matching with stars that stop at `/` too: which name prefixes each token prefix can match. */
function matchTable(tokens: Token[], name: string): boolean {
  // can[t]: the tokens seen so far match name[0, t). (There is at least one token, a SEGMENT, so
  // the first round fills every entry; an unfilled one would read as false all the same.)
  // Stryker disable next-line ArrayDeclaration: equivalent, see the line above
  let can = new Array<boolean>(name.length + 1).fill(false);
  can[0] = true;
  for (const tok of tokens) {
    const next = new Array<boolean>(name.length + 1).fill(false);
    for (let t = 0; t <= name.length; t++) {
      if (tok === ANY || tok === SEGMENT) {
        // A run: from any reachable start, as far as the run may go.
        next[t] = can[t] || (t > 0 && next[t - 1] && (tok === ANY || name[t - 1] !== '/'));
      } else if (can[t - 1]) {
        // (can[-1] is undefined. No ONE comes here: `?` is a wildcard only in `tag` mode, which
        // has no SEGMENT, so such tokens take the glob matcher.)
        next[t] = tok === name[t - 1];
      }
    }
    can = next;
  }
  return can[name.length];
}
