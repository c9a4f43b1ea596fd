import { DynamicModule, Module } from '@nestjs/common';
import { CacheModule } from './cache/cache.module.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { RegistryModule } from './registry/registry.module.js';
import { ReposModule } from './repos/repos.module.js';
import { StorageModule } from './storage/storage.module.js';

export interface AppModuleOptions {
  databaseUrl: string;
  databasePoolSize: number;
}

@Module({})
export class AppModule {
  static forRoot(opts: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule,
        DatabaseModule.forRoot({ url: opts.databaseUrl, poolSize: opts.databasePoolSize }),
        StorageModule,
        CacheModule,
        ReposModule,
        RegistryModule,
        HealthModule,
      ],
    };
  }
}
