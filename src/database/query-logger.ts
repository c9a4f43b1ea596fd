import { Logger } from '@nestjs/common';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { dbErrorLogLine } from './db-errors.js';

/** First line of a statement, shortened: enough to tell which query it was. */
function statement(query: string): string {
  const oneLine = query.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}

/**
 * TypeORM's logger. Query parameters are never logged: they hold password hashes, token hashes
 * and whatever a client sent. A failed query is logged at debug level by its SQLSTATE, message and
 * statement text (placeholders only); the HTTP error filters decide how loud the failure is.
 */
export class QueryLogger implements TypeOrmLogger {
  private readonly logger = new Logger('Database');

  /** Successful queries are not logged (one line per query would drown everything else). */
  logQuery(): void {}

  logQueryError(error: string | Error, query: string): void {
    const message = typeof error === 'string' ? error : dbErrorLogLine(error);
    this.logger.debug(`query failed: ${message} — ${statement(query)}`);
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn(`slow query (${time} ms): ${statement(query)}`);
  }

  logSchemaBuild(message: string): void {
    this.logger.debug(message);
  }

  logMigration(message: string): void {
    this.logger.log(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    const text = typeof message === 'string' ? message : String(message);
    if (level === 'warn') this.logger.warn(text);
    else this.logger.debug(text);
  }
}
