import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeysModule } from '../api-keys/api-keys.module.js';
import { ReposModule } from '../repos/repos.module.js';
import { RobotEntity } from './robot.entity.js';
import { RobotsController } from './robots.controller.js';
import { RobotsService } from './robots.service.js';

/** Robot accounts of namespaces (`acme+ci`), with their API keys. */
@Module({
  imports: [TypeOrmModule.forFeature([RobotEntity]), ApiKeysModule, ReposModule],
  controllers: [RobotsController],
  providers: [RobotsService],
  exports: [RobotsService],
})
export class RobotsModule {}
