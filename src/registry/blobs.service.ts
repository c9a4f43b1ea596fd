import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { transaction, withRetry } from '../database/transaction.js';
import { STORAGE_DRIVER, type ByteRange, type StorageDriver } from '../storage/storage-driver.js';
import { ReposService, type VisibilityScope } from '../repos/repos.service.js';
import { RegistryError } from './errors.js';

@Injectable()
export class BlobsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(STORAGE_DRIVER) private readonly storage: StorageDriver,
    private readonly repos: ReposService,
  ) {}

  /** Size of a blob linked into the repository, or null when the repository cannot see it. */
  async sizeInRepository(repositoryId: string, digest: string): Promise<number | null> {
    const rows: { size: string }[] = await this.db.query(
      `SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
        WHERE rb.repository_id = $1 AND rb.digest = $2`,
      [repositoryId, digest],
    );
    return rows.length ? Number(rows[0].size) : null;
  }

  async requireInRepository(repositoryId: string, digest: string): Promise<number> {
    const size = await this.sizeInRepository(repositoryId, digest);
    if (size === null)
      throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
    return size;
  }

  /** Makes a blob that `fromRepositoryId` can see visible in `repositoryId` too, without copying. */
  async mount(repositoryId: string, fromRepositoryId: string, digest: string): Promise<boolean> {
    if ((await this.sizeInRepository(fromRepositoryId, digest)) === null) return false;
    await this.link(repositoryId, digest);
    return true;
  }

  /**
   * Mounts a blob without a named source (`?mount=` without `from`): when one of the repositories
   * holding it is visible to the caller, the blob is linked here too. A blob held only where the
   * caller cannot read is never mounted, so knowing a digest grants nothing.
   */
  async mountVisible(
    repositoryId: string,
    digest: string,
    scope: VisibilityScope,
  ): Promise<boolean> {
    const rows: { repository_id: string }[] = await this.db.query(
      `SELECT repository_id FROM repository_blobs WHERE digest = $1 AND repository_id <> $2 LIMIT 100`,
      [digest, repositoryId],
    );
    if (!rows.length) return false;
    const visible = await this.repos.visibleAmong(
      scope,
      rows.map((r) => r.repository_id),
    );
    if (!visible.length) return false;
    await this.link(repositoryId, digest);
    return true;
  }

  async link(repositoryId: string, digest: string): Promise<void> {
    await withRetry(() =>
      this.db.query(
        `INSERT INTO repository_blobs (repository_id, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
        [repositoryId, digest],
      ),
    );
  }

  /** Removes the blob from the repository. Its bytes stay until garbage collection. */
  async unlink(repositoryId: string, digest: string): Promise<void> {
    const res: [unknown[], number] = await transaction(this.db, (q) =>
      q.query(`DELETE FROM repository_blobs WHERE repository_id = $1 AND digest = $2`, [
        repositoryId,
        digest,
      ]),
    );
    if (res[1] === 0)
      throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
  }

  redirectUrl(digest: string, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    return this.storage.blobRedirectUrl
      ? this.storage.blobRedirectUrl(digest, method)
      : Promise.resolve(undefined);
  }

  open(digest: string, range?: ByteRange): Promise<Readable> {
    return this.storage.readBlob(digest, range);
  }
}
