import { describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { transaction, withRetry } from '../../src/database/transaction.js';

const lost = () => new Error('Connection terminated unexpectedly');
const pg = (code: string) => Object.assign(new Error(`error ${code}`), { code });

/**
 * A DataSource whose connections fail as scripted: `commitFailures` lists what each attempt's
 * COMMIT throws (undefined: it succeeds), `status` answers pg_xact_status.
 */
function fakeDb(script: {
  commitFailures?: (Error | undefined)[];
  beginFailures?: number;
  status?: string | Error;
  /** A runner without TypeORM's `transactionDepth`: `startTransaction` and a separate xid query. */
  otherRunner?: boolean;
}) {
  const log: string[] = [];
  let attempt = 0;
  const db = {
    createQueryRunner() {
      const n = attempt++;
      const runner = {
        isTransactionActive: false,
        ...(script.otherRunner ? {} : { transactionDepth: 0 }),
        manager: { attempt: n },
        // The driver's client: BEGIN and the transaction id arrive as one simple query.
        async connect() {
          return {
            async query(sql: string) {
              if (sql !== 'START TRANSACTION; SELECT pg_current_xact_id()::text AS xid')
                throw new Error(`unexpected ${sql}`);
              if (n < (script.beginFailures ?? 0)) throw lost();
              log.push(`begin ${n}`);
              return [{ rows: [] }, { rows: [{ xid: `${700 + n}` }] }];
            },
          };
        },
        async startTransaction() {
          if (n < (script.beginFailures ?? 0)) throw lost();
          runner.isTransactionActive = true;
          log.push(`begin ${n} (startTransaction)`);
        },
        async query(sql: string) {
          if (script.otherRunner && sql.includes('pg_current_xact_id'))
            return [{ xid: `${700 + n}` }];
          throw new Error(`unexpected ${sql}`);
        },
        async commitTransaction() {
          if (!runner.isTransactionActive) throw new Error('no transaction');
          const failure = script.commitFailures?.[n];
          if (failure) throw failure;
          runner.isTransactionActive = false;
          log.push(`commit ${n}`);
        },
        async rollbackTransaction() {
          runner.isTransactionActive = false;
          log.push(`rollback ${n}`);
        },
        async release() {},
      };
      return runner;
    },
    async query(sql: string, params: unknown[]) {
      log.push(`status ${String(params[0])}`);
      if (script.status instanceof Error) throw script.status;
      return [{ status: script.status ?? null }];
    },
  };
  return { db: db as unknown as DataSource, log };
}

describe('transaction(): what runs again after a failure', () => {
  it('a connection lost during the work: nothing committed, run once more', async () => {
    const { db, log } = fakeDb({});
    let runs = 0;
    const result = await transaction(db, async () => {
      if (runs++ === 0) throw lost();
      return 'done';
    });
    expect(result).toBe('done');
    expect(runs).toBe(2);
    expect(log).toEqual(['begin 0', 'begin 1', 'commit 1']);
  });

  it('BEGIN and the transaction id go in one query; the runner is marked as in a transaction', async () => {
    const { db, log } = fakeDb({ commitFailures: [lost()], status: 'committed' });
    let seen: unknown;
    await transaction(db, async (m) => {
      seen = m;
    });
    // The id asked about after the lost COMMIT is the one the BEGIN query answered.
    expect(log).toEqual(['begin 0', 'status 700']);
    expect(seen).toEqual({ attempt: 0 });
    const other = fakeDb({ otherRunner: true, commitFailures: [lost()], status: 'committed' });
    await transaction(other.db, async () => 1);
    expect(other.log).toEqual(['begin 0 (startTransaction)', 'status 700']);
  });

  it('connections that fail at BEGIN ran nothing: others are taken (a few)', async () => {
    const { db, log } = fakeDb({ beginFailures: 3 });
    let runs = 0;
    expect(await transaction(db, async () => ++runs)).toBe(1);
    expect(log).toEqual(['begin 3', 'commit 3']);
    const { db: down } = fakeDb({ beginFailures: 10 });
    await expect(transaction(down, async () => 1)).rejects.toThrow('Connection terminated');
  });

  it('lost twice: the error is raised (the filters answer 503), never a third run', async () => {
    const { db } = fakeDb({});
    let runs = 0;
    await expect(
      transaction(db, async () => {
        runs++;
        throw lost();
      }),
    ).rejects.toThrow('Connection terminated');
    expect(runs).toBe(2);
  });

  it('lost during COMMIT, and the server says it committed: the result, no second run', async () => {
    const { db, log } = fakeDb({ commitFailures: [lost()], status: 'committed' });
    let runs = 0;
    expect(await transaction(db, async () => ++runs)).toBe(1);
    expect(runs).toBe(1);
    expect(log).toEqual(['begin 0', 'status 700']);
  });

  it('lost during COMMIT, and the server says it aborted: run once more', async () => {
    const { db, log } = fakeDb({ commitFailures: [lost()], status: 'aborted' });
    let runs = 0;
    expect(await transaction(db, async () => ++runs)).toBe(2);
    expect(log).toEqual(['begin 0', 'status 700', 'begin 1', 'commit 1']);
  });

  it('lost during COMMIT with an unknown outcome: never run blindly again', async () => {
    for (const status of [null, 'in progress', pg('42501')] as (string | Error)[]) {
      const { db } = fakeDb({ commitFailures: [lost()], status });
      let runs = 0;
      await expect(transaction(db, async () => ++runs)).rejects.toThrow('Connection terminated');
      expect(runs).toBe(1);
    }
  });

  it('serialization failures and deadlocks run again, up to three times', async () => {
    const { db } = fakeDb({});
    let runs = 0;
    expect(
      await transaction(db, async () => {
        if (++runs < 3) throw pg(runs === 1 ? '40001' : '40P01');
        return runs;
      }),
    ).toBe(3);
    let always = 0;
    await expect(
      transaction(db, async () => {
        always++;
        throw pg('40001');
      }),
    ).rejects.toThrow('40001');
    expect(always).toBe(3);
  });

  it('any other error rolls back and is raised as it is, without a second run', async () => {
    for (const error of [new Error('a rule said no'), pg('23505')]) {
      const { db, log } = fakeDb({});
      let runs = 0;
      await expect(
        transaction(db, async () => {
          runs++;
          throw error;
        }),
      ).rejects.toBe(error);
      expect(runs).toBe(1);
      expect(log).toEqual(['begin 0', 'rollback 0']);
    }
  });

  it('a constraint failing at COMMIT (deferred) is raised, not retried', async () => {
    const { db, log } = fakeDb({ commitFailures: [pg('23505')] });
    await expect(transaction(db, async () => 1)).rejects.toThrow('23505');
    expect(log).toEqual(['begin 0', 'rollback 0']);
  });
});

describe('withRetry(): idempotent work', () => {
  it('runs again after lost connections, at most three times in all', async () => {
    let runs = 0;
    await expect(
      withRetry(async () => {
        runs++;
        throw lost();
      }),
    ).rejects.toThrow('Connection terminated');
    expect(runs).toBe(3);
  });

  it('runs once more after a lost connection or a serialization failure, not after others', async () => {
    for (const first of [lost(), pg('57P01'), pg('40001')]) {
      let runs = 0;
      expect(
        await withRetry(async () => {
          if (runs++ === 0) throw first;
          return runs;
        }),
      ).toBe(2);
    }
    let runs = 0;
    await expect(
      withRetry(async () => {
        runs++;
        throw pg('23505');
      }),
    ).rejects.toThrow('23505');
    expect(runs).toBe(1);
  });
});
