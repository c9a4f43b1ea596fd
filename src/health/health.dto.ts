import { ApiProperty } from '@nestjs/swagger';
import type { CacheStats, CacheStatus } from '../cache/cache.service.js';

export type Check = 'ok' | 'down';
const CHECKS: Check[] = ['ok', 'down'];

/** Cache store operations since the node started. */
export class HealthCacheOperationsDto implements CacheStats {
  @ApiProperty({ description: 'Operations sent to the store' })
  attempted: number;

  @ApiProperty({ description: 'Of those, failed or over their time budget' })
  failed: number;

  @ApiProperty({ description: 'Of the failed, over their time budget (250 ms)' })
  timedOut: number;

  @ApiProperty({ description: 'Operations not sent because the circuit was open' })
  skipped: number;
}

export class HealthCacheDto {
  @ApiProperty({
    enum: ['memory', 'redis'],
    description: "`redis` when REDIS_URL is set, else this node's memory",
  })
  backend: 'memory' | 'redis';

  @ApiProperty({
    enum: ['ok', 'degraded'],
    description: '`degraded` while the cache store is unreachable (the database answers instead)',
  })
  status: CacheStatus;

  @ApiProperty({
    enum: ['open', 'closed'],
    description:
      '`open` while the cache store is skipped after a failure; a background probe closes it when the store answers',
  })
  circuit: 'open' | 'closed';

  @ApiProperty({ type: HealthCacheOperationsDto })
  operations: HealthCacheOperationsDto;
}

export class HealthReportDto {
  @ApiProperty({
    enum: ['ok', 'degraded', 'down'],
    description:
      '`ok`; `degraded` (200) while the cache store is unreachable; `down` (503) when the database or the blob storage is',
  })
  status: 'ok' | 'degraded' | 'down';

  @ApiProperty({ enum: CHECKS, description: 'PostgreSQL answers' })
  database: Check;

  @ApiProperty({ enum: CHECKS, description: 'The blob storage driver answers' })
  storage: Check;

  @ApiProperty({ type: HealthCacheDto })
  cache: HealthCacheDto;
}

/** Liveness: the process answers HTTP (nothing else is checked). */
export class LivenessDto {
  @ApiProperty({ enum: ['ok'] })
  status: 'ok';
}

/** Readiness: whether this node can serve requests now. */
export class ReadinessDto {
  @ApiProperty({
    enum: ['ready', 'not-ready'],
    description:
      '`ready` (200) when PostgreSQL and the blob storage answer; `not-ready` (503) otherwise',
  })
  status: 'ready' | 'not-ready';

  @ApiProperty({ enum: CHECKS, description: 'PostgreSQL answers' })
  database: Check;

  @ApiProperty({ enum: CHECKS, description: 'The blob storage driver answers' })
  storage: Check;

  @ApiProperty({
    enum: ['ok', 'degraded'],
    description:
      'The cache store; `degraded` does not make the node unready (the database answers instead)',
  })
  cache: CacheStatus;
}
