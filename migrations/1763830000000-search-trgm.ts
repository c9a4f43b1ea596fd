import { Logger } from '@nestjs/common';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Trigram indexes serving the LIKE '%term%' conditions of global search (src/search/match.ts). */
export const SEARCH_INDEXES = [
  'CREATE INDEX IF NOT EXISTS repositories_name_trgm ON repositories USING gin (name gin_trgm_ops)',
  'CREATE INDEX IF NOT EXISTS users_username_trgm ON users USING gin (username gin_trgm_ops)',
  'CREATE INDEX IF NOT EXISTS users_display_name_trgm ON users USING gin (lower(display_name) gin_trgm_ops)',
  'CREATE INDEX IF NOT EXISTS organizations_name_trgm ON organizations USING gin (name gin_trgm_ops)',
  'CREATE INDEX IF NOT EXISTS organizations_display_name_trgm ON organizations USING gin (lower(display_name) gin_trgm_ops)',
];

/**
 * Indexes for global search. The name indexes need PostgreSQL's pg_trgm extension (in contrib,
 * shipped by the Debian/PGDG packages and by the embedded PostgreSQL; a trusted extension since
 * PostgreSQL 13, so a database owner may create it without being superuser).
 *
 * When the extension cannot be created (contrib not installed, or a role without CREATE on the
 * database) the migration still succeeds without the trigram indexes: search gives the same
 * answers by scanning the tables, only slower on large installations. The warning names the
 * statements that add them later.
 */
export class SearchTrgm1763830000000 implements MigrationInterface {
  name = 'SearchTrgm1763830000000';

  async up(q: QueryRunner): Promise<void> {
    // What anonymous callers may find of users and organizations: namespaces holding a public
    // repository (an index-only probe per candidate instead of a scan of every public repository).
    await q.query(
      `CREATE INDEX repositories_public_namespace ON repositories (namespace) WHERE visibility = 'public'`,
    );
    if (!(await this.ensureExtension(q))) {
      new Logger('Database').warn(
        'pg_trgm is not available: search works without its indexes, but scans the tables. ' +
          'To index it, run as a privileged role: CREATE EXTENSION pg_trgm; ' +
          SEARCH_INDEXES.join('; '),
      );
      return;
    }
    for (const sql of SEARCH_INDEXES) await q.query(sql);
  }

  /** True when pg_trgm is installed in the database (creating it if possible). */
  private async ensureExtension(q: QueryRunner): Promise<boolean> {
    const installed = async () =>
      ((await q.query(`SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'`)) as unknown[])
        .length > 0;
    if (await installed()) return true;
    const available = (await q.query(
      `SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'`,
    )) as unknown[];
    if (!available.length) return false;
    // A failed statement aborts the migration's transaction; the savepoint keeps it usable.
    const guarded = q.isTransactionActive;
    if (guarded) await q.query('SAVEPOINT aerugo_pg_trgm');
    try {
      await q.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
      if (guarded) await q.query('RELEASE SAVEPOINT aerugo_pg_trgm');
      return true;
    } catch (e) {
      if (guarded) await q.query('ROLLBACK TO SAVEPOINT aerugo_pg_trgm');
      new Logger('Database').warn(
        `CREATE EXTENSION pg_trgm failed: ${e instanceof Error ? e.message : String(e)}`,
      );
      return false;
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const name of [
      'organizations_display_name_trgm',
      'organizations_name_trgm',
      'users_display_name_trgm',
      'users_username_trgm',
      'repositories_name_trgm',
    ])
      await q.query(`DROP INDEX IF EXISTS ${name}`);
    await q.query('DROP INDEX IF EXISTS repositories_public_namespace');
    // The extension stays: other objects of the database may use it.
  }
}
