import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
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
import type { UserPrincipal } from '../auth/principal.js';
import type { Actor } from '../common/actor.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { RetentionPolicyDto } from './dto/retention.dto.js';
import { RetentionService } from './retention.service.js';

const NAMESPACE = { name: 'namespace', description: 'User or organization name' };

@ApiTags('namespaces')
@ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
@ApiNotFoundResponse({
  description: 'No such namespace, or the caller does not belong to it',
  type: ErrorResponseDto,
})
@Controller('namespaces')
export class NamespaceRetentionController {
  constructor(private readonly retention: RetentionService) {}

  @Get(':namespace/retention')
  @Authenticated()
  @ApiOperation({
    summary:
      "A namespace's default retention policy (the user, the organization's members, system administrators)",
  })
  @ApiParam(NAMESPACE)
  @ApiOkResponse({ type: RetentionPolicyDto })
  get(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('namespace') namespace: string,
  ): Promise<RetentionPolicyDto> {
    return this.retention.getNamespacePolicy(requirePrincipal(p), namespace);
  }

  @Put(':namespace/retention')
  @Authenticated()
  @ApiOperation({
    summary:
      "Replace a namespace's default retention policy (the user, organization admins and owners, system administrators); null fields or {} clear it",
  })
  @ApiParam(NAMESPACE)
  @ApiOkResponse({ type: RetentionPolicyDto })
  @ApiForbiddenResponse({ description: 'Caller is not a namespace admin', type: ErrorResponseDto })
  set(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('namespace') namespace: string,
    @Body() body: RetentionPolicyDto,
  ): Promise<RetentionPolicyDto> {
    return this.retention.setNamespacePolicy(requirePrincipal(p), namespace, body, actor);
  }
}
