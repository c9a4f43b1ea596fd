import pg from 'pg';

/**
 * The PostgreSQL client of the pool. When a server terminates a connection (failover,
 * `pg_terminate_backend`) right as the pool hands the fresh connection out, the FATAL message can
 * arrive in the same network read as the connection's ReadyForQuery: it is emitted before TypeORM
 * has put its error listener on the client, and an `error` event nobody listens to ends the
 * process. This client always listens: the event still reaches the pool's and TypeORM's
 * listeners, and the client is marked unusable, so its next query fails with a connection error
 * (answered 503 or retried, see transaction.ts) and the pool discards it on release.
 */
export class LossTolerantClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}
