import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { dbErrorLogLine, describeDbError } from '../database/db-errors.js';
import { StorageError } from '../storage/storage-driver.js';
import {
  API_ERROR_CODES,
  type ApiErrorBody,
  type ApiErrorCode,
  defaultApiErrorCode,
  reasonPhrase,
} from './api-error.js';

/** Seconds a client should wait after a storage outage (as the registry answers it). */
const STORAGE_RETRY_AFTER_SECONDS = 5;

function isApiErrorCode(v: unknown): v is ApiErrorCode {
  return typeof v === 'string' && Object.hasOwn(API_ERROR_CODES, v);
}

/** `/v2` and everything below it: the registry API, which answers in the OCI error format. */
export function isRegistryPath(url: string): boolean {
  return /^\/v2(?:[/?#]|$)/.test(url);
}

/**
 * The global exception filter. Every error leaves as a well-formed answer, never as Nest's default
 * 500: under `/v2/` the registry's filter gives the OCI error JSON; everywhere else (the management
 * API) the body is `{statusCode, message, error, code}` (see API_ERROR_CODES). Database errors are
 * mapped by meaning (`describeDbError`: 400, 409, or 503 with `Retry-After`), blob storage outages
 * answer 503, and an exception carrying `retryAfterSeconds` (sign-in limits) sets `Retry-After`.
 * Nothing is logged with its query parameters: unexpected errors are logged by message and stack.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  constructor(private readonly registry?: ExceptionFilter) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    if (this.registry && isRegistryPath(req.originalUrl ?? req.url)) {
      this.registry.catch(exception, host);
      return;
    }
    const { status, body, retryAfter } = this.describe(exception, req);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
    const text = JSON.stringify(body);
    res.status(status).type('application/json');
    if (req.method === 'HEAD') {
      res.setHeader('Content-Length', Buffer.byteLength(text));
      res.end();
    } else res.send(text);
  }

  private describe(
    exception: unknown,
    req: Request,
  ): { status: number; body: object; retryAfter?: number } {
    // The request id ties the message to the request's access log line.
    const id = (req as { id?: unknown }).id;
    const where = `${req.method} ${(req.originalUrl ?? req.url).split('?')[0]}${typeof id === 'string' ? ` [${id}]` : ''}`;
    const retryAfterOf = (e: unknown): number | undefined => {
      const v = (e as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
      return typeof v === 'number' && v >= 0 ? Math.ceil(v) : undefined;
    };
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const retryAfter = retryAfterOf(exception);
      if (typeof response === 'object' && response !== null && !('statusCode' in response)) {
        // A body of its own on purpose (the token endpoint's Docker and OAuth2 errors, the health
        // report): left as it is.
        return { status, body: response, retryAfter };
      }
      const fields = typeof response === 'string' ? { message: response } : response;
      const given = (fields as { code?: unknown }).code ?? (exception as { code?: unknown }).code;
      const body: ApiErrorBody = {
        statusCode: status,
        message: (fields as { message?: string | string[] }).message ?? exception.message,
        error: (fields as { error?: string }).error ?? reasonPhrase(status),
        code: isApiErrorCode(given) ? given : defaultApiErrorCode(status),
      };
      if (status >= 500) this.logger.warn(`${where}: ${status} ${exception.message}`);
      return { status, body, retryAfter: retryAfter ?? (status === 503 ? 5 : undefined) };
    }
    if (exception instanceof StorageError) {
      this.logger.warn(`${where}: storage: ${exception.message}`);
      return {
        status: 503,
        body: this.body(503, `blob storage unavailable: ${exception.message}`, 'UNAVAILABLE'),
        retryAfter: STORAGE_RETRY_AFTER_SECONDS,
      };
    }
    const db = describeDbError(exception);
    if (db) {
      const line = `${where}: database: ${dbErrorLogLine(exception)}`;
      if (db.status === 503) this.logger.warn(line);
      else this.logger.debug(line);
      const code: ApiErrorCode =
        db.status === 400 ? 'VALIDATION_FAILED' : db.status === 409 ? 'CONFLICT' : 'UNAVAILABLE';
      return {
        status: db.status,
        body: this.body(db.status, db.message, code),
        retryAfter: db.retryAfterSeconds,
      };
    }
    const err = exception as { stack?: unknown; message?: unknown } | null;
    this.logger.error(
      `${where}: ${typeof err?.stack === 'string' ? err.stack : String(err?.message ?? exception)}`,
    );
    return { status: 500, body: this.body(500, 'internal error', 'INTERNAL_ERROR') };
  }

  private body(status: number, message: string, code: ApiErrorCode): ApiErrorBody {
    return { statusCode: status, message, error: reasonPhrase(status), code };
  }
}
