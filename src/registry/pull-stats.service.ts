import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnModuleInit,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { pullStatsFlushes, pullStatsPending } from '../observability/metrics.js';

/** Pulls of one repository (tag '') or one tag counted since the last flush. */
interface Pending {
  repositoryId: string;
  tag: string;
  count: number;
  /** Milliseconds since the epoch of the latest pull. */
  last: number;
}

/** Pull counts and last pull time of a repository or a tag. */
export interface PullFigures {
  pullCount: number;
  lastPulledAt: Date | null;
}

const NONE: PullFigures = { pullCount: 0, lastPulledAt: null };

/** Rows written by one statement of a flush. */
const FLUSH_BATCH = 1000;

/**
 * Pull statistics (manifest GETs) per repository and per tag, without a database write on the
 * pull path: `record` adds to a map in memory, and every PULL_STATS_FLUSH_SECONDS (default 5) the
 * map is swapped for an empty one and written in batches of upserts (adding counts, keeping the
 * latest time), ordered by key so that nodes flushing together never deadlock. A flush that fails
 * puts its counts back for the next one; a node that stops cleanly flushes before closing its
 * database pool. A node killed outright loses at most the pulls of its last interval (or, while
 * PostgreSQL is unreachable, those since its last successful flush).
 */
@Injectable()
export class PullStatsService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('PullStats');
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private lastWarning = 0;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.config.pullStatsFlushSeconds * 1000);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.logger.debug(`flushing ${this.pending.size} pull count(s) before stopping`);
    await this.flush();
  }

  /** Counts one pull of the repository, and of the tag when it was pulled by tag. */
  record(repositoryId: string, tag: string | undefined, now = Date.now()): void {
    this.add(repositoryId, '', 1, now);
    if (tag !== undefined) this.add(repositoryId, tag, 1, now);
  }

  private add(repositoryId: string, tag: string, count: number, last: number): void {
    const key = `${repositoryId}\n${tag}`;
    const p = this.pending.get(key);
    if (p) {
      p.count += count;
      if (last > p.last) p.last = last;
    } else {
      this.pending.set(key, { repositoryId, tag, count, last });
      pullStatsPending.set(this.pending.size);
    }
  }

  /** Writes what was counted so far (waits for a flush already under way first). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (!this.pending.size) return;
    const batch = [...this.pending.values()].sort((a, b) =>
      a.repositoryId === b.repositoryId
        ? a.tag < b.tag
          ? -1
          : a.tag > b.tag
            ? 1
            : 0
        : a.repositoryId < b.repositoryId
          ? -1
          : 1,
    );
    this.pending = new Map();
    pullStatsPending.set(0);
    this.flushing = this.write(batch).finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async write(batch: Pending[]): Promise<void> {
    for (let i = 0; i < batch.length; i += FLUSH_BATCH) {
      const part = batch.slice(i, i + FLUSH_BATCH);
      try {
        // Rows of repositories deleted meanwhile are skipped by the join.
        await this.db.query(
          `INSERT INTO pull_stats (repository_id, tag, pull_count, last_pulled_at)
           SELECT v.id, v.tag, v.n, v.t
             FROM unnest($1::uuid[], $2::varchar[], $3::bigint[], $4::timestamptz[]) AS v(id, tag, n, t)
             JOIN repositories r ON r.id = v.id
           ON CONFLICT (repository_id, tag) DO UPDATE
             SET pull_count = pull_stats.pull_count + EXCLUDED.pull_count,
                 last_pulled_at = GREATEST(pull_stats.last_pulled_at, EXCLUDED.last_pulled_at)`,
          [
            part.map((p) => p.repositoryId),
            part.map((p) => p.tag),
            part.map((p) => p.count),
            part.map((p) => new Date(p.last)),
          ],
        );
        pullStatsFlushes.inc({ outcome: 'ok' });
      } catch (e) {
        pullStatsFlushes.inc({ outcome: 'error' });
        for (const p of batch.slice(i)) this.add(p.repositoryId, p.tag, p.count, p.last);
        if (Date.now() - this.lastWarning > 60_000) {
          this.lastWarning = Date.now();
          const why = e instanceof Error ? e.message : String(e);
          this.logger.warn(`pull counts not written (${why}); kept for the next flush`);
        }
        return;
      }
    }
  }

  /** The written figures of a repository and of the given tags (pulls not flushed yet excluded). */
  async figures(
    repositoryId: string,
    tags: string[],
  ): Promise<{ repository: PullFigures; tags: Map<string, PullFigures> }> {
    const rows: { tag: string; pull_count: string; last_pulled_at: Date }[] = await this.db.query(
      `SELECT tag, pull_count, last_pulled_at FROM pull_stats
        WHERE repository_id = $1 AND tag = ANY($2::varchar[])`,
      [repositoryId, ['', ...tags]],
    );
    const byTag = new Map<string, PullFigures>();
    for (const r of rows)
      byTag.set(r.tag, { pullCount: Number(r.pull_count), lastPulledAt: r.last_pulled_at });
    const out = new Map<string, PullFigures>();
    for (const t of tags) out.set(t, byTag.get(t) ?? NONE);
    return { repository: byTag.get('') ?? NONE, tags: out };
  }
}
