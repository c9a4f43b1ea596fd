/** The PostgreSQL that test databases are created in: TEST_DATABASE_URL, else the run's embedded one. */
export function adminDatabaseUrl(): string {
  const url = process.env.AERUGO_TEST_ADMIN_URL ?? process.env.TEST_DATABASE_URL;
  if (!url)
    throw new Error(
      'No test database: set TEST_DATABASE_URL or run the tests through jest (global-setup)',
    );
  return url;
}

/** Prefix of this run's test databases (set by global-setup). */
export function testDatabasePrefix(): string {
  return `aerugo_t_${process.env.AERUGO_TEST_RUN ?? 'adhoc'}_`;
}

export const PROJECT_ROOT = new URL('../..', import.meta.url).pathname;
