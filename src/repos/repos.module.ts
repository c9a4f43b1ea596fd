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
 * Repositories, their visibility and grants, and the permission rules. The management API of
 * repositories lives in ReposApiModule because of calls, not side effects (those go through the
 * events): the Registry module calls this one (ReposService.findOrCreate, findByName and
 * visibleAmong, RepoAccessService, AccessFactsService; so does the Auth module, which the Registry
 * module imports), and the management API calls the Registry module (ManifestsService,
 * BlobsService, UploadsService, TagHistoryService, ImmutableTagsService). One module holding both
 * would import the Registry module that imports it.
 */
@Module({
  imports: [TypeOrmModule.forFeature(REPOS_ENTITIES), UsersModule, OrgsModule],
  providers: [ReposService, RepoAccessService, AccessFactsService, RepoSearchService],
  exports: [ReposService, RepoAccessService, AccessFactsService, RepoSearchService],
})
export class ReposModule {}
