import { Module } from '@nestjs/common';
import { RegistryModule } from '../registry/registry.module.js';
import { ReposModule } from '../repos/repos.module.js';
import { NamespaceRetentionController } from './retention.controller.js';
import { RetentionService } from './retention.service.js';

/** Retention policies, applied by each garbage collection run (see retention-rules.ts). */
@Module({
  imports: [RegistryModule, ReposModule],
  controllers: [NamespaceRetentionController],
  providers: [RetentionService],
  exports: [RetentionService],
})
export class RetentionModule {}
