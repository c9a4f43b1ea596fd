import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ReposModule } from '../repos/repos.module.js';
import { BlobsService } from './blobs.service.js';
import { REGISTRY_ENTITIES } from './entities.js';
import { ManifestsService } from './manifests.service.js';
import { AllowAllAuthorizer, REGISTRY_AUTHORIZER } from './registry-access.js';
import { RegistryAccessGuard } from './registry-access.guard.js';
import { RegistryController } from './registry.controller.js';
import { UploadsService } from './uploads.service.js';

@Module({
  imports: [TypeOrmModule.forFeature(REGISTRY_ENTITIES), ReposModule],
  controllers: [RegistryController],
  providers: [
    BlobsService,
    UploadsService,
    ManifestsService,
    RegistryAccessGuard,
    { provide: REGISTRY_AUTHORIZER, useClass: AllowAllAuthorizer },
  ],
  exports: [BlobsService, ManifestsService],
})
export class RegistryModule {}
