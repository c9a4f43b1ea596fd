import type { Actor } from '../common/actor.js';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import {
  Authenticated,
  CurrentActor,
  CurrentPrincipal,
  OptionalAuth,
  requirePrincipal,
} from '../auth/decorators.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { PageQueryDto, pageOf } from '../common/page.dto.js';
import type { UserPrincipal } from '../auth/principal.js';
import {
  CreateRepoDto,
  GrantLevelDto,
  RepoDetailsDto,
  RepoDto,
  RepoPageDto,
  RepoPermissionsDto,
  RepoSearchQueryDto,
  TagPageDto,
  TagQueryDto,
  UpdateRepoDto,
} from './dto/repos.dto.js';
import { ManifestViewDto } from './dto/manifest-view.dto.js';
import {
  ImmutableTagsDto,
  RestoreTagDto,
  RestoredTagDto,
  TagHistoryPageDto,
} from './dto/tags.dto.js';
import { RepoManagementService } from './repo-management.service.js';
import {
  RepositoryRetentionDto,
  RetentionPolicyDto,
  RetentionPreviewDto,
} from '../retention/dto/retention.dto.js';

const NAMESPACE = { name: 'namespace', description: 'User or organization holding the repository' };
const NAME = {
  name: 'name',
  type: String,
  description:
    'Repository path below the namespace; may contain "/" (e.g. `team/app`). Sent percent-encoded ' +
    '(`team%2Fapp`, as OpenAPI clients do) it always names a repository; with raw slashes, a path ' +
    'ending in `/permissions`, `/permissions/users/{username}` or `/permissions/teams/{team}` ' +
    'addresses those grants instead, a GET of a path ending in `/tags` or `/manifests/{reference}` the ' +
    'tags or that manifest, a path ending in `/tags/{tag}/history`, `/tags/{tag}/restore` or ' +
    '`/immutable-tags` that tag history, restore or the immutable tag patterns, a path ending in ' +
    '`/retention` or `/retention/preview` the retention policy or its preview, ' +
    'and a DELETE of a path ending in `/tags/{tag}` that tag.',
  example: 'app',
};
const TAG = { name: 'tag', type: String, description: 'Tag name', example: 'v1' };
const USERNAME = { name: 'username', description: 'User name (case-insensitive)' };
const TEAM = {
  name: 'team',
  description: "Team of the repository's organization (case-insensitive)",
};
const NOT_ADMIN = {
  description: 'Caller is not an admin of the repository',
  type: ErrorResponseDto,
};
const NOT_FOUND = {
  description: 'No such repository, or one the caller cannot see',
  type: ErrorResponseDto,
};

function fullName(namespace: string, name: string | string[]): string {
  return `${namespace}/${Array.isArray(name) ? name.join('/') : name}`.toLowerCase();
}

/**
 * Route shapes: `{name}` may hold slashes, so the grant routes (a raw path ending in
 * `/permissions`, `/permissions/users/{username}` or `/permissions/teams/{team}`) and the tag
 * routes (`…/tags/{tag}` delete, history and restore, `…/immutable-tags`, `…/retention`) are declared before the repository routes, which would otherwise
 * swallow them. Express matches the raw path
 * and decodes `%2F` only inside a parameter, so a name sent percent-encoded (`team%2Fpermissions`)
 * is one segment that no grant route matches: the repository `acme/team/permissions` is
 * `GET /repos/acme/team%2Fpermissions`, and OpenAPI clients always send names that way.
 */
@ApiTags('repositories')
@ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
@Controller('repos')
export class ReposController {
  constructor(private readonly repos: RepoManagementService) {}

  @Get(':namespace/*name/permissions')
  @Authenticated()
  @ApiOperation({ summary: 'User and team grants of a repository (repository admins)' })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiOkResponse({ type: RepoPermissionsDto })
  @ApiForbiddenResponse({
    description: 'Caller is not an admin of the repository',
    type: ErrorResponseDto,
  })
  @ApiNotFoundResponse(NOT_FOUND)
  async permissions(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
  ): Promise<RepoPermissionsDto> {
    return this.repos.permissions(requirePrincipal(p), fullName(namespace, name));
  }

  @Put(':namespace/*name/permissions')
  @Authenticated()
  @ApiOperation({ summary: 'Replace the user and team grants of a repository (repository admins)' })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiOkResponse({ type: RepoPermissionsDto })
  @ApiForbiddenResponse({
    description: 'Caller is not an admin of the repository',
    type: ErrorResponseDto,
  })
  @ApiNotFoundResponse(NOT_FOUND)
  async setPermissions(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Body() body: RepoPermissionsDto,
  ): Promise<RepoPermissionsDto> {
    return this.repos.setPermissions(requirePrincipal(p), fullName(namespace, name), body, actor);
  }

  @Put(':namespace/*name/permissions/users/:username')
  @Authenticated()
  @ApiOperation({
    summary: "Add or change one user's grant, keeping the others (repository admins)",
  })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiParam(USERNAME)
  @ApiOkResponse({ type: RepoPermissionsDto, description: 'Every grant of the repository' })
  @ApiForbiddenResponse(NOT_ADMIN)
  @ApiNotFoundResponse({
    description: 'No such repository (visible) or user',
    type: ErrorResponseDto,
  })
  async grantUser(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Param('username') username: string,
    @Body() body: GrantLevelDto,
  ): Promise<RepoPermissionsDto> {
    return this.repos.grantUser(
      requirePrincipal(p),
      fullName(namespace, name),
      username,
      body.level,
      actor,
    );
  }

  @Delete(':namespace/*name/permissions/users/:username')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({ summary: "Remove one user's grant (repository admins)" })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiParam(USERNAME)
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiForbiddenResponse(NOT_ADMIN)
  @ApiNotFoundResponse({
    description: 'No such repository (visible) or user, or the user has no grant',
    type: ErrorResponseDto,
  })
  async revokeUser(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Param('username') username: string,
  ): Promise<void> {
    await this.repos.revokeUser(requirePrincipal(p), fullName(namespace, name), username, actor);
  }

  @Put(':namespace/*name/permissions/teams/:team')
  @Authenticated()
  @ApiOperation({
    summary: "Add or change one team's grant, keeping the others (repository admins)",
  })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiParam(TEAM)
  @ApiOkResponse({ type: RepoPermissionsDto, description: 'Every grant of the repository' })
  @ApiForbiddenResponse(NOT_ADMIN)
  @ApiNotFoundResponse({
    description: "No such repository (visible), or no such team in the repository's organization",
    type: ErrorResponseDto,
  })
  async grantTeam(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Param('team') team: string,
    @Body() body: GrantLevelDto,
  ): Promise<RepoPermissionsDto> {
    return this.repos.grantTeam(
      requirePrincipal(p),
      fullName(namespace, name),
      team,
      body.level,
      actor,
    );
  }

  @Delete(':namespace/*name/permissions/teams/:team')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({ summary: "Remove one team's grant (repository admins)" })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiParam(TEAM)
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiForbiddenResponse(NOT_ADMIN)
  @ApiNotFoundResponse({
    description: 'No such repository (visible) or team, or the team has no grant',
    type: ErrorResponseDto,
  })
  async revokeTeam(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Param('team') team: string,
  ): Promise<void> {
    await this.repos.revokeTeam(requirePrincipal(p), fullName(namespace, name), team, actor);
  }

  @Get(':namespace/*name/tags/:tag/history')
  @OptionalAuth()
  @ApiOperation({
    summary:
      "A tag's history, newest first: every creation, move (push or restore) and deletion, with who and when",
  })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiParam(TAG)
  @ApiOkResponse({ type: TagHistoryPageDto })
  @ApiNotFoundResponse(NOT_FOUND)
  async tagHistory(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Param('tag') tag: string,
    @Query() query: PageQueryDto,
  ): Promise<TagHistoryPageDto> {
    return this.repos.tagHistory(p, fullName(namespace, name), tag, query);
  }

  @Post(':namespace/*name/tags/:tag/restore')
  @HttpCode(200)
  @Authenticated()
  @ApiOperation({
    summary:
      'Move a tag back to a digest from its history while that manifest is still in the repository (push permission); recorded as a push',
  })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiParam(TAG)
  @ApiOkResponse({ type: RestoredTagDto })
  @ApiForbiddenResponse({
    description: 'Caller may not push to the repository',
    type: ErrorResponseDto,
  })
  @ApiNotFoundResponse({
    description: 'No such repository (visible), or the tag never pointed at that digest',
    type: ErrorResponseDto,
  })
  @ApiConflictResponse({
    description:
      '`MANIFEST_GONE`: the manifest is no longer in the repository; `TAG_IMMUTABLE`: an immutable tag pattern forbids the move',
    type: ErrorResponseDto,
  })
  async restoreTag(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Param('tag') tag: string,
    @Body() body: RestoreTagDto,
  ): Promise<RestoredTagDto> {
    return this.repos.restoreTag(
      requirePrincipal(p),
      fullName(namespace, name),
      tag,
      body.digest,
      actor,
    );
  }

  @Get(':namespace/*name/immutable-tags')
  @OptionalAuth()
  @ApiOperation({ summary: 'The immutable tag patterns of a repository' })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiOkResponse({ type: ImmutableTagsDto })
  @ApiNotFoundResponse(NOT_FOUND)
  async immutableTags(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
  ): Promise<ImmutableTagsDto> {
    return this.repos.immutableTags(p, fullName(namespace, name));
  }

  @Put(':namespace/*name/immutable-tags')
  @Authenticated()
  @ApiOperation({
    summary:
      'Replace the immutable tag patterns (repository admins): matching tags can be created but not moved or deleted',
  })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiOkResponse({ type: ImmutableTagsDto })
  @ApiForbiddenResponse(NOT_ADMIN)
  @ApiNotFoundResponse(NOT_FOUND)
  async setImmutableTags(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Body() body: ImmutableTagsDto,
  ): Promise<ImmutableTagsDto> {
    return this.repos.setImmutableTags(
      requirePrincipal(p),
      fullName(namespace, name),
      body.patterns,
      actor,
    );
  }

  @Get(':namespace/*name/retention')
  @Authenticated()
  @ApiOperation({
    summary:
      "A repository's retention policy, its namespace's default and the effective policy (repository admins)",
  })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiOkResponse({ type: RepositoryRetentionDto })
  @ApiForbiddenResponse(NOT_ADMIN)
  @ApiNotFoundResponse(NOT_FOUND)
  async retention(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
  ): Promise<RepositoryRetentionDto> {
    return this.repos.retentionPolicy(requirePrincipal(p), fullName(namespace, name));
  }

  @Put(':namespace/*name/retention')
  @Authenticated()
  @ApiOperation({
    summary:
      "Replace a repository's retention policy (repository admins); a null field inherits the namespace default, {} clears the policy",
  })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiOkResponse({ type: RepositoryRetentionDto })
  @ApiForbiddenResponse(NOT_ADMIN)
  @ApiNotFoundResponse(NOT_FOUND)
  async setRetention(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Body() body: RetentionPolicyDto,
  ): Promise<RepositoryRetentionDto> {
    return this.repos.setRetentionPolicy(
      requirePrincipal(p),
      fullName(namespace, name),
      body,
      actor,
    );
  }

  @Post(':namespace/*name/retention/preview')
  @HttpCode(200)
  @Authenticated()
  @ApiOperation({
    summary:
      'What retention would delete in the repository now (repository admins); deletes nothing',
  })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiOkResponse({ type: RetentionPreviewDto })
  @ApiForbiddenResponse(NOT_ADMIN)
  @ApiNotFoundResponse(NOT_FOUND)
  async retentionPreview(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
  ): Promise<RetentionPreviewDto> {
    return this.repos.retentionPreview(requirePrincipal(p), fullName(namespace, name));
  }

  @Delete(':namespace/*name/tags/:tag')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({
    summary:
      'Delete a tag (repository admins); the manifest stays, as with the registry API tag delete',
  })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiParam(TAG)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiForbiddenResponse(NOT_ADMIN)
  @ApiNotFoundResponse({
    description: 'No such repository (visible), or no such tag in it',
    type: ErrorResponseDto,
  })
  @ApiConflictResponse({
    description: '`TAG_IMMUTABLE`: an immutable tag pattern of the repository protects the tag',
    type: ErrorResponseDto,
  })
  async deleteTag(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Param('tag') tag: string,
  ): Promise<void> {
    await this.repos.deleteTag(requirePrincipal(p), fullName(namespace, name), tag, actor);
  }

  @Get()
  @OptionalAuth()
  @ApiOperation({ summary: 'Search the repositories the caller can see' })
  @ApiOkResponse({ type: RepoPageDto })
  search(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Query() query: RepoSearchQueryDto,
  ): Promise<RepoPageDto> {
    return this.list(p, query);
  }

  @Get('repositories')
  @OptionalAuth()
  @ApiOperation({
    summary: 'Alias of GET /repos, for clients written against the original API documentation',
    deprecated: true,
  })
  @ApiOkResponse({ type: RepoPageDto })
  searchAlias(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Query() query: RepoSearchQueryDto,
  ): Promise<RepoPageDto> {
    return this.list(p, query);
  }

  private async list(p: UserPrincipal | null, query: RepoSearchQueryDto): Promise<RepoPageDto> {
    const { page, perPage } = pageOf(query);
    const result = await this.repos.search(p, {
      namespace: query.namespace,
      q: query.q,
      page,
      perPage,
    });
    return { ...result, page, perPage };
  }

  @Post()
  @Authenticated()
  @ApiOperation({
    summary: 'Create an empty repository (namespace owners, organization owners and admins)',
  })
  @ApiCreatedResponse({ type: RepoDto })
  @ApiForbiddenResponse({
    description: 'Caller may not create repositories in that namespace',
    type: ErrorResponseDto,
  })
  @ApiNotFoundResponse({ description: 'No such user or organization', type: ErrorResponseDto })
  @ApiConflictResponse({ description: 'The repository exists', type: ErrorResponseDto })
  async create(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Body() body: CreateRepoDto,
  ): Promise<RepoDto> {
    return this.repos.create(requirePrincipal(p), body, actor);
  }

  @Get(':namespace/*name/tags')
  @OptionalAuth()
  @ApiOperation({
    summary:
      'One page of the tags: filtered by name (q), sorted by name, push time or size, with digests, sizes and platforms',
  })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiOkResponse({ type: TagPageDto })
  @ApiNotFoundResponse(NOT_FOUND)
  async tags(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Query() query: TagQueryDto,
  ): Promise<TagPageDto> {
    return this.repos.tags(p, fullName(namespace, name), query);
  }

  @Get(':namespace/*name/manifests/:reference')
  @OptionalAuth()
  @ApiOperation({
    summary:
      'A manifest by tag or digest: layers, config (OS/arch, entrypoint, labels, history), index platforms, referrers',
  })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiParam({ name: 'reference', type: String, description: 'Tag or digest', example: 'latest' })
  @ApiOkResponse({ type: ManifestViewDto })
  @ApiNotFoundResponse({
    description: 'No such repository (visible), or no such manifest in it',
    type: ErrorResponseDto,
  })
  async manifest(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Param('reference') reference: string,
  ): Promise<ManifestViewDto> {
    return this.repos.manifest(p, fullName(namespace, name), reference);
  }

  @Get(':namespace/*name')
  @OptionalAuth()
  @ApiOperation({ summary: 'Repository details with its tags, digests and sizes' })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiOkResponse({ type: RepoDetailsDto })
  @ApiNotFoundResponse(NOT_FOUND)
  async get(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
  ): Promise<RepoDetailsDto> {
    return this.repos.details(p, fullName(namespace, name));
  }

  @Patch(':namespace/*name')
  @Authenticated()
  @ApiOperation({ summary: 'Change description or visibility (repository admins)' })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiOkResponse({ type: RepoDto })
  @ApiForbiddenResponse({
    description: 'Caller is not an admin of the repository',
    type: ErrorResponseDto,
  })
  @ApiNotFoundResponse(NOT_FOUND)
  async update(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Body() body: UpdateRepoDto,
  ): Promise<RepoDto> {
    return this.repos.update(requirePrincipal(p), fullName(namespace, name), body, actor);
  }

  @Delete(':namespace/*name')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({ summary: 'Delete a repository with its manifests and tags (repository admins)' })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiForbiddenResponse({
    description: 'Caller is not an admin of the repository',
    type: ErrorResponseDto,
  })
  @ApiNotFoundResponse(NOT_FOUND)
  async delete(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
  ): Promise<void> {
    await this.repos.delete(requirePrincipal(p), fullName(namespace, name), actor);
  }
}
