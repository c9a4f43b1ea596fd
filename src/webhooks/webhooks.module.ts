import { Module } from '@nestjs/common';
import { OrgsModule } from '../orgs/orgs.module.js';
import { UsersModule } from '../users/users.module.js';
import { WebhookDispatcher } from './webhook.dispatcher.js';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksService } from './webhooks.service.js';

/** Webhooks of namespaces and their durable delivery (see webhooks.service.ts). */
@Module({
  imports: [UsersModule, OrgsModule],
  controllers: [WebhooksController],
  providers: [WebhooksService, WebhookDispatcher],
})
export class WebhooksModule {}
