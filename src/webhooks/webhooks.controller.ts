import type { Actor } from '../common/actor.js';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
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
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { pageOf, PageQueryDto } from '../common/page.dto.js';
import {
  CreateWebhookDto,
  DeliveryParamDto,
  NamespaceParamDto,
  UpdateWebhookDto,
  WebhookDeliveryDto,
  WebhookDeliveryPageDto,
  WebhookDto,
  WebhookParamDto,
} from './dto/webhooks.dto.js';
import { WebhooksService } from './webhooks.service.js';

const NOT_ADMIN = {
  description:
    "Caller is not an administrator of the namespace (the user, or the organization's owners and admins)",
  type: ErrorResponseDto,
};
const NOT_FOUND = {
  description: 'No such namespace, webhook or delivery',
  type: ErrorResponseDto,
};

@ApiTags('webhooks')
@Authenticated()
@ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
@ApiForbiddenResponse(NOT_ADMIN)
@ApiNotFoundResponse(NOT_FOUND)
@Controller('namespaces/:namespace/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiOperation({
    summary: 'Create a webhook of a user or organization',
    description:
      'A 400 names a refused target (not http/https, or an internal address unless WEBHOOK_ALLOW_PRIVATE_TARGETS).',
  })
  @ApiCreatedResponse({ type: WebhookDto })
  create(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param() params: NamespaceParamDto,
    @Body() body: CreateWebhookDto,
  ): Promise<WebhookDto> {
    return this.webhooks.create(requirePrincipal(p), params.namespace, body, actor);
  }

  @Get()
  @ApiOperation({ summary: "The namespace's webhooks (secrets are never shown)" })
  @ApiOkResponse({ type: [WebhookDto] })
  list(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param() params: NamespaceParamDto,
  ): Promise<WebhookDto[]> {
    return this.webhooks.list(requirePrincipal(p), params.namespace);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One webhook' })
  @ApiOkResponse({ type: WebhookDto })
  get(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param() params: WebhookParamDto,
  ): Promise<WebhookDto> {
    return this.webhooks.get(requirePrincipal(p), params.namespace, params.id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a webhook (the fields sent)' })
  @ApiOkResponse({ type: WebhookDto })
  update(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param() params: WebhookParamDto,
    @Body() body: UpdateWebhookDto,
  ): Promise<WebhookDto> {
    return this.webhooks.update(requirePrincipal(p), params.namespace, params.id, body, actor);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a webhook with its deliveries' })
  @ApiNoContentResponse({ description: 'Deleted' })
  async delete(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param() params: WebhookParamDto,
  ): Promise<void> {
    await this.webhooks.delete(requirePrincipal(p), params.namespace, params.id, actor);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: "A webhook's deliveries, newest first, with their attempts" })
  @ApiOkResponse({ type: WebhookDeliveryPageDto })
  async deliveries(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param() params: WebhookParamDto,
    @Query() query: PageQueryDto,
  ): Promise<WebhookDeliveryPageDto> {
    const page = pageOf(query);
    const { items, total } = await this.webhooks.deliveries(
      requirePrincipal(p),
      params.namespace,
      params.id,
      page,
    );
    return { items, total, ...page };
  }

  @Post(':id/deliveries/:deliveryId/redeliver')
  @ApiOperation({
    summary: 'Send a delivery again',
    description: 'A new delivery (new delivery id) of the same event (same event id).',
  })
  @ApiCreatedResponse({ type: WebhookDeliveryDto })
  redeliver(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Param() params: DeliveryParamDto,
  ): Promise<WebhookDeliveryDto> {
    return this.webhooks.redeliver(
      requirePrincipal(p),
      params.namespace,
      params.id,
      params.deliveryId,
      actor,
    );
  }
}
