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
import { NamespaceUsageDto, SetQuotaDto } from './dto/quotas.dto.js';
import { QuotasService } from './quotas.service.js';

const NAMESPACE = { name: 'namespace', description: 'User or organization name' };

@ApiTags('namespaces')
@ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
@ApiNotFoundResponse({
  description: 'No such namespace, or the caller may not see its usage',
  type: ErrorResponseDto,
})
@Controller('namespaces')
export class QuotasController {
  constructor(private readonly quotas: QuotasService) {}

  @Get(':namespace/usage')
  @Authenticated()
  @ApiOperation({
    summary:
      "Storage usage and quota of a namespace, with its repositories' usage (the user, the organization's members, system administrators)",
  })
  @ApiParam(NAMESPACE)
  @ApiOkResponse({ type: NamespaceUsageDto })
  usage(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param('namespace') namespace: string,
  ): Promise<NamespaceUsageDto> {
    return this.quotas.usage(requirePrincipal(p), namespace);
  }

  @Put(':namespace/quota')
  @Authenticated()
  @ApiOperation({ summary: "Set or lift a namespace's quota (system administrators)" })
  @ApiParam(NAMESPACE)
  @ApiOkResponse({ type: NamespaceUsageDto })
  @ApiForbiddenResponse({
    description: 'Caller is not a system administrator',
    type: ErrorResponseDto,
  })
  setQuota(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param('namespace') namespace: string,
    @Body() body: SetQuotaDto,
  ): Promise<NamespaceUsageDto> {
    return this.quotas.setQuota(requirePrincipal(p), namespace, body.bytes, actor);
  }
}
