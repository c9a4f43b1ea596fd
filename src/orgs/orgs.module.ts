import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UsersModule } from '../users/users.module.js';
import { ORG_ENTITIES } from './org.entities.js';
import { OrgSearchService } from './org-search.service.js';
import { OrganizationsAliasController } from './organizations-alias.controller.js';
import { OrgsController } from './orgs.controller.js';
import { OrgsService } from './orgs.service.js';
import { TeamsController } from './teams.controller.js';

/** Organizations, their members and roles, teams and team members. */
@Module({
  imports: [TypeOrmModule.forFeature(ORG_ENTITIES), UsersModule],
  controllers: [OrgsController, OrganizationsAliasController, TeamsController],
  providers: [OrgsService, OrgSearchService],
  exports: [OrgsService, OrgSearchService],
})
export class OrgsModule {}
