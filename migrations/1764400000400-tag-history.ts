import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tag history and immutable tag patterns (src/registry/tag-history.service.ts, tag-rules.ts).
 * A history row is written in the transaction of the tag change it records (an in-transaction
 * subscriber of manifest.pushed, tag.deleted and manifest.deleted), so it exists if and only if
 * the change committed. Both go with their repository.
 */
export class TagHistory1764400000400 implements MigrationInterface {
  name = 'TagHistory1764400000400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tag_history (
        id bigserial PRIMARY KEY,
        repository_id uuid NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        tag varchar(128) NOT NULL,
        action varchar(8) NOT NULL,
        old_digest text,
        new_digest text,
        actor_kind varchar(16) NOT NULL,
        actor_name text,
        request_id text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX tag_history_tag ON tag_history (repository_id, tag, id DESC)`);
    await q.query(`
      CREATE TABLE immutable_tag_patterns (
        repository_id uuid NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        pattern varchar(128) NOT NULL,
        position integer NOT NULL,
        PRIMARY KEY (repository_id, pattern)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE immutable_tag_patterns`);
    await q.query(`DROP TABLE tag_history`);
  }
}
