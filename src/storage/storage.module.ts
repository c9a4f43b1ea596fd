import { Global, Module } from '@nestjs/common';
import { join } from 'node:path';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { timedStorage } from '../observability/timed-storage.js';
import { FilesystemDriver } from './filesystem.driver.js';
import { STORAGE_DRIVER, type StorageDriver } from './storage-driver.js';

export async function createStorageDriver(config: AppConfig): Promise<StorageDriver> {
  if (config.storageDriver === 's3') {
    const { createS3Driver } = await import('./s3.driver.js');
    return createS3Driver(config.s3!);
  }
  return new FilesystemDriver(join(config.dataDir, 'storage'), { fsync: config.storageFsync });
}

/** The configured driver, its calls timed for GET /metrics unless METRICS_STORAGE_TIMING=false. */
async function provideStorageDriver(config: AppConfig): Promise<StorageDriver> {
  const driver = await createStorageDriver(config);
  return config.metrics.storageTiming ? timedStorage(driver) : driver;
}

@Global()
@Module({
  providers: [{ provide: STORAGE_DRIVER, inject: [APP_CONFIG], useFactory: provideStorageDriver }],
  exports: [STORAGE_DRIVER],
})
export class StorageModule {}
