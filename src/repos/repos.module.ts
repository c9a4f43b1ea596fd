import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RepositoryEntity } from './repository.entity.js';
import { ReposService } from './repos.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([RepositoryEntity])],
  providers: [ReposService],
  exports: [ReposService],
})
export class ReposModule {}
