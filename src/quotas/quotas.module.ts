import { Module } from '@nestjs/common';
import { ReposModule } from '../repos/repos.module.js';
import { QuotasController } from './quotas.controller.js';
import { QuotasService } from './quotas.service.js';

/** Storage usage and quotas of namespaces (`/api/v1/namespaces/{namespace}/usage|quota`). */
@Module({ imports: [ReposModule], controllers: [QuotasController], providers: [QuotasService] })
export class QuotasModule {}
