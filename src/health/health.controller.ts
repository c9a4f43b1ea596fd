import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CacheService, type CacheStatus } from '../cache/cache.service.js';
import { STORAGE_DRIVER, type StorageDriver } from '../storage/storage-driver.js';

type Check = 'ok' | 'down';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(STORAGE_DRIVER) private readonly storage: StorageDriver,
    private readonly cache: CacheService,
  ) {}

  @Get()
  @ApiOkResponse({
    description:
      'Database and blob storage are reachable. `status` is "degraded" while the cache store is ' +
      'unreachable (requests are then served from the database).',
  })
  @ApiServiceUnavailableResponse({ description: 'The database or the blob storage is down' })
  async check(): Promise<HealthReport> {
    const [database, storage, cache] = await Promise.all([
      this.db.query('SELECT 1').then(
        () => 'ok' as const,
        () => 'down' as const,
      ),
      this.storage.checkHealth().then(
        () => 'ok' as const,
        () => 'down' as const,
      ),
      this.cache.status(),
    ]);
    const report: HealthReport = {
      status: cache === 'ok' ? 'ok' : 'degraded',
      database,
      storage,
      cache: { backend: this.cache.backend, status: cache },
    };
    if (database !== 'ok' || storage !== 'ok') {
      throw new ServiceUnavailableException({ ...report, status: 'down' });
    }
    return report;
  }
}

interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  database: Check;
  storage: Check;
  cache: { backend: 'memory' | 'redis'; status: CacheStatus };
}
