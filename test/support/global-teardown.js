// Stops servers that suites left running, drops this run's test databases and stops the embedded
// PostgreSQL, if one was started.
import { readFileSync, rmSync } from 'node:fs';
import pg from 'pg';

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Servers started by test/support/server.ts that are still running: SIGTERM, then SIGKILL. */
async function stopLeftoverServers() {
  const file = process.env.AERUGO_TEST_CHILDREN;
  if (!file) return;
  let pids;
  try {
    pids = readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return; // no server was started
  }
  rmSync(file, { force: true });
  let left = pids.filter(alive);
  if (!left.length) return;
  console.warn(`[aerugo tests] stopping ${left.length} server(s) that suites left running`);
  for (const pid of left) process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = left.filter(alive);
  }
  for (const pid of left) process.kill(pid, 'SIGKILL');
}

export default async function globalTeardown() {
  await stopLeftoverServers();
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
