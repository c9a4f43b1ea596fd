/**
 * Pure rules of OpenID Connect sign-in (src/auth/oidc): where a sign-in may return to, and what
 * the ID token's claims mean for the account.
 */
import { checkNamespaceName, normalizeName } from '../../users/names.js';

/**
 * The path to return to after signing in: only a path of this site (`/…`, not `//host` or
 * `/\host`, which browsers read as another origin, and no control characters); `/` when none.
 * null when the value is refused.
 */
export function safeReturnTo(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return '/';
  if (raw.length > 2000 || !raw.startsWith('/')) return null;
  if (raw.startsWith('//') || raw.startsWith('/\\')) return null;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return null;
  return raw;
}

/** The user name a claim value gives: lower-cased, one valid, unreserved namespace name. */
export function usernameFromClaim(
  value: unknown,
): { ok: true; name: string } | { ok: false; message: string } {
  if (typeof value !== 'string' || value.trim() === '')
    return { ok: false, message: 'the identity provider sent no user name claim' };
  const check = checkNamespaceName(value);
  if (!check.ok)
    return {
      ok: false,
      message: `the identity provider's user name "${normalizeName(value)}" is not usable here: ${check.message}`,
    };
  return { ok: true, name: check.name };
}

/** The groups claim as a list of strings (a single string counts as one group). */
export function groupsFromClaim(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) return [];
  return value.filter((g): g is string => typeof g === 'string');
}

/**
 * Organization membership sync: the organizations to join (groups named like an organization the
 * user is not in) and to leave (plain memberships, role `member`, whose organization is not among
 * the groups). Owners and admins of an organization are never changed by the sync.
 */
export function membershipChanges(
  groups: string[],
  existingOrgs: ReadonlySet<string>,
  memberships: { name: string; role: string }[],
): { join: string[]; leave: string[] } {
  const wanted = new Set(groups.map(normalizeName).filter((g) => existingOrgs.has(g)));
  const current = new Set(memberships.map((m) => m.name));
  return {
    join: [...wanted].filter((g) => !current.has(g)).sort(),
    leave: memberships
      .filter((m) => m.role === 'member' && !wanted.has(m.name))
      .map((m) => m.name)
      .sort(),
  };
}
