import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Where a session was last used from, for `GET /api/v1/auth/sessions`. */
export class SessionClients1763830000001 implements MigrationInterface {
  name = 'SessionClients1763830000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE auth_sessions
        ADD COLUMN user_agent varchar(512),
        ADD COLUMN client_address varchar(64)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE auth_sessions DROP COLUMN IF EXISTS user_agent, DROP COLUMN IF EXISTS client_address`);
  }
}
