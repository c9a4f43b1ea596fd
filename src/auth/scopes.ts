import { isRepositoryPattern } from '../common/name-grammar.js';
import { isValidRepositoryName } from '../registry/names.js';
import { matchesRepositoryPattern, type RepoAction } from '../repos/permissions.js';

/** One entry of the `access` claim of a registry token (Docker token specification). */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export const REPOSITORY_ACTIONS: readonly RepoAction[] = ['pull', 'push', 'delete'];
export const CATALOG_SCOPE = 'registry:catalog:*';

/**
 * Parses `type:name:actions`. The name may itself contain colons (a registry host with a port),
 * so the type ends at the first colon and the actions start after the last one.
 */
export function parseScope(scope: string): AccessEntry | null {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  // Without a colon there is no type. With one colon only, the name below is empty; with the
  // first at position 0 the type is empty: both are refused below.
  // Stryker disable next-line EqualityOperator: `first <= 0` is the same (an empty type fails the type grammar)
  if (first < 0) return null;
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (!name || !/^[a-z0-9]+(\([a-z0-9]+\))?$/i.test(type)) return null;
  return { type, name, actions: [...new Set(actions)] };
}

/** All scopes of a request: repeated `scope` parameters, each possibly space-separated (OAuth2). */
export function parseScopes(raw: string | string[] | undefined): AccessEntry[] {
  // Stryker disable next-line ArrayDeclaration: a non-empty default is as good as none (parseScope refuses any malformed scope)
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const merged = new Map<string, AccessEntry>();
  // Empty parts (repeated blanks) are malformed scopes, refused like the others.
  for (const part of list.flatMap((s) => s.split(' '))) {
    const entry = parseScope(part);
    if (!entry) continue;
    const key = `${entry.type}\u0000${entry.name}`;
    const prev = merged.get(key);
    merged.set(
      key,
      prev ? { ...prev, actions: [...new Set([...prev.actions, ...entry.actions])] } : entry,
    );
  }
  return [...merged.values()];
}

/** Requested repository actions (`*` meaning all of them), limited to those that exist. */
export function requestedRepositoryActions(actions: string[]): RepoAction[] {
  const wanted = actions.includes('*') ? REPOSITORY_ACTIONS : actions;
  return REPOSITORY_ACTIONS.filter((a) => wanted.includes(a));
}

/** Granted = requested ∩ allowed, in a stable order. */
export function intersectActions(
  requested: readonly string[],
  allowed: readonly string[],
): string[] {
  return REPOSITORY_ACTIONS.filter((a) => requested.includes(a) && allowed.includes(a));
}

/** Whether a scope names a repository the registry could hold. */
export function isRepositoryScope(e: AccessEntry): boolean {
  return e.type === 'repository' && isValidRepositoryName(e.name);
}

export function isCatalogScope(e: AccessEntry): boolean {
  return e.type === 'registry' && e.name === 'catalog' && e.actions.includes('*');
}

/** The actions a token grants on one resource. */
export function grantedActions(
  access: readonly AccessEntry[] | undefined,
  type: string,
  name: string,
): Set<string> {
  const out = new Set<string>();
  access?.forEach((e) => {
    if (e.type === type && e.name === name) e.actions.forEach((a) => out.add(a));
  });
  return out;
}

export function formatScope(type: string, name: string, actions: readonly string[]): string {
  return `${type}:${name}:${actions.join(',')}`;
}

/** What an API key may be limited to: the repository actions, and `api` for the management API. */
export type KeyAction = RepoAction | 'api';
export const KEY_ACTIONS: readonly KeyAction[] = ['pull', 'push', 'delete', 'api'];

/**
 * The scope of an API key. A key's rights are always the intersection of its scope and its
 * owner's current rights: the scope never adds anything.
 */
export interface KeyScope {
  actions: KeyAction[];
  /** Repository names or patterns (see matchesRepositoryPattern); null: every repository. */
  repositories: string[] | null;
}

export const FULL_KEY_SCOPE: KeyScope = { actions: [...KEY_ACTIONS], repositories: null };

/** Whether the scope limits nothing. */
export function isFullScope(scope: KeyScope): boolean {
  return scope.repositories === null && KEY_ACTIONS.every((a) => scope.actions.includes(a));
}

/** Whether a key with this scope may use the management API. */
export function scopeAllowsApi(scope: KeyScope | undefined): boolean {
  return !scope || scope.actions.includes('api');
}

/**
 * The repository actions a key may use on one repository: what its owner may do there (`allowed`)
 * limited to the key's actions, and to nothing when no pattern of the key covers the repository.
 */
export function scopedActions(
  scope: KeyScope | undefined,
  repository: string,
  allowed: readonly RepoAction[],
): RepoAction[] {
  if (!scope) return REPOSITORY_ACTIONS.filter((a) => allowed.includes(a));
  if (
    scope.repositories &&
    !scope.repositories.some((p) => matchesRepositoryPattern(p, repository))
  )
    return [];
  return REPOSITORY_ACTIONS.filter((a) => allowed.includes(a) && scope.actions.includes(a));
}

/** Most repository patterns one key may carry. */
export const MAX_KEY_REPOSITORIES = 50;

/**
 * The scope of a new key from its optional `actions` and `repositories`, or why it is refused.
 * Management API access (`api`) acts with all of the owner's rights there, so it only goes with a
 * key whose registry scope is not narrowed either: a narrowed key cannot escape through the API.
 */
export function checkKeyScope(
  actions: readonly string[] | undefined,
  repositories: readonly string[] | undefined,
): { ok: true; scope: KeyScope } | { ok: false; message: string } {
  const acts = actions ?? KEY_ACTIONS;
  const unknown = acts.filter((a) => !KEY_ACTIONS.includes(a as KeyAction));
  if (unknown.length)
    return {
      ok: false,
      message: `unknown actions: ${unknown.join(', ')} (use ${KEY_ACTIONS.join(', ')})`,
    };
  if (!acts.length) return { ok: false, message: 'actions must not be empty' };
  let repos: string[] | null = null;
  if (repositories !== undefined) {
    if (!repositories.length) return { ok: false, message: 'repositories must not be empty' };
    if (repositories.length > MAX_KEY_REPOSITORIES)
      return { ok: false, message: `at most ${MAX_KEY_REPOSITORIES} repositories` };
    const bad = repositories.filter((r) => !isRepositoryPattern(r));
    if (bad.length)
      return { ok: false, message: `not repository names or patterns: ${bad.join(', ')}` };
    repos = [...new Set(repositories)];
  }
  const scope: KeyScope = {
    actions: KEY_ACTIONS.filter((a) => acts.includes(a)),
    repositories: repos,
  };
  if (scope.actions.includes('api') && !isFullScope(scope))
    return {
      ok: false,
      message:
        'management API access ("api") only goes with keys limited to no repositories or actions',
    };
  return { ok: true, scope };
}
