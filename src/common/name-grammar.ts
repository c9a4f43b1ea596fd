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
