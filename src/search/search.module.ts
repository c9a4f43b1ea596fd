import { Module } from '@nestjs/common';
import { OrgsModule } from '../orgs/orgs.module.js';
import { ReposModule } from '../repos/repos.module.js';
import { UsersModule } from '../users/users.module.js';
import { SearchController } from './search.controller.js';
import { SearchService } from './search.service.js';

/**
 * Global search (`/api/v1/search`). Owns no table: it combines the read-only search queries the
 * Repos, Orgs and Users modules export.
 */
@Module({
  imports: [ReposModule, OrgsModule, UsersModule],
  controllers: [SearchController],
  providers: [SearchService],
})
export class SearchModule {}
