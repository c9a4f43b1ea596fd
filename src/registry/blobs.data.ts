import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { quotaRefusal } from '../quotas/quota-rules.js';
import { RegistryError } from './errors.js';
import { touchWindowSeconds } from './touch-leases.js';
import { QuotaRefusedError } from './quota-refusal.js';

export type BlobState = 'live' | 'candidate' | 'deleting';

/**
 * The SQL of blobs and their links, in one place, enforcing the lifecycle written down at the top
 * of blobs.service.ts. Every read a write relies on takes `FOR KEY SHARE` on the rows it found
 * (the blob row, and the link row where the link is the reason): that lock lets other readers and
 * pushes through, but blocks a DELETE of the row and the collector's `FOR UPDATE` until the
 * reader's transaction ends. A reader that finds a `candidate` revives it (sets it `live`) in
 * the same transaction; a `deleting` blob reads as absent.
 */
@Injectable()
export class BlobsData {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Revives candidates among `digests` (the caller holds their key-share locks). */
  private async revive(m: EntityManager, digests: string[]): Promise<void> {
    if (digests.length)
      await m.query(
        `UPDATE blobs SET state = 'live' WHERE digest = ANY($1) AND state = 'candidate'`,
        [digests],
      );
  }

  /**
   * Marks the repository's link to the blob as just relied on, so that the collector leaves it a
   * while more (a client that found the blob with HEAD then skips uploading it and puts its
   * manifest). Writes only when the mark is older than the touch window (a quarter of the grace
   * period, see touch-leases.ts), so a link read again and again costs one write per window;
   * either way the link's mark is at most that old afterwards. Runs before the read that answers
   * the client: when the collector holds the link, this waits, and the read then finds it gone.
   * True when it wrote (the link exists), false when the link is absent or was marked recently.
   */
  async touch(repositoryId: string, digest: string): Promise<boolean> {
    const [, count]: [unknown[], number] = await this.db.query(
      `UPDATE repository_blobs SET touched_at = now()
        WHERE repository_id = $1 AND digest = $2
          AND touched_at < now() - make_interval(secs => $3)`,
      [repositoryId, digest, touchWindowSeconds(this.config.gc.graceSeconds)],
    );
    return count > 0;
  }

  /** Size of a blob linked into the repository (no lock: for reads that write nothing). */
  async sizeInRepository(repositoryId: string, digest: string): Promise<number | null> {
    const rows: { size: string }[] = await this.db.query(
      `SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
        WHERE rb.repository_id = $1 AND rb.digest = $2 AND b.state <> 'deleting'`,
      [repositoryId, digest],
    );
    return rows.length ? Number(rows[0].size) : null;
  }

  /**
   * The blobs among `digests` linked into the repository, with their sizes; locks each link and
   * blob row found until the transaction ends (ManifestsService.put's check, a mount's source).
   */
  async lockLinked(
    m: EntityManager,
    repositoryId: string,
    digests: string[],
  ): Promise<Map<string, number>> {
    const rows: { digest: string; size: string; state: BlobState }[] = await m.query(
      `SELECT rb.digest, b.size, b.state FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
        WHERE rb.repository_id = $1 AND rb.digest = ANY($2) AND b.state <> 'deleting'
        ORDER BY rb.digest FOR KEY SHARE OF rb, b`,
      [repositoryId, digests],
    );
    await this.revive(
      m,
      rows.filter((r) => r.state === 'candidate').map((r) => r.digest),
    );
    return new Map(rows.map((r) => [r.digest, Number(r.size)]));
  }

  /** Repositories (other than `except`) holding the blob, at most 100 (mounts without a source). */
  async holders(digest: string, except: string): Promise<string[]> {
    const rows: { repository_id: string }[] = await this.db.query(
      `SELECT rb.repository_id FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
        WHERE rb.digest = $1 AND rb.repository_id <> $2 AND b.state <> 'deleting' LIMIT 100`,
      [digest, except],
    );
    return rows.map((r) => r.repository_id);
  }

  /** The blob's state, or null when it is gone (an unlocked hint: publish decides under lock). */
  async stateOf(digest: string): Promise<BlobState | null> {
    const rows: { state: BlobState }[] = await this.db.query(
      `SELECT state FROM blobs WHERE digest = $1`,
      [digest],
    );
    return rows[0]?.state ?? null;
  }

  /**
   * Records a published blob (or finds it recorded) and locks its row until the transaction ends;
   * a candidate is revived. Refuses a blob being deleted: its bytes may be going away under it.
   * True when this call created the row: the caller must then make sure the bytes are there while
   * it holds the lock (a row that existed is live or a candidate, whose bytes are there).
   */
  async recordPublished(m: EntityManager, digest: string, size: number): Promise<boolean> {
    const inserted: unknown[] = await m.query(
      `INSERT INTO blobs (digest, size) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING digest`,
      [digest, size],
    );
    if (inserted.length) return true;
    const rows: { state: BlobState }[] = await m.query(
      `SELECT state FROM blobs WHERE digest = $1 FOR KEY SHARE`,
      [digest],
    );
    if (!rows.length || rows[0].state === 'deleting') throw blobBeingDeleted(digest);
    if (rows[0].state === 'candidate') await this.revive(m, [digest]);
    return false;
  }

  /**
   * Links the blob into the repository (the caller holds the blob row's lock); idempotent. A link
   * that exists is marked as just relied on (see touch). True when the link is new.
   */
  async link(m: EntityManager, repositoryId: string, digest: string): Promise<boolean> {
    const rows: { inserted: boolean }[] = await m.query(
      `INSERT INTO repository_blobs (repository_id, digest) VALUES ($1, $2)
       ON CONFLICT (repository_id, digest) DO UPDATE SET touched_at = now()
       RETURNING (xmax = 0) AS inserted`,
      [repositoryId, digest],
    );
    return rows[0]?.inserted ?? false;
  }

  /**
   * Refuses (DENIED) a link just added when it takes its namespace past its quota. The usage was
   * raised by the link's trigger in this transaction, which holds the namespace row until commit:
   * concurrent pushes into one namespace are checked one after the other, so none overshoots.
   */
  async assertQuota(m: EntityManager, repositoryId: string, digest: string): Promise<void> {
    const rows: {
      namespace: string;
      usage: string;
      quota: string | null;
      links: number;
      size: string;
    }[] = await m.query(
      `SELECT n.name AS namespace, n.usage_bytes AS usage, n.quota_bytes AS quota, nb.links, b.size
         FROM repositories r JOIN namespaces n ON n.name = r.namespace
         JOIN namespace_blobs nb ON nb.namespace = n.name AND nb.digest = $2
         JOIN blobs b ON b.digest = $2
        WHERE r.id = $1`,
      [repositoryId, digest],
    );
    const r = rows[0];
    if (!r) return;
    const refusal = quotaRefusal({
      namespace: r.namespace,
      usage: Number(r.usage),
      quota: r.quota === null ? null : Number(r.quota),
      size: Number(r.size),
      newToNamespace: r.links === 1,
    });
    if (refusal)
      throw new QuotaRefusedError(refusal, {
        namespace: r.namespace,
        usage: Number(r.usage) - Number(r.size),
        size: Number(r.size),
        quota: Number(r.quota),
      });
  }

  /** Removes the link; false when there was none. */
  async unlink(m: EntityManager, repositoryId: string, digest: string): Promise<boolean> {
    const res: [unknown[], number] = await m.query(
      `DELETE FROM repository_blobs WHERE repository_id = $1 AND digest = $2`,
      [repositoryId, digest],
    );
    return res[1] > 0;
  }
}

/** A push racing the collection of the same blob: the client pushes it again once it is gone. */
export class BlobBeingDeleted extends RegistryError {
  constructor(digest: string) {
    super(
      'UNAVAILABLE',
      'this blob is being garbage-collected; push it again in a moment',
      { digest },
      503,
      { 'Retry-After': '5' },
    );
  }
}

export function blobBeingDeleted(digest: string): RegistryError {
  return new BlobBeingDeleted(digest);
}
