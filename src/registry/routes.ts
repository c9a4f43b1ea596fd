import { RegistryError } from './errors.js';
import { looksLikeDigest, parseDigest } from './digest.js';
import { assertRepositoryName, assertTag } from './names.js';

export type RegistryAction = 'pull' | 'push' | 'delete';

export type RegistryRoute =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploadStart'; name: string }
  | { kind: 'upload'; name: string; uuid: string }
  | { kind: 'referrers'; name: string; digest: string };

const PATTERNS: [RegExp, (m: RegExpExecArray) => RegistryRoute][] = [
  [/^$/, () => ({ kind: 'base' })],
  [/^_catalog$/, () => ({ kind: 'catalog' })],
  [/^(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1] })],
  [/^(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: 'manifest', name: m[1], reference: m[2] })],
  [/^(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'uploadStart', name: m[1] })],
  [/^(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: 'upload', name: m[1], uuid: m[2] })],
  [/^(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1], digest: m[2] })],
  [/^(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: 'referrers', name: m[1], digest: m[2] })],
];

/** Parses the part of a request path after `/v2/`. Repository names may have many segments. */
export function parseRegistryPath(path: string): RegistryRoute {
  const rest = path.replace(/^\/+/, '').replace(/^v2\/?/, '');
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    throw new RegistryError('NAME_INVALID', 'invalid path encoding');
  }
  for (const [re, build] of PATTERNS) {
    const m = re.exec(decoded);
    if (!m) continue;
    const route = build(m);
    if ('name' in route) assertRepositoryName(route.name);
    if (route.kind === 'manifest') {
      if (looksLikeDigest(route.reference)) parseDigest(route.reference);
      else assertTag(route.reference);
    }
    if (route.kind === 'blob' || route.kind === 'referrers') parseDigest(route.digest);
    return route;
  }
  throw new RegistryError(
    'UNSUPPORTED',
    'no such registry endpoint',
    { path: `/v2/${decoded}` },
    404,
  );
}

/** The repository actions a request needs (Docker token scope vocabulary). */
export function requiredActions(route: RegistryRoute, method: string): RegistryAction[] {
  const m = method.toUpperCase();
  switch (route.kind) {
    case 'base':
    case 'catalog':
      return [];
    case 'tags':
    case 'referrers':
      return ['pull'];
    case 'manifest':
    case 'blob':
      if (m === 'DELETE') return ['delete'];
      if (m === 'PUT') return ['pull', 'push'];
      return ['pull'];
    case 'uploadStart':
    case 'upload':
      return ['pull', 'push'];
  }
}
