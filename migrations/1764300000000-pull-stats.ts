import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Pull counts and last pull times, per repository (tag '') and per tag name, written in batches
 * by PullStatsService (never on the pull path). A tag's row outlives the tag: a tag deleted and
 * pushed again continues its count.
 */
export class PullStats1764300000000 implements MigrationInterface {
  name = 'PullStats1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE pull_stats (
        repository_id uuid NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        tag varchar(128) NOT NULL,
        pull_count bigint NOT NULL DEFAULT 0,
        last_pulled_at timestamptz NOT NULL,
        PRIMARY KEY (repository_id, tag)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS pull_stats`);
  }
}
