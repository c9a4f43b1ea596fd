import { Module } from '@nestjs/common';
import { RegistryModule } from '../registry/registry.module.js';
import { RetentionModule } from '../retention/retention.module.js';
import { GcController } from './gc.controller.js';
import { GcService } from './gc.service.js';

/** Online garbage collection and its administrator API (`/api/v1/admin/gc`). */
@Module({
  imports: [RegistryModule, RetentionModule],
  controllers: [GcController],
  providers: [GcService],
})
export class GcModule {}
