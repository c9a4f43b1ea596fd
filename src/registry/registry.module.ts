import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { TokenRegistryAuthorizer } from '../auth/registry-authorizer.service.js';
import { ReposModule } from '../repos/repos.module.js';
import { BlobsData } from './blobs.data.js';
import { BlobsService } from './blobs.service.js';
import { ManifestsData } from './manifests.data.js';
import { ManifestsService } from './manifests.service.js';
import { NodeLivenessService } from './node-liveness.service.js';
import { PushService } from './push.service.js';
import { PullStatsService } from './pull-stats.service.js';
import { REGISTRY_AUTHORIZER } from './registry-access.js';
import { RegistryAccessGuard } from './registry-access.guard.js';
import { RegistryController } from './registry.controller.js';
import { UploadsData } from './uploads.data.js';
import { UploadsService } from './uploads.service.js';
import { ImmutableTagsService } from './immutable-tags.service.js';
import { TagHistoryService } from './tag-history.service.js';

@Module({
  imports: [ReposModule, AuthModule],
  controllers: [RegistryController],
  providers: [
    BlobsData,
    ManifestsData,
    UploadsData,
    BlobsService,
    PushService,
    UploadsService,
    ManifestsService,
    NodeLivenessService,
    PullStatsService,
    TagHistoryService,
    ImmutableTagsService,
    RegistryAccessGuard,
    { provide: REGISTRY_AUTHORIZER, useExisting: TokenRegistryAuthorizer },
  ],
  exports: [
    BlobsService,
    ManifestsService,
    UploadsService,
    PullStatsService,
    TagHistoryService,
    ImmutableTagsService,
    ManifestsData,
  ],
})
export class RegistryModule {}
