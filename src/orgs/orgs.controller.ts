import type { Actor } from '../common/actor.js';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
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
import { pageOf } from '../common/page.dto.js';
import type { UserPrincipal } from '../auth/principal.js';
import { UserDto } from '../users/dto/users.dto.js';
import {
  AddMemberDto,
  CreateOrgDto,
  MemberDto,
  OrgDto,
  OrgListQueryDto,
  OrgPageDto,
  UpdateMemberDto,
  UpdateOrgDto,
} from './dto/orgs.dto.js';
import type { OrgMember } from './orgs.service.js';
import { OrgsService } from './orgs.service.js';

const ORG = { name: 'org', description: 'Organization name (case-insensitive)' };
const USERNAME = { name: 'username', description: 'User name (case-insensitive)' };

function memberDto(m: OrgMember, full: boolean): MemberDto {
  return { user: UserDto.of(m.user, full), role: m.role, since: m.since };
}

/** `GET /orgs` and its alias `GET /organizations`. */
export async function listOrgs(
  orgs: OrgsService,
  caller: UserPrincipal,
  query: OrgListQueryDto,
): Promise<OrgPageDto> {
  const { page, perPage } = pageOf(query);
  const { items, total } = await orgs.listFor(caller, { q: query.q, page, perPage });
  return { items: items.map((i) => OrgDto.of(i.org, i.role)), total, page, perPage };
}

@ApiTags('organizations')
@ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
@Controller('orgs')
export class OrgsController {
  constructor(private readonly orgs: OrgsService) {}

  @Post()
  @Authenticated()
  @ApiOperation({ summary: 'Create an organization; the caller becomes its owner' })
  @ApiCreatedResponse({ type: OrgDto })
  @ApiConflictResponse({
    description: 'Name taken by a user or organization, or reserved',
    type: ErrorResponseDto,
  })
  async create(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Body() body: CreateOrgDto,
  ): Promise<OrgDto> {
    const caller = requirePrincipal(p);
    return OrgDto.of(await this.orgs.create(body.name, body, caller, actor), 'owner');
  }

  @Get()
  @Authenticated()
  @ApiOperation({
    summary:
      "The caller's organizations with their role (every organization for system administrators)",
  })
  @ApiOkResponse({ type: OrgPageDto })
  list(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Query() query: OrgListQueryDto,
  ): Promise<OrgPageDto> {
    return listOrgs(this.orgs, requirePrincipal(p), query);
  }

  @Get(':org')
  @OptionalAuth()
  @ApiOperation({ summary: "An organization (with the caller's role when signed in)" })
  @ApiParam(ORG)
  @ApiOkResponse({ type: OrgDto })
  @ApiNotFoundResponse({ description: 'No such organization', type: ErrorResponseDto })
  async get(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('org') name: string,
  ): Promise<OrgDto> {
    const org = await this.orgs.requireByName(name);
    return OrgDto.of(org, p ? await this.orgs.actorRole(org, p) : undefined);
  }

  @Patch(':org')
  @Authenticated()
  @ApiOperation({ summary: 'Update an organization (owners and admins)' })
  @ApiParam(ORG)
  @ApiOkResponse({ type: OrgDto })
  @ApiForbiddenResponse({ description: 'Caller is not an owner or admin', type: ErrorResponseDto })
  @ApiNotFoundResponse({ description: 'No such organization', type: ErrorResponseDto })
  async update(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('org') name: string,
    @Body() body: UpdateOrgDto,
  ): Promise<OrgDto> {
    const caller = requirePrincipal(p);
    const org = await this.orgs.update(name, body, caller, actor);
    return OrgDto.of(org, await this.orgs.actorRole(org, caller));
  }

  @Delete(':org')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({ summary: 'Delete an organization (owners); it must hold no repositories' })
  @ApiParam(ORG)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiForbiddenResponse({ description: 'Caller is not an owner', type: ErrorResponseDto })
  @ApiNotFoundResponse({ description: 'No such organization', type: ErrorResponseDto })
  @ApiConflictResponse({
    description: 'The organization still holds repositories',
    type: ErrorResponseDto,
  })
  async delete(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('org') name: string,
  ): Promise<void> {
    await this.orgs.delete(name, requirePrincipal(p), actor);
  }

  @Get(':org/members')
  @Authenticated()
  @ApiOperation({ summary: 'Members and their roles (members of the organization)' })
  @ApiParam(ORG)
  @ApiOkResponse({ type: [MemberDto] })
  @ApiForbiddenResponse({ description: 'Caller is not a member', type: ErrorResponseDto })
  @ApiNotFoundResponse({ description: 'No such organization', type: ErrorResponseDto })
  async members(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('org') name: string,
  ): Promise<MemberDto[]> {
    const caller = requirePrincipal(p);
    return (await this.orgs.listMembers(name, caller)).map((m) => memberDto(m, caller.isAdmin));
  }

  @Post(':org/members')
  @Authenticated()
  @ApiOperation({ summary: 'Add a member (owners and admins; only owners may add owners)' })
  @ApiParam(ORG)
  @ApiCreatedResponse({ type: MemberDto })
  @ApiForbiddenResponse({
    description: 'Caller may not add members with that role',
    type: ErrorResponseDto,
  })
  @ApiNotFoundResponse({ description: 'No such organization or user', type: ErrorResponseDto })
  @ApiConflictResponse({ description: 'Already a member', type: ErrorResponseDto })
  async addMember(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('org') name: string,
    @Body() body: AddMemberDto,
  ): Promise<MemberDto> {
    const caller = requirePrincipal(p);
    return memberDto(
      await this.orgs.addMember(name, body.username, body.role ?? 'member', caller, actor),
      caller.isAdmin,
    );
  }

  @Patch(':org/members/:username')
  @Authenticated()
  @ApiOperation({
    summary: "Change a member's role (owners and admins; only owners may touch owners)",
  })
  @ApiParam(ORG)
  @ApiParam(USERNAME)
  @ApiOkResponse({ type: MemberDto })
  @ApiForbiddenResponse({ description: 'Caller may not make that change', type: ErrorResponseDto })
  @ApiNotFoundResponse({ description: 'No such organization or member', type: ErrorResponseDto })
  @ApiConflictResponse({
    description: 'Would leave the organization without an owner',
    type: ErrorResponseDto,
  })
  async updateMember(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('org') name: string,
    @Param('username') username: string,
    @Body() body: UpdateMemberDto,
  ): Promise<MemberDto> {
    const caller = requirePrincipal(p);
    return memberDto(
      await this.orgs.updateMember(name, username, body.role, caller, actor),
      caller.isAdmin,
    );
  }

  @Delete(':org/members/:username')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({ summary: 'Remove a member (owners and admins), or leave (the member themself)' })
  @ApiParam(ORG)
  @ApiParam(USERNAME)
  @ApiNoContentResponse({ description: 'Removed, together with their team memberships' })
  @ApiForbiddenResponse({
    description: 'Caller may not remove that member',
    type: ErrorResponseDto,
  })
  @ApiNotFoundResponse({ description: 'No such organization or member', type: ErrorResponseDto })
  @ApiConflictResponse({
    description: 'Would leave the organization without an owner',
    type: ErrorResponseDto,
  })
  async removeMember(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('org') name: string,
    @Param('username') username: string,
  ): Promise<void> {
    await this.orgs.removeMember(name, username, requirePrincipal(p), actor);
  }
}
