import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { type Actor, systemActor } from '../common/actor.js';
import { TestHooks } from '../common/test-hooks.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import {
  gcBlobsDeleted,
  gcBytesReclaimed,
  gcRunDuration,
  gcRuns,
} from '../observability/metrics.js';
import type { BlobState } from '../registry/blobs.data.js';
import { UploadsService } from '../registry/uploads.service.js';
import { RetentionService } from '../retention/retention.service.js';
import { STORAGE_DRIVER, type StorageDriver } from '../storage/storage-driver.js';
import {
  blobVerdict,
  emptyFigures,
  type GcFigures,
  noteError,
  scheduledRunDue,
} from './gc-rules.js';

/*
 * Online garbage collection: why a push, pull or mount racing a run on any node never loses bytes.
 *
 * What is kept (the root set). Manifests live in PostgreSQL only; blob bytes live in the store.
 * A blob is referenced while
 *   (a) a repository links it (`repository_blobs`),
 *   (b) a manifest references it (`manifest_references`, kind `blob`), or
 *   (c) an upload session is publishing it (`uploads.publishing_digest`, set before its bytes are
 *       put at the content address).
 * A manifest can only be put when every blob it references is linked into its repository, and
 * it keeps its repository's links: a link is removed only when no manifest of that repository
 * references the blob ("dangling") AND nobody relied on it for the grace period (`touched_at`:
 * set when the link is made, when an upload or mount makes it again, and by the registry's
 * HEAD/GET of the blob, at most every quarter grace period). Deleting a repository drops its
 * manifests and links (ON DELETE CASCADE) and orphans its upload sessions: everything of it
 * becomes unreferenced and goes the same way. Untagged manifests are kept unless a retention
 * policy deletes them (src/retention: each run applies retention first, deleting tags and
 * manifests through ordinary transactions that take the same locks as any delete); the blobs of
 * what it deleted are then unreferenced like any other.
 *
 * Blob states (`blobs.state`, with `state_since`; a gone blob has no row):
 *
 *     live ──(run: unreferenced)──▶ candidate ──(run: still unreferenced after the grace period)──▶ deleting ──▶ gone
 *       ▲                               │                                                   (bytes deleted, then row)
 *       └──(any writer relying on it, or a run finding it referenced)
 *
 * `deleting` reads as absent everywhere (pulls, manifest checks, mounts) and an upload of the
 * same bytes is refused with 503 until the row is gone; nothing ever moves a blob out of
 * `deleting` except its deletion. The transitions a run may take are `blobVerdict` (gc-rules.ts).
 *
 * Locks. Every write that relies on a link or a blob row holds `FOR KEY SHARE` on it until it
 * commits (ManifestsService.put and mounts through BlobsData.lockLinked; an upload's completion
 * through recordPublished and the link's foreign key); a HEAD's touch is an UPDATE of the link.
 * A run takes `FOR UPDATE SKIP LOCKED` on the rows it means to change (which conflicts with all
 * of these), and only then, in a NEW statement (READ COMMITTED: a fresh snapshot, which sees
 * everything committed before the lock was granted), re-checks the rule and writes. So for every
 * link or blob row, either the writer committed first (the run sees the reference and keeps the
 * row, or revives it), or the writer waits for the run and then finds the row gone or `deleting`
 * (the manifest PUT answers MANIFEST_BLOB_UNKNOWN, the mount falls back to an upload, the HEAD
 * answers 404, the upload answers 503 and the client retries): no write ever commits a
 * reference to bytes that are going away.
 *
 * The races the issue names:
 * - Blob uploaded (or mounted) just before its manifest: the upload/mount makes or touches the
 *   link in the transaction that records it; the link is not dangling-and-old for GC_GRACE_SECONDS.
 *   The manifest must come within the grace period (choose it longer than your longest push).
 * - HEAD then skip: a HEAD that finds the link promises it stays at least half the grace period
 *   G after the answer (the client skips the upload and puts its manifest later). The HEAD
 *   touches the link first (waiting for a run holding it; then the HEAD finds no link and answers
 *   404, so the client uploads). The touch writes `touched_at = now()` only when the mark is
 *   older than W = G/4 (BlobsData.touch): so after a touch statement whose `now()` is D, whoever
 *   wrote the mark, `touched_at ≥ D − W`, and a run (which removes the link only when
 *   `touched_at < now() − G` in its own statement, under the lock) cannot remove it before D + G − W.
 *   A warm HEAD sends no statement at all (BlobsService.requireInRepository, touch-leases.ts):
 *   - after its own touch statement found the link, a node skips the touch for L < W on its
 *     monotonic clock, read before that statement was sent (so at or before D). A HEAD answered
 *     from this lease at time t ≤ D + L therefore keeps its link until D + G − W ≥ t + G − W − L,
 *     which is more than t + G/2 with W = G/4 and L = 0.95 · W (the 5 % margin absorbs the
 *     drift between the node's clock and the database's, and the time from the check to the
 *     answer). Both sides only measure elapsed time, so clock offsets between node and database
 *     do not matter. The lease map is bounded (a dropped lease only costs a touch);
 *   - the size comes from the cache (CacheKeys.blobLink: only a link's existence is cached, and
 *     every removal of a link invalidates it after it committed: an unlink and this collector's
 *     `collectLinks` both record `blob.unlinked`; a deleted repository's id is never reached again
 *     because its name's facts are invalidated). A run cannot remove the link during the lease
 *     (above), so a stale entry can only come from an explicit delete racing the HEAD, as it
 *     always could; a manifest put after it checks the links under lock (MANIFEST_BLOB_UNKNOWN);
 *   - without a lease, the touch is sent; when it wrote, the link exists and the cache may answer
 *     the size; when it did not (the link is gone, or its mark is recent), PostgreSQL answers,
 *     because a run may have removed the link just before, its invalidation still on the way;
 *   - a cached size never outlives its blob's bytes: a blob becomes `deleting` only with no link
 *     left, and every link removal invalidated its key before. Should a node die between a
 *     removal's commit and its invalidation, the outbox relay of another node invalidates a
 *     minute later (RELAY_AFTER_SECONDS); a stale answer meanwhile is a 200 for a link that is
 *     gone (the manifest put is then refused, as above), never a lost byte.
 * - Manifest put while its blobs are collected: its links are held FOR KEY SHARE until it
 *   commits (see Locks); a blob with a link is never even a candidate.
 * - Blob re-pushed while its delete is in flight: the row is `deleting` until its bytes are gone,
 *   and the upload is refused (503) meanwhile. An upload that found the blob recorded and skipped
 *   storing its own copy, or stored its bytes while a run removed them, checks the store while it
 *   holds the new row (UploadsService.record): a blob row is created only with its bytes present,
 *   and once created, no run can delete them before it is unreferenced again. Bytes are deleted
 *   only of a row held `deleting` (or of bytes no row describes, after inserting a `deleting`
 *   row for them and re-checking that no upload is publishing them).
 * - Presigned URLs: a blob becomes a candidate only after its last link went; its bytes stay for
 *   the grace period after that, which must be at least S3_PRESIGN_EXPIRY_SECONDS (checked at
 *   start-up) so that a URL handed out while it was linked still works.
 *
 * Storage errors fail closed: a blob whose bytes could not be deleted stays `deleting` (absent)
 * and the next run tries again; a listing that fails stops that step. Rows are deleted only after
 * their bytes are. Upload bytes no session row describes are removed once older than
 * UPLOAD_TTL_SECONDS (a session is created right after its storage is, and expires after that).
 *
 * One run at a time in the whole cluster (a PostgreSQL advisory lock held on one connection for
 * the run; a node that dies releases it with its connection); every node tries every
 * GC_INTERVAL_SECONDS and runs when no collecting run started within that interval. Unlike
 * Distribution's mark-and-sweep, which walks the store without locks and so needs the registry
 * read-only, every decision here is taken under the row locks writers take, so the registry stays
 * online.
 */

/** Key of the advisory lock that makes runs exclusive across nodes ("aerugogc" in hex-ish). */
const GC_LOCK_KEY = '7306090567180773219';
/** Rows handled per statement. */
const BATCH = 200;
/** Storage listings read per call. */
const LISTING = 500;
/** Runs kept in gc_runs. */
const KEEP_RUNS = 200;

export interface GcRunOptions {
  dryRun: boolean;
  trigger: 'schedule' | 'api';
  actor: Actor;
}

export interface GcRunReport extends GcFigures {
  id: string;
  startedAt: Date;
  finishedAt: Date | null;
  dryRun: boolean;
  trigger: 'schedule' | 'api';
}

interface GcRunRow {
  id: string;
  started_at: Date;
  finished_at: Date | null;
  dry_run: boolean;
  trigger: 'schedule' | 'api';
  tags_deleted: number;
  manifests_deleted: number;
  links_deleted: number;
  blobs_queued: number;
  blobs_deleted: number;
  bytes_deleted: string;
  uploads_deleted: number;
  errors: string[];
}

function toReport(r: GcRunRow): GcRunReport {
  return {
    id: r.id,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    dryRun: r.dry_run,
    trigger: r.trigger,
    tagsDeleted: r.tags_deleted,
    manifestsDeleted: r.manifests_deleted,
    linksDeleted: r.links_deleted,
    blobsQueued: r.blobs_queued,
    blobsDeleted: r.blobs_deleted,
    bytesDeleted: Number(r.bytes_deleted),
    uploadsDeleted: r.uploads_deleted,
    errors: r.errors,
  };
}

/** A link no manifest of its repository references, untouched for the grace period. */
const DANGLING_LINK_SQL = `rb.touched_at < now() - make_interval(secs => $GRACE)
  AND NOT EXISTS (SELECT 1 FROM manifest_references r JOIN manifests m ON m.id = r.manifest_id
                   WHERE r.child_digest = rb.digest AND r.kind = 'blob' AND m.repository_id = rb.repository_id)`;

/** The blob `b` is in the root set. */
const REFERENCED_SQL = `(EXISTS (SELECT 1 FROM repository_blobs l WHERE l.digest = b.digest)
  OR EXISTS (SELECT 1 FROM manifest_references r WHERE r.child_digest = b.digest AND r.kind = 'blob')
  OR EXISTS (SELECT 1 FROM uploads u WHERE u.publishing_digest = b.digest))`;

/** Thrown inside a step when the store failed: the run stops that step (fail closed). */
class StoreFailed extends Error {}

@Injectable()
export class GcService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('GarbageCollection');
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(STORAGE_DRIVER) private readonly storage: StorageDriver,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly events: EventsService,
    private readonly uploads: UploadsService,
    private readonly hooks: TestHooks,
    private readonly retention: RetentionService,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.runScheduled(), this.config.gc.intervalSeconds * 1000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  private get grace(): number {
    return this.config.gc.graceSeconds;
  }

  /** The timer's run: skipped when another node is running or ran within the interval. */
  async runScheduled(): Promise<GcRunReport | null> {
    try {
      return await this.withLock(false, async () => {
        const [last]: { started_at: Date | null }[] = await this.db.query(
          `SELECT max(started_at) AS started_at FROM gc_runs WHERE NOT dry_run`,
        );
        if (!scheduledRunDue(last?.started_at ?? null, new Date(), this.config.gc.intervalSeconds))
          return null;
        return this.runLocked({ dryRun: false, trigger: 'schedule', actor: systemActor('gc') });
      });
    } catch (e) {
      this.logger.warn(`Scheduled garbage collection failed: ${(e as Error).message}`);
      return null;
    }
  }

  /** Runs now (waiting for a run elsewhere to end first) and returns the report. */
  async run(opts: GcRunOptions): Promise<GcRunReport> {
    const report = await this.withLock(true, () => this.runLocked(opts));
    return report!;
  }

  /** Recent runs, newest first. */
  async recent(limit: number): Promise<GcRunReport[]> {
    const rows: GcRunRow[] = await this.db.query(
      `SELECT * FROM gc_runs ORDER BY started_at DESC, id LIMIT $1`,
      [limit],
    );
    return rows.map(toReport);
  }

  /** Holds the cluster-wide advisory lock on a connection of its own while `fn` runs. */
  private async withLock<T>(wait: boolean, fn: () => Promise<T | null>): Promise<T | null> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      if (wait) await runner.query(`SELECT pg_advisory_lock($1)`, [GC_LOCK_KEY]);
      else {
        const [got]: { ok: boolean }[] = await runner.query(
          `SELECT pg_try_advisory_lock($1) AS ok`,
          [GC_LOCK_KEY],
        );
        if (!got.ok) return null;
      }
      try {
        return await fn();
      } finally {
        await runner.query(`SELECT pg_advisory_unlock($1)`, [GC_LOCK_KEY]).catch(() => undefined);
      }
    } finally {
      await runner.release();
    }
  }

  private async runLocked(opts: GcRunOptions): Promise<GcRunReport> {
    const started = process.hrtime.bigint();
    const [row]: { id: string; started_at: Date }[] = await this.db.query(
      `INSERT INTO gc_runs (dry_run, trigger) VALUES ($1, $2) RETURNING id, started_at`,
      [opts.dryRun, opts.trigger],
    );
    const figures = emptyFigures();
    const retention = async (): Promise<void> => {
      const r = await this.retention.applyAll(
        opts.dryRun,
        // Retention's deletes are the system's, whoever started the run (who did is in gc.completed).
        systemActor('retention'),
        () => this.stopped,
      );
      figures.tagsDeleted = r.tagsDeleted;
      figures.manifestsDeleted = r.manifestsDeleted;
      for (const e of r.errors) noteError(figures, e);
    };
    // Retention first: what it deletes becomes unreferenced for the steps after it (a dry run
    // surveys as if retention had not run: its blobs are only counted by a later run).
    const steps: [string, () => Promise<void>][] = opts.dryRun
      ? [
          ['retention', retention],
          ['survey', () => this.survey(figures)],
        ]
      : [
          ['retention', retention],
          ['uploads', () => this.collectUploads(figures)],
          ['links', () => this.collectLinks(figures, opts.actor)],
          ['queue', () => this.queueBlobs(figures)],
          ['blobs', () => this.deleteBlobs(figures, opts.actor)],
          ['orphans', () => this.collectOrphans(figures, opts.actor)],
        ];
    for (const [name, step] of steps) {
      if (this.stopped) break;
      try {
        await step();
      } catch (e) {
        noteError(figures, `${name}: ${(e as Error).message}`);
        // A failed store stops the run: nothing after it should act on a store that misbehaves.
        if (e instanceof StoreFailed) break;
      }
    }
    const finished = await this.events.transaction(async (m) => {
      const [rows]: [GcRunRow[], number] = await m.query(
        `UPDATE gc_runs SET finished_at = now(), manifests_deleted = $2, links_deleted = $3,
                blobs_queued = $4, blobs_deleted = $5, bytes_deleted = $6, uploads_deleted = $7,
                errors = $8, tags_deleted = $9
          WHERE id = $1 RETURNING *`,
        [
          row.id,
          figures.manifestsDeleted,
          figures.linksDeleted,
          figures.blobsQueued,
          figures.blobsDeleted,
          figures.bytesDeleted,
          figures.uploadsDeleted,
          JSON.stringify(figures.errors),
          figures.tagsDeleted,
        ],
      );
      await m.query(
        `DELETE FROM gc_runs WHERE id IN (SELECT id FROM gc_runs ORDER BY started_at DESC OFFSET $1)`,
        [KEEP_RUNS],
      );
      await this.events.record(
        m,
        event('gc.completed', opts.actor, {
          runId: row.id,
          dryRun: opts.dryRun,
          trigger: opts.trigger,
          tagsDeleted: figures.tagsDeleted,
          manifestsDeleted: figures.manifestsDeleted,
          linksDeleted: figures.linksDeleted,
          blobsQueued: figures.blobsQueued,
          blobsDeleted: figures.blobsDeleted,
          bytesDeleted: figures.bytesDeleted,
          uploadsDeleted: figures.uploadsDeleted,
          errors: figures.errors.length,
        }),
      );
      return rows[0];
    });
    const mode = opts.dryRun ? 'dry_run' : 'collect';
    gcRuns.inc({ mode, outcome: figures.errors.length ? 'error' : 'ok' });
    gcRunDuration.observe({ mode }, Number(process.hrtime.bigint() - started) / 1e9);
    if (!opts.dryRun && (figures.blobsDeleted || figures.linksDeleted || figures.errors.length)) {
      this.logger.log(
        `Garbage collection: ${figures.linksDeleted} link(s), ${figures.blobsDeleted} blob(s) ` +
          `(${figures.bytesDeleted} bytes), ${figures.uploadsDeleted} upload(s) deleted; ` +
          `${figures.blobsQueued} blob(s) queued; ${figures.errors.length} error(s)`,
      );
    }
    return toReport(finished);
  }

  /** A storage call; its failure stops the run (fail closed). */
  private async store<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw new StoreFailed(`storage ${what} failed: ${(e as Error).message}`);
    }
  }

  // ---- uploads ------------------------------------------------------------------------------

  /** Expired sessions (UploadsService.sweepExpired), then upload bytes no session describes. */
  private async collectUploads(f: GcFigures): Promise<void> {
    f.uploadsDeleted += await this.uploads.sweepExpired();
    for (const id of await this.leftoverUploads()) {
      await this.store('abort upload', () => this.storage.abortUpload(id, {}));
      f.uploadsDeleted++;
    }
  }

  /** Upload ids with bytes in the store, no session row, untouched for UPLOAD_TTL_SECONDS. */
  private async leftoverUploads(): Promise<string[]> {
    const out: string[] = [];
    const cutoff = Date.now() - this.config.uploadTtlSeconds * 1000;
    let after: string | undefined;
    for (;;) {
      const page = await this.store('list uploads', () => this.storage.listUploads(after, LISTING));
      if (!page.length) break;
      after = page[page.length - 1].uploadId;
      const old = page.filter((u) => u.modifiedAt.getTime() < cutoff).map((u) => u.uploadId);
      if (old.length) {
        const rows: { id: string }[] = await this.db.query(
          `SELECT id::text FROM uploads WHERE id = ANY($1::uuid[])`,
          [old],
        );
        const known = new Set(rows.map((r) => r.id));
        out.push(...old.filter((id) => !known.has(id)));
      }
      if (page.length < LISTING) break;
    }
    return out;
  }

  // ---- links --------------------------------------------------------------------------------

  /** Removes dangling links nobody relied on for the grace period (see the argument above). */
  private async collectLinks(f: GcFigures, actor: Actor): Promise<void> {
    const dangling = DANGLING_LINK_SQL.replaceAll('$GRACE', '$1');
    let after: [string, string] = ['00000000-0000-0000-0000-000000000000', ''];
    for (;;) {
      const page: { repository_id: string; digest: string }[] = await this.db.query(
        `SELECT rb.repository_id, rb.digest FROM repository_blobs rb
          WHERE (rb.repository_id, rb.digest) > ($2::uuid, $3::text) AND ${dangling}
          ORDER BY rb.repository_id, rb.digest LIMIT ${BATCH}`,
        [this.grace, ...after],
      );
      if (!page.length) return;
      const last = page[page.length - 1];
      after = [last.repository_id, last.digest];
      await this.hooks.at('gc.links.listed');
      f.linksDeleted += await this.events.transaction(async (m) => {
        const locked: { repository_id: string; digest: string }[] = await m.query(
          `SELECT rb.repository_id, rb.digest FROM repository_blobs rb
             JOIN unnest($1::uuid[], $2::text[]) AS t(repository_id, digest)
               ON rb.repository_id = t.repository_id AND rb.digest = t.digest
            FOR UPDATE OF rb SKIP LOCKED`,
          [page.map((p) => p.repository_id), page.map((p) => p.digest)],
        );
        if (!locked.length) return 0;
        // A new statement: it sees every manifest committed before the locks were granted.
        const [removed]: [{ repository_id: string; digest: string; name: string }[], number] =
          await m.query(
            `DELETE FROM repository_blobs rb USING repositories repo,
                    unnest($2::uuid[], $3::text[]) AS t(repository_id, digest)
              WHERE rb.repository_id = t.repository_id AND rb.digest = t.digest
                AND repo.id = rb.repository_id AND ${dangling}
              RETURNING rb.repository_id, rb.digest, repo.name`,
            [this.grace, locked.map((p) => p.repository_id), locked.map((p) => p.digest)],
          );
        for (const r of removed) {
          await this.events.record(
            m,
            event('blob.unlinked', actor, {
              repositoryId: r.repository_id,
              repository: r.name,
              digest: r.digest,
            }),
          );
        }
        return removed.length;
      });
      if (page.length < BATCH) return;
    }
  }

  // ---- blobs --------------------------------------------------------------------------------

  /**
   * The blobs among `digests` this transaction holds (FOR UPDATE, skipping rows a writer holds),
   * then, in a new statement, whether each is referenced.
   */
  private async lockBlobs(
    m: EntityManager,
    digests: string[],
    states: BlobState[],
  ): Promise<
    { digest: string; size: number; state: BlobState; referenced: boolean; age: number }[]
  > {
    const locked: { digest: string }[] = await m.query(
      `SELECT digest FROM blobs WHERE digest = ANY($1) AND state = ANY($2)
        ORDER BY digest FOR UPDATE SKIP LOCKED`,
      [digests, states],
    );
    if (!locked.length) return [];
    const rows: {
      digest: string;
      size: string;
      state: BlobState;
      referenced: boolean;
      age: number;
    }[] = await m.query(
      `SELECT b.digest, b.size, b.state, ${REFERENCED_SQL} AS referenced,
              extract(epoch FROM now() - b.state_since)::float8 AS age
         FROM blobs b WHERE b.digest = ANY($1)`,
      [locked.map((l) => l.digest)],
    );
    return rows.map((r) => ({ ...r, size: Number(r.size) }));
  }

  /** Live blobs outside the root set become candidates (their grace period starts). */
  private async queueBlobs(f: GcFigures): Promise<void> {
    let after = '';
    for (;;) {
      const page: { digest: string }[] = await this.db.query(
        `SELECT b.digest FROM blobs b WHERE b.state = 'live' AND b.digest > $1 AND NOT ${REFERENCED_SQL}
          ORDER BY b.digest LIMIT ${BATCH}`,
        [after],
      );
      if (!page.length) return;
      after = page[page.length - 1].digest;
      f.blobsQueued += await this.db.transaction(async (m) => {
        const rows = await this.lockBlobs(
          m,
          page.map((p) => p.digest),
          ['live'],
        );
        const queue = rows
          .filter(
            (r) =>
              blobVerdict(
                { state: r.state, referenced: r.referenced, stateAgeSeconds: r.age },
                this.grace,
              ) === 'queue',
          )
          .map((r) => r.digest);
        if (queue.length)
          await m.query(
            `UPDATE blobs SET state = 'candidate', state_since = now() WHERE digest = ANY($1)`,
            [queue],
          );
        return queue.length;
      });
      if (page.length < BATCH) return;
    }
  }

  /**
   * Candidates past their grace period and still unreferenced become `deleting` (referenced ones
   * are revived); then the bytes of every `deleting` blob are deleted, and after them its row.
   */
  private async deleteBlobs(f: GcFigures, actor: Actor): Promise<void> {
    let after = '';
    for (;;) {
      const page: { digest: string }[] = await this.db.query(
        `SELECT digest FROM blobs
          WHERE digest > $1 AND (state = 'deleting'
                 OR (state = 'candidate' AND state_since <= now() - make_interval(secs => $2)))
          ORDER BY digest LIMIT ${BATCH}`,
        [after, this.grace],
      );
      if (!page.length) return;
      after = page[page.length - 1].digest;
      const doomed = await this.db.transaction(async (m) => {
        const rows = await this.lockBlobs(
          m,
          page.map((p) => p.digest),
          ['candidate', 'deleting'],
        );
        const verdicts = rows.map((r) => ({
          ...r,
          verdict: blobVerdict(
            { state: r.state, referenced: r.referenced, stateAgeSeconds: r.age },
            this.grace,
          ),
        }));
        const revive = verdicts.filter((v) => v.verdict === 'revive').map((v) => v.digest);
        const doom = verdicts.filter((v) => v.verdict === 'delete');
        if (revive.length)
          await m.query(
            `UPDATE blobs SET state = 'live', state_since = now() WHERE digest = ANY($1)`,
            [revive],
          );
        const fresh = doom.filter((d) => d.state === 'candidate').map((d) => d.digest);
        if (fresh.length)
          await m.query(
            `UPDATE blobs SET state = 'deleting', state_since = now() WHERE digest = ANY($1)`,
            [fresh],
          );
        await this.hooks.at('gc.blobs.doomed');
        return doom;
      });
      // Committed: these read as absent now. Bytes first, then the row.
      for (const d of doomed) {
        await this.store('delete blob', () => this.storage.deleteBlob(d.digest));
        await this.forget(d.digest, 'unreferenced', f, actor);
      }
      if (page.length < BATCH) return;
    }
  }

  /** Deletes the row of a blob held `deleting` whose bytes are gone, with its event. */
  private async forget(
    digest: string,
    reason: 'unreferenced' | 'orphaned',
    f: GcFigures,
    actor: Actor,
  ): Promise<void> {
    const size = await this.events.transaction(async (m) => {
      const [gone]: [{ size: string }[], number] = await m.query(
        `DELETE FROM blobs WHERE digest = $1 AND state = 'deleting' RETURNING size`,
        [digest],
      );
      if (!gone.length) return null;
      const bytes = Number(gone[0].size);
      await this.events.record(m, event('blob.deleted', actor, { digest, size: bytes, reason }));
      return bytes;
    });
    if (size === null) return;
    f.blobsDeleted++;
    f.bytesDeleted += size;
    gcBlobsDeleted.inc();
    gcBytesReclaimed.inc(size);
  }

  /**
   * Bytes at a content address that no row describes (an upload that stored them and died before
   * recording them, or was refused because the blob was being deleted): a `deleting` row is
   * inserted for them, unless an upload is publishing that digest, and they go like any other.
   */
  private async collectOrphans(f: GcFigures, actor: Actor): Promise<void> {
    for (const o of await this.orphans()) {
      const claimed = await this.db
        .transaction(async (m) => {
          const inserted: unknown[] = await m.query(
            `INSERT INTO blobs (digest, size, state) VALUES ($1, $2, 'deleting')
           ON CONFLICT DO NOTHING RETURNING digest`,
            [o.digest, o.size],
          );
          if (!inserted.length) return false;
          // A new statement: sees every upload that started publishing before the row existed.
          const publishing: unknown[] = await m.query(
            `SELECT 1 FROM uploads WHERE publishing_digest = $1 LIMIT 1`,
            [o.digest],
          );
          if (publishing.length) throw new KeepOrphan();
          return true;
        })
        .catch((e: unknown) => {
          if (e instanceof KeepOrphan) return false;
          throw e;
        });
      if (!claimed) continue;
      await this.store('delete blob', () => this.storage.deleteBlob(o.digest));
      await this.forget(o.digest, 'orphaned', f, actor);
    }
  }

  /** Blobs in the store with no row and no upload publishing them. */
  private async orphans(): Promise<{ digest: string; size: number }[]> {
    const out: { digest: string; size: number }[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.store('list blobs', () => this.storage.listBlobs(after, LISTING));
      if (!page.length) break;
      after = page[page.length - 1].digest;
      const digests = page.map((p) => p.digest);
      const rows: { digest: string }[] = await this.db.query(
        `SELECT digest FROM blobs WHERE digest = ANY($1)
         UNION SELECT publishing_digest FROM uploads WHERE publishing_digest = ANY($1)`,
        [digests],
      );
      const known = new Set(rows.map((r) => r.digest));
      out.push(...page.filter((p) => !known.has(p.digest)));
      if (page.length < LISTING) break;
    }
    return out;
  }

  // ---- dry run ------------------------------------------------------------------------------

  /**
   * What a run would do now, changing nothing: links it would remove, blobs it would queue
   * (including those whose last links it would remove), blobs whose bytes it would delete (past
   * their grace period, left `deleting`, or orphaned) and upload leftovers.
   */
  private async survey(f: GcFigures): Promise<void> {
    const dangling = DANGLING_LINK_SQL.replaceAll('$GRACE', '$1');
    const [counts]: {
      links: string;
      queued: string;
      doomed: string;
      bytes: string | null;
      sessions: string;
    }[] = await this.db.query(
      `WITH gone AS (SELECT rb.repository_id, rb.digest FROM repository_blobs rb WHERE ${dangling}),
            doomed AS (SELECT b.digest, b.size FROM blobs b
                        WHERE b.state = 'deleting'
                           OR (b.state = 'candidate' AND b.state_since <= now() - make_interval(secs => $1)
                               AND NOT ${REFERENCED_SQL}))
       SELECT (SELECT count(*) FROM gone) AS links,
              (SELECT count(*) FROM blobs b WHERE b.state = 'live'
                 AND NOT EXISTS (SELECT 1 FROM repository_blobs l WHERE l.digest = b.digest
                                    AND (l.repository_id, l.digest) NOT IN (SELECT * FROM gone))
                 AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.child_digest = b.digest AND r.kind = 'blob')
                 AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.publishing_digest = b.digest)) AS queued,
              (SELECT count(*) FROM doomed) AS doomed,
              (SELECT sum(size) FROM doomed) AS bytes,
              (SELECT count(*) FROM uploads u WHERE u.repository_id IS NULL
                  OR u.updated_at < now() - make_interval(secs => $2)) AS sessions`,
      [this.grace, this.config.uploadTtlSeconds],
    );
    f.linksDeleted = Number(counts.links);
    f.blobsQueued = Number(counts.queued);
    f.blobsDeleted = Number(counts.doomed);
    f.bytesDeleted = Number(counts.bytes ?? 0);
    f.uploadsDeleted = Number(counts.sessions);
    try {
      f.uploadsDeleted += (await this.leftoverUploads()).length;
      for (const o of await this.orphans()) {
        f.blobsDeleted++;
        f.bytesDeleted += o.size;
      }
    } catch (e) {
      noteError(f, (e as Error).message);
    }
  }
}

/** An orphan's digest turned out to be published right now: leave it to its upload. */
class KeepOrphan extends Error {}
