// Drops the per-suite test databases and stops the embedded PostgreSQL, if one was started.
import { readFileSync, rmSync } from 'node:fs';
import pg from 'pg';
import { STATE_FILE } from './global-setup.js';

export default async function globalTeardown() {
  let adminUrl;
  try {
    adminUrl = JSON.parse(readFileSync(STATE_FILE, 'utf8')).adminUrl;
  } catch {
    return;
  }
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT datname FROM pg_database WHERE datname LIKE 'aerugo_t_%'`,
    );
    for (const r of rows) await client.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
  if (globalThis.__AERUGO_PG__) await globalThis.__AERUGO_PG__.stop();
  rmSync(STATE_FILE, { force: true });
}
