import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Online garbage collection (src/gc/gc.service.ts): when a blob entered its state (a candidate is
 * deleted only a grace period after it was queued), when a repository's link to a blob was last
 * relied on (a link no manifest references is removed only once it has been left alone for the
 * grace period), and the report of every run.
 */
export class GarbageCollection1764400000200 implements MigrationInterface {
  name = 'GarbageCollection1764400000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE blobs ADD COLUMN state_since timestamptz NOT NULL DEFAULT now()`);
    await q.query(
      `ALTER TABLE repository_blobs ADD COLUMN touched_at timestamptz NOT NULL DEFAULT now()`,
    );
    await q.query(
      `CREATE INDEX uploads_publishing ON uploads (publishing_digest) WHERE publishing_digest IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE gc_runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        dry_run boolean NOT NULL,
        trigger varchar(16) NOT NULL CHECK (trigger IN ('schedule', 'api')),
        manifests_deleted integer NOT NULL DEFAULT 0,
        links_deleted integer NOT NULL DEFAULT 0,
        blobs_queued integer NOT NULL DEFAULT 0,
        blobs_deleted integer NOT NULL DEFAULT 0,
        bytes_deleted bigint NOT NULL DEFAULT 0,
        uploads_deleted integer NOT NULL DEFAULT 0,
        errors jsonb NOT NULL DEFAULT '[]'
      )`);
    await q.query(`CREATE INDEX gc_runs_started ON gc_runs (started_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS gc_runs`);
    await q.query(`DROP INDEX IF EXISTS uploads_publishing`);
    await q.query(`ALTER TABLE repository_blobs DROP COLUMN IF EXISTS touched_at`);
    await q.query(`ALTER TABLE blobs DROP COLUMN IF EXISTS state_since`);
  }
}
