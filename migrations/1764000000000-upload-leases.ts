import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Upload sessions are written under short leases instead of a row lock held by an open
 * transaction; digests are computed in memory (or from the stored bytes), so the saved hash state
 * goes. Uploads of a deleted repository are kept (repository_id NULL) until the sweeper has removed
 * their bytes. Tags remember the digest algorithm they were pushed with. The catalog reads public
 * repositories through their own index.
 */
export class UploadLeases1764000000000 implements MigrationInterface {
  name = 'UploadLeases1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE uploads DROP COLUMN hash_state`);
    await q.query(`
      ALTER TABLE uploads
        ADD COLUMN lease_token uuid,
        ADD COLUMN lease_node integer,
        ADD COLUMN lease_expires_at timestamptz,
        ADD COLUMN publishing_digest varchar(150),
        ADD COLUMN created_by uuid REFERENCES users(id) ON DELETE SET NULL`);
    await q.query(`ALTER TABLE uploads ALTER COLUMN repository_id DROP NOT NULL`);
    await q.query(`ALTER TABLE uploads DROP CONSTRAINT uploads_repository_id_fkey`);
    await q.query(`
      ALTER TABLE uploads ADD CONSTRAINT uploads_repository_id_fkey
        FOREIGN KEY (repository_id) REFERENCES repositories(id) ON DELETE SET NULL`);
    await q.query(`CREATE INDEX uploads_repository ON uploads (repository_id)`);
    await q.query(`CREATE INDEX uploads_created_by ON uploads (created_by)`);
    await q.query(
      `CREATE INDEX uploads_orphaned ON uploads (updated_at) WHERE repository_id IS NULL`,
    );
    await q.query(`
      ALTER TABLE tags ADD COLUMN digest_algorithm varchar(8) NOT NULL DEFAULT 'sha256'
        CHECK (digest_algorithm IN ('sha256', 'sha512'))`);
    await q.query(
      `CREATE INDEX repositories_public ON repositories (name) WHERE visibility = 'public'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS repositories_public`);
    await q.query(`ALTER TABLE tags DROP COLUMN digest_algorithm`);
    await q.query(`DELETE FROM uploads WHERE repository_id IS NULL`);
    await q.query(`DROP INDEX IF EXISTS uploads_orphaned`);
    await q.query(`DROP INDEX IF EXISTS uploads_created_by`);
    await q.query(`DROP INDEX IF EXISTS uploads_repository`);
    await q.query(`ALTER TABLE uploads DROP CONSTRAINT uploads_repository_id_fkey`);
    await q.query(`
      ALTER TABLE uploads ADD CONSTRAINT uploads_repository_id_fkey
        FOREIGN KEY (repository_id) REFERENCES repositories(id) ON DELETE CASCADE`);
    await q.query(`ALTER TABLE uploads ALTER COLUMN repository_id SET NOT NULL`);
    await q.query(`
      ALTER TABLE uploads
        DROP COLUMN created_by, DROP COLUMN publishing_digest, DROP COLUMN lease_expires_at,
        DROP COLUMN lease_node, DROP COLUMN lease_token,
        ADD COLUMN hash_state bytea`);
  }
}
