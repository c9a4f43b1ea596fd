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
  CurrentPrincipal,
  OptionalAuth,
  requirePrincipal,
} from '../auth/decorators.js';
import { ErrorResponseDto } from '../auth/dto/error-response.dto.js';
import { pageOf } from '../auth/dto/page.dto.js';
import type { Principal } from '../auth/principal.js';
import {
  CreateRepoDto,
  RepoDetailsDto,
  RepoDto,
  RepoPageDto,
  RepoPermissionsDto,
  RepoSearchQueryDto,
  UpdateRepoDto,
} from './dto/repos.dto.js';
import { RepoManagementService } from './repo-management.service.js';

const NAMESPACE = { name: 'namespace', description: 'User or organization holding the repository' };
const NAME = {
  name: 'name',
  description: 'Repository path below the namespace; may contain "/" (e.g. `team/app`)',
  example: 'app',
};
const NOT_FOUND = {
  description: 'No such repository, or one the caller cannot see',
  type: ErrorResponseDto,
};

function fullName(namespace: string, name: string | string[]): string {
  return `${namespace}/${Array.isArray(name) ? name.join('/') : name}`.toLowerCase();
}

// Routes ending in /permissions come first: `*name` would otherwise swallow the suffix. A
// repository whose path ends in "/permissions" is therefore reachable only through the registry.
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
    @CurrentPrincipal() p: Principal | null,
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
    @CurrentPrincipal() p: Principal | null,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Body() body: RepoPermissionsDto,
  ): Promise<RepoPermissionsDto> {
    return this.repos.setPermissions(requirePrincipal(p), fullName(namespace, name), body);
  }

  @Get()
  @OptionalAuth()
  @ApiOperation({ summary: 'Search the repositories the caller can see' })
  @ApiOkResponse({ type: RepoPageDto })
  async search(
    @CurrentPrincipal() p: Principal | null,
    @Query() query: RepoSearchQueryDto,
  ): Promise<RepoPageDto> {
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
    @CurrentPrincipal() p: Principal | null,
    @Body() body: CreateRepoDto,
  ): Promise<RepoDto> {
    return this.repos.create(requirePrincipal(p), body);
  }

  @Get(':namespace/*name')
  @OptionalAuth()
  @ApiOperation({ summary: 'Repository details with its tags, digests and sizes' })
  @ApiParam(NAMESPACE)
  @ApiParam(NAME)
  @ApiOkResponse({ type: RepoDetailsDto })
  @ApiNotFoundResponse(NOT_FOUND)
  async get(
    @CurrentPrincipal() p: Principal | null,
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
    @CurrentPrincipal() p: Principal | null,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
    @Body() body: UpdateRepoDto,
  ): Promise<RepoDto> {
    return this.repos.update(requirePrincipal(p), fullName(namespace, name), body);
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
    @CurrentPrincipal() p: Principal | null,
    @Param('namespace') namespace: string,
    @Param('name') name: string | string[],
  ): Promise<void> {
    await this.repos.delete(requirePrincipal(p), fullName(namespace, name));
  }
}
