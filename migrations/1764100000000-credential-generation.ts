import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A user's credential generation: raised by every password change or reset. Registry tokens
 * issued with a password carry it, and remembered Basic verifications are tied to it, so both stop
 * working when the password changes.
 */
export class CredentialGeneration1764100000000 implements MigrationInterface {
  name = 'CredentialGeneration1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN credential_generation integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users DROP COLUMN IF EXISTS credential_generation`);
  }
}
