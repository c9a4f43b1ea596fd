import { matchesPattern } from '../common/patterns.js';

/**
 * Repository permission rules, as pure functions (the services gather the facts).
 *
 * - `read` pulls, `write` pulls and pushes, `admin` also deletes and manages settings and grants.
 * - A user is admin of every repository in their own namespace; organization owners and admins
 *   are admin of every repository of the organization; system administrators of all of them.
 * - Otherwise the level is the highest of the user's direct grant and their teams' grants; a
 *   public repository gives everybody (anonymous callers too) at least `read`.
 * - Plain organization members get nothing implicitly: private repositories need a grant.
 * - A repository that does not exist yet may be created (by a push or through the API) by those
 *   who would be admin of it: the namespace's user, the organization's owners and admins, and
 *   system administrators; and by the members of the organization's repository creator teams
 *   (`creator`), who get `write` on the name to push it and an admin grant once they created it.
 *   Other members cannot create repositories in an organization.
 * - System administrators may also create repositories under a name nobody holds; the name is
 *   then reserved (kind `reserved`), so no user or organization can claim it later.
 * - Robots get their level from grants on repository names or patterns of their namespace
 *   (`patternGrantLevel`); a pattern's `*` matches any run of characters, "/" included.
 * - Subjects are users, robots or anonymous callers (`null` is anonymous too). A robot owns no
 *   namespace and is nobody's administrator: it gets its own grants (and public read), never a
 *   level from a name, whatever it is called.
 */
export type PermissionLevel = 'none' | 'read' | 'write' | 'admin';
export type GrantLevel = Exclude<PermissionLevel, 'none'>;
export type RepoAction = 'pull' | 'push' | 'delete';
export type Visibility = 'public' | 'private';
export type NamespaceKindFact = 'user' | 'org' | 'reserved' | null;
export type OrgRoleFact = 'owner' | 'admin' | 'member' | null;

export const GRANT_LEVELS: readonly GrantLevel[] = ['read', 'write', 'admin'];
export const VISIBILITIES: readonly Visibility[] = ['public', 'private'];

const RANK: Record<PermissionLevel, number> = { none: 0, read: 1, write: 2, admin: 3 };
const BY_RANK: readonly PermissionLevel[] = ['none', 'read', 'write', 'admin'];

export const LEVEL_ACTIONS: Record<PermissionLevel, readonly RepoAction[]> = {
  none: [],
  read: ['pull'],
  write: ['pull', 'push'],
  admin: ['pull', 'push', 'delete'],
};

/** A user: owns the namespace of their name; may be a system administrator. */
export interface UserSubject {
  kind: 'user';
  userId: string;
  username: string;
  isAdmin: boolean;
}

/** A machine account of a namespace: acts only through the grants given to it. */
export interface RobotSubject {
  kind: 'robot';
  robotId: string;
  namespace: string;
}

export interface AnonymousSubject {
  kind: 'anonymous';
}

/** Who asks, for the permission rules. */
export type AccessSubject = UserSubject | RobotSubject | AnonymousSubject;

export interface AccessFacts {
  /** Kind of the repository's namespace (its first path segment); null when nobody holds it. */
  namespaceKind: NamespaceKindFact;
  namespace: string;
  /** The subject's role in the namespace's organization (users only). */
  orgRole: OrgRoleFact;
  /** Whether the subject is in one of the organization's repository creator teams (users only). */
  creator?: boolean;
  /** Undefined when the repository does not exist. */
  repository?: {
    visibility: Visibility;
    /** The subject's own grant (a user's or a robot's). */
    userGrant: GrantLevel | null;
    /** Grants of the subject's teams (users only). */
    teamGrants: GrantLevel[];
  };
}

export function maxLevel(...levels: (PermissionLevel | null | undefined)[]): PermissionLevel {
  return BY_RANK[Math.max(0, ...levels.map((l) => (l ? RANK[l] : 0)))];
}

export function atLeast(level: PermissionLevel, min: PermissionLevel): boolean {
  return RANK[level] >= RANK[min];
}

/** Whether the subject administers the whole namespace. */
export function ownsNamespace(
  subject: AccessSubject | null,
  facts: Pick<AccessFacts, 'namespaceKind' | 'namespace' | 'orgRole'>,
): boolean {
  if (!subject || subject.kind !== 'user') return false;
  if (subject.isAdmin) return true;
  if (facts.namespaceKind === 'user') return facts.namespace === subject.username;
  if (facts.namespaceKind === 'org') return facts.orgRole === 'owner' || facts.orgRole === 'admin';
  return false; // a reserved name, or one nobody holds
}

/**
 * Where the subject stands in a namespace, for the namespace's management API (robots, webhooks,
 * retention defaults, usage and quota): `admin` administers it (the user of their own namespace,
 * the organization's owners and admins, system administrators), `member` belongs to it (an
 * organization's plain members), `none` neither, and `unknown` means the namespace is to read as
 * absent (404). A name nobody holds is unknown to everybody. A reserved name (held by
 * repositories a system administrator created under a name nobody held) is a namespace only
 * system administrators administer; to everybody else it is unknown, like a private repository
 * one cannot see. Robots and anonymous callers stand nowhere (they have no management API).
 */
export type NamespaceStanding = 'admin' | 'member' | 'none' | 'unknown';

export function namespaceStanding(
  subject: AccessSubject | null,
  facts: Pick<AccessFacts, 'namespaceKind' | 'namespace' | 'orgRole'>,
): NamespaceStanding {
  if (facts.namespaceKind === null) return 'unknown';
  const isAdmin = subject?.kind === 'user' && subject.isAdmin;
  if (facts.namespaceKind === 'reserved' && !isAdmin) return 'unknown';
  if (ownsNamespace(subject, facts)) return 'admin';
  if (subject?.kind === 'user' && facts.namespaceKind === 'org' && facts.orgRole === 'member')
    return 'member';
  return 'none';
}

/** The subject's level on one repository (or on a name that does not exist yet). */
export function resolveLevel(subject: AccessSubject | null, facts: AccessFacts): PermissionLevel {
  if (ownsNamespace(subject, facts)) return 'admin';
  const repo = facts.repository;
  if (!repo)
    return subject?.kind === 'user' && facts.namespaceKind === 'org' && facts.creator
      ? 'write'
      : 'none';
  const granted =
    subject && subject.kind !== 'anonymous' ? maxLevel(repo.userGrant, ...repo.teamGrants) : 'none';
  return repo.visibility === 'public' ? maxLevel(granted, 'read') : granted;
}

export function actionsOf(level: PermissionLevel): RepoAction[] {
  return [...LEVEL_ACTIONS[level]];
}

/** A grant on a repository name or a pattern (robot accounts). */
export interface PatternGrant {
  repository: string;
  level: GrantLevel;
}

/**
 * Whether a repository name matches a name or pattern (`*`: any characters, "/" included; the
 * `repository` mode of common/patterns.ts).
 */
export function matchesRepositoryPattern(pattern: string, name: string): boolean {
  // Stryker disable next-line StringLiteral: a mode that is none compiles like `repository`; only the type checker tells
  return matchesPattern('repository', pattern, name);
}

/** The highest level the grants give on one repository name (null: none matches). */
export function patternGrantLevel(
  grants: readonly PatternGrant[],
  name: string,
): GrantLevel | null {
  const level = maxLevel(
    ...grants.filter((g) => matchesRepositoryPattern(g.repository, name)).map((g) => g.level),
  );
  return level === 'none' ? null : level;
}
