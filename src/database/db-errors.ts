/**
 * Database errors told apart by meaning, in one place. Services test for the cases they answer
 * themselves (a taken name is a 409 with its own message); everything else that escapes a service
 * is translated by the HTTP error filters through `describeDbError`, so that no database error
 * reaches a client as a 500:
 *
 * | meaning          | SQLSTATE / driver error                                    | HTTP                 |
 * | ---------------- | ---------------------------------------------------------- | -------------------- |
 * | unique           | 23505                                                      | 409                  |
 * | referenced       | 23503 foreign key, 23001 restrict (PostgreSQL 18 raises it  | 409                  |
 * |                  | for ON DELETE RESTRICT where 15 raised 23503)              |                      |
 * | invalid input    | class 22 (22021 bad byte/NUL, 22P02 bad text, 22003 out of | 400                  |
 * |                  | range, 22001 too long…), 23502 not null, 23514 check        |                      |
 * | retryable        | 40001 serialization failure, 40P01 deadlock                | 503 + Retry-After    |
 * | connection lost  | 57P01 admin shutdown, 57P02 crash, 57P03 cannot connect,   | 503 + Retry-After    |
 * |                  | class 08, 57P04, "Connection terminated", ECONNRESET…      |                      |
 * | unavailable      | 57014 statement timeout/cancel, 55P03 lock not available,  | 503 + Retry-After    |
 * |                  | class 53 (too many connections…), 25006 read-only (failover)|                      |
 */

export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';
export const PG_RESTRICT_VIOLATION = '23001';
export const PG_NOT_NULL_VIOLATION = '23502';
export const PG_CHECK_VIOLATION = '23514';
export const PG_SERIALIZATION_FAILURE = '40001';
export const PG_DEADLOCK_DETECTED = '40P01';
export const PG_QUERY_CANCELED = '57014';
export const PG_ADMIN_SHUTDOWN = '57P01';
export const PG_CRASH_SHUTDOWN = '57P02';
export const PG_CANNOT_CONNECT_NOW = '57P03';
export const PG_DATABASE_DROPPED = '57P04';
export const PG_LOCK_NOT_AVAILABLE = '55P03';
export const PG_READ_ONLY_TRANSACTION = '25006';

export type DbErrorKind =
  'unique' | 'referenced' | 'invalid-input' | 'retryable' | 'connection' | 'unavailable';

/** What a database error means for an HTTP answer. Messages never carry query parameters. */
export interface DbFailure {
  kind: DbErrorKind;
  status: 400 | 409 | 503;
  message: string;
  /** Seconds, for 503 answers. */
  retryAfterSeconds?: number;
  /** The SQLSTATE, or the driver's error code (ECONNRESET…), for logs. */
  sqlState?: string;
}

/** Five characters, at least one a digit (every SQLSTATE has one; Node error codes like EPIPE do not). */
const SQLSTATE = /^(?=.*\d)[0-9A-Z]{5}$/;

/** Driver errors without a SQLSTATE that mean the connection to the server is gone or unusable. */
const CONNECTION_MESSAGES = [
  /connection terminated/i,
  /terminating connection/i,
  /server closed the connection unexpectedly/i,
  /client has encountered a connection error and is not queryable/i,
  /client was closed and is not queryable/i,
  /cannot use a pool after calling end on the pool/i,
  /timeout exceeded when trying to connect/i,
  /connection timeout/i,
  /query read timeout/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
];

const SOCKET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

const RELEASED_RUNNER_ERRORS = new Set([
  'QueryRunnerAlreadyReleasedError',
  'QueryRunnerProviderAlreadyReleasedError',
]);

function codeOf(e: unknown): unknown {
  return typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
}

/** The driver error behind a TypeORM wrapper (QueryFailedError keeps it as `driverError`). */
function driverErrorOf(e: unknown): unknown {
  return typeof e === 'object' && e !== null ? (e as { driverError?: unknown }).driverError : e;
}

/** The SQLSTATE of a PostgreSQL error (TypeORM wraps the driver error), else undefined. */
export function sqlStateOf(e: unknown): string | undefined {
  for (const candidate of [codeOf(e), codeOf(driverErrorOf(e))]) {
    if (typeof candidate === 'string' && SQLSTATE.test(candidate)) return candidate;
  }
  return undefined;
}

/** True when `e` is a PostgreSQL error with one of these SQLSTATEs. */
export function isPgError(e: unknown, ...codes: string[]): boolean {
  const state = sqlStateOf(e);
  return state !== undefined && codes.includes(state);
}

/** A row still referenced elsewhere blocked a delete (or a referenced row is missing). */
export function isReferencedError(e: unknown): boolean {
  return isPgError(e, PG_FOREIGN_KEY_VIOLATION, PG_RESTRICT_VIOLATION);
}

/** The connection to PostgreSQL was lost or could not be made (the statement did not complete). */
export function isConnectionError(e: unknown): boolean {
  // TypeORM releases a query runner whose connection failed; its next query raises one of these.
  const name = (e as { name?: unknown } | null)?.name;
  if (typeof name === 'string' && RELEASED_RUNNER_ERRORS.has(name)) return true;
  const state = sqlStateOf(e);
  if (state !== undefined) {
    return (
      state.startsWith('08') ||
      state === PG_ADMIN_SHUTDOWN ||
      state === PG_CRASH_SHUTDOWN ||
      state === PG_CANNOT_CONNECT_NOW ||
      state === PG_DATABASE_DROPPED
    );
  }
  for (const err of [e, driverErrorOf(e)]) {
    if (typeof err !== 'object' || err === null) continue;
    const code = codeOf(err);
    if (typeof code === 'string' && SOCKET_CODES.has(code)) return true;
    const message = (err as { message?: unknown }).message;
    if (typeof message === 'string' && CONNECTION_MESSAGES.some((re) => re.test(message)))
      return true;
  }
  return false;
}

/** A serialization failure or deadlock: PostgreSQL rolled the transaction back; it may run again. */
export function isRetryableTransactionError(e: unknown): boolean {
  return isPgError(e, PG_SERIALIZATION_FAILURE, PG_DEADLOCK_DETECTED);
}

/** The meaning of a database error, or undefined when `e` is not one. */
export function classifyDbError(e: unknown): DbErrorKind | undefined {
  if (isConnectionError(e)) return 'connection';
  const state = sqlStateOf(e);
  if (state === undefined) return undefined;
  if (state === PG_UNIQUE_VIOLATION || state === '23P01') return 'unique';
  if (state === PG_FOREIGN_KEY_VIOLATION || state === PG_RESTRICT_VIOLATION) return 'referenced';
  if (state.startsWith('22') || state === PG_NOT_NULL_VIOLATION || state === PG_CHECK_VIOLATION)
    return 'invalid-input';
  if (isRetryableTransactionError(e)) return 'retryable';
  if (
    state === PG_QUERY_CANCELED ||
    state === PG_LOCK_NOT_AVAILABLE ||
    state === PG_READ_ONLY_TRANSACTION ||
    state.startsWith('53')
  )
    return 'unavailable';
  return undefined;
}

const MESSAGES: Record<DbErrorKind, string> = {
  unique: 'the request conflicts with an existing entry',
  referenced: 'the request conflicts with entries that refer to it, or that it refers to',
  'invalid-input': 'the request holds a value the database cannot store',
  retryable: 'the request collided with a concurrent change; try again',
  connection: 'the database connection was lost; try again',
  unavailable: 'the database is busy or unavailable; try again',
};

/** Seconds a client should wait before retrying a 503 caused by the database. */
export const DB_RETRY_AFTER_SECONDS = 1;

/** The HTTP meaning of a database error, or undefined when `e` is not a database error. */
export function describeDbError(e: unknown): DbFailure | undefined {
  const kind = classifyDbError(e);
  if (!kind) return undefined;
  const sqlState = sqlStateOf(e) ?? (codeOf(driverErrorOf(e)) as string | undefined);
  let message = MESSAGES[kind];
  if (kind === 'invalid-input') {
    const state = sqlStateOf(e);
    if (state === '22021' || state === '22P05')
      message = 'the request holds text that is not valid UTF-8 or contains NUL characters';
    else if (state === '22003') message = 'the request holds a number out of range';
    else if (state === '22001') message = 'the request holds a value that is too long';
  }
  const status =
    kind === 'invalid-input' ? 400 : kind === 'unique' || kind === 'referenced' ? 409 : 503;
  return {
    kind,
    status,
    message,
    ...(status === 503 ? { retryAfterSeconds: DB_RETRY_AFTER_SECONDS } : {}),
    ...(typeof sqlState === 'string' ? { sqlState } : {}),
  };
}

/** A safe one-line description for logs: SQLSTATE and the server's message, never parameters. */
export function dbErrorLogLine(e: unknown): string {
  const state = sqlStateOf(e) ?? codeOf(driverErrorOf(e));
  const message = (e as { message?: unknown } | null)?.message;
  return `${typeof state === 'string' ? `${state} ` : ''}${typeof message === 'string' ? message : String(e)}`;
}
