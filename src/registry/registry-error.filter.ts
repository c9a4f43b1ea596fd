import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { MalformedRequestError } from '../common/text-input.js';
import { dbErrorLogLine, describeDbError } from '../database/db-errors.js';
import { StorageError } from '../storage/storage-driver.js';
import { RegistryError, type RegistryErrorCode } from './errors.js';

/**
 * Every error on `/v2/` leaves as the OCI error JSON. Database errors are mapped by meaning
 * (`describeDbError`): a lost connection, a timeout or a collision with a concurrent change is
 * `503 UNAVAILABLE` with `Retry-After` (registry writes are idempotent, so a constraint violation
 * here can only come from a concurrent change — a repository deleted meanwhile — and a retry
 * settles it); text the database cannot store is a 400.
 */
@Catch()
export class RegistryErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Registry');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    const where = `${req.method} ${req.originalUrl.split('?')[0]}`;
    let err: RegistryError;
    const db = exception instanceof StorageError ? undefined : describeDbError(exception);
    if (exception instanceof RegistryError) {
      err = exception;
    } else if (isMissingBlob(exception)) {
      err = new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry');
    } else if (exception instanceof StorageError) {
      this.logger.warn(`${where}: storage: ${exception.message}`);
      err = new RegistryError(
        'UNAVAILABLE',
        `blob storage unavailable: ${exception.message}`,
        undefined,
        503,
        {
          'Retry-After': '5',
        },
      );
    } else if (db) {
      if (db.status === 400) {
        this.logger.debug(`${where}: database: ${dbErrorLogLine(exception)}`);
        err = new RegistryError('UNSUPPORTED', db.message, undefined, 400);
      } else {
        this.logger.warn(`${where}: database: ${dbErrorLogLine(exception)}`);
        const message =
          db.status === 409
            ? 'the request collided with a concurrent change; try again'
            : db.message;
        err = new RegistryError('UNAVAILABLE', message, undefined, 503, {
          'Retry-After': String(db.retryAfterSeconds ?? 1),
        });
      }
    } else if (exception instanceof HttpException) {
      err = fromHttpException(exception);
    } else {
      this.logger.error(`${where}: ${(exception as Error)?.stack ?? String(exception)}`);
      err = new RegistryError('UNKNOWN', 'internal error');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
    const body = JSON.stringify(err.toJSON());
    res.status(err.status).type('application/json');
    if (req.method === 'HEAD') {
      res.setHeader('Content-Length', Buffer.byteLength(body));
      res.end();
    } else res.send(body);
  }
}

/** Nest and Express errors (routing, malformed URLs, limits) in the registry's vocabulary. */
function fromHttpException(exception: HttpException): RegistryError {
  const status = exception.getStatus();
  const retryAfter = (exception as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  const headers: Record<string, string> =
    typeof retryAfter === 'number' ? { 'Retry-After': String(Math.ceil(retryAfter)) } : {};
  const malformedPath =
    (exception instanceof MalformedRequestError && exception.part === 'path') ||
    exception.cause instanceof URIError;
  if (malformedPath) {
    return new RegistryError('NAME_INVALID', 'invalid path encoding', undefined, 400);
  }
  const message =
    exception instanceof MalformedRequestError
      ? [exception.getResponse()].flatMap((r) => (r as { message: string[] }).message).join('; ')
      : exception.message;
  const code: RegistryErrorCode =
    status === 401
      ? 'UNAUTHORIZED'
      : status === 403
        ? 'DENIED'
        : status === 429
          ? 'TOOMANYREQUESTS'
          : status === 404
            ? 'NAME_UNKNOWN'
            : status === 413
              ? 'SIZE_INVALID'
              : status === 503
                ? 'UNAVAILABLE'
                : status >= 400 && status < 500
                  ? 'UNSUPPORTED'
                  : 'UNKNOWN';
  if (status === 503 && !headers['Retry-After']) headers['Retry-After'] = '5';
  return new RegistryError(code, message, undefined, status, headers);
}

/** The store lost a blob the database knows (or a file vanished): the client sees it as unknown. */
function isMissingBlob(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'ENOENT';
}
