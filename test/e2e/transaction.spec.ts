import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { describeDbError } from '../../src/database/db-errors.js';
import { LossTolerantClient } from '../../src/database/pg-client.js';
import { transaction } from '../../src/database/transaction.js';
import { createTestDatabase } from '../support/server.js';

/**
 * transaction() against a real PostgreSQL: a connection terminated in the middle of the work, or
 * while COMMIT runs, never loses nor doubles a write.
 */
let url: string;
let db: DataSource;
let admin: pg.Client;

beforeAll(async () => {
  url = await createTestDatabase();
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)`);
  // At COMMIT, rows named 'slow-commit' make the transaction wait in a deferred trigger, so that
  // the test can terminate the connection while COMMIT is in flight.
  await admin.query(`
    CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$;
    CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON items DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW WHEN (NEW.name = 'slow-commit') EXECUTE FUNCTION slow_commit();`);
  db = await new DataSource({
    type: 'postgres',
    url,
    extra: { max: 4, Client: LossTolerantClient },
  }).initialize();
});

afterAll(async () => {
  await db?.destroy();
  await admin?.end();
});

async function count(name: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM items WHERE name = $1',
    [name],
  );
  return rows[0].n;
}

const terminate = (pid: number) => admin.query('SELECT pg_terminate_backend($1)', [pid]);

/** Waits until backend `pid` sleeps in the commit trigger (a condition, not a fixed time). */
async function sleepingInCommit(pid: number): Promise<void> {
  for (;;) {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'PgSleep'`,
      [pid],
    );
    if (rows[0].n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('transaction() on a real PostgreSQL', () => {
  it('the connection dies during the work: it runs again on a fresh connection, and the row is stored once', async () => {
    let runs = 0;
    await transaction(db, async (m) => {
      runs++;
      await m.query('INSERT INTO items (name) VALUES ($1)', ['mid-work']);
      if (runs === 1) {
        const [{ pid }] = await m.query('SELECT pg_backend_pid() AS pid');
        await terminate(pid);
      }
      await m.query('SELECT 1');
    });
    expect(runs).toBe(2);
    expect(await count('mid-work')).toBe(1);
  });

  it('the connection dies while COMMIT runs: the server is asked, the work runs again only because it did not commit', async () => {
    let runs = 0;
    let killed: Promise<unknown> | undefined;
    await transaction(db, async (m) => {
      runs++;
      await m.query('INSERT INTO items (name) VALUES ($1)', ['slow-commit']);
      if (runs === 1) {
        const [{ pid }] = await m.query('SELECT pg_backend_pid() AS pid');
        killed = sleepingInCommit(pid).then(() => terminate(pid));
      }
    });
    await killed;
    expect(runs).toBe(2);
    expect(await count('slow-commit')).toBe(1);
  });

  it('the connection dies twice: the error is a lost connection (503), and nothing is stored', async () => {
    let runs = 0;
    const failure = await transaction(db, async (m) => {
      runs++;
      await m.query('INSERT INTO items (name) VALUES ($1)', ['twice']);
      const [{ pid }] = await m.query('SELECT pg_backend_pid() AS pid');
      await terminate(pid);
      await m.query('SELECT 1');
    }).catch((e: unknown) => e);
    expect(runs).toBe(2);
    expect(describeDbError(failure)).toMatchObject({ kind: 'connection', status: 503 });
    expect(await count('twice')).toBe(0);
  });

  it('a rule that fails rolls back and is not run again', async () => {
    let runs = 0;
    await expect(
      transaction(db, async (m) => {
        runs++;
        await m.query('INSERT INTO items (name) VALUES ($1)', ['refused']);
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(runs).toBe(1);
    expect(await count('refused')).toBe(0);
  });
});
