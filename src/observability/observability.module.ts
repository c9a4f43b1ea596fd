import { Injectable, Module, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { collectProcessMetrics, observeDatabasePool, type PoolFigures } from './metrics.js';

/** What TypeORM's PostgreSQL driver keeps as its pool (pg's Pool). */
interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** Connects the metrics that are read when scraped (process, database pool) to their sources. */
@Injectable()
export class MetricsSources implements OnModuleInit, OnModuleDestroy {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onModuleInit(): void {
    collectProcessMetrics();
    observeDatabasePool((): PoolFigures | undefined => {
      const pool = (this.db.driver as unknown as { master?: PgPool }).master;
      if (!pool || typeof pool.totalCount !== 'number') return undefined;
      return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
    });
  }

  onModuleDestroy(): void {
    observeDatabasePool(undefined);
  }
}

@Module({ providers: [MetricsSources] })
export class ObservabilityModule {}
