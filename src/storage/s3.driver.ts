import type { S3Config } from '../config/config.js';
import type { StorageDriver } from './storage-driver.js';

// The S3 driver arrives with issue 4; until then selecting S3 stops start-up with this message.
export function createS3Driver(_config: S3Config): StorageDriver {
  throw new Error('The S3 storage driver is not available in this build (STORAGE_DRIVER=s3)');
}
