import { isValidRepositoryName } from '../registry/names.js';
import type { RepoAction } from '../repos/permissions.js';

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
  if (first <= 0 || last === first) return null;
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
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const merged = new Map<string, AccessEntry>();
  for (const part of list.flatMap((s) => s.split(' ')).filter(Boolean)) {
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
  for (const e of access ?? [])
    if (e.type === type && e.name === name) e.actions.forEach((a) => out.add(a));
  return out;
}

export function formatScope(type: string, name: string, actions: readonly string[]): string {
  return `${type}:${name}:${actions.join(',')}`;
}
