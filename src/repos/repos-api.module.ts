import { Module } from '@nestjs/common';
import { OrgsModule } from '../orgs/orgs.module.js';
import { RegistryModule } from '../registry/registry.module.js';
import { RetentionModule } from '../retention/retention.module.js';
import { UsersModule } from '../users/users.module.js';
import { RepoContentService } from './repo-content.service.js';
import { RepoManagementService } from './repo-management.service.js';
import { ReposController } from './repos.controller.js';
import { ReposModule } from './repos.module.js';

/** The repositories part of the management API (`/api/v1/repos`). */
@Module({
  imports: [ReposModule, RegistryModule, UsersModule, OrgsModule, RetentionModule],
  controllers: [ReposController],
  providers: [RepoManagementService, RepoContentService],
})
export class ReposApiModule {}
