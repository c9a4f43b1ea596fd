/** Escapes `\`, `%` and `_` so that `s` matches itself in a LIKE/ILIKE pattern (escape `\`). */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
