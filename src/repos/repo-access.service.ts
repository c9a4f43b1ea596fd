import { ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { namespaceOf } from '../users/names.js';
import { NamespacesService } from '../users/namespaces.service.js';
import { AccessFactsService, ownEntry, type UserFacts } from './access-facts.service.js';
import {
  type UserSubject,
  actionsOf,
  atLeast,
  type GrantLevel,
  type OrgRoleFact,
  type PermissionLevel,
  type RepoAction,
  patternGrantLevel,
  resolveLevel,
} from './permissions.js';
import type { RobotPrincipal, SignedInPrincipal } from '../auth/principal.js';
import { scopedActions } from '../auth/scopes.js';
import type { RepositoryEntity } from './repository.entity.js';
import { ReposService, type VisibilityScope } from './repos.service.js';

export interface RepoAccess {
  level: PermissionLevel;
  repository: RepositoryEntity | null;
}

/**
 * Gathers the facts about a subject and repositories and applies the permission rules. The
 * registry's decisions (`actions`) read every fact through the cache (AccessFactsService); the
 * management API reads the repository rows themselves from the database and the caller's roles
 * and teams through the cache.
 */
@Injectable()
export class RepoAccessService {
  constructor(
    private readonly repos: ReposService,
    private readonly namespaces: NamespacesService,
    private readonly facts: AccessFactsService,
  ) {}

  /** The subject's roles and teams; none for anonymous callers and system administrators. */
  private async subjectFacts(subject: UserSubject | null): Promise<UserFacts | null> {
    return subject && !subject.isAdmin ? this.facts.user(subject.userId) : null;
  }

  private async teamLevels(
    subject: UserSubject,
    repositoryIds: string[],
  ): Promise<Map<string, GrantLevel[]>> {
    const out = new Map<string, GrantLevel[]>();
    const grants = await this.repos.teamGrantsOf(repositoryIds);
    if (!grants.length) return out;
    const mine = new Set((await this.facts.user(subject.userId))?.teams ?? []);
    for (const g of grants) {
      if (!mine.has(g.teamId)) continue;
      out.set(g.repositoryId, [...(out.get(g.repositoryId) ?? []), g.level]);
    }
    return out;
  }

  /** The subject's level on a repository name, existing or not. */
  async access(subject: UserSubject | null, name: string): Promise<RepoAccess> {
    const namespace = namespaceOf(name);
    const [namespaceKind, repository] = await Promise.all([
      this.namespaces.kindOf(namespace),
      this.repos.findByName(name),
    ]);
    const facts = namespaceKind === 'org' ? await this.subjectFacts(subject) : null;
    const orgRole = facts ? (ownEntry(facts.orgs, namespace) ?? null) : null;
    const creator = !!facts?.creatorOrgs?.includes(namespace);
    let repoFacts;
    if (repository) {
      let userGrant: GrantLevel | null = null;
      let teamGrants: GrantLevel[] = [];
      if (subject && !subject.isAdmin) {
        userGrant = await this.repos.userGrant(repository.id, subject.userId);
        teamGrants = (await this.teamLevels(subject, [repository.id])).get(repository.id) ?? [];
      }
      repoFacts = { visibility: repository.visibility, userGrant, teamGrants };
    }
    const level = resolveLevel(subject, {
      namespace,
      namespaceKind,
      orgRole,
      creator,
      repository: repoFacts,
    });
    return { level, repository };
  }

  /** The subject's level on a repository name, from cached facts (the registry's hot path). */
  async level(subject: UserSubject | null, name: string): Promise<PermissionLevel> {
    const namespace = namespaceOf(name);
    const [namespaceKind, repo, user] = await Promise.all([
      this.facts.namespaceKind(namespace),
      this.facts.repository(name),
      this.subjectFacts(subject),
    ]);
    const mine = new Set(user?.teams ?? []);
    return resolveLevel(subject, {
      namespace,
      namespaceKind,
      orgRole: namespaceKind === 'org' && user ? (ownEntry(user.orgs, namespace) ?? null) : null,
      creator: namespaceKind === 'org' && !!user?.creatorOrgs?.includes(namespace),
      repository: repo
        ? {
            visibility: repo.visibility,
            userGrant: (subject && ownEntry(repo.users, subject.userId)) ?? null,
            teamGrants: Object.entries(repo.teams)
              .filter(([teamId]) => mine.has(teamId))
              .map(([, level]) => level),
          }
        : undefined,
    });
  }

  async actions(subject: UserSubject | null, name: string): Promise<RepoAction[]> {
    return actionsOf(await this.level(subject, name));
  }

  /**
   * What a verified caller may do on a repository name, from cached facts: a user's actions
   * limited by the scope of the API key used (if any), or a robot's actions from its grants.
   */
  async principalActions(principal: SignedInPrincipal | null, name: string): Promise<RepoAction[]> {
    if (principal?.kind === 'robot') return actionsOf(await this.robotLevel(principal, name));
    const allowed = await this.actions(principal, name);
    return principal?.keyScope ? scopedActions(principal.keyScope, name, allowed) : allowed;
  }

  /** A robot's level: its grants on repositories of its namespace, and public read. */
  private async robotLevel(robot: RobotPrincipal, name: string): Promise<PermissionLevel> {
    const namespace = namespaceOf(name);
    const repo = await this.facts.repository(name);
    return resolveLevel(
      { kind: 'robot', robotId: robot.robotId, namespace: robot.namespace },
      {
        namespace,
        namespaceKind: null,
        orgRole: null,
        repository: repo
          ? {
              visibility: repo.visibility,
              userGrant:
                repo.namespace === robot.namespace ? patternGrantLevel(robot.grants, name) : null,
              teamGrants: [],
            }
          : undefined,
      },
    );
  }

  /** Whether the user is in one of the organization's repository creator teams (fresh facts). */
  async mayCreateIn(subject: UserSubject, organization: string): Promise<boolean> {
    return !!(await this.facts.user(subject.userId))?.creatorOrgs?.includes(organization);
  }

  /** Levels on many existing repositories at once (catalog filtering). */
  async levels(
    subject: UserSubject | null,
    names: string[],
  ): Promise<Map<string, PermissionLevel>> {
    const repos = await this.repos.findByNames(names);
    const out = new Map<string, PermissionLevel>();
    if (!repos.length) return out;
    const kinds = await this.namespaces.kinds(repos.map((r) => r.namespace));
    const roles = new Map<string, OrgRoleFact>();
    let userGrants = new Map<string, GrantLevel>();
    let teamGrants = new Map<string, GrantLevel[]>();
    const user = await this.subjectFacts(subject);
    if (subject && !subject.isAdmin) {
      for (const [org, role] of Object.entries(user?.orgs ?? {})) roles.set(org, role);
      const ids = repos.map((r) => r.id);
      userGrants = new Map(
        (await this.repos.userGrantsOf(ids, subject.userId)).map((g) => [g.repositoryId, g.level]),
      );
      teamGrants = await this.teamLevels(subject, ids);
    }
    for (const r of repos) {
      out.set(
        r.name,
        resolveLevel(subject, {
          namespace: r.namespace,
          namespaceKind: kinds.get(r.namespace) ?? null,
          orgRole: roles.get(r.namespace) ?? null,
          repository: {
            visibility: r.visibility,
            userGrant: userGrants.get(r.id) ?? null,
            teamGrants: teamGrants.get(r.id) ?? [],
          },
        }),
      );
    }
    return out;
  }

  /**
   * The catalog (`GET /v2/_catalog`): names the subject may pull, in byte order after `last`, at
   * most `limit`; filtered in PostgreSQL one page at a time (ReposService.listVisibleNames).
   */
  async catalog(subject: UserSubject | null, limit: number, last?: string): Promise<string[]> {
    if (limit <= 0) return [];
    return this.repos.listVisibleNames(await this.visibilityScope(subject), limit, last);
  }

  /**
   * The catalog of a robot or of a user signed in with a scoped API key: the candidates (a
   * robot's namespace and public repositories, or what the key's owner may see) filtered by what
   * the caller may pull, read page by page until `limit` names are found.
   */
  async catalogFor(p: SignedInPrincipal, limit: number, last?: string): Promise<string[]> {
    if (limit <= 0) return [];
    const scope: VisibilityScope =
      p.kind === 'robot'
        ? { all: false, namespaces: [p.namespace], teamIds: [] }
        : await this.visibilityScope(p);
    const out: string[] = [];
    let after = last;
    for (;;) {
      const page = await this.repos.listVisibleNames(scope, limit, after);
      for (const name of page) {
        if (!(await this.principalActions(p, name)).includes('pull')) continue;
        out.push(name);
        if (out.length >= limit) return out;
      }
      if (page.length < limit) return out;
      after = page[page.length - 1];
    }
  }

  /** What the subject may find in repository searches. */
  async visibilityScope(subject: UserSubject | null): Promise<VisibilityScope> {
    if (!subject) return { all: false, namespaces: [], teamIds: [] };
    if (subject.isAdmin) return { all: true, namespaces: [], teamIds: [] };
    const user = await this.facts.user(subject.userId);
    return {
      all: false,
      namespaces: [
        subject.username,
        ...Object.entries(user?.orgs ?? {})
          .filter(([, role]) => role !== 'member')
          .map(([org]) => org),
      ],
      userId: subject.userId,
      teamIds: user?.teams ?? [],
    };
  }

  /**
   * The repository when the subject has at least `min` on it. A repository the subject cannot
   * see answers 404, exactly like a missing one; a visible one without enough rights answers 403.
   */
  async require(
    subject: UserSubject | null,
    name: string,
    min: Exclude<PermissionLevel, 'none'>,
  ): Promise<RepoAccess & { repository: RepositoryEntity }> {
    const access = await this.access(subject, name);
    if (!access.repository || !atLeast(access.level, 'read')) {
      throw new NotFoundException(`repository "${name}" not found`);
    }
    if (!atLeast(access.level, min))
      throw new ForbiddenException(`this needs ${min} permission on "${name}"`);
    return access as RepoAccess & { repository: RepositoryEntity };
  }
}
