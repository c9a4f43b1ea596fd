import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import {
  Authenticated,
  CurrentActor,
  CurrentPrincipal,
  requirePrincipal,
} from '../auth/decorators.js';
import type { UserPrincipal } from '../auth/principal.js';
import type { Actor } from '../common/actor.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import {
  CreatedRobotDto,
  CreateRobotDto,
  RobotDto,
  RobotNamespaceParamDto,
  RobotParamDto,
  UpdateRobotDto,
} from './dto/robots.dto.js';
import { RobotsService } from './robots.service.js';

@ApiTags('robots')
@Authenticated()
@ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
@ApiForbiddenResponse({
  description: 'The caller is not an administrator of the namespace',
  type: ErrorResponseDto,
})
@ApiNotFoundResponse({ description: 'No such namespace or robot', type: ErrorResponseDto })
@Controller('namespaces/:namespace/robots')
export class RobotsController {
  constructor(private readonly robots: RobotsService) {}

  @Post()
  @ApiOperation({
    summary: 'Create a robot account; its API key is in this response only',
    description:
      'The robot signs in to the registry as `<namespace>+<name>` with its key (docker login, ' +
      'skopeo --creds, Basic, or the key alone) and gets exactly its grants (and public read). ' +
      'It cannot use the management API, own anything or hold organization roles.',
  })
  @ApiCreatedResponse({ type: CreatedRobotDto })
  @ApiConflictResponse({
    description: 'The namespace has a robot of that name',
    type: ErrorResponseDto,
  })
  async create(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param() params: RobotNamespaceParamDto,
    @Body() body: CreateRobotDto,
  ): Promise<CreatedRobotDto> {
    const { robot, secret } = await this.robots.create(
      requirePrincipal(p),
      params.namespace,
      body,
      actor,
    );
    return { ...robot, key: secret };
  }

  @Get()
  @ApiOperation({ summary: "The namespace's robot accounts, with their last use" })
  @ApiOkResponse({ type: [RobotDto] })
  list(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param() params: RobotNamespaceParamDto,
  ): Promise<RobotDto[]> {
    return this.robots.list(requirePrincipal(p), params.namespace);
  }

  @Patch(':name')
  @ApiOperation({ summary: 'Disable or enable a robot, change its expiry, grants or description' })
  @ApiOkResponse({ type: RobotDto })
  update(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param() params: RobotParamDto,
    @Body() body: UpdateRobotDto,
  ): Promise<RobotDto> {
    return this.robots.update(requirePrincipal(p), params.namespace, params.name, body, actor);
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a robot and its key (refused at once everywhere)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  async remove(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param() params: RobotParamDto,
  ): Promise<void> {
    await this.robots.remove(requirePrincipal(p), params.namespace, params.name, actor);
  }
}
