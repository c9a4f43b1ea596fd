import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeysModule } from '../api-keys/api-keys.module.js';
import { NamespaceEntity } from './namespace.entity.js';
import { NamespacesService } from './namespaces.service.js';
import { PasswordHasherService } from './password-hasher.service.js';
import { UserSearchService } from './user-search.service.js';
import { UserEntity } from './user.entity.js';
import { UsersController } from './users.controller.js';
import { UsersService } from './users.service.js';

/** Accounts and the namespace of names that users share with organizations. */
@Module({
  imports: [TypeOrmModule.forFeature([UserEntity, NamespaceEntity]), ApiKeysModule],
  controllers: [UsersController],
  providers: [UsersService, NamespacesService, UserSearchService, PasswordHasherService],
  exports: [UsersService, NamespacesService, UserSearchService, PasswordHasherService],
})
export class UsersModule {}
