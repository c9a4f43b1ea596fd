import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Written by global-setup: where the test PostgreSQL is, when the suite started its own. */
export const STATE_FILE = join(tmpdir(), 'aerugo-test-state.json');

export interface TestState {
  adminUrl: string;
  embeddedDir?: string;
}

/** The PostgreSQL that test databases are created in: TEST_DATABASE_URL, else the suite's embedded one. */
export function adminDatabaseUrl(): string {
  if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
  if (process.env.AERUGO_TEST_ADMIN_URL) return process.env.AERUGO_TEST_ADMIN_URL;
  try {
    return (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as TestState).adminUrl;
  } catch {
    throw new Error(
      'No test database: set TEST_DATABASE_URL or run the tests through jest (global-setup)',
    );
  }
}

export const PROJECT_ROOT = new URL('../..', import.meta.url).pathname;
