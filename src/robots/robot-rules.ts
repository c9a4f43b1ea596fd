import { isRepositoryPattern, ROBOT_SEPARATOR } from '../common/name-grammar.js';
import { GRANT_LEVELS, type GrantLevel, type PatternGrant } from '../repos/permissions.js';

/** Most grants one robot may hold. */
export const MAX_ROBOT_GRANTS = 50;

/** `acme+ci`. */
export function robotFullName(namespace: string, name: string): string {
  return `${namespace}${ROBOT_SEPARATOR}${name}`;
}

/**
 * A robot's grants with every repository made a full name or pattern inside its namespace
 * (`web/*` in `acme` → `acme/web/*`; `acme/web/*` stays), or why they are refused.
 */
export function normalizeRobotGrants(
  namespace: string,
  grants: readonly { repository: string; level: string }[],
): { ok: true; grants: PatternGrant[] } | { ok: false; message: string } {
  if (grants.length > MAX_ROBOT_GRANTS)
    return { ok: false, message: `at most ${MAX_ROBOT_GRANTS} grants` };
  const out = new Map<string, GrantLevel>();
  for (const g of grants) {
    const raw = g.repository.trim().toLowerCase();
    const full = raw.startsWith(`${namespace}/`) ? raw : `${namespace}/${raw}`;
    if (!raw || !isRepositoryPattern(full))
      return { ok: false, message: `"${g.repository}" is not a repository name or pattern` };
    if (!GRANT_LEVELS.includes(g.level as GrantLevel))
      return { ok: false, message: `level must be one of ${GRANT_LEVELS.join(', ')}` };
    out.set(full, g.level as GrantLevel);
  }
  return { ok: true, grants: [...out].map(([repository, level]) => ({ repository, level })) };
}

/** Whether a robot may act now. */
export function robotUsable(
  robot: { disabled: boolean; expiresAt: number | null },
  now = Date.now(),
): boolean {
  return !robot.disabled && (robot.expiresAt === null || robot.expiresAt > now);
}
