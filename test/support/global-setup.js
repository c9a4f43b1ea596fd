// Plain ESM JavaScript: jest loads global setup outside its module mapper.
// Uses TEST_DATABASE_URL (the machine's PostgreSQL in CI) when set; otherwise starts an embedded
// PostgreSQL once for the whole run, so `npm test` works on a machine with nothing but Node.
// Test databases are named aerugo_t_<run>_…, so that runs side by side never drop each other's.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;

export default async function globalSetup() {
  if (!existsSync(join(ROOT, 'dist/src/main.js'))) {
    throw new Error(
      'dist/src/main.js is missing: run `npm test` (it builds first) or `npm run build`',
    );
  }
  process.env.AERUGO_TEST_RUN = randomBytes(4).toString('hex');
  // test/support/server.ts appends the pid of every server it starts here; the global teardown
  // stops any still running (a suite whose beforeAll failed half-way cannot stop what it lost),
  // so that a leftover server never keeps jest from exiting.
  process.env.AERUGO_TEST_CHILDREN = join(
    tmpdir(),
    `aerugo-test-children-${process.env.AERUGO_TEST_RUN}`,
  );
  if (process.env.TEST_DATABASE_URL) {
    process.env.AERUGO_TEST_ADMIN_URL = process.env.TEST_DATABASE_URL;
    return;
  }
  const { startEmbeddedPostgres } = await import(
    join(ROOT, 'dist/src/database/embedded-postgres.js')
  );
  const dir = await mkdtemp(join(tmpdir(), 'aerugo-test-pg-'));
  await chmod(dir, 0o755); // PostgreSQL runs as the "postgres" user, which must reach its folder
  const handle = await startEmbeddedPostgres({ dataDir: dir, pgDir: join(dir, 'pg') });
  globalThis.__AERUGO_PG__ = handle;
  process.env.AERUGO_TEST_ADMIN_URL = handle.url;
  console.log(`\n[aerugo tests] TEST_DATABASE_URL unset: using an embedded PostgreSQL in ${dir}`);
}
