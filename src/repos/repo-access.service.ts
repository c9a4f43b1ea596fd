import { ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { OrgsService } from '../orgs/orgs.service.js';
import { namespaceOf } from '../users/names.js';
import { NamespacesService } from '../users/namespaces.service.js';
import {
  type AccessSubject,
  actionsOf,
  atLeast,
  type GrantLevel,
  type OrgRoleFact,
  type PermissionLevel,
  type RepoAction,
  resolveLevel,
} from './permissions.js';
import type { RepositoryEntity } from './repository.entity.js';
import { ReposService, type VisibilityScope } from './repos.service.js';

export interface RepoAccess {
  level: PermissionLevel;
  repository: RepositoryEntity | null;
}

/** Gathers the facts about a subject and repositories and applies the permission rules. */
@Injectable()
export class RepoAccessService {
  constructor(
    private readonly repos: ReposService,
    private readonly namespaces: NamespacesService,
    private readonly orgs: OrgsService,
  ) {}

  private async orgRole(subject: AccessSubject | null, namespace: string): Promise<OrgRoleFact> {
    if (!subject) return null;
    const org = await this.orgs.findByName(namespace);
    return org ? this.orgs.roleOf(org.id, subject.userId) : null;
  }

  private async teamLevels(
    subject: AccessSubject,
    repositoryIds: string[],
  ): Promise<Map<string, GrantLevel[]>> {
    const out = new Map<string, GrantLevel[]>();
    const grants = await this.repos.teamGrantsOf(repositoryIds);
    if (!grants.length) return out;
    const mine = new Set((await this.orgs.teamsOf(subject.userId)).map((t) => t.teamId));
    for (const g of grants) {
      if (!mine.has(g.teamId)) continue;
      out.set(g.repositoryId, [...(out.get(g.repositoryId) ?? []), g.level]);
    }
    return out;
  }

  /** The subject's level on a repository name, existing or not. */
  async access(subject: AccessSubject | null, name: string): Promise<RepoAccess> {
    const namespace = namespaceOf(name);
    const [namespaceKind, repository] = await Promise.all([
      this.namespaces.kindOf(namespace),
      this.repos.findByName(name),
    ]);
    const orgRole =
      namespaceKind === 'org' && subject && !subject.isAdmin
        ? await this.orgRole(subject, namespace)
        : null;
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
      repository: repoFacts,
    });
    return { level, repository };
  }

  async actions(subject: AccessSubject | null, name: string): Promise<RepoAction[]> {
    return actionsOf((await this.access(subject, name)).level);
  }

  /** Levels on many existing repositories at once (catalog filtering). */
  async levels(
    subject: AccessSubject | null,
    names: string[],
  ): Promise<Map<string, PermissionLevel>> {
    const repos = await this.repos.findByNames(names);
    const out = new Map<string, PermissionLevel>();
    if (!repos.length) return out;
    const kinds = await this.namespaces.kinds(repos.map((r) => r.namespace));
    const roles = new Map<string, OrgRoleFact>();
    let userGrants = new Map<string, GrantLevel>();
    let teamGrants = new Map<string, GrantLevel[]>();
    if (subject && !subject.isAdmin) {
      for (const m of await this.orgs.membershipsOf(subject.userId)) roles.set(m.name, m.role);
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

  /** What the subject may find in repository searches. */
  async visibilityScope(subject: AccessSubject | null): Promise<VisibilityScope> {
    if (!subject) return { all: false, namespaces: [], teamIds: [] };
    if (subject.isAdmin) return { all: true, namespaces: [], teamIds: [] };
    const memberships = await this.orgs.membershipsOf(subject.userId);
    const teams = await this.orgs.teamsOf(subject.userId);
    return {
      all: false,
      namespaces: [
        subject.username,
        ...memberships.filter((m) => m.role !== 'member').map((m) => m.name),
      ],
      userId: subject.userId,
      teamIds: teams.map((t) => t.teamId),
    };
  }

  /**
   * The repository when the subject has at least `min` on it. A repository the subject cannot
   * see answers 404, exactly like a missing one; a visible one without enough rights answers 403.
   */
  async require(
    subject: AccessSubject | null,
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
