import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { ALL_MIGRATIONS } from '../../migrations/index.js';
import { createTestDatabase, startServer, type TestServer } from '../support/server.js';

/**
 * Migrations run under an advisory lock: nodes that start together on an empty database apply
 * each migration exactly once, one node applying them all, and nobody logs a failed statement
 * (without the lock PostgreSQL answers the racing CREATEs with `duplicate key value violates
 * unique constraint "pg_type_typname_nsp_index"`, which TypeORM's retry hides).
 */
describe('migrations on nodes starting together', () => {
  it('three nodes on an empty database: each migration applied once, by one node, no errors', async () => {
    const databaseUrl = await createTestDatabase();
    const nodes: TestServer[] = [];
    try {
      const started = await Promise.allSettled(
        [0, 1, 2].map(() => startServer({ databaseUrl, env: { LOG_LEVEL: 'debug' } })),
      );
      for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
      expect(started.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      const appliedBy = nodes.filter((n) => /Applied \d+ migration\(s\)/.test(n.logs()));
      expect(appliedBy).toHaveLength(1);
      expect(appliedBy[0].logs()).toContain(`Applied ${ALL_MIGRATIONS.length} migration(s)`);
      for (const n of nodes) {
        // (The administrator bootstrap's race on namespaces_pkey is expected and handled.)
        expect(n.logs()).not.toMatch(/pg_type_typname_nsp_index|already exists|migration.*failed/i);
      }
      const db = new pg.Client({ connectionString: databaseUrl });
      await db.connect();
      try {
        const r = await db.query<{ n: string; distinct: string }>(
          'SELECT count(*) AS n, count(DISTINCT name) AS distinct FROM migrations',
        );
        expect(r.rows[0]).toEqual({
          n: String(ALL_MIGRATIONS.length),
          distinct: String(ALL_MIGRATIONS.length),
        });
      } finally {
        await db.end();
      }
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });
});
