import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { CacheKeys } from '../cache/cache-keys.js';
import { CacheService } from '../cache/cache.service.js';
import type { Actor } from '../common/actor.js';
import { TestHooks } from '../common/test-hooks.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import type { UserSubject } from '../repos/permissions.js';
import { RepoAccessService } from '../repos/repo-access.service.js';
import { ReposService } from '../repos/repos.service.js';
import { STORAGE_DRIVER, type ByteRange, type StorageDriver } from '../storage/storage-driver.js';
import { BlobsData } from './blobs.data.js';
import { RegistryError } from './errors.js';
import { recordingQuotaRefusal } from './quota-refusal.js';
import type { RepoRef } from './manifests.service.js';
import { leaseMs, TouchLeases } from './touch-leases.js';

/*
 * What makes a blob live, and who may delete its bytes.
 *
 * States (column `blobs.state`; "gone" is the absence of the row):
 *
 *     live ──(collector: unreferenced)──▶ candidate ──(collector, FOR UPDATE)──▶ deleting ──▶ gone
 *       ▲                                    │
 *       └──────(any reader touching it)──────┘
 *
 * - live: readers and writers use it freely.
 * - candidate: the collector found it outside the root set; it is still served, and any write
 *   that relies on it (a manifest referencing it, a mount, an upload of the same bytes) revives it
 *   to live in its own transaction.
 * - deleting: the collector has committed to removing the bytes. It reads as absent everywhere
 *   (pulls, manifest checks, mounts); an upload of the same digest is refused with 503 until it is
 *   gone, because its bytes could vanish under it. Only the collector moves a blob on from here:
 *   it deletes the bytes (StorageDriver.deleteBlob), then the row.
 *
 * Root set: a blob stays live while a repository links it (`repository_blobs`) or a manifest
 * references it (`manifest_references`), or an upload session is publishing it
 * (`uploads.publishing_digest`). Only unreferenced blobs may become candidates.
 *
 * Locks (each write holds them until it commits; see BlobsData):
 * - A write that relies on a blob existing takes FOR KEY SHARE on the blob row and, where a link
 *   is its reason, the link row: ManifestsService.put (the blobs a manifest references must be
 *   linked into its repository), BlobsService.mount (the blob in the source repository) and the
 *   completion of an upload (the "already known" check, BlobsData.recordPublished). Inserting a
 *   link takes the same lock through its foreign key.
 * - Unlink deletes the link row: it waits for every such reader of that link.
 * - The collector moves candidate → deleting with `SELECT … FOR UPDATE` on the blob row (which
 *   conflicts with FOR KEY SHARE) and re-checks the root set under it, so a reader either
 *   committed its reference first (the collector sees it and leaves the blob) or comes after and
 *   finds the blob deleting (absent).
 *
 * The collector (src/gc/gc.service.ts) writes down the whole safety argument, including how a
 * repository's links to blobs no manifest references are removed.
 */
@Injectable()
export class BlobsService implements OnModuleInit {
  /** This node's recent touches of links (see requireInRepository). */
  readonly leases: TouchLeases;

  constructor(
    @Inject(STORAGE_DRIVER) private readonly storage: StorageDriver,
    private readonly repos: ReposService,
    private readonly access: RepoAccessService,
    private readonly data: BlobsData,
    private readonly events: EventsService,
    private readonly hooks: TestHooks,
    private readonly cache: CacheService,
    private readonly keys: CacheKeys,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.leases = new TouchLeases(leaseMs(config.gc.graceSeconds));
  }

  /**
   * A link's cached size is forgotten when the link is removed: by `DELETE /v2/<name>/blobs/…`
   * and by the collector, which both record `blob.unlinked`. (A deleted repository's links go with
   * it: its name's facts are invalidated, and its id is never used again.)
   */
  onModuleInit(): void {
    this.events.on('blob.unlinked', ({ payload: p }) =>
      this.cache.invalidate(this.keys.blobLink(p.repositoryId, p.digest)),
    );
  }

  /** Size of a blob linked into the repository, or null when the repository cannot see it. */
  sizeInRepository(repositoryId: string, digest: string): Promise<number | null> {
    return this.data.sizeInRepository(repositoryId, digest);
  }

  /**
   * The registry's `HEAD`/`GET` of a blob: marks the link as relied on first (a client that finds
   * the blob may skip uploading it and put a manifest referencing it; see BlobsData.touch), then
   * answers its size. Warm, it costs no database round trip:
   * - the touch is skipped while this node holds a lease on the link (its own touch, less than a
   *   quarter of the grace period ago, found the link: the link then stays at least half a grace
   *   period after this answer whatever happens meanwhile, see touch-leases.ts and
   *   src/gc/gc.service.ts);
   * - the size comes from the cache (`CacheKeys.blobLink`, invalidated by every removal of the
   *   link), except right after a touch that did not write: the link may then be gone (a run
   *   that held it deleted it, and its invalidation may not have landed yet), so PostgreSQL
   *   answers.
   */
  async requireInRepository(repositoryId: string, digest: string): Promise<number> {
    const lease = `${repositoryId} ${digest}`;
    const now = this.leases.clock();
    let size: number | null;
    if (this.leases.holds(lease, now)) {
      size = await this.cachedSize(repositoryId, digest);
      if (size === null) this.leases.drop(lease);
    } else {
      const wrote = await this.data.touch(repositoryId, digest);
      size = wrote
        ? await this.cachedSize(repositoryId, digest)
        : await this.sizeInRepository(repositoryId, digest);
      if (size !== null) this.leases.grant(lease, now);
    }
    if (size === null)
      throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
    return size;
  }

  /** The size of a linked blob through the cache ("not linked" is never cached). */
  private cachedSize(repositoryId: string, digest: string): Promise<number | null> {
    return this.cache.getOrLoad(this.keys.blobLink(repositoryId, digest), () =>
      this.sizeInRepository(repositoryId, digest),
    );
  }

  /**
   * The mount decision of `POST /v2/<name>/blobs/uploads/?mount=…[&from=…]`: with a source the
   * caller may pull (`sourceAllowed`, decided by the access guard), from there; without one, from
   * any repository holding the blob that the caller may see. False when nothing was mounted (the
   * client then gets an ordinary upload session).
   */
  async mountFor(
    repo: RepoRef,
    digest: string,
    from: string | undefined,
    sourceAllowed: boolean,
    subject: UserSubject | null,
    actor: Actor,
  ): Promise<boolean> {
    if (from !== undefined) {
      const source = sourceAllowed ? await this.repos.findByName(from) : null;
      return !!source && this.mount(repo, source.id, digest, actor);
    }
    return this.mountVisible(repo, digest, subject, actor);
  }

  /** Makes a blob that `fromRepositoryId` can see visible in `repo` too, without copying. */
  async mount(
    repo: RepoRef,
    fromRepositoryId: string,
    digest: string,
    actor: Actor,
  ): Promise<boolean> {
    const target = { repositoryId: repo.id, repository: repo.name, digest };
    return recordingQuotaRefusal(this.events, actor, target, () =>
      this.linkMounted(repo, fromRepositoryId, digest, actor),
    );
  }

  private linkMounted(
    repo: RepoRef,
    fromRepositoryId: string,
    digest: string,
    actor: Actor,
  ): Promise<boolean> {
    return this.events.transaction(async (m) => {
      // The source's link and the blob stay put until the new link is committed.
      if (!(await this.data.lockLinked(m, fromRepositoryId, [digest])).has(digest)) return false;
      await this.hooks.at('blobs.mount.locked');
      if (await this.data.link(m, repo.id, digest)) await this.data.assertQuota(m, repo.id, digest);
      await this.events.record(
        m,
        event('blob.mounted', actor, {
          repositoryId: repo.id,
          repository: repo.name,
          digest,
          fromRepositoryId,
        }),
      );
      return true;
    });
  }

  /**
   * Mounts a blob without a named source (`?mount=` without `from`): when one of the repositories
   * holding it is visible to the caller, the blob is linked here too. A blob held only where the
   * caller cannot read is never mounted, so knowing a digest grants nothing.
   */
  private async mountVisible(
    repo: RepoRef,
    digest: string,
    subject: UserSubject | null,
    actor: Actor,
  ): Promise<boolean> {
    const holders = await this.data.holders(digest, repo.id);
    if (!holders.length) return false;
    const scope = await this.access.visibilityScope(subject);
    for (const source of await this.repos.visibleAmong(scope, holders))
      if (await this.mount(repo, source, digest, actor)) return true;
    return false;
  }

  /** Removes the blob from the repository. Its bytes stay until garbage collection. */
  async unlink(repo: RepoRef, digest: string, actor: Actor): Promise<void> {
    const removed = await this.events.transaction(async (m) => {
      if (!(await this.data.unlink(m, repo.id, digest))) return false;
      await this.events.record(
        m,
        event('blob.unlinked', actor, { repositoryId: repo.id, repository: repo.name, digest }),
      );
      return true;
    });
    if (!removed) throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
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
