import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { dbErrorLogLine, isConnectionError, isRetryableTransactionError } from './db-errors.js';

/**
 * Surviving lost database connections (a failover, a pooler restart, `pg_terminate_backend`).
 *
 * When may a failed database call run again?
 * - **Idempotent work** (reads, upserts, `… ON CONFLICT DO NOTHING`): always; running it twice
 *   leaves the same state. `withRetry` runs it again after a lost connection (at most
 *   IDEMPOTENT_ATTEMPTS runs in all). GET and HEAD requests are retried whole by
 *   `DbRetryInterceptor` for the same reason, and the registry's access decision by its guard.
 * - **A transaction that did not commit**: PostgreSQL rolls back every transaction whose
 *   connection ends before COMMIT, so when the connection died during the work, nothing of it is
 *   stored and `transaction` runs it again, once, on a fresh connection. A connection that fails
 *   while connecting or at BEGIN ran nothing: another is taken (a few times). Serialization
 *   failures and deadlocks were rolled back by PostgreSQL itself: up to three attempts.
 * - **A transaction whose COMMIT was in flight** when the connection died may or may not have
 *   committed: it is never blindly run again. `transaction` learns its transaction id before
 *   sending COMMIT and asks the server on a fresh connection (`pg_xact_status`): `committed` →
 *   the work is done and its result is returned; `aborted` → it did not happen and runs again;
 *   anything else (still in progress after a short wait, or the server unreachable) → the error
 *   is raised, and the HTTP filters answer 503 with `Retry-After`. Either way nothing is half
 *   written: the transaction is all or nothing.
 *
 * The work given to `transaction` must only touch the database through its EntityManager (no
 * blob storage, no cache, no outside effects), since it may run twice; invalidate caches after it
 * returns.
 */

const logger = new Logger('Database');

/** Attempts after a lost connection (the first run plus one retry on a fresh connection). */
const CONNECTION_ATTEMPTS = 2;
/**
 * Connections that fail before the transaction began (a pooled connection that died with the
 * others but was not discarded yet, a server still refusing connections) are not attempts: the
 * work never ran. Up to this many more are tried, a little apart, for one transaction.
 */
const STALE_CONNECTION_RETRIES = 3;
/** Pause before running again: lets the pool notice and drop connections that died together. */
const RETRY_PAUSE_MS = 25;
/** Attempts of idempotent work (reads can run any number of times; a few is enough). */
export const IDEMPOTENT_ATTEMPTS = 3;
/** Attempts after serialization failures and deadlocks. */
const SERIALIZATION_ATTEMPTS = 3;

type Phase = 'begin' | 'work' | 'commit';

class TransactionFailure extends Error {
  constructor(
    readonly phase: Phase,
    readonly error: unknown,
    readonly xid?: string,
  ) {
    super('transaction failed');
  }
}

async function attempt<T>(
  db: DataSource,
  work: (m: EntityManager) => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; failure: TransactionFailure; value?: T }> {
  let q: QueryRunner | undefined;
  let phase: Phase = 'begin';
  let xid: string | undefined;
  let value: T | undefined;
  try {
    q = db.createQueryRunner();
    xid = await begin(q);
    phase = 'work';
    value = await work(q.manager);
    phase = 'commit';
    await q.commitTransaction();
    return { ok: true, value };
  } catch (e) {
    if (q?.isTransactionActive && !isConnectionError(e))
      await q.rollbackTransaction().catch(() => undefined);
    return { ok: false, failure: new TransactionFailure(phase, e, xid), value };
  } finally {
    await q?.release().catch(() => undefined);
  }
}

/** The two statements `begin` sends as one simple query (one round trip). */
const BEGIN_WITH_XID = 'START TRANSACTION; SELECT pg_current_xact_id()::text AS xid';

/**
 * Begins the runner's transaction and learns its id (what `commitOutcome` asks about should
 * COMMIT get no answer) in one round trip instead of two: both statements go as one simple query.
 * TypeORM's runner is then marked as in a transaction exactly as its own `startTransaction` marks
 * it, so entity-manager calls inside the work do not open one of their own. Should a TypeORM
 * version keep that state differently, its own `startTransaction` runs, and the id is asked apart.
 */
async function begin(q: QueryRunner): Promise<string | undefined> {
  const runner = q as QueryRunner & { transactionDepth?: unknown };
  if (runner.transactionDepth !== 0 || q.isTransactionActive) {
    await q.startTransaction();
    const rows: { xid: string }[] = await q.query('SELECT pg_current_xact_id()::text AS xid');
    return rows[0]?.xid;
  }
  const client = (await q.connect()) as {
    query(sql: string): Promise<{ rows: { xid?: string }[] }[]>;
  };
  const results = await client.query(BEGIN_WITH_XID);
  Object.assign(runner, { isTransactionActive: true, transactionDepth: 1 });
  return results[1]?.rows[0]?.xid;
}

/** What became of a transaction whose COMMIT got no answer: asked on a fresh connection. */
async function commitOutcome(
  db: DataSource,
  xid: string | undefined,
): Promise<'committed' | 'aborted' | 'unknown'> {
  if (!xid) return 'unknown';
  for (let i = 0; i < 20; i++) {
    try {
      const rows: { status: string | null }[] = await db.query(
        'SELECT pg_xact_status($1::xid8) AS status',
        [xid],
      );
      const status = rows[0]?.status;
      if (status === 'committed' || status === 'aborted') return status;
      if (status !== 'in progress') return 'unknown';
    } catch (e) {
      if (!isConnectionError(e)) return 'unknown';
    }
    // The terminated backend is still finishing its commit or rollback.
    await sleep(50);
  }
  return 'unknown';
}

/**
 * Runs `work` in one transaction and returns its result, surviving a lost connection where that
 * is safe (see above). Errors thrown by `work` roll the transaction back and are raised as they are.
 */
export async function transaction<T>(
  db: DataSource,
  work: (m: EntityManager) => Promise<T>,
): Promise<T> {
  let connectionRetries = 0;
  let staleRetries = 0;
  let serializationRetries = 0;
  for (;;) {
    const outcome = await attempt(db, work);
    if (outcome.ok) return outcome.value;
    const { failure } = outcome;
    const e = failure.error;
    if (isRetryableTransactionError(e) && ++serializationRetries < SERIALIZATION_ATTEMPTS) {
      await sleep(10 + Math.random() * 40);
      continue;
    }
    if (!isConnectionError(e)) throw e;
    if (failure.phase === 'begin') {
      if (++staleRetries > STALE_CONNECTION_RETRIES) throw e;
      await sleep(RETRY_PAUSE_MS * staleRetries);
      continue;
    }
    if (failure.phase === 'commit') {
      const status = await commitOutcome(db, failure.xid);
      logger.warn(`connection lost during COMMIT (${dbErrorLogLine(e)}): transaction ${status}`);
      // The work completed before COMMIT was sent, so its result is the committed one.
      if (status === 'committed') return outcome.value as T;
      if (status === 'unknown') throw e;
    } else {
      logger.warn(`connection lost before COMMIT (${dbErrorLogLine(e)}): nothing was stored`);
    }
    if (++connectionRetries >= CONNECTION_ATTEMPTS) throw e;
    await sleep(RETRY_PAUSE_MS);
  }
}

/**
 * Runs idempotent database work (reads, upserts) and runs it once more when the connection was
 * lost or a serialization failure hit it. Never use it for work that must not happen twice.
 */
export async function withRetry<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      if (attempt >= IDEMPOTENT_ATTEMPTS) throw e;
      if (!isConnectionError(e) && !isRetryableTransactionError(e)) throw e;
      logger.warn(`retrying idempotent work after ${dbErrorLogLine(e)}`);
      await sleep(RETRY_PAUSE_MS * attempt);
    }
  }
}
