import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { randomUUID, type Hash } from 'node:crypto';
import type { AppConfig } from '../config/config.js';
import { type Actor, actorUserId } from '../common/actor.js';
import { crashPoint } from '../common/crash-points.js';
import { TestHooks } from '../common/test-hooks.js';
import { APP_CONFIG } from '../config/config.module.js';
import {
  STORAGE_DRIVER,
  type StorageDriver,
  type UploadDriverState,
} from '../storage/storage-driver.js';
import {
  createDigestHash,
  type DigestAlgorithm,
  digestOfStream,
  finishDigest,
  parseDigest,
} from './digest.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { BlobBeingDeleted, blobBeingDeleted, BlobsData, type BlobState } from './blobs.data.js';
import { recordingQuotaRefusal } from './quota-refusal.js';
import { RegistryError } from './errors.js';
import type { RepoRef } from './manifests.service.js';
import { NodeLivenessService } from './node-liveness.service.js';
import type { RegistryActor } from './registry-access.js';
import { UploadsData } from './uploads.data.js';
import { UploadHashes } from './upload-hashes.js';
import { UploadSlots } from './upload-slots.js';

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

/** A request body: read as a stream, destroyed to stop it when the lease is lost. */
export type UploadBody = AsyncIterable<Buffer> & { destroy?(error?: Error): unknown };

/** An upload session whose lease this request holds. */
interface Lease {
  id: string;
  repositoryId: string;
  token: string;
  offset: number;
  algorithm: DigestAlgorithm;
  driverState: UploadDriverState;
  publishingDigest: string | null;
  /** Set once the lease has been given back (or the row deleted) by a commit. */
  released: boolean;
  /** Set when the lease was lost while the request ran: nothing more may be committed. */
  lost?: RegistryError;
  /** Stops the body being read (the request's stream). */
  stop(error: RegistryError): void;
}

/**
 * Upload sessions: offset, digest algorithm and driver state live in PostgreSQL, so any node can
 * continue an upload; the bytes live in the storage driver.
 *
 * Who may write: a request writes to an upload only while it holds the upload's **lease** — a
 * random token in the row, with the id of its node's liveness lock and an expiry that is renewed
 * while bytes flow. Taking the lease, committing a chunk and giving the lease back are each one
 * short statement; no database connection or transaction is held while the body arrives, so slow
 * or stalled clients cannot exhaust the pool. A second request for the same upload meanwhile is
 * refused (416 with the committed Range). A node that dies releases its leases at once (its
 * liveness lock goes with its connection); a lease whose holder stalls expires.
 *
 * Why a chunk is committed at most once: a chunk's new offset and driver state are written with
 * `WHERE lease_token = <ours> AND offset = <the offset we started from>`, so of two writers only
 * the lease holder can commit, and only on top of the state it read. Storage writes of a writer
 * that lost its lease go where no committed state points (see StorageDriver), so they are litter,
 * never corruption.
 *
 * Digests are computed with native hashes while the bytes flow; a node keeps the running hash in
 * memory (UploadHashes). When the upload is completed on a node without it (a chunk went to
 * another node, a restart, a failed write, another algorithm asked for), the stored bytes are read
 * once to compute the digest. A blob is published only after its digest matched.
 */
@Injectable()
export class UploadsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(UploadsService.name);
  private sweeper?: NodeJS.Timeout;
  private readonly hashes = new UploadHashes();
  private readonly slots: UploadSlots;
  private readonly leases = new Set<Lease>();
  private unsubscribe?: () => void;

  constructor(
    private readonly data: UploadsData,
    @Inject(STORAGE_DRIVER) private readonly storage: StorageDriver,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly liveness: NodeLivenessService,
    private readonly blobs: BlobsData,
    private readonly events: EventsService,
    private readonly hooks: TestHooks,
  ) {
    this.slots = new UploadSlots(config.uploads.maxConcurrent, config.uploads.maxConcurrentPerUser);
  }

  onModuleInit(): void {
    this.sweeper = setInterval(
      () => void this.sweepExpired(),
      this.config.uploadSweepIntervalSeconds * 1000,
    );
    this.sweeper.unref();
    this.unsubscribe = this.liveness.onLost(() => {
      for (const lease of this.leases) lease.stop(leaseLost(lease.id));
    });
  }

  onModuleDestroy(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.unsubscribe?.();
  }

  /** Upload bodies this node is receiving now. */
  get streaming(): number {
    return this.slots.inUse;
  }

  async start(
    repositoryId: string,
    algorithm: DigestAlgorithm,
    actor: RegistryActor,
  ): Promise<UploadStatus> {
    const userId = actorUserId(actor);
    const { maxSessionsPerUser, maxSessionsPerRepository } = this.config.uploads;
    const id = randomUUID();
    const driverState = await this.storage.startUpload(id);
    let inserted = false;
    try {
      inserted = await this.data.insertWithin(id, repositoryId, algorithm, driverState, userId, {
        maxMine: maxSessionsPerUser,
        maxHere: maxSessionsPerRepository,
      });
    } finally {
      // No session row (refused, or the insert failed): its storage goes too.
      if (!inserted) await this.storage.abortUpload(id, driverState).catch(() => undefined);
    }
    if (!inserted) {
      // Refused by a bound (the rare path): count again to say which.
      const counts = await this.data.counts(userId, repositoryId);
      if (userId && counts.mine >= maxSessionsPerUser) {
        throw tooManySessions(
          `you have ${counts.mine} open upload sessions (at most ${maxSessionsPerUser}); complete or cancel some, or wait for idle ones to expire`,
        );
      }
      throw tooManySessions(
        `this repository has ${Math.max(counts.here, maxSessionsPerRepository)} open upload sessions (at most ${maxSessionsPerRepository})`,
      );
    }
    return { id, offset: 0 };
  }

  async status(repositoryId: string, id: string): Promise<UploadStatus> {
    const offset = await this.data.offsetOf(isUuid(id) ? id : NIL_UUID, repositoryId);
    if (offset === null) throw unknownUpload(id);
    return { id, offset };
  }

  /** Appends a chunk (PATCH). Returns the new offset. */
  async append(
    repositoryId: string,
    id: string,
    body: UploadBody,
    chunk: ChunkInfo,
    actor: RegistryActor,
  ): Promise<UploadStatus> {
    const release = this.slots.acquire(slotKey(actor));
    try {
      return await this.withLease(repositoryId, id, body, async (lease) => {
        const offset = await this.writeChunk(lease, body, chunk, true);
        return { id, offset };
      });
    } finally {
      release();
    }
  }

  /**
   * Completes an upload (PUT, or a monolithic POST), with an optional final chunk: checks the
   * digest of everything received and publishes the blob, or discards the session on a mismatch.
   */
  async complete(
    repo: RepoRef,
    id: string,
    expectedDigest: string,
    body: UploadBody | undefined,
    chunk: ChunkInfo,
    actor: RegistryActor,
  ): Promise<{ digest: string; size: number }> {
    const expected = parseDigest(expectedDigest);
    const release = body ? this.slots.acquire(slotKey(actor)) : () => undefined;
    try {
      return await this.withLease(repo.id, id, body, async (lease) => {
        const done = { repo, actor };
        if (lease.publishingDigest !== null)
          return this.resumePublish(lease, expectedDigest, body, done);
        let size = lease.offset;
        if (body) size = await this.writeChunk(lease, body, chunk, false);
        const actual = await this.digestOf(lease, expected.algorithm, size);
        if (actual !== expectedDigest) {
          await this.discard(lease);
          throw new RegistryError(
            'DIGEST_INVALID',
            'provided digest did not match uploaded content',
            {
              expected: expectedDigest,
              actual,
            },
          );
        }
        // From here on the digest is known to be right: a retry after a crash may publish
        // without the bytes (see resumePublish).
        let blobState: BlobState | null = null;
        await this.leased(lease, async (token) => {
          const marked = await this.data.markPublishing(id, token, expectedDigest);
          blobState = marked?.blobState ?? null;
          return marked !== null;
        });
        lease.publishingDigest = expectedDigest;
        return this.publish(lease, expectedDigest, size, done, blobState);
      });
    } finally {
      release();
    }
  }

  async cancel(repositoryId: string, id: string): Promise<void> {
    await this.withLease(repositoryId, id, undefined, async (lease) => {
      // Storage first: if it fails the session survives and the client may try again.
      await this.storage.abortUpload(id, lease.driverState);
      await this.deleteLeased(lease);
      this.hashes.forget(id);
    });
  }

  /**
   * Aborts upload sessions idle for longer than UPLOAD_TTL_SECONDS and those of deleted
   * repositories, skipping any a request is writing to (it holds their lease).
   */
  async sweepExpired(): Promise<number> {
    let count = 0;
    try {
      for (;;) {
        const token = randomUUID();
        const rows = await this.data.leaseExpired({ token, node: this.liveness.id() }, 50);
        for (const r of rows) {
          await this.storage.abortUpload(r.id, r.driverState).catch(() => undefined);
          await this.data.deleteLeased(r.id, token);
          this.hashes.forget(r.id);
        }
        count += rows.length;
        if (rows.length < 50) break;
      }
    } catch (e) {
      this.logger.warn(`Upload sweep failed: ${(e as Error).message}`);
    }
    if (count) this.logger.log(`Aborted ${count} expired or orphaned upload(s)`);
    return count;
  }

  // ---- leases -------------------------------------------------------------------------------

  /**
   * Runs `fn` while holding the upload's lease, renewing it while `fn` runs. When the lease cannot
   * be renewed (or this node loses its liveness connection) the body is stopped and nothing more
   * is committed.
   */
  private async withLease<T>(
    repositoryId: string,
    id: string,
    body: UploadBody | undefined,
    fn: (lease: Lease) => Promise<T>,
  ): Promise<T> {
    if (!isUuid(id)) throw unknownUpload(id);
    const token = randomUUID();
    const row = await this.data.takeLease(id, repositoryId, { token, node: this.liveness.id() });
    if (!row) {
      await this.status(repositoryId, id); // 404 when the upload does not exist
      throw new RegistryError(
        'BLOB_UPLOAD_INVALID',
        'another request is writing to this upload',
        { id },
        416,
      );
    }
    const lease: Lease = {
      id,
      repositoryId,
      token,
      offset: row.offset,
      algorithm: row.algorithm,
      driverState: row.driverState,
      publishingDigest: row.publishingDigest,
      released: false,
      stop: (error) => {
        if (lease.lost) return;
        lease.lost = error;
        body?.destroy?.(error);
      },
    };
    this.leases.add(lease);
    const renewEvery = Math.max(250, (this.config.uploads.leaseSeconds * 1000) / 3);
    const renewer = setInterval(() => void this.renew(lease), renewEvery);
    renewer.unref();
    try {
      const result = await fn(lease);
      if (lease.lost) throw lease.lost;
      return result;
    } catch (e) {
      throw lease.lost && !(e instanceof RegistryError) ? lease.lost : e;
    } finally {
      clearInterval(renewer);
      this.leases.delete(lease);
      if (!lease.released) {
        await this.data.releaseLease(id, token).catch(() => undefined); // the lease expires by itself
      }
    }
  }

  private async renew(lease: Lease): Promise<void> {
    if (lease.released || lease.lost) return;
    try {
      const held = await this.data.renewLease(lease.id, lease.token);
      if (!held && !lease.released) lease.stop(leaseLost(lease.id));
    } catch {
      // Unable to tell whether the lease still holds: stop before it could expire unnoticed.
      lease.stop(leaseLost(lease.id));
    }
  }

  /**
   * Runs a write of the leased row (an UploadsData statement naming the lease token); fails when
   * the lease was lost meanwhile or the write matched no row (the lease is no longer ours).
   */
  private async leased(lease: Lease, write: (token: string) => Promise<boolean>): Promise<void> {
    if (lease.lost) throw lease.lost;
    if (!(await write(lease.token))) throw leaseLost(lease.id);
  }

  private async deleteLeased(lease: Lease): Promise<void> {
    await this.data.deleteLeased(lease.id, lease.token);
    lease.released = true;
  }

  // ---- bytes --------------------------------------------------------------------------------

  /**
   * Streams one chunk into the driver (hashing it when this node holds the running hash) and
   * commits the new offset and driver state under the lease (`release` gives the lease back in
   * the same statement). Returns the new offset.
   */
  private async writeChunk(
    lease: Lease,
    body: UploadBody,
    chunk: ChunkInfo,
    release: boolean,
  ): Promise<number> {
    const offset = lease.offset;
    let limit = chunk.length;
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
      if (limit !== undefined && limit !== rangeLength) {
        throw new RegistryError(
          'BLOB_UPLOAD_INVALID',
          'Content-Length does not match Content-Range',
          undefined,
          416,
        );
      }
      limit = rangeLength;
    }
    const hash: Hash | undefined =
      this.hashes.take(lease.id, offset, lease.algorithm) ??
      (offset === 0 ? createDigestHash(lease.algorithm) : undefined);
    let seen = 0;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const piece of body) {
        seen += piece.length;
        if (limit !== undefined && seen > limit) {
          throw new RegistryError('SIZE_INVALID', 'chunk is longer than its declared length');
        }
        hash?.update(piece);
        yield piece;
      }
    }
    const { state, written } = await this.storage.writeUpload(
      lease.id,
      lease.driverState,
      offset,
      counted(),
    );
    if (written !== seen || (limit !== undefined && seen !== limit)) {
      throw new RegistryError(
        'SIZE_INVALID',
        `received ${seen} bytes, expected ${limit ?? written}`,
      );
    }
    const newOffset = offset + written;
    // Check and advance: only on top of the offset this request started from.
    await this.leased(lease, (token) =>
      this.data.commitChunk(lease.id, token, offset, newOffset, state, release),
    );
    if (release) lease.released = true;
    lease.offset = newOffset;
    lease.driverState = state;
    if (hash) this.hashes.put(lease.id, lease.algorithm, newOffset, hash);
    return newOffset;
  }

  /** The digest of the upload's `size` bytes: the running hash, or one read of the stored bytes. */
  private async digestOf(lease: Lease, algorithm: DigestAlgorithm, size: number): Promise<string> {
    const running = this.hashes.take(lease.id, size, algorithm);
    if (running) return finishDigest(algorithm, running);
    const stream = await this.storage.readUpload(lease.id, lease.driverState, size);
    const { digest, size: read } = await digestOfStream(algorithm, stream);
    if (read !== size)
      throw new Error(`upload ${lease.id}: read ${read} stored bytes, expected ${size}`);
    return digest;
  }

  /** Drops a session whose bytes did not match: row and bytes go. */
  private async discard(lease: Lease): Promise<void> {
    await this.deleteLeased(lease);
    this.hashes.forget(lease.id);
    await this.storage.abortUpload(lease.id, lease.driverState).catch(() => undefined);
  }

  /**
   * Puts the verified bytes at their content address (or finds them there already), then records
   * the blob, links it into the repository and ends the session, in one transaction that holds
   * the blob row (see blobs.service.ts: the "already known" check is decided under that lock; our
   * own copy of the bytes is dropped only once it committed). `stateHint`: the blob's state when
   * the caller read it already (markPublishing does), else it is read here.
   */
  private async publish(
    lease: Lease,
    digest: string,
    size: number,
    done: { repo: RepoRef; actor: Actor },
    stateHint?: BlobState | null,
  ): Promise<{ digest: string; size: number }> {
    const state = stateHint === undefined ? await this.blobs.stateOf(digest) : stateHint;
    if (state === 'deleting') {
      // The session goes (a session left publishing would keep the digest in the collector's
      // root set until it expired); the client pushes the blob again.
      await this.discard(lease);
      throw blobBeingDeleted(digest);
    }
    let known = state !== null;
    if (!known) await this.commitBytes(lease, digest, size);
    await this.hooks.at('uploads.publish.checked');
    crashPoint('upload.published');
    try {
      try {
        await this.record(lease, digest, size, done);
      } catch (e) {
        if (!(e instanceof BytesGone)) throw e;
        // The blob we found recorded was collected meanwhile (or the collector removed bytes it
        // took for litter): publish our own copy if we still have it, else the client starts over.
        if (!known) throw blobBeingDeleted(digest);
        known = false;
        await this.commitBytes(lease, digest, size);
        await this.record(lease, digest, size, done);
      }
    } catch (e) {
      if ((e instanceof RegistryError && e.code === 'DENIED') || e instanceof BlobBeingDeleted) {
        // Over quota, or the blob is being collected: nothing was recorded, and the session goes
        // (one left publishing would keep the digest in the collector's root set until it
        // expired). Bytes it stored at the content address are collected as orphans.
        await this.discard(lease);
      }
      throw e;
    }
    lease.released = true;
    this.hashes.forget(lease.id);
    if (known) await this.storage.abortUpload(lease.id, lease.driverState).catch(() => undefined);
    return { digest, size };
  }

  /** Puts the upload's bytes at the blob's content address. */
  private async commitBytes(lease: Lease, digest: string, size: number): Promise<void> {
    try {
      await this.storage.commitUpload(lease.id, lease.driverState, digest, size);
    } catch (e) {
      // An earlier attempt may have published the bytes and died before recording them.
      const there = await this.storage.statBlob(digest).catch(() => null);
      if (there?.size !== size) throw e;
      await this.storage.abortUpload(lease.id, lease.driverState).catch(() => undefined);
    }
  }

  /**
   * Records the blob, links it into the repository and ends the session, in one transaction that
   * holds the blob row. A row this creates is checked against the store under that lock (the
   * collector deletes bytes only of a row it holds in state `deleting`, or of no row at all): a
   * blob is never recorded without its bytes. Throws BytesGone when they are missing.
   */
  private async record(
    lease: Lease,
    digest: string,
    size: number,
    done: { repo: RepoRef; actor: Actor },
  ): Promise<void> {
    const target = { repositoryId: lease.repositoryId, repository: done.repo.name, digest };
    await recordingQuotaRefusal(this.events, done.actor, target, () =>
      this.recordLinked(lease, digest, size, done),
    );
  }

  private async recordLinked(
    lease: Lease,
    digest: string,
    size: number,
    done: { repo: RepoRef; actor: Actor },
  ): Promise<void> {
    await this.events.transaction(async (m) => {
      if (await this.blobs.recordPublished(m, digest, size)) {
        const there = await this.storage.statBlob(digest);
        if (there?.size !== size) throw new BytesGone();
      }
      if (await this.blobs.link(m, lease.repositoryId, digest))
        await this.blobs.assertQuota(m, lease.repositoryId, digest);
      if (!(await this.data.deleteLeased(lease.id, lease.token, m))) throw leaseLost(lease.id);
      await this.events.record(
        m,
        event('blob.pushed', done.actor, {
          repositoryId: lease.repositoryId,
          repository: done.repo.name,
          digest,
          size,
        }),
      );
    });
  }

  /**
   * Completes an upload whose digest was verified by an earlier request that then failed
   * (typically a node dying between publishing the blob and recording it).
   */
  private async resumePublish(
    lease: Lease,
    expectedDigest: string,
    body: UploadBody | undefined,
    done: { repo: RepoRef; actor: Actor },
  ): Promise<{ digest: string; size: number }> {
    if (body) {
      for await (const piece of body) {
        if (piece.length) {
          throw new RegistryError(
            'BLOB_UPLOAD_INVALID',
            'this upload was already verified; complete it without a body',
          );
        }
      }
    }
    if (lease.publishingDigest !== expectedDigest) {
      await this.discard(lease);
      throw new RegistryError('DIGEST_INVALID', 'provided digest did not match uploaded content', {
        expected: expectedDigest,
        actual: lease.publishingDigest,
      });
    }
    return this.publish(lease, expectedDigest, lease.offset, done);
  }
}

/** The bytes of a blob about to be recorded are not in the store (see UploadsService.record). */
class BytesGone extends Error {}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

function isUuid(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
}

function slotKey(actor: RegistryActor): string {
  const userId = actorUserId(actor);
  return userId ? `user:${userId}` : `address:${actor.address ?? 'unknown'}`;
}

function unknownUpload(id: string): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { id });
}

function leaseLost(id: string): RegistryError {
  return new RegistryError(
    'BLOB_UPLOAD_INVALID',
    'the upload was interrupted (its lease was lost); check its status and resume',
    { id },
    416,
  );
}

function tooManySessions(message: string): RegistryError {
  return new RegistryError('TOOMANYREQUESTS', message, undefined, 429, { 'Retry-After': '60' });
}
