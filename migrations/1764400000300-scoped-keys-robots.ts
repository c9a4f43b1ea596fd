import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scoped API keys and robot accounts.
 *
 * - `api_keys.actions`: what the key may do (`pull`, `push`, `delete`, `api` for the management
 *   API); existing keys get all four, so they keep working as full-scope keys.
 * - `api_keys.repositories`: repository names or patterns the key is limited to; NULL is every
 *   repository.
 * - `robots`: machine accounts of a namespace (a user's or an organization's), shown as
 *   `<namespace>+<name>`, with their grants (`[{repository, level}]`, full names or patterns
 *   inside the namespace). A robot's credential is an API key row with `robot_id` set instead of
 *   `user_id`; deleting the robot or its namespace deletes the key.
 */
export class ScopedKeysRobots1764400000300 implements MigrationInterface {
  name = 'ScopedKeysRobots1764400000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE robots (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        namespace varchar(255) COLLATE "C" NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
        name varchar(64) COLLATE "C" NOT NULL,
        description varchar(1024),
        grants jsonb NOT NULL DEFAULT '[]',
        disabled boolean NOT NULL DEFAULT false,
        expires_at timestamptz,
        created_by uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (namespace, name)
      )`);
    await q.query(`
      ALTER TABLE api_keys
        ALTER COLUMN user_id DROP NOT NULL,
        ADD COLUMN robot_id uuid REFERENCES robots(id) ON DELETE CASCADE,
        ADD COLUMN actions text[] NOT NULL DEFAULT '{pull,push,delete,api}',
        ADD COLUMN repositories text[],
        ADD CONSTRAINT api_keys_one_owner CHECK ((user_id IS NULL) <> (robot_id IS NULL))`);
    await q.query(`CREATE INDEX api_keys_robot ON api_keys (robot_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM api_keys WHERE robot_id IS NOT NULL`);
    await q.query(`
      ALTER TABLE api_keys
        DROP CONSTRAINT IF EXISTS api_keys_one_owner,
        DROP COLUMN IF EXISTS repositories,
        DROP COLUMN IF EXISTS actions,
        DROP COLUMN IF EXISTS robot_id,
        ALTER COLUMN user_id SET NOT NULL`);
    await q.query(`DROP TABLE IF EXISTS robots`);
  }
}
