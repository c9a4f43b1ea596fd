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
import { HealthReportDto, LivenessDto, ReadinessDto, type Check } from './health.dto.js';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(STORAGE_DRIVER) private readonly storage: StorageDriver,
    private readonly cache: CacheService,
  ) {}

  @Get('live')
  @ApiOperation({
    summary: 'Liveness: the process answers (for restarts; checks no dependency)',
    description:
      'Always 200 while the node can answer HTTP. A database or storage outage does not fail it, so an orchestrator does not restart nodes that a restart would not mend.',
  })
  @ApiOkResponse({ type: LivenessDto })
  live(): LivenessDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness: PostgreSQL and the blob storage answer (for load balancers)',
  })
  @ApiOkResponse({ type: ReadinessDto, description: 'The node can serve requests' })
  @ApiServiceUnavailableResponse({
    type: ReadinessDto,
    description: 'PostgreSQL or the blob storage is down: send no traffic to this node for now',
  })
  async ready(): Promise<ReadinessDto> {
    const [database, storage, cache] = await Promise.all([
      this.databaseCheck(),
      this.storageCheck(),
      this.cache.status(),
    ]);
    const ok = database === 'ok' && storage === 'ok';
    const report: ReadinessDto = { status: ok ? 'ready' : 'not-ready', database, storage, cache };
    if (!ok) throw new ServiceUnavailableException(report);
    return report;
  }

  private databaseCheck(): Promise<Check> {
    return this.db.query('SELECT 1').then(
      () => 'ok' as const,
      () => 'down' as const,
    );
  }

  private storageCheck(): Promise<Check> {
    return this.storage.checkHealth().then(
      () => 'ok' as const,
      () => 'down' as const,
    );
  }

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
      this.databaseCheck(),
      this.storageCheck(),
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
