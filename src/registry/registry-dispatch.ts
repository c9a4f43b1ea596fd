import type { INestApplication } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import type { NextFunction, Request, Response } from 'express';
import { setTimeout as sleep } from 'node:timers/promises';
import { isConnectionError } from '../database/db-errors.js';
import { IDEMPOTENT_ATTEMPTS } from '../database/transaction.js';
import { RegistryAccessGuard, type RegistryRequest } from './registry-access.guard.js';
import { RegistryErrorFilter } from './registry-error.filter.js';
import { RegistryController } from './registry.controller.js';

/** `/v2` and every path below it (case as written: anything else is left to Nest's router). */
function isV2Path(path: string): boolean {
  return path === '/v2' || path.startsWith('/v2/');
}

/**
 * Serves `/v2/` straight from Express, ahead of Nest's router: the same guard, handler and error
 * filter that the RegistryController's Nest route applies, without the per-request layers that do
 * nothing there (the route table walk over every API route, the global API guard that leaves the
 * registry alone, the pipes that never see `@Req()`/`@Res()`, the RxJS interceptor chain). About
 * a fifth of the CPU of an authorized manifest GET went to those layers.
 *
 * What the Nest route did, it does: RegistryAccessGuard decides (it retries its own reads), the
 * controller's `handle` answers, any error is answered by RegistryErrorFilter, and a GET or HEAD
 * whose database connection was lost before any byte was sent runs again (DbRetryInterceptor's
 * rule). Mounted last among the Express middleware of main.ts, so everything before it (request
 * observer, malformed-text check, body deadline) still runs first.
 */
export function registryDispatch(app: INestApplication) {
  const guard = app.get(RegistryAccessGuard);
  const controller = app.get(RegistryController);
  const filter = new RegistryErrorFilter();
  const logger = new Logger('Database');

  async function serve(req: RegistryRequest, res: Response, next: NextFunction): Promise<void> {
    try {
      await guard.admit(req);
      const safe = req.method === 'GET' || req.method === 'HEAD';
      for (let attempt = 1; ; attempt++) {
        try {
          await controller.handle(req, res);
          return;
        } catch (e) {
          if (!safe || attempt >= IDEMPOTENT_ATTEMPTS || !isConnectionError(e) || res.headersSent)
            throw e;
          logger.warn(`${req.method} ${req.path}: connection lost; running it again (${attempt})`);
          await sleep(20 * attempt);
        }
      }
    } catch (e) {
      filter.catch(e, new ExecutionContextHost([req, res, next]));
    }
  }

  return (req: Request, res: Response, next: NextFunction): void => {
    if (!isV2Path(req.path)) return next();
    void serve(req, res, next);
  };
}
