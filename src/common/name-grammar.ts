/**
 * The one repository-name grammar (OCI Distribution Specification): a repository name is path
 * components joined by "/", each lower-case letters and digits separated by ".", "_", "__" or
 * runs of "-". A user's or organization's name is a single component (the namespace, the first
 * path segment); a repository path below its namespace is one or more components. Every check of
 * these names (registry routes, management DTOs, the user and organization rules, the bootstrap
 * administrator's configured name) is built from the pieces here.
 */
export const NAME_COMPONENT_SOURCE = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';

/** One path component (users, organizations, teams). */
export const NAME_COMPONENT = new RegExp(`^${NAME_COMPONENT_SOURCE}$`);

/** Components joined by "/" (a whole repository name, or the path below its namespace). */
export const REPOSITORY_PATH = new RegExp(
  `^${NAME_COMPONENT_SOURCE}(?:/${NAME_COMPONENT_SOURCE})*$`,
);

/** Longest repository name (namespace included). */
export const MAX_REPOSITORY_NAME_LENGTH = 255;
/** Longest user or organization name. */
export const MAX_NAMESPACE_LENGTH = 64;

/**
 * Robot accounts are shown as `<namespace>+<name>`: "+" is in no name component, so a robot's
 * full name can never be a user's or an organization's name (or a repository path).
 */
export const ROBOT_SEPARATOR = '+';

/** `acme+ci` → `{ namespace: 'acme', name: 'ci' }`; null when the text is no robot name. */
export function parseRobotName(full: string): { namespace: string; name: string } | null {
  const s = full.trim().toLowerCase();
  const i = s.indexOf(ROBOT_SEPARATOR);
  if (i < 0) return null;
  const namespace = s.slice(0, i);
  const name = s.slice(i + 1);
  if (namespace.length > MAX_NAMESPACE_LENGTH || name.length > MAX_NAMESPACE_LENGTH) return null;
  return NAME_COMPONENT.test(namespace) && NAME_COMPONENT.test(name) ? { namespace, name } : null;
}

/**
 * A repository name or pattern: a repository path whose components may hold `*`, which matches
 * any run of characters, "/" included (`acme/web/*` covers every repository below `acme/web/`).
 */
export function isRepositoryPattern(pattern: string): boolean {
  if (pattern.length < 1 || pattern.length > MAX_REPOSITORY_NAME_LENGTH) return false;
  if (pattern === '*') return true;
  return REPOSITORY_PATH.test(pattern.replace(/\*+/g, 'x'));
}
