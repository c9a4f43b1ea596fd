import { Injectable } from '@nestjs/common';
import { CacheKeys } from '../cache/cache-keys.js';
import { CacheService } from '../cache/cache.service.js';
import type { OrgRole } from '../orgs/org.entities.js';
import { OrgsService } from '../orgs/orgs.service.js';
import type { NamespaceKind } from '../users/namespace.entity.js';
import { NamespacesService } from '../users/namespaces.service.js';
import { UsersService } from '../users/users.service.js';
import {
  type GrantLevel,
  namespaceStanding,
  type NamespaceStanding,
  type UserSubject,
  type Visibility,
} from './permissions.js';
import { ReposService } from './repos.service.js';

/** What permission decisions need to know about one repository. */
export interface RepoFacts {
  id: string;
  name: string;
  namespace: string;
  visibility: Visibility;
  /** User id → granted level. */
  users: Record<string, GrantLevel>;
  /** Team id → granted level. */
  teams: Record<string, GrantLevel>;
}

/** What authentication and permission decisions need to know about one user. */
export interface UserFacts {
  id: string;
  username: string;
  isAdmin: boolean;
  active: boolean;
  /** Raised by every password change or reset (see UserEntity.credentialGeneration). */
  credentialGeneration: number;
  /** Organization name → the user's role in it. */
  orgs: Record<string, OrgRole>;
  /** Ids of the teams the user is in. */
  teams: string[];
  /** Organizations where one of the user's teams may create repositories. */
  creatorOrgs?: string[];
}

/** Cache "not found" too (see CacheKeys). */
const NEGATIVE = { negative: true } as const;

/**
 * The facts behind authentication and permission decisions, read through the CacheService (see
 * CacheKeys for what each key holds and which writes invalidate it). Decisions are computed from
 * these facts on every request. A missing repository or name is cached too ("not found"), so
 * that it costs what an existing private one costs; the paths that create one invalidate it.
 */
@Injectable()
export class AccessFactsService {
  constructor(
    private readonly cache: CacheService,
    private readonly repos: ReposService,
    private readonly namespaces: NamespacesService,
    private readonly users: UsersService,
    private readonly orgs: OrgsService,
    private readonly cacheKeys: CacheKeys,
  ) {}

  repository(name: string): Promise<RepoFacts | null> {
    return this.cache.getOrLoad<RepoFacts>(
      this.cacheKeys.repoFacts(name),
      async () => {
        const repo = await this.repos.findByName(name);
        if (!repo) return null;
        const [userGrants, teamGrants] = await Promise.all([
          this.repos.userGrantsOf([repo.id]),
          this.repos.teamGrantsOf([repo.id]),
        ]);
        return {
          id: repo.id,
          name: repo.name,
          namespace: repo.namespace,
          visibility: repo.visibility,
          users: Object.fromEntries(userGrants.map((g) => [g.userId, g.level])),
          teams: Object.fromEntries(teamGrants.map((g) => [g.teamId, g.level])),
        };
      },
      NEGATIVE,
    );
  }

  namespaceKind(name: string): Promise<NamespaceKind | null> {
    const normalized = name.toLowerCase();
    return this.cache.getOrLoad<NamespaceKind>(
      this.cacheKeys.namespaceKind(normalized),
      () => this.namespaces.kindOf(normalized),
      NEGATIVE,
    );
  }

  /** The user's facts, inactive users included (callers check `active`). */
  user(userId: string): Promise<UserFacts | null> {
    return this.cache.getOrLoad<UserFacts>(this.cacheKeys.userFacts(userId), async () => {
      const user = await this.users.findById(userId);
      if (!user) return null;
      const [memberships, teams] = await Promise.all([
        this.orgs.membershipsOf(user.id),
        this.orgs.teamsOf(user.id),
      ]);
      return {
        id: user.id,
        username: user.username,
        isAdmin: user.isAdmin,
        active: user.active,
        credentialGeneration: user.credentialGeneration,
        orgs: Object.fromEntries(memberships.map((m) => [m.name, m.role])),
        teams: teams.map((t) => t.teamId),
        creatorOrgs: memberships
          .filter((m) =>
            teams.some((t) => t.canCreateRepositories && t.organizationId === m.organizationId),
          )
          .map((m) => m.name),
      };
    });
  }

  /**
   * Where the user stands in the namespace (`name` normalised by the caller), for the namespace's
   * management API: the one place robots, webhooks, retention and quotas ask (see
   * namespaceStanding for the rule). A system administrator's memberships are not read.
   */
  async namespaceStandingOf(
    caller: UserSubject,
    name: string,
  ): Promise<{ kind: NamespaceKind | null; standing: NamespaceStanding }> {
    const kind = await this.namespaceKind(name);
    const user = kind === 'org' && !caller.isAdmin ? await this.user(caller.userId) : null;
    const orgRole = user ? (ownEntry(user.orgs, name) ?? null) : null;
    return {
      kind,
      standing: namespaceStanding(caller, { namespace: name, namespaceKind: kind, orgRole }),
    };
  }

  /** The user's facts when the user exists and is active. */
  async activeUser(userId: string): Promise<UserFacts | null> {
    const facts = await this.user(userId);
    return facts?.active ? facts : null;
  }
}

/** `record[key]` when the record has it as its own entry (never an inherited property). */
export function ownEntry<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
