import { describe, expect, it } from '@jest/globals';
import { QueryFailedError } from 'typeorm';
import {
  classifyDbError,
  describeDbError,
  isConnectionError,
  isReferencedError,
} from '../../src/database/db-errors.js';

/** A driver error as node-postgres raises it for a server ErrorResponse. */
function pgError(code: string, message = `error ${code}`): Error {
  return Object.assign(new Error(message), { code, severity: 'ERROR' });
}

/** The same, as TypeORM hands it on (the parameters ride along and must never be shown). */
function typeormError(code: string, message = `error ${code}`): QueryFailedError {
  return new QueryFailedError(
    'INSERT INTO users VALUES ($1, $2)',
    ['alice', '$argon2id$secret'],
    pgError(code, message),
  );
}

describe('database errors by meaning', () => {
  it.each([
    ['23505', 'unique', 409],
    ['23503', 'referenced', 409],
    // PostgreSQL 18 reports ON DELETE RESTRICT as restrict_violation where 15 said 23503.
    ['23001', 'referenced', 409],
    ['22021', 'invalid-input', 400],
    ['22P02', 'invalid-input', 400],
    ['22003', 'invalid-input', 400],
    ['22001', 'invalid-input', 400],
    ['22P05', 'invalid-input', 400],
    ['23502', 'invalid-input', 400],
    ['23514', 'invalid-input', 400],
    ['40001', 'retryable', 503],
    ['40P01', 'retryable', 503],
    ['57P01', 'connection', 503],
    ['57P02', 'connection', 503],
    ['57P03', 'connection', 503],
    ['08006', 'connection', 503],
    ['08003', 'connection', 503],
    ['57014', 'unavailable', 503],
    ['55P03', 'unavailable', 503],
    ['53300', 'unavailable', 503],
    ['25006', 'unavailable', 503],
  ])('SQLSTATE %s is %s (%d), raw or wrapped by TypeORM', (code, kind, status) => {
    for (const e of [pgError(code), typeormError(code)]) {
      expect(classifyDbError(e)).toBe(kind);
      const d = describeDbError(e)!;
      expect(d.status).toBe(status);
      expect(d.retryAfterSeconds !== undefined).toBe(status === 503);
      expect(d.message).not.toMatch(/argon2|secret|alice/);
    }
  });

  it.each([
    ['Connection terminated unexpectedly'],
    ['Connection terminated'],
    ['terminating connection due to administrator command'],
    ['Client has encountered a connection error and is not queryable'],
    ['timeout exceeded when trying to connect'],
  ])('"%s" (no SQLSTATE) is a lost connection', (message) => {
    expect(isConnectionError(new Error(message))).toBe(true);
    const wrapped = new QueryFailedError('SELECT 1', [], new Error(message));
    expect(describeDbError(wrapped)).toMatchObject({ kind: 'connection', status: 503 });
  });

  it('a TypeORM runner released because its connection failed is a lost connection', () => {
    for (const name of [
      'QueryRunnerAlreadyReleasedError',
      'QueryRunnerProviderAlreadyReleasedError',
    ]) {
      const e = Object.assign(new Error('released'), { name });
      expect(describeDbError(e)).toMatchObject({ kind: 'connection', status: 503 });
    }
  });

  it.each(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'])(
    'socket error %s is a lost connection',
    (code) => {
      expect(isConnectionError(Object.assign(new Error('socket'), { code }))).toBe(true);
    },
  );

  it('other errors are not database errors', () => {
    for (const e of [
      new Error('boom'),
      Object.assign(new Error('no file'), { code: 'ENOENT' }),
      pgError('42601'), // a syntax error is a bug: it stays a 500
      'a string',
      null,
      undefined,
    ]) {
      expect(describeDbError(e)).toBeUndefined();
    }
  });

  it('tells referenced-row errors apart for the services (PostgreSQL 15 and 18)', () => {
    expect(isReferencedError(typeormError('23503'))).toBe(true);
    expect(isReferencedError(typeormError('23001'))).toBe(true);
    expect(isReferencedError(typeormError('23505'))).toBe(false);
  });
});
