import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, QueryRunner } from 'typeorm';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import {
  STORAGE_DRIVER,
  type StorageDriver,
  type UploadDriverState,
} from '../storage/storage-driver.js';
import { type DigestAlgorithm, parseDigest, ResumableHash } from './digest.js';
import { RegistryError } from './errors.js';

export interface UploadRow {
  id: string;
  repository_id: string;
  offset: string;
  hash_algorithm: DigestAlgorithm;
  hash_state: Buffer | null;
  driver_state: UploadDriverState;
}

export interface UploadStatus {
  id: string;
  offset: number;
}

/** Where the next bytes of a PATCH or PUT say they belong. */
export interface ChunkInfo {
  /** Parsed Content-Range start/end (inclusive), when the client sent one. */
  range?: { start: number; end: number };
  /** Content-Length, when known. */
  length?: number;
}

const LOCK_NOT_AVAILABLE = '55P03';

@Injectable()
export class UploadsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(UploadsService.name);
  private sweeper?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(STORAGE_DRIVER) private readonly storage: StorageDriver,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.sweeper = setInterval(
      () => void this.sweepExpired(),
      this.config.uploadSweepIntervalSeconds * 1000,
    );
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  async start(repositoryId: string, algorithm: DigestAlgorithm): Promise<UploadStatus> {
    const id = randomUUID();
    const driverState = await this.storage.startUpload(id);
    await this.db.query(
      `INSERT INTO uploads (id, repository_id, "offset", hash_algorithm, hash_state, driver_state)
       VALUES ($1, $2, 0, $3, NULL, $4)`,
      [id, repositoryId, algorithm, JSON.stringify(driverState)],
    );
    return { id, offset: 0 };
  }

  async status(repositoryId: string, id: string): Promise<UploadStatus> {
    const rows: UploadRow[] = await this.db.query(
      `SELECT id, "offset" FROM uploads WHERE id = $1 AND repository_id = $2`,
      [isUuid(id) ? id : '00000000-0000-0000-0000-000000000000', repositoryId],
    );
    if (!rows.length) throw unknownUpload(id);
    return { id, offset: Number(rows[0].offset) };
  }

  /** Appends a chunk (PATCH). Returns the new offset. */
  async append(
    repositoryId: string,
    id: string,
    body: AsyncIterable<Buffer>,
    chunk: ChunkInfo,
  ): Promise<UploadStatus> {
    return this.withLockedUpload(repositoryId, id, async (q, row) => {
      const offset = await this.writeChunk(q, row, body, chunk);
      return { id, offset };
    });
  }

  /**
   * Completes an upload (PUT), with an optional final chunk: verifies the digest computed while the
   * bytes flowed and publishes the blob, or discards everything on a mismatch.
   */
  async complete(
    repositoryId: string,
    id: string,
    expectedDigest: string,
    body: AsyncIterable<Buffer> | undefined,
    chunk: ChunkInfo,
  ): Promise<{ digest: string; size: number }> {
    const expected = parseDigest(expectedDigest);
    const result = await this.withLockedUpload(repositoryId, id, async (q, row) => {
      let size = Number(row.offset);
      if (body) size = await this.writeChunk(q, row, body, chunk);
      const mismatch = await this.digestMismatch(row, expected.algorithm, expectedDigest);
      if (mismatch) {
        // Nothing is stored: the session and its bytes go, then the error is raised after commit.
        await q.query(`DELETE FROM uploads WHERE id = $1`, [id]);
        await this.storage.abortUpload(id, row.driver_state).catch(() => undefined);
        return mismatch;
      }
      const known: unknown[] = await q.query(`SELECT 1 FROM blobs WHERE digest = $1`, [
        expectedDigest,
      ]);
      if (known.length) {
        await this.storage.abortUpload(id, row.driver_state);
      } else {
        await this.storage.commitUpload(id, row.driver_state, expectedDigest, size);
        await q.query(`INSERT INTO blobs (digest, size) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
          expectedDigest,
          size,
        ]);
      }
      await q.query(
        `INSERT INTO repository_blobs (repository_id, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
        [repositoryId, expectedDigest],
      );
      await q.query(`DELETE FROM uploads WHERE id = $1`, [id]);
      return { digest: expectedDigest, size };
    });
    if (result instanceof RegistryError) throw result;
    return result;
  }

  /** DIGEST_INVALID when the bytes received do not hash to `expectedDigest`, else undefined. */
  private async digestMismatch(
    row: UploadRow,
    algorithm: DigestAlgorithm,
    expectedDigest: string,
  ): Promise<RegistryError | undefined> {
    if (algorithm !== row.hash_algorithm) {
      return new RegistryError(
        'DIGEST_INVALID',
        `upload was hashed with ${row.hash_algorithm}; start it with ?digest-algorithm=${algorithm}`,
        { digest: expectedDigest },
      );
    }
    const actual = (await ResumableHash.create(row.hash_algorithm, row.hash_state)).digest();
    if (actual === expectedDigest) return undefined;
    return new RegistryError('DIGEST_INVALID', 'provided digest did not match uploaded content', {
      expected: expectedDigest,
      actual,
    });
  }

  async cancel(repositoryId: string, id: string): Promise<void> {
    await this.withLockedUpload(repositoryId, id, async (q, row) => {
      await q.query(`DELETE FROM uploads WHERE id = $1`, [id]);
      await this.storage.abortUpload(id, row.driver_state);
    });
  }

  /** Aborts upload sessions idle for longer than UPLOAD_TTL_SECONDS (skipping ones in use). */
  async sweepExpired(): Promise<number> {
    let count = 0;
    try {
      for (;;) {
        const done = await this.db.transaction(async (m) => {
          const rows: UploadRow[] = await m.query(
            `SELECT id, driver_state FROM uploads
              WHERE updated_at < now() - make_interval(secs => $1)
              ORDER BY updated_at LIMIT 50 FOR UPDATE SKIP LOCKED`,
            [this.config.uploadTtlSeconds],
          );
          for (const r of rows) {
            await this.storage.abortUpload(r.id, r.driver_state).catch(() => undefined);
            await m.query(`DELETE FROM uploads WHERE id = $1`, [r.id]);
          }
          return rows.length;
        });
        count += done;
        if (done < 50) break;
      }
    } catch (e) {
      this.logger.warn(`Upload sweep failed: ${(e as Error).message}`);
    }
    if (count) this.logger.log(`Aborted ${count} expired upload(s)`);
    return count;
  }

  /** Streams one chunk through the hash into the driver and records the new state. */
  private async writeChunk(
    q: QueryRunner,
    row: UploadRow,
    body: AsyncIterable<Buffer>,
    chunk: ChunkInfo,
  ): Promise<number> {
    const offset = Number(row.offset);
    if (chunk.range) {
      if (chunk.range.start !== offset) {
        throw new RegistryError(
          'BLOB_UPLOAD_INVALID',
          `chunk starts at ${chunk.range.start}, expected ${offset}`,
          undefined,
          416,
        );
      }
      const rangeLength = chunk.range.end - chunk.range.start + 1;
      if (chunk.length !== undefined && chunk.length !== rangeLength) {
        throw new RegistryError(
          'BLOB_UPLOAD_INVALID',
          'Content-Length does not match Content-Range',
          undefined,
          416,
        );
      }
      chunk = { ...chunk, length: rangeLength };
    }
    const hash = await ResumableHash.create(row.hash_algorithm, row.hash_state);
    const limit = chunk.length;
    let seen = 0;
    async function* hashed(): AsyncGenerator<Buffer> {
      for await (const piece of body) {
        seen += piece.length;
        if (limit !== undefined && seen > limit) {
          throw new RegistryError('SIZE_INVALID', 'chunk is longer than its declared length');
        }
        hash.update(piece);
        yield piece;
      }
    }
    const { state, written } = await this.storage.writeUpload(
      row.id,
      row.driver_state,
      offset,
      hashed(),
    );
    if (written !== seen || (limit !== undefined && seen !== limit)) {
      throw new RegistryError(
        'SIZE_INVALID',
        `received ${seen} bytes, expected ${limit ?? written}`,
      );
    }
    const newOffset = offset + written;
    const hashState = hash.save();
    await q.query(
      `UPDATE uploads SET "offset" = $2, hash_state = $3, driver_state = $4, updated_at = now() WHERE id = $1`,
      [row.id, newOffset, hashState, JSON.stringify(state)],
    );
    row.offset = String(newOffset);
    row.hash_state = hashState;
    row.driver_state = state;
    return newOffset;
  }

  /**
   * Runs `fn` while holding the upload's row lock. A second request for the same upload meanwhile
   * is refused rather than interleaving bytes; a node that dies releases the lock with its
   * connection, so the client can resume on any other node.
   */
  private async withLockedUpload<T>(
    repositoryId: string,
    id: string,
    fn: (q: QueryRunner, row: UploadRow) => Promise<T>,
  ): Promise<T> {
    if (!isUuid(id)) throw unknownUpload(id);
    const q = this.db.createQueryRunner();
    await q.connect();
    try {
      await q.startTransaction();
      let rows: UploadRow[];
      try {
        rows = await q.query(
          `SELECT id, repository_id, "offset", hash_algorithm, hash_state, driver_state
             FROM uploads WHERE id = $1 AND repository_id = $2 FOR UPDATE NOWAIT`,
          [id, repositoryId],
        );
      } catch (e) {
        if ((e as { code?: string }).code === LOCK_NOT_AVAILABLE) {
          throw new RegistryError(
            'BLOB_UPLOAD_INVALID',
            'another request is writing to this upload',
            { id },
            416,
          );
        }
        throw e;
      }
      if (!rows.length) throw unknownUpload(id);
      const result = await fn(q, rows[0]);
      await q.commitTransaction();
      return result;
    } catch (e) {
      if (q.isTransactionActive) await q.rollbackTransaction().catch(() => undefined);
      throw e;
    } finally {
      await q.release();
    }
  }
}

function isUuid(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
}

function unknownUpload(id: string): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { id });
}
