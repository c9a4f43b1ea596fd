import { Module } from '@nestjs/common';
import { QuotasController } from './quotas.controller.js';
import { QuotasService } from './quotas.service.js';

/** Storage usage and quotas of namespaces (`/api/v1/namespaces/{namespace}/usage|quota`). */
@Module({ controllers: [QuotasController], providers: [QuotasService] })
export class QuotasModule {}
