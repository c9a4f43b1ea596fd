import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention policies (src/retention/): one per repository, one default per namespace; a null
 * field is not set (a repository's null field inherits the namespace's). GC runs report what
 * retention deleted (`tags_deleted`; manifests go into `manifests_deleted`).
 */
export class Retention1764400000500 implements MigrationInterface {
  name = 'Retention1764400000500';

  async up(q: QueryRunner): Promise<void> {
    const fields = `keep_latest integer,
        keep_pattern text[],
        delete_not_pulled_for_days integer,
        delete_untagged_after_days integer,
        updated_at timestamptz NOT NULL DEFAULT now()`;
    await q.query(`
      CREATE TABLE repository_retention (
        repository_id uuid PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,
        ${fields}
      )`);
    await q.query(`
      CREATE TABLE namespace_retention (
        namespace varchar(255) COLLATE "C" PRIMARY KEY REFERENCES namespaces(name) ON DELETE CASCADE,
        ${fields}
      )`);
    await q.query(`ALTER TABLE gc_runs ADD COLUMN tags_deleted integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE gc_runs DROP COLUMN tags_deleted`);
    await q.query(`DROP TABLE namespace_retention`);
    await q.query(`DROP TABLE repository_retention`);
  }
}
