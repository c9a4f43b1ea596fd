import type { Actor } from '../common/actor.js';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put } from '@nestjs/common';
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
  requirePrincipal,
} from '../auth/decorators.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import type { UserPrincipal } from '../auth/principal.js';
import { UserDto } from '../users/dto/users.dto.js';
import { CreateTeamDto, TeamDto, UpdateTeamDto } from './dto/orgs.dto.js';
import { OrgsService } from './orgs.service.js';

const ORG = { name: 'org', description: 'Organization name (case-insensitive)' };
const TEAM = { name: 'team', description: 'Team name (case-insensitive)' };
const USERNAME = { name: 'username', description: 'User name (case-insensitive)' };

@ApiTags('teams')
@Authenticated()
@ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
@ApiNotFoundResponse({ description: 'No such organization, team or user', type: ErrorResponseDto })
@ApiForbiddenResponse({
  description: 'Listing needs membership; changes need an owner or admin',
  type: ErrorResponseDto,
})
@Controller('orgs/:org/teams')
export class TeamsController {
  constructor(private readonly orgs: OrgsService) {}

  @Get()
  @ApiOperation({ summary: 'Teams of an organization (members of the organization)' })
  @ApiParam(ORG)
  @ApiOkResponse({ type: [TeamDto] })
  async list(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('org') org: string,
  ): Promise<TeamDto[]> {
    const rows = await this.orgs.listTeams(org, requirePrincipal(p));
    return rows.map((r) => TeamDto.of(r.team, org.toLowerCase(), r.members));
  }

  @Post()
  @ApiOperation({ summary: 'Create a team (owners and admins)' })
  @ApiParam(ORG)
  @ApiCreatedResponse({ type: TeamDto })
  @ApiConflictResponse({ description: 'Team exists', type: ErrorResponseDto })
  async create(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('org') org: string,
    @Body() body: CreateTeamDto,
  ): Promise<TeamDto> {
    const team = await this.orgs.createTeam(
      org,
      body.name,
      body.description,
      requirePrincipal(p),
      actor,
      body.canCreateRepositories ?? false,
    );
    return TeamDto.of(team, org.toLowerCase(), 0);
  }

  @Get(':team')
  @ApiOperation({ summary: 'A team (members of the organization)' })
  @ApiParam(ORG)
  @ApiParam(TEAM)
  @ApiOkResponse({ type: TeamDto })
  async get(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('org') org: string,
    @Param('team') team: string,
  ): Promise<TeamDto> {
    const found = await this.orgs.getTeam(org, team, requirePrincipal(p));
    return TeamDto.of(found.team, org.toLowerCase(), found.members);
  }

  @Patch(':team')
  @ApiOperation({ summary: 'Update a team (owners and admins)' })
  @ApiParam(ORG)
  @ApiParam(TEAM)
  @ApiOkResponse({ type: TeamDto })
  async update(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('org') org: string,
    @Param('team') team: string,
    @Body() body: UpdateTeamDto,
  ): Promise<TeamDto> {
    const caller = requirePrincipal(p);
    await this.orgs.updateTeam(
      org,
      team,
      body.description,
      caller,
      actor,
      body.canCreateRepositories,
    );
    const found = await this.orgs.getTeam(org, team, caller);
    return TeamDto.of(found.team, org.toLowerCase(), found.members);
  }

  @Delete(':team')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a team and its repository grants (owners and admins)' })
  @ApiParam(ORG)
  @ApiParam(TEAM)
  @ApiNoContentResponse({ description: 'Deleted' })
  async delete(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('org') org: string,
    @Param('team') team: string,
  ): Promise<void> {
    await this.orgs.deleteTeam(org, team, requirePrincipal(p), actor);
  }

  @Get(':team/members')
  @ApiOperation({ summary: 'Members of a team (members of the organization)' })
  @ApiParam(ORG)
  @ApiParam(TEAM)
  @ApiOkResponse({ type: [UserDto] })
  async members(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('org') org: string,
    @Param('team') team: string,
  ): Promise<UserDto[]> {
    const caller = requirePrincipal(p);
    return (await this.orgs.listTeamMembers(org, team, caller)).map((u) =>
      UserDto.of(u, caller.isAdmin),
    );
  }

  @Put(':team/members/:username')
  @ApiOperation({ summary: 'Add an organization member to a team (owners and admins; idempotent)' })
  @ApiParam(ORG)
  @ApiParam(TEAM)
  @ApiParam(USERNAME)
  @ApiOkResponse({ type: UserDto })
  @ApiConflictResponse({
    description: 'The user is not a member of the organization',
    type: ErrorResponseDto,
  })
  async addMember(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('org') org: string,
    @Param('team') team: string,
    @Param('username') username: string,
  ): Promise<UserDto> {
    const caller = requirePrincipal(p);
    return UserDto.of(
      await this.orgs.addTeamMember(org, team, username, caller, actor),
      caller.isAdmin,
    );
  }

  @Delete(':team/members/:username')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a user from a team (owners and admins)' })
  @ApiParam(ORG)
  @ApiParam(TEAM)
  @ApiParam(USERNAME)
  @ApiNoContentResponse({ description: 'Removed' })
  async removeMember(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('org') org: string,
    @Param('team') team: string,
    @Param('username') username: string,
  ): Promise<void> {
    await this.orgs.removeTeamMember(org, team, username, requirePrincipal(p), actor);
  }
}
