import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OrgsModule } from '../orgs/orgs.module.js';
import { UsersModule } from '../users/users.module.js';
import { AccessFactsService } from './access-facts.service.js';
import { RepoAccessService } from './repo-access.service.js';
import { RepoSearchService } from './repo-search.service.js';
import { REPOS_ENTITIES } from './repository.entity.js';
import { ReposService } from './repos.service.js';

/**
 * Repositories, their visibility and grants, and the permission rules. The Registry module
 * depends on this one, so the management API (which reads registry content) lives in
 * ReposApiModule instead.
 */
@Module({
  imports: [TypeOrmModule.forFeature(REPOS_ENTITIES), UsersModule, OrgsModule],
  providers: [ReposService, RepoAccessService, AccessFactsService, RepoSearchService],
  exports: [ReposService, RepoAccessService, AccessFactsService, RepoSearchService],
})
export class ReposModule {}
