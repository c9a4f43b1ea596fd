// The service-level tier: the application's Nest modules, built in the test process on a fresh
// PostgreSQL database of their own (no HTTP, no child process), so that tests call services
// directly and pause writes at TestHooks points to make races deterministic.
import type { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { AppModule } from '../../src/app.module.js';
import { createTestDatabase, tempDir } from '../support/server.js';

export interface Services {
  app: INestApplicationContext;
  databaseUrl: string;
  /** A plain connection to the same database (for the test's own transactions and checks). */
  db: pg.Client;
  get<T>(cls: Type<T>): T;
  close(): Promise<void>;
}

/** Builds the application context on a new database, configured by `env` (and nothing else). */
export async function startServices(env: Record<string, string> = {}): Promise<Services> {
  const databaseUrl = await createTestDatabase();
  const saved = { ...process.env };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'S3_BUCKET', 'STORAGE_DRIVER', 'PUBLIC_URL'])
    delete process.env[k];
  Object.assign(process.env, {
    LOG_LEVEL: 'warn',
    DATA_DIR: tempDir('aerugo-service-'),
    DATABASE_URL: databaseUrl,
    ...env,
  });
  let app: INestApplicationContext;
  try {
    app = await NestFactory.createApplicationContext(
      AppModule.forRoot({ databaseUrl, databasePoolSize: 10 }),
      { logger: ['error', 'warn'] },
    );
  } finally {
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  return {
    app,
    databaseUrl,
    db,
    get: (cls) => app.get(cls),
    close: async () => {
      await db.end();
      await app.close();
    },
  };
}

/**
 * Waits until a backend of the database waits for a row lock, or until `settled` reports that
 * the competing statement finished; returns which came first. (No timing: both are conditions.)
 */
export async function waitsForLock(db: pg.Client, settled: () => boolean): Promise<boolean> {
  for (;;) {
    if (settled()) return false;
    const { rows } = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (Number(rows[0].n) > 0) return true;
    await new Promise((r) => setImmediate(r));
  }
}

/** A gate a hook waits on: `entered` resolves when a write reached it, `open()` lets it go on. */
export function gate(): { entered: Promise<void>; wait: () => Promise<void>; open: () => void } {
  let enter!: () => void;
  let release!: () => void;
  const entered = new Promise<void>((r) => (enter = r));
  const released = new Promise<void>((r) => (release = r));
  return {
    entered,
    wait: () => {
      enter();
      return released;
    },
    open: () => release(),
  };
}
