import { performance } from 'node:perf_hooks';
import type { StorageDriver } from '../storage/storage-driver.js';
import { storageOperationDuration } from './metrics.js';

/** The driver methods that are timed (all of StorageDriver's, except `name`). */
const OPERATIONS = [
  'startUpload',
  'writeUpload',
  'commitUpload',
  'readUpload',
  'abortUpload',
  'statBlob',
  'readBlob',
  'deleteBlob',
  'listBlobs',
  'listUploads',
  'blobRedirectUrl',
  'checkHealth',
] as const satisfies readonly (keyof StorageDriver)[];

type Operation = (typeof OPERATIONS)[number];

/**
 * A StorageDriver that times every call of the driver it wraps into
 * `aerugo_storage_operation_duration_seconds{driver, operation, outcome}` and otherwise passes
 * calls and results through unchanged (for `readBlob` and `readUpload`, the time until the stream
 * is open). Off with METRICS_STORAGE_TIMING=false.
 */
export function timedStorage(inner: StorageDriver): StorageDriver {
  const timed: Partial<Record<Operation, unknown>> = {};
  for (const op of OPERATIONS) {
    const fn = inner[op] as ((...args: unknown[]) => Promise<unknown>) | undefined;
    if (typeof fn !== 'function') continue;
    const ok = storageOperationDuration.labels(inner.name, op, 'ok');
    const failed = storageOperationDuration.labels(inner.name, op, 'error');
    timed[op] = async (...args: unknown[]): Promise<unknown> => {
      const started = performance.now();
      try {
        const result = await fn.apply(inner, args);
        ok.observe((performance.now() - started) / 1000);
        return result;
      } catch (e) {
        failed.observe((performance.now() - started) / 1000);
        throw e;
      }
    };
  }
  // Everything else (`name`, driver-specific members) is read from the wrapped driver.
  return Object.assign(Object.create(inner) as StorageDriver, timed);
}
