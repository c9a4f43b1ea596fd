import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CacheService } from '../cache/cache.service.js';
import { STORAGE_DRIVER, type StorageDriver } from '../storage/storage-driver.js';
import { HealthReportDto } from './health.dto.js';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(STORAGE_DRIVER) private readonly storage: StorageDriver,
    private readonly cache: CacheService,
  ) {}

  @Get()
  @ApiOperation({ summary: "This node's dependencies: database, blob storage and cache" })
  @ApiOkResponse({
    type: HealthReportDto,
    description:
      'Database and blob storage are reachable. `status` is "degraded" while the cache store is ' +
      'unreachable (requests are then served from the database, and `cache.circuit` is "open": ' +
      'the store is skipped until a background probe reaches it).',
  })
  @ApiServiceUnavailableResponse({
    type: HealthReportDto,
    description: 'The database or the blob storage is down (`status` is "down")',
  })
  async check(): Promise<HealthReportDto> {
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
    const report: HealthReportDto = {
      status: cache === 'ok' ? 'ok' : 'degraded',
      database,
      storage,
      cache: {
        backend: this.cache.backend,
        status: cache,
        circuit: this.cache.circuitOpen ? 'open' : 'closed',
        operations: this.cache.stats,
      },
    };
    if (database !== 'ok' || storage !== 'ok') {
      throw new ServiceUnavailableException({ ...report, status: 'down' });
    }
    return report;
  }
}
