// Plain ESM JavaScript: jest loads global setup outside its module mapper.
// Uses TEST_DATABASE_URL (the machine's PostgreSQL in CI) when set; otherwise starts an embedded
// PostgreSQL once for the whole run, so `npm test` works on a machine with nothing but Node.
import { existsSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;
export const STATE_FILE = join(tmpdir(), 'aerugo-test-state.json'); // same path as test-env.ts

export default async function globalSetup() {
  if (!existsSync(join(ROOT, 'dist/src/main.js'))) {
    throw new Error(
      'dist/src/main.js is missing: run `npm test` (it builds first) or `npm run build`',
    );
  }
  if (process.env.TEST_DATABASE_URL) {
    writeFileSync(STATE_FILE, JSON.stringify({ adminUrl: process.env.TEST_DATABASE_URL }));
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
  writeFileSync(STATE_FILE, JSON.stringify({ adminUrl: handle.url, embeddedDir: dir }));
  console.log(`\n[aerugo tests] TEST_DATABASE_URL unset: using an embedded PostgreSQL in ${dir}`);
}
