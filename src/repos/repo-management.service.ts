import {
  BadRequestException,
  ForbiddenException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import type { Actor } from '../common/actor.js';
import { OrgsService } from '../orgs/orgs.service.js';
import { isValidRepositoryName, isValidTag } from '../registry/names.js';
import { UploadsService } from '../registry/uploads.service.js';
import { NamespacesService } from '../users/namespaces.service.js';
import { UsersService } from '../users/users.service.js';
import type {
  RepoDetailsDto,
  RepoPermissionsDto,
  TagPageDto,
  TagQueryDto,
} from './dto/repos.dto.js';
import { type PageQueryDto, pageOf } from '../common/page.dto.js';
import { ImmutableTagsService } from '../registry/immutable-tags.service.js';
import { TagHistoryService } from '../registry/tag-history.service.js';
import type {
  RepositoryRetentionDto,
  RetentionPolicyDto,
  RetentionPreviewDto,
} from '../retention/dto/retention.dto.js';
import { RetentionService } from '../retention/retention.service.js';
import type { ImmutableTagsDto, RestoredTagDto, TagHistoryPageDto } from './dto/tags.dto.js';
import { RepoDto } from './dto/repos.dto.js';
import {
  type UserSubject,
  type GrantLevel,
  ownsNamespace,
  type Visibility,
} from './permissions.js';
import { RepoAccessService } from './repo-access.service.js';
import type { ManifestViewDto } from './dto/manifest-view.dto.js';
import { RepoContentService } from './repo-content.service.js';
import type { RepositoryEntity } from './repository.entity.js';
import { ReposService } from './repos.service.js';

/** The repository rules of the management API (search, create, settings, grants, delete). */
@Injectable()
export class RepoManagementService {
  constructor(
    private readonly repos: ReposService,
    private readonly access: RepoAccessService,
    private readonly content: RepoContentService,
    private readonly namespaces: NamespacesService,
    private readonly users: UsersService,
    private readonly orgs: OrgsService,
    private readonly uploads: UploadsService,
    private readonly history: TagHistoryService,
    private readonly immutable: ImmutableTagsService,
    private readonly retention: RetentionService,
  ) {}

  async search(
    subject: UserSubject | null,
    opts: { namespace?: string; q?: string; page: number; perPage: number },
  ) {
    const scope = await this.access.visibilityScope(subject);
    const { items, total } = await this.repos.search(scope, opts);
    const levels = await this.access.levels(
      subject,
      items.map((r) => r.name),
    );
    return { items: items.map((r) => RepoDto.of(r, levels.get(r.name) ?? 'read')), total };
  }

  async create(
    subject: UserSubject,
    input: { namespace: string; name: string; visibility?: Visibility; description?: string },
    actor: Actor,
  ): Promise<RepoDto> {
    const full = `${input.namespace}/${input.name}`;
    if (!isValidRepositoryName(full))
      throw new BadRequestException(`"${full}" is not a valid repository name`);
    const namespaceKind = await this.namespaces.kindOf(input.namespace);
    if (!namespaceKind && !subject.isAdmin)
      throw new NotFoundException(`no user or organization "${input.namespace}"`);
    const org = namespaceKind === 'org' ? await this.orgs.findByName(input.namespace) : null;
    const orgRole = org ? await this.orgs.roleOf(org.id, subject.userId) : null;
    if (
      !ownsNamespace(subject, { namespace: input.namespace, namespaceKind, orgRole }) &&
      !(org && orgRole && (await this.access.mayCreateIn(subject, input.namespace)))
    ) {
      throw new ForbiddenException(`you may not create repositories in "${input.namespace}"`);
    }
    return RepoDto.of(await this.repos.create(full, input, actor), 'admin');
  }

  async details(subject: UserSubject | null, name: string): Promise<RepoDetailsDto> {
    const { repository, level } = await this.access.require(subject, name, 'read');
    const { tags, truncated, pulls } = await this.content.tags(repository.id);
    const usageBytes = await this.repos.usageBytes(repository.id);
    return {
      ...RepoDto.of(repository, level),
      ...pulls,
      usageBytes,
      tags,
      tagsTruncated: truncated,
    };
  }

  /** One page of the repository's tags, filtered and sorted. */
  async tags(subject: UserSubject | null, name: string, query: TagQueryDto): Promise<TagPageDto> {
    const { repository } = await this.access.require(subject, name, 'read');
    const { page, perPage } = pageOf(query);
    const { items, total } = await this.content.tagPage(repository.id, query, page, perPage);
    return { items, total, page, perPage };
  }

  /** A manifest of the repository by tag or digest, with its layers, config and referrers. */
  async manifest(
    subject: UserSubject | null,
    name: string,
    reference: string,
  ): Promise<ManifestViewDto> {
    const { repository } = await this.access.require(subject, name, 'read');
    return this.content.manifestView(repository.id, reference);
  }

  async update(
    subject: UserSubject,
    name: string,
    input: { visibility?: Visibility; description?: string | null },
    actor: Actor,
  ): Promise<RepoDto> {
    const { repository } = await this.access.require(subject, name, 'admin');
    return RepoDto.of(await this.repos.update(repository, input, actor), 'admin');
  }

  async delete(subject: UserSubject, name: string, actor: Actor): Promise<void> {
    const { repository } = await this.access.require(subject, name, 'admin');
    await this.repos.delete(repository, actor);
    // Its upload sessions outlive it (repository_id NULL) until their bytes are removed: now,
    // or by the next sweep if this fails.
    void this.uploads.sweepExpired();
  }

  /** Removes one tag (repository admins, as the registry's tag delete). */
  async deleteTag(subject: UserSubject, name: string, tag: string, actor: Actor): Promise<void> {
    if (!isValidTag(tag)) throw new BadRequestException(`"${tag}" is not a valid tag`);
    const { repository } = await this.access.require(subject, name, 'admin');
    if (!(await this.content.deleteTag(repository, tag, actor)))
      throw new NotFoundException(`tag "${tag}" not found in "${repository.name}"`);
  }

  /** One page of a tag's history, newest first (readers of the repository). */
  async tagHistory(
    subject: UserSubject | null,
    name: string,
    tag: string,
    query: PageQueryDto,
  ): Promise<TagHistoryPageDto> {
    if (!isValidTag(tag)) throw new BadRequestException(`"${tag}" is not a valid tag`);
    const { repository } = await this.access.require(subject, name, 'read');
    const { page, perPage } = pageOf(query);
    const { items, total } = await this.history.history(
      repository.id,
      tag,
      (page - 1) * perPage,
      perPage,
    );
    return { items, total, page, perPage };
  }

  /** Moves a tag back to a digest from its history (writers, as a push). */
  async restoreTag(
    subject: UserSubject,
    name: string,
    tag: string,
    digest: string,
    actor: Actor,
  ): Promise<RestoredTagDto> {
    if (!isValidTag(tag)) throw new BadRequestException(`"${tag}" is not a valid tag`);
    const { repository } = await this.access.require(subject, name, 'write');
    return this.history.restore(repository, tag, digest, actor);
  }

  /** The immutable tag patterns (readers of the repository). */
  async immutableTags(subject: UserSubject | null, name: string): Promise<ImmutableTagsDto> {
    const { repository } = await this.access.require(subject, name, 'read');
    return { patterns: await this.immutable.patterns(repository.id) };
  }

  /** Replaces the immutable tag patterns (repository admins). */
  async setImmutableTags(
    subject: UserSubject,
    name: string,
    patterns: string[],
    actor: Actor,
  ): Promise<ImmutableTagsDto> {
    const { repository } = await this.access.require(subject, name, 'admin');
    return { patterns: await this.immutable.replace(repository, patterns, actor) };
  }

  /** The retention policy, its namespace default and what applies (repository admins). */
  async retentionPolicy(subject: UserSubject, name: string): Promise<RepositoryRetentionDto> {
    const { repository } = await this.access.require(subject, name, 'admin');
    return this.retention.describe(repository);
  }

  /** Replaces the repository's retention policy (repository admins). */
  async setRetentionPolicy(
    subject: UserSubject,
    name: string,
    policy: RetentionPolicyDto,
    actor: Actor,
  ): Promise<RepositoryRetentionDto> {
    const { repository } = await this.access.require(subject, name, 'admin');
    await this.retention.setRepositoryPolicy(repository, policy, actor);
    return this.retention.describe(repository);
  }

  /** What retention would delete now (repository admins); deletes nothing. */
  async retentionPreview(subject: UserSubject, name: string): Promise<RetentionPreviewDto> {
    const { repository } = await this.access.require(subject, name, 'admin');
    return this.retention.decide(repository);
  }

  private async describeGrants(repository: RepositoryEntity): Promise<RepoPermissionsDto> {
    const userGrants = await this.repos.userGrantsOf([repository.id]);
    const teamGrants = await this.repos.teamGrantsOf([repository.id]);
    const users = new Map(
      (await this.users.findByIds(userGrants.map((g) => g.userId))).map((u) => [u.id, u.username]),
    );
    const teams = new Map(
      (await this.orgs.findTeamsByIds(teamGrants.map((g) => g.teamId))).map((t) => [t.id, t.name]),
    );
    return {
      users: userGrants
        .filter((g) => users.has(g.userId))
        .map((g) => ({ username: users.get(g.userId)!, level: g.level }))
        .sort((a, b) => (a.username < b.username ? -1 : 1)),
      teams: teamGrants
        .filter((g) => teams.has(g.teamId))
        .map((g) => ({ team: teams.get(g.teamId)!, level: g.level }))
        .sort((a, b) => (a.team < b.team ? -1 : 1)),
    };
  }

  async permissions(subject: UserSubject, name: string): Promise<RepoPermissionsDto> {
    const { repository } = await this.access.require(subject, name, 'admin');
    return this.describeGrants(repository);
  }

  /** Replaces the repository's user and team grants. Teams must belong to the repository's organization. */
  async setPermissions(
    subject: UserSubject,
    name: string,
    input: RepoPermissionsDto,
    actor: Actor,
  ): Promise<RepoPermissionsDto> {
    const { repository } = await this.access.require(subject, name, 'admin');
    const users = new Map<string, { userId: string; level: GrantLevel }>();
    for (const g of input.users) {
      const user = await this.users.findByUsername(g.username);
      if (!user) throw new BadRequestException(`no user "${g.username}"`);
      users.set(user.id, { userId: user.id, level: g.level });
    }
    const teams = new Map<string, { teamId: string; level: GrantLevel }>();
    if (input.teams.length) {
      const org = await this.orgs.findByName(repository.namespace);
      if (!org)
        throw new BadRequestException(
          'team grants are only possible on repositories of an organization',
        );
      for (const g of input.teams) {
        const team = await this.orgs.findTeam(org.id, g.team);
        if (!team) throw new BadRequestException(`no team "${g.team}" in "${org.name}"`);
        teams.set(team.id, { teamId: team.id, level: g.level });
      }
    }
    await this.repos.replaceGrants(repository, [...users.values()], [...teams.values()], actor);
    return this.describeGrants(repository);
  }

  private async grantee(username: string) {
    const user = await this.users.findByUsername(username);
    if (!user) throw new NotFoundException(`user "${username.trim().toLowerCase()}" not found`);
    return user;
  }

  /** The team of the repository's organization; 400 for repositories of a user. */
  private async granteeTeam(repository: RepositoryEntity, team: string) {
    const org = await this.orgs.findByName(repository.namespace);
    if (!org)
      throw new BadRequestException(
        'team grants are only possible on repositories of an organization',
      );
    const found = await this.orgs.findTeam(org.id, team);
    if (!found)
      throw new NotFoundException(`team "${team.trim().toLowerCase()}" not found in "${org.name}"`);
    return found;
  }

  /** Adds or changes one user's grant, leaving the others; answers every grant. */
  async grantUser(
    subject: UserSubject,
    name: string,
    username: string,
    level: GrantLevel,
    actor: Actor,
  ): Promise<RepoPermissionsDto> {
    const { repository } = await this.access.require(subject, name, 'admin');
    const user = await this.grantee(username);
    await this.repos.setUserGrant(repository, user.id, level, actor);
    return this.describeGrants(repository);
  }

  async revokeUser(
    subject: UserSubject,
    name: string,
    username: string,
    actor: Actor,
  ): Promise<void> {
    const { repository } = await this.access.require(subject, name, 'admin');
    const user = await this.grantee(username);
    if (!(await this.repos.removeUserGrant(repository, user.id, actor)))
      throw new NotFoundException(`"${user.username}" has no grant on "${repository.name}"`);
  }

  /** Adds or changes one team's grant, leaving the others; answers every grant. */
  async grantTeam(
    subject: UserSubject,
    name: string,
    team: string,
    level: GrantLevel,
    actor: Actor,
  ): Promise<RepoPermissionsDto> {
    const { repository } = await this.access.require(subject, name, 'admin');
    const found = await this.granteeTeam(repository, team);
    await this.repos.setTeamGrant(repository, found.id, level, actor);
    return this.describeGrants(repository);
  }

  async revokeTeam(subject: UserSubject, name: string, team: string, actor: Actor): Promise<void> {
    const { repository } = await this.access.require(subject, name, 'admin');
    const found = await this.granteeTeam(repository, team);
    if (!(await this.repos.removeTeamGrant(repository, found.id, actor)))
      throw new NotFoundException(`team "${found.name}" has no grant on "${repository.name}"`);
  }
}
