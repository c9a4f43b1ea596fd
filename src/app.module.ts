import { DynamicModule, Module } from '@nestjs/common';
import { ApiKeysModule } from './api-keys/api-keys.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CacheModule } from './cache/cache.module.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { TestHooksModule } from './common/test-hooks.js';
import { EventsModule } from './events/events.module.js';
import { GcModule } from './gc/gc.module.js';
import { QuotasModule } from './quotas/quotas.module.js';
import { HealthModule } from './health/health.module.js';
import { ObservabilityModule } from './observability/observability.module.js';
import { RegistryModule } from './registry/registry.module.js';
import { OrgsModule } from './orgs/orgs.module.js';
import { ReposApiModule } from './repos/repos-api.module.js';
import { ReposModule } from './repos/repos.module.js';
import { RobotsModule } from './robots/robots.module.js';
import { SearchModule } from './search/search.module.js';
import { StorageModule } from './storage/storage.module.js';
import { UsersModule } from './users/users.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

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
        EventsModule,
        AuditModule,
        TestHooksModule,
        UsersModule,
        OrgsModule,
        ApiKeysModule,
        ReposModule,
        RobotsModule,
        AuthModule,
        RegistryModule,
        ReposApiModule,
        SearchModule,
        WebhooksModule,
        GcModule,
        QuotasModule,
        HealthModule,
        ObservabilityModule,
      ],
    };
  }
}
