import { ApiProperty } from '@nestjs/swagger';
import type { CacheStatus } from '../cache/cache.service.js';

export type Check = 'ok' | 'down';
const CHECKS: Check[] = ['ok', 'down'];

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
