import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { STORAGE_DRIVER, type StorageDriver } from '../storage/storage-driver.js';

type Check = 'ok' | 'down';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(STORAGE_DRIVER) private readonly storage: StorageDriver,
  ) {}

  @Get()
  @ApiOkResponse({ description: 'Database and blob storage are reachable' })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down' })
  async check(): Promise<{ status: 'ok'; database: Check; storage: Check }> {
    const database: Check = await this.db.query('SELECT 1').then(
      () => 'ok' as const,
      () => 'down' as const,
    );
    const storage: Check = await this.storage.checkHealth().then(
      () => 'ok' as const,
      () => 'down' as const,
    );
    if (database !== 'ok' || storage !== 'ok') {
      throw new ServiceUnavailableException({ status: 'down', database, storage });
    }
    return { status: 'ok', database, storage };
  }
}
