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
import { requireSystemAdmin } from '../auth/admin.js';
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
import {
  AdminUpdateUserDto,
  CreateUserDto,
  UpdateProfileDto,
  UserDto,
  UserPageDto,
  UserSearchQueryDto,
} from './dto/users.dto.js';
import { UsersService } from './users.service.js';

const USERNAME = {
  name: 'username',
  description: 'User name (case-insensitive); "me" is the caller',
};

@ApiTags('users')
@ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @Authenticated()
  @ApiOperation({ summary: 'Create a user (system administrators)' })
  @ApiCreatedResponse({ type: UserDto })
  @ApiForbiddenResponse({
    description: 'Caller is not a system administrator',
    type: ErrorResponseDto,
  })
  @ApiConflictResponse({
    description: 'Name or e-mail taken, or name reserved',
    type: ErrorResponseDto,
  })
  async create(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Body() body: CreateUserDto,
  ): Promise<UserDto> {
    requireSystemAdmin(requirePrincipal(p));
    return UserDto.of(await this.users.create(body, actor), true);
  }

  @Get()
  @Authenticated()
  @ApiOperation({ summary: 'Search users by name' })
  @ApiOkResponse({ type: UserPageDto })
  async search(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Query() query: UserSearchQueryDto,
  ): Promise<UserPageDto> {
    const caller = requirePrincipal(p);
    const { page, perPage } = pageOf(query);
    const result = await this.users.search({
      q: query.q,
      page,
      perPage,
      includeInactive: caller.isAdmin,
    });
    return {
      items: result.items.map((u) => UserDto.of(u, caller.isAdmin || u.id === caller.userId)),
      total: result.total,
      page,
      perPage,
    };
  }

  @Patch('me')
  @Authenticated()
  @ApiOperation({ summary: "Update the caller's profile" })
  @ApiOkResponse({ type: UserDto })
  @ApiConflictResponse({ description: 'E-mail address in use', type: ErrorResponseDto })
  async updateMe(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Body() body: UpdateProfileDto,
  ): Promise<UserDto> {
    const caller = requirePrincipal(p);
    return UserDto.of(await this.users.updateProfile(caller.userId, body, actor), true);
  }

  @Get(':username')
  @OptionalAuth()
  @ApiOperation({
    summary: "A user's profile (e-mail and flags only for themself and administrators)",
  })
  @ApiParam(USERNAME)
  @ApiOkResponse({ type: UserDto })
  @ApiNotFoundResponse({ description: 'No such (active) user', type: ErrorResponseDto })
  async get(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('username') username: string,
  ): Promise<UserDto> {
    const name = username.toLowerCase() === 'me' ? requirePrincipal(p).username : username;
    const user = await this.users.requireByUsername(name, p?.isAdmin ?? false);
    return UserDto.of(user, !!p && (p.isAdmin || p.userId === user.id));
  }

  @Patch(':username')
  @Authenticated()
  @ApiOperation({
    summary:
      'Activate, deactivate, promote or reset the password of a user (system administrators)',
  })
  @ApiParam(USERNAME)
  @ApiOkResponse({ type: UserDto })
  @ApiForbiddenResponse({
    description: 'Caller is not a system administrator',
    type: ErrorResponseDto,
  })
  @ApiNotFoundResponse({ description: 'No such user', type: ErrorResponseDto })
  @ApiConflictResponse({
    description: 'Administrators cannot deactivate or demote themselves',
    type: ErrorResponseDto,
  })
  async adminUpdate(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('username') username: string,
    @Body() body: AdminUpdateUserDto,
  ): Promise<UserDto> {
    const caller = requirePrincipal(p);
    requireSystemAdmin(caller);
    return UserDto.of(await this.users.adminUpdate(username, body, caller.userId, actor), true);
  }

  @Delete(':username')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({
    summary: 'Delete a user (system administrators); their namespace must hold no repositories',
  })
  @ApiParam(USERNAME)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiForbiddenResponse({
    description: 'Caller is not a system administrator',
    type: ErrorResponseDto,
  })
  @ApiNotFoundResponse({ description: 'No such user', type: ErrorResponseDto })
  @ApiConflictResponse({ description: 'The user still owns repositories', type: ErrorResponseDto })
  async delete(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('username') username: string,
  ): Promise<void> {
    const caller = requirePrincipal(p);
    requireSystemAdmin(caller);
    await this.users.delete(username, caller.userId, actor);
  }
}
