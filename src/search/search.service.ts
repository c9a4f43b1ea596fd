import { Injectable } from '@nestjs/common';
import type { OrganizationEntity } from '../orgs/org.entities.js';
import { OrgSearchService } from '../orgs/org-search.service.js';
import type { UserSubject } from '../repos/permissions.js';
import { RepoAccessService } from '../repos/repo-access.service.js';
import { RepoSearchService } from '../repos/repo-search.service.js';
import type { VisibilityScope } from '../repos/visible-to.js';
import type { RepositoryEntity } from '../repos/repository.entity.js';
import type { UserEntity } from '../users/user.entity.js';
import { type NameRestriction, UserSearchService } from '../users/user-search.service.js';
import type { SearchPageDto, SearchResultDto } from './dto/search.dto.js';
import {
  type MatchTier,
  type PageSegment,
  planPage,
  SEARCH_KINDS,
  type SearchKind,
  type SearchTerm,
  type TierCounts,
  totalOf,
} from './match.js';

type Found =
  | { kind: 'repository'; tier: MatchTier; row: RepositoryEntity }
  | { kind: 'organization'; tier: MatchTier; row: OrganizationEntity }
  | { kind: 'user'; tier: MatchTier; row: UserEntity };

/**
 * Global search over repositories, organizations and users (ranking in src/search/match.ts).
 *
 * What a caller finds:
 * - repositories: exactly those `GET /repos` lists for them (public ones, their namespaces',
 *   granted ones; all for system administrators);
 * - signed-in callers: every organization and every active user, whose profiles they can read
 *   anyway (as `GET /users?q=` lists them);
 * - anonymous callers: only the organizations and users that hold at least one public
 *   repository: what a visitor reaches by browsing public content (as Harbor shows anonymous
 *   visitors public projects only), so that search does not enumerate accounts.
 */
@Injectable()
export class SearchService {
  constructor(
    private readonly access: RepoAccessService,
    private readonly repos: RepoSearchService,
    private readonly orgs: OrgSearchService,
    private readonly users: UserSearchService,
  ) {}

  async search(
    subject: UserSubject | null,
    term: SearchTerm,
    kinds: readonly SearchKind[],
    page: number,
    perPage: number,
  ): Promise<SearchPageDto> {
    const scope = await this.access.visibilityScope(subject);
    const restrict: NameRestriction | undefined = subject
      ? undefined
      : (column) => this.repos.holdsPublicRepository(column);
    const [repository, organization, user] = await Promise.all([
      this.repos.countByTier(scope, term),
      this.orgs.countByTier(term, restrict),
      this.users.countByTier(term, restrict),
    ]);
    const all: Record<SearchKind, TierCounts> = { repository, organization, user };
    const selected = SEARCH_KINDS.filter((k) => kinds.includes(k));
    const plan = planPage(
      Object.fromEntries(selected.map((k) => [k, all[k]])) as Partial<
        Record<SearchKind, TierCounts>
      >,
      page,
      perPage,
    );
    const found = (await Promise.all(plan.map((s) => this.fetch(s, scope, term, restrict)))).flat();
    const levels = await this.access.levels(
      subject,
      found.filter((f) => f.kind === 'repository').map((f) => f.row.name),
    );
    return {
      items: found.map((f) => this.describe(f, levels)),
      total: selected.reduce((n, k) => n + totalOf(all[k]), 0),
      page,
      perPage,
      counts: {
        repository: totalOf(repository),
        organization: totalOf(organization),
        user: totalOf(user),
      },
    };
  }

  private async fetch(
    s: PageSegment,
    scope: VisibilityScope,
    term: SearchTerm,
    restrict: NameRestriction | undefined,
  ): Promise<Found[]> {
    switch (s.kind) {
      case 'repository':
        return (await this.repos.page(scope, term, s.tier, s.offset, s.limit)).map((row) => ({
          kind: 'repository' as const,
          tier: s.tier,
          row,
        }));
      case 'organization':
        return (await this.orgs.page(term, s.tier, s.offset, s.limit, restrict)).map((row) => ({
          kind: 'organization' as const,
          tier: s.tier,
          row,
        }));
      case 'user':
        return (await this.users.page(term, s.tier, s.offset, s.limit, restrict)).map((row) => ({
          kind: 'user' as const,
          tier: s.tier,
          row,
        }));
    }
  }

  private describe(f: Found, levels: Map<string, string>): SearchResultDto {
    switch (f.kind) {
      case 'repository':
        return {
          kind: f.kind,
          name: f.row.name,
          match: f.tier,
          displayName: null,
          description: f.row.description,
          namespace: f.row.namespace,
          visibility: f.row.visibility,
          lastPushedAt: f.row.lastPushedAt,
          permission: (levels.get(f.row.name) ?? 'read') as SearchResultDto['permission'],
        };
      case 'organization':
        return {
          kind: f.kind,
          name: f.row.name,
          match: f.tier,
          displayName: f.row.displayName,
          description: f.row.description,
        };
      case 'user':
        return {
          kind: f.kind,
          name: f.row.username,
          match: f.tier,
          displayName: f.row.displayName,
          description: null,
        };
    }
  }
}
