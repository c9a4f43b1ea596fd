/**
 * Rules for the names of users and organizations. Both live in one namespace, which is the first
 * path segment of a repository name, so a name must be a single component of the registry's
 * repository name grammar. Names are compared case-insensitively: input is lower-cased first.
 */
import { MAX_NAMESPACE_LENGTH, NAME_COMPONENT } from '../common/name-grammar.js';

export { MAX_NAMESPACE_LENGTH, NAME_COMPONENT };

/**
 * Names nobody may register as a user or an organization: they read like API paths (`/users/me`,
 * `/v2/`), like the system or its operators (`admin`, `root`), or like well-known role mailboxes.
 * They are reserved from the first start, before any administrator exists, so that nobody can
 * take `admin` ahead of the operator. The bootstrap administrator (ADMIN_USERNAME) may still use
 * one of them; teams may use any name.
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  // API paths and protocol names
  'me',
  'api',
  'v1',
  'v2',
  'auth',
  'token',
  'login',
  'logout',
  'register',
  'settings',
  'docs',
  'health',
  'users',
  'orgs',
  'repos',
  'search',
  'catalog',
  'static',
  // the system and its operators
  'aerugo',
  'registry',
  'system',
  'root',
  'admin',
  'admins',
  'administrator',
  'superuser',
  'sysadmin',
  'operator',
  'staff',
  'support',
  'security',
  'anonymous',
  'nobody',
  'null',
  'undefined',
  // role mailboxes (RFC 2142)
  'abuse',
  'postmaster',
  'hostmaster',
  'webmaster',
  'noreply',
  'no-reply',
]);

export type NameCheck =
  { ok: true; name: string } | { ok: false; reason: 'invalid' | 'reserved'; message: string };

export function normalizeName(raw: string): string {
  return raw.trim().toLowerCase();
}

export function isValidNamespaceName(name: string): boolean {
  return name.length >= 1 && name.length <= MAX_NAMESPACE_LENGTH && NAME_COMPONENT.test(name);
}

/** Normalises a requested user or organization name and says whether it may be registered. */
export function checkNamespaceName(raw: string, opts: { allowReserved?: boolean } = {}): NameCheck {
  const name = normalizeName(raw);
  if (!isValidNamespaceName(name)) {
    return {
      ok: false,
      reason: 'invalid',
      message: `"${name}" is not a valid name: use 1 to ${MAX_NAMESPACE_LENGTH} lower-case letters and digits, separated by ".", "_", "__" or "-"`,
    };
  }
  if (!opts.allowReserved && RESERVED_NAMES.has(name)) {
    return { ok: false, reason: 'reserved', message: `the name "${name}" is reserved` };
  }
  return { ok: true, name };
}

/** The namespace of a repository: its first path segment (`acme/team/app` → `acme`). */
export function namespaceOf(repository: string): string {
  const i = repository.indexOf('/');
  return i < 0 ? repository : repository.slice(0, i);
}
