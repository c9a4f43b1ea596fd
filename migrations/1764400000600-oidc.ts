import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * OpenID Connect sign-in (src/auth/oidc): the provider identities linked to users (by issuer and
 * `sub`, never by e-mail) and the sign-ins under way (state, nonce and PKCE verifier, kept here so
 * that any node can finish a sign-in another node started; single use, ten minutes).
 */
export class Oidc1764400000600 implements MigrationInterface {
  name = 'Oidc1764400000600';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE oidc_identities (
        issuer text NOT NULL,
        subject text NOT NULL,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (issuer, subject)
      )`);
    await q.query(`CREATE INDEX oidc_identities_user ON oidc_identities (user_id)`);
    await q.query(`
      CREATE TABLE oidc_logins (
        state text PRIMARY KEY,
        nonce text NOT NULL,
        code_verifier text NOT NULL,
        return_to text NOT NULL,
        expires_at timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE oidc_logins`);
    await q.query(`DROP TABLE oidc_identities`);
  }
}
