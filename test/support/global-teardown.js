// Drops this run's test databases and stops the embedded PostgreSQL, if one was started.
import pg from 'pg';

export default async function globalTeardown() {
  const adminUrl = process.env.AERUGO_TEST_ADMIN_URL;
  const run = process.env.AERUGO_TEST_RUN;
  if (adminUrl && run) {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
        `aerugo_t_${run}_%`,
      ]);
      for (const r of rows)
        await client.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
    } finally {
      await client.end();
    }
  }
  if (globalThis.__AERUGO_PG__) await globalThis.__AERUGO_PG__.stop();
}
