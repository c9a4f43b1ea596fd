import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { type Observable, retry, throwError, timer } from 'rxjs';
import { isConnectionError } from './db-errors.js';

/**
 * GET and HEAD are safe methods: when one fails because its database connection was lost before
 * any byte of the answer was sent, the handler runs once more (on a fresh pooled connection). See
 * `transaction.ts` for how writes survive a lost connection.
 */
@Injectable()
export class DbRetryInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<Request>();
    const res = ctx.switchToHttp().getResponse<Response>();
    if (req.method !== 'GET' && req.method !== 'HEAD') return next.handle();
    return next.handle().pipe(
      retry({
        count: 1,
        delay: (e: unknown) =>
          isConnectionError(e) && !res.headersSent ? timer(20) : throwError(() => e),
      }),
    );
  }
}
