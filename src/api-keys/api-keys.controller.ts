import type { Actor } from '../common/actor.js';
import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
} from '@nestjs/common';
import { checkKeyScope } from '../auth/scopes.js';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
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
import { ErrorResponseDto } from '../common/error-response.dto.js';
import type { UserPrincipal } from '../auth/principal.js';
import { ApiKeysService } from './api-keys.service.js';
import {
  ApiKeyDto,
  ApiKeyIdParamDto,
  CreateApiKeyDto,
  CreatedApiKeyDto,
} from './dto/api-keys.dto.js';

@ApiTags('api-keys')
@Authenticated()
@ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({
    summary: 'Create an API key for the caller; the key is in this response only',
    description:
      "Optionally scoped: `actions` and `repositories` limit it, `expiresAt` ends it. A key's " +
      "rights are always the intersection of its scope and its owner's current rights.",
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  async create(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Body() body: CreateApiKeyDto,
  ): Promise<CreatedApiKeyDto> {
    const scope = checkKeyScope(body.actions, body.repositories);
    if (!scope.ok) throw new BadRequestException(scope.message);
    const { key, secret } = await this.keys.create(
      requirePrincipal(p).userId,
      body.name,
      body.expiresAt,
      actor,
      scope.scope,
    );
    return { ...ApiKeyDto.of(key), key: secret };
  }

  @Get()
  @ApiOperation({ summary: "The caller's API keys (without secrets)" })
  @ApiOkResponse({ type: [ApiKeyDto] })
  async list(@CurrentPrincipal() p: UserPrincipal | null): Promise<ApiKeyDto[]> {
    return (await this.keys.list(requirePrincipal(p).userId)).map((k) => ApiKeyDto.of(k));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key at once (also registry tokens obtained with it)' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiNotFoundResponse({ description: 'No such key of the caller', type: ErrorResponseDto })
  async revoke(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param() params: ApiKeyIdParamDto,
  ): Promise<void> {
    await this.keys.revoke(requirePrincipal(p).userId, params.id, actor);
  }
}
