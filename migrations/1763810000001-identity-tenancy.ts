import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Users, organizations, teams, repository visibility and grants, API keys, sessions and the
 * shared JWT signing key. Users and organizations share one namespace of names (`namespaces`);
 * a repository's first path segment must be a namespace, and a namespace that still holds
 * repositories cannot be deleted (ON DELETE RESTRICT).
 */
export class IdentityTenancy1763810000001 implements MigrationInterface {
  name = 'IdentityTenancy1763810000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE namespaces (
        name varchar(255) COLLATE "C" PRIMARY KEY CHECK (name = lower(name)),
        kind varchar(8) NOT NULL CHECK (kind IN ('user', 'org', 'reserved')),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        username varchar(64) COLLATE "C" NOT NULL UNIQUE REFERENCES namespaces(name),
        email varchar(320),
        display_name varchar(128),
        password_hash text NOT NULL,
        is_admin boolean NOT NULL DEFAULT false,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE UNIQUE INDEX users_email_lower ON users (lower(email)) WHERE email IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE organizations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(64) COLLATE "C" NOT NULL UNIQUE REFERENCES namespaces(name),
        display_name varchar(128),
        description varchar(1024),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE organization_members (
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role varchar(8) NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, user_id)
      )`);
    await q.query(`CREATE INDEX organization_members_user ON organization_members (user_id)`);
    await q.query(`
      CREATE TABLE teams (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        name varchar(64) COLLATE "C" NOT NULL,
        description varchar(1024),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (organization_id, name)
      )`);
    await q.query(`
      CREATE TABLE team_members (
        team_id uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (team_id, user_id)
      )`);
    await q.query(`CREATE INDEX team_members_user ON team_members (user_id)`);

    // Repositories pushed before tenancy existed keep their names: their namespaces are reserved
    // (only a system administrator can manage them).
    await q.query(`ALTER TABLE repositories ADD COLUMN namespace varchar(255) COLLATE "C"`);
    await q.query(`UPDATE repositories SET namespace = split_part(name, '/', 1)`);
    await q.query(`
      INSERT INTO namespaces (name, kind)
      SELECT DISTINCT namespace, 'reserved' FROM repositories WHERE namespace = lower(namespace)
      ON CONFLICT DO NOTHING`);
    await q.query(`
      ALTER TABLE repositories
        ALTER COLUMN namespace SET NOT NULL,
        ADD CONSTRAINT repositories_namespace_fk FOREIGN KEY (namespace) REFERENCES namespaces(name) ON DELETE RESTRICT,
        ADD COLUMN visibility varchar(8) NOT NULL DEFAULT 'private' CHECK (visibility IN ('public', 'private')),
        ADD COLUMN description varchar(4096),
        ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
        ADD COLUMN last_pushed_at timestamptz`);
    await q.query(`CREATE INDEX repositories_namespace ON repositories (namespace, name)`);
    await q.query(`
      CREATE TABLE repository_user_permissions (
        repository_id uuid NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        level varchar(8) NOT NULL CHECK (level IN ('read', 'write', 'admin')),
        PRIMARY KEY (repository_id, user_id)
      )`);
    await q.query(
      `CREATE INDEX repository_user_permissions_user ON repository_user_permissions (user_id)`,
    );
    await q.query(`
      CREATE TABLE repository_team_permissions (
        repository_id uuid NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        team_id uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        level varchar(8) NOT NULL CHECK (level IN ('read', 'write', 'admin')),
        PRIMARY KEY (repository_id, team_id)
      )`);
    await q.query(
      `CREATE INDEX repository_team_permissions_team ON repository_team_permissions (team_id)`,
    );

    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name varchar(100) NOT NULL,
        prefix varchar(16) NOT NULL,
        key_hash char(64) NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        last_used_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX api_keys_user ON api_keys (user_id)`);

    // A session is one login (a refresh-token family); access and registry tokens name it (sid).
    await q.query(`
      CREATE TABLE auth_sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind varchar(8) NOT NULL CHECK (kind IN ('api', 'registry')),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        last_used_at timestamptz,
        revoked_at timestamptz,
        revoked_reason varchar(32)
      )`);
    await q.query(`CREATE INDEX auth_sessions_user ON auth_sessions (user_id)`);
    await q.query(`
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        session_id uuid NOT NULL REFERENCES auth_sessions(id) ON DELETE CASCADE,
        token_hash char(64) NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      )`);
    await q.query(`CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)`);
    await q.query(`
      CREATE TABLE auth_secrets (
        name varchar(64) PRIMARY KEY,
        value text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'auth_secrets',
      'refresh_tokens',
      'auth_sessions',
      'api_keys',
      'repository_team_permissions',
      'repository_user_permissions',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
    await q.query(`DROP INDEX IF EXISTS repositories_namespace`);
    await q.query(`
      ALTER TABLE repositories
        DROP CONSTRAINT IF EXISTS repositories_namespace_fk,
        DROP COLUMN IF EXISTS namespace,
        DROP COLUMN IF EXISTS visibility,
        DROP COLUMN IF EXISTS description,
        DROP COLUMN IF EXISTS updated_at,
        DROP COLUMN IF EXISTS last_pushed_at`);
    for (const t of [
      'team_members',
      'teams',
      'organization_members',
      'organizations',
      'users',
      'namespaces',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
