import { DynamicModule, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { ALL_MIGRATIONS } from '../../migrations/index.js';
import { LossTolerantClient } from './pg-client.js';
import { QueryLogger } from './query-logger.js';

const MIGRATION_LOCK_KEY = 0x61657275; // "aeru": serialises migrations across nodes starting together

/** Runs pending migrations under a PostgreSQL advisory lock so that concurrent nodes do not race. */
export async function runMigrations(ds: DataSource): Promise<void> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const done = await ds.runMigrations({ transaction: 'each' });
    if (done.length) new Logger('Database').log(`Applied ${done.length} migration(s)`);
  } finally {
    await runner
      .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
      .catch(() => undefined);
    await runner.release();
  }
}

@Module({})
export class DatabaseModule {
  static forRoot(opts: { url: string; poolSize: number }): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            type: 'postgres',
            url: opts.url,
            autoLoadEntities: true,
            synchronize: false,
            migrationsRun: false,
            migrations: ALL_MIGRATIONS,
            extra: { max: opts.poolSize, Client: LossTolerantClient },
            // Failed queries are logged without their parameters (see QueryLogger).
            logger: new QueryLogger(),
          }),
          dataSourceFactory: async (options?: DataSourceOptions) => {
            const ds = await new DataSource(options!).initialize();
            await runMigrations(ds);
            return ds;
          },
        }),
      ],
    };
  }
}
