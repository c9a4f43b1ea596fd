import { Module } from '@nestjs/common';
import { ReposModule } from '../repos/repos.module.js';
import { WebhookDispatcher } from './webhook.dispatcher.js';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksService } from './webhooks.service.js';

/** Webhooks of namespaces and their durable delivery (see webhooks.service.ts). */
@Module({
  imports: [ReposModule],
  controllers: [WebhooksController],
  providers: [WebhooksService, WebhookDispatcher],
})
export class WebhooksModule {}
