import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  Logger,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { type Observable, retry, throwError, timer } from 'rxjs';
import { isConnectionError } from './db-errors.js';
import { IDEMPOTENT_ATTEMPTS } from './transaction.js';

/**
 * GET and HEAD are safe methods: when one fails because its database connection was lost before
 * any byte of the answer was sent, the handler runs again (on a fresh pooled connection). See
 * `transaction.ts` for how writes survive a lost connection.
 */
@Injectable()
export class DbRetryInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Database');

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<Request>();
    const res = ctx.switchToHttp().getResponse<Response>();
    if (req.method !== 'GET' && req.method !== 'HEAD') return next.handle();
    return next.handle().pipe(
      retry({
        count: IDEMPOTENT_ATTEMPTS - 1,
        delay: (e: unknown, attempt: number) => {
          if (!isConnectionError(e) || res.headersSent) return throwError(() => e);
          this.logger.warn(
            `${req.method} ${req.path}: connection lost; running it again (${attempt})`,
          );
          return timer(20 * attempt);
        },
      }),
    );
  }
}
