import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Repository creator teams: the members of a team with `can_create_repositories` may create
 * repositories in its organization (by pushing or through the API) without being its owners or
 * admins; the creator gets an admin grant on what they create.
 */
export class RepositoryCreators1764400000301 implements MigrationInterface {
  name = 'RepositoryCreators1764400000301';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE teams ADD COLUMN can_create_repositories boolean NOT NULL DEFAULT false`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE teams DROP COLUMN IF EXISTS can_create_repositories`);
  }
}
