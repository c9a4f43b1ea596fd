import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { UploadDriverState } from '../storage/storage-driver.js';
import type { BlobState } from './blobs.data.js';
import type { DigestAlgorithm } from './digest.js';
import { LEASE_FREE_SQL } from './node-liveness.service.js';

/** What a request that took an upload's lease needs to continue it. */
export interface LeasedUpload {
  offset: number;
  algorithm: DigestAlgorithm;
  driverState: UploadDriverState;
  publishingDigest: string | null;
}

/** Who holds a lease: its random token and the node whose liveness lock backs it. */
export interface LeaseHolder {
  token: string;
  node: number;
}

/**
 * The SQL of upload sessions (the `uploads` table), beside the blob SQL (blobs.data.ts). The lease
 * argument lives in UploadsService: each statement here is one short statement outside any
 * transaction, except `deleteLeased` inside the transaction that publishes the blob. Every write
 * to a leased row names the lease token in its WHERE clause and reports whether a row matched, so
 * the caller can tell a lost lease from a committed write.
 */
@Injectable()
export class UploadsData {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Open sessions created by `userId` and open sessions of the repository. */
  async counts(
    userId: string | null,
    repositoryId: string,
  ): Promise<{ mine: number; here: number }> {
    const [row]: { mine: string; here: string }[] = await this.db.query(
      `SELECT (SELECT count(*) FROM uploads WHERE created_by = $1) AS mine,
              (SELECT count(*) FROM uploads WHERE repository_id = $2) AS here`,
      [userId, repositoryId],
    );
    return { mine: Number(row.mine), here: Number(row.here) };
  }

  /**
   * Inserts the session unless its creator already has `maxMine` open sessions (when there is a
   * creator) or the repository `maxHere`, in one statement; false when a bound refused it (`counts`
   * then says which). Like counting first and inserting after, two requests at the same moment
   * may both pass the last free place: the bounds are a guard against runaway clients.
   */
  async insertWithin(
    id: string,
    repositoryId: string,
    algorithm: DigestAlgorithm,
    driverState: UploadDriverState,
    createdBy: string | null,
    bounds: { maxMine: number; maxHere: number },
  ): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `INSERT INTO uploads (id, repository_id, "offset", hash_algorithm, driver_state, created_by)
       SELECT $1, $2, 0, $3, $4, $5::uuid
        WHERE ($5::uuid IS NULL OR (SELECT count(*) FROM uploads WHERE created_by = $5::uuid) < $6)
          AND (SELECT count(*) FROM uploads WHERE repository_id = $2) < $7
       RETURNING id`,
      [
        id,
        repositoryId,
        algorithm,
        JSON.stringify(driverState),
        createdBy,
        bounds.maxMine,
        bounds.maxHere,
      ],
    );
    return rows.length > 0;
  }

  /** The committed offset of the repository's upload, or null when there is no such upload. */
  async offsetOf(id: string, repositoryId: string): Promise<number | null> {
    const rows: { offset: string }[] = await this.db.query(
      `SELECT "offset" FROM uploads WHERE id = $1 AND repository_id = $2`,
      [id, repositoryId],
    );
    return rows.length ? Number(rows[0].offset) : null;
  }

  /**
   * Takes the lease of the repository's upload when it is free (no holder, expired, or its
   * holder's node lost its liveness lock): null when there is no such upload or it is held.
   */
  async takeLease(id: string, repositoryId: string, by: LeaseHolder): Promise<LeasedUpload | null> {
    // UPDATE … RETURNING answers [rows, count].
    const [rows]: [
      {
        offset: string;
        hash_algorithm: DigestAlgorithm;
        driver_state: UploadDriverState;
        publishing_digest: string | null;
      }[],
      number,
    ] = await this.db.query(
      `UPDATE uploads u SET lease_token = $3, lease_node = $4,
              lease_expires_at = now() + make_interval(secs => $5)
        WHERE u.id = $1 AND u.repository_id = $2 AND ${LEASE_FREE_SQL}
        RETURNING u."offset", u.hash_algorithm, u.driver_state, u.publishing_digest`,
      [id, repositoryId, by.token, by.node, this.config.uploads.leaseSeconds],
    );
    if (!rows.length) return null;
    const row = rows[0];
    return {
      offset: Number(row.offset),
      algorithm: row.hash_algorithm,
      driverState: row.driver_state,
      publishingDigest: row.publishing_digest,
    };
  }

  /**
   * Takes the lease of up to `limit` free sessions idle for longer than UPLOAD_TTL_SECONDS or of
   * deleted repositories, oldest first, skipping rows another sweeper is claiming.
   */
  async leaseExpired(
    by: LeaseHolder,
    limit: number,
  ): Promise<{ id: string; driverState: UploadDriverState }[]> {
    const [rows]: [{ id: string; driver_state: UploadDriverState }[], number] = await this.db.query(
      `UPDATE uploads u SET lease_token = $1, lease_node = $2,
              lease_expires_at = now() + make_interval(secs => $3)
        WHERE u.id IN (
                SELECT id FROM uploads u
                 WHERE (u.repository_id IS NULL OR u.updated_at < now() - make_interval(secs => $4))
                   AND ${LEASE_FREE_SQL}
                 ORDER BY u.updated_at LIMIT $5 FOR UPDATE SKIP LOCKED)
        RETURNING u.id, u.driver_state`,
      [by.token, by.node, this.config.uploads.leaseSeconds, this.config.uploadTtlSeconds, limit],
    );
    return rows.map((r) => ({ id: r.id, driverState: r.driver_state }));
  }

  /** Pushes the lease's expiry forward; false when the lease is no longer held by `token`. */
  async renewLease(id: string, token: string): Promise<boolean> {
    const res: [unknown[], number] = await this.db.query(
      `UPDATE uploads SET lease_expires_at = now() + make_interval(secs => $3)
        WHERE id = $1 AND lease_token = $2`,
      [id, token, this.config.uploads.leaseSeconds],
    );
    return res[1] > 0;
  }

  /** Gives the lease back (nothing when it is no longer held by `token`). */
  async releaseLease(id: string, token: string): Promise<void> {
    await this.db.query(
      `UPDATE uploads SET lease_token = NULL, lease_node = NULL, lease_expires_at = NULL
        WHERE id = $1 AND lease_token = $2`,
      [id, token],
    );
  }

  /**
   * Commits a chunk: the new offset and driver state, only on top of the offset the writer started
   * from (`from`) and only while it holds the lease; `release` gives the lease back in the same
   * statement. False when nothing was written (the lease was lost).
   */
  async commitChunk(
    id: string,
    token: string,
    from: number,
    to: number,
    driverState: UploadDriverState,
    release: boolean,
  ): Promise<boolean> {
    const res: [unknown[], number] = await this.db.query(
      `UPDATE uploads SET "offset" = $3, driver_state = $4, updated_at = now()` +
        (release ? `, lease_token = NULL, lease_node = NULL, lease_expires_at = NULL` : '') +
        ` WHERE id = $1 AND lease_token = $2 AND "offset" = $5`,
      [id, token, to, JSON.stringify(driverState), from],
    );
    return res[1] > 0;
  }

  /**
   * Records that the upload's bytes were verified to have `digest` (the collector counts the
   * digest as a root from then on; see gc.service.ts), and reads the blob's state in the same
   * statement (an unlocked hint, as BlobsData.stateOf: publishing decides under lock). Null when
   * the lease was lost.
   */
  async markPublishing(
    id: string,
    token: string,
    digest: string,
  ): Promise<{ blobState: BlobState | null } | null> {
    const [rows]: [{ blob_state: BlobState | null }[], number] = await this.db.query(
      `UPDATE uploads SET publishing_digest = $3 WHERE id = $1 AND lease_token = $2
       RETURNING (SELECT state FROM blobs WHERE digest = $3) AS blob_state`,
      [id, token, digest],
    );
    return rows.length ? { blobState: rows[0].blob_state } : null;
  }

  /**
   * Deletes the session while `token` holds its lease, in `m`'s transaction when given (the one
   * that publishes the blob). False when the lease was lost.
   */
  async deleteLeased(id: string, token: string, m?: EntityManager): Promise<boolean> {
    const res: [unknown[], number] = await (m ?? this.db).query(
      `DELETE FROM uploads WHERE id = $1 AND lease_token = $2`,
      [id, token],
    );
    return res[1] > 0;
  }
}
