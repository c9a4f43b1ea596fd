import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit log: one row per recorded event, written by AuditService's in-transaction subscriber
 * in the transaction of the change itself (so a change that rolls back leaves no row). Listed
 * newest first by (created_at, id); each filter of `GET /api/v1/audit` has an index ending in
 * those columns so that a page is a short index range scan (keyset pagination, never OFFSET).
 */
export class AuditLog1764400000000 implements MigrationInterface {
  name = 'AuditLog1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        event_id bigint NOT NULL,
        created_at timestamptz NOT NULL,
        action text COLLATE "C" NOT NULL,
        actor_kind varchar(16) NOT NULL,
        actor_id uuid,
        actor_name text COLLATE "C",
        credential varchar(16) NOT NULL,
        api_key_id uuid,
        client_address text,
        request_id text NOT NULL,
        namespace text COLLATE "C",
        repository text COLLATE "C",
        target text,
        details jsonb NOT NULL DEFAULT '{}'
      )`);
    await q.query(`CREATE UNIQUE INDEX audit_log_event ON audit_log (event_id)`);
    await q.query(`CREATE INDEX audit_log_time ON audit_log (created_at, id)`);
    await q.query(
      `CREATE INDEX audit_log_namespace ON audit_log (namespace, created_at, id) WHERE namespace IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX audit_log_repository ON audit_log (repository, created_at, id) WHERE repository IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX audit_log_actor_id ON audit_log (actor_id, created_at, id) WHERE actor_id IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX audit_log_actor_name ON audit_log (actor_name, created_at, id) WHERE actor_name IS NOT NULL`,
    );
    // COLLATE "C": `action LIKE 'manifest.%'` (a prefix filter) uses this index too.
    await q.query(`CREATE INDEX audit_log_action ON audit_log (action, created_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS audit_log`);
  }
}
