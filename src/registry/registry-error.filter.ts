import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { StorageError } from '../storage/storage-driver.js';
import { RegistryError } from './errors.js';

/** Every error on `/v2/` leaves as the OCI error JSON. */
@Catch()
export class RegistryErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Registry');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<{ method: string; originalUrl: string }>();
    let err: RegistryError;
    if (exception instanceof RegistryError) {
      err = exception;
    } else if (isMissingBlob(exception)) {
      err = new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry');
    } else if (exception instanceof StorageError) {
      this.logger.warn(`${req.method} ${req.originalUrl}: storage: ${exception.message}`);
      err = new RegistryError(
        'UNAVAILABLE',
        `blob storage unavailable: ${exception.message}`,
        undefined,
        503,
        {
          'Retry-After': '5',
        },
      );
    } else if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code =
        status === 401
          ? 'UNAUTHORIZED'
          : status === 403
            ? 'DENIED'
            : status === 429
              ? 'TOOMANYREQUESTS'
              : status === 404
                ? 'NAME_UNKNOWN'
                : 'UNKNOWN';
      err = new RegistryError(code, exception.message, undefined, status);
    } else {
      this.logger.error(
        `${req.method} ${req.originalUrl}: ${(exception as Error)?.stack ?? String(exception)}`,
      );
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

/** The store lost a blob the database knows (or a file vanished): the client sees it as unknown. */
function isMissingBlob(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'ENOENT';
}
