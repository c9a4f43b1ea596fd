import { usageError } from './errors.js';

export interface Page<T> {
  items: T[];
  total: number;
}

/** The largest page the management API serves. */
export const MAX_PER_PAGE = 100;

/** `--limit`: a count, or 0 for everything. */
export function parseLimit(value: string): number {
  if (!/^\d+$/.test(value.trim()))
    throw usageError(`--limit must be a whole number, not "${value}"`);
  return Number(value);
}

/**
 * Follows a paginated list (`page`, `perPage` → `{items, total}`) until `limit` items (0: all) or
 * the end. Stops on a short page too, so a list that shrinks meanwhile still ends.
 */
export async function collectPages<T>(
  fetchPage: (page: number, perPage: number) => Promise<Page<T>>,
  limit: number,
): Promise<Page<T>> {
  const perPage = limit > 0 ? Math.min(MAX_PER_PAGE, limit) : MAX_PER_PAGE;
  const items: T[] = [];
  for (let page = 1; ; page++) {
    const res = await fetchPage(page, perPage);
    items.push(...res.items);
    const end =
      res.items.length < perPage ||
      items.length >= res.total ||
      (limit > 0 && items.length >= limit);
    if (end)
      return {
        items: limit > 0 ? items.slice(0, limit) : items,
        total: Math.max(res.total, items.length),
      };
  }
}

/** The stderr note under a list that was cut by --limit. */
export function truncationNote(shown: number, total: number): string | undefined {
  if (shown >= total) return undefined;
  return `${shown} of ${total} shown; --limit 0 shows all`;
}
