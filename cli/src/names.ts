import { usageError } from './errors.js';

export interface RepoRef {
  namespace: string;
  /** The path below the namespace (may hold "/"). */
  name: string;
  /** namespace/name */
  full: string;
  tag?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/**
 * `NAMESPACE/NAME[:TAG]` as on the docker command line (`acme/team/app:v1`). Names are
 * case-insensitive on the server; they are lower-cased here so that messages show them as stored.
 */
export function parseRepoRef(
  input: string,
  opts: { tag: 'forbidden' | 'optional' | 'required' },
): RepoRef {
  const raw = input.trim();
  let path = raw;
  let tag: string | undefined;
  const colon = raw.lastIndexOf(':');
  if (colon > raw.lastIndexOf('/')) {
    path = raw.slice(0, colon);
    tag = raw.slice(colon + 1);
  }
  if (raw.includes('@'))
    throw usageError(`"${input}": digests are not accepted here; name a tag (NAMESPACE/NAME:TAG)`);
  const parts = path.toLowerCase().split('/');
  if (parts.length < 2 || parts.some((p) => !COMPONENT.test(p)))
    throw usageError(
      `"${input}" is not a repository name: expected NAMESPACE/NAME (lower-case letters, digits, ".", "_", "-")`,
    );
  if (tag !== undefined) {
    if (opts.tag === 'forbidden')
      throw usageError(`"${input}": expected a repository (NAMESPACE/NAME), not a tag`);
    if (!TAG.test(tag)) throw usageError(`"${tag}" is not a valid tag`);
  } else if (opts.tag === 'required') {
    throw usageError(`"${input}": name the tag (NAMESPACE/NAME:TAG)`);
  }
  const [namespace, ...rest] = parts;
  return {
    namespace,
    name: rest.join('/'),
    full: parts.join('/'),
    ...(tag !== undefined ? { tag } : {}),
  };
}
