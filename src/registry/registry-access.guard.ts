import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { withRetry } from '../database/transaction.js';
import {
  REGISTRY_AUTHORIZER,
  type RegistryActor,
  type RegistryAuthorizer,
} from './registry-access.js';
import { parseRegistryPath, requiredActions, type RegistryRoute } from './routes.js';
import { assertRepositoryName } from './names.js';

export type RegistryRequest = Request & {
  registryRoute?: RegistryRoute;
  /** Set by the guard: who is calling. */
  registryActor?: RegistryActor;
  /** Set by the guard: whether `?mount=&from=` may be honoured. */
  registryMountAllowed?: boolean;
  /** Set by the guard for `/v2/_catalog` when the caller's listing needs more than its actor. */
  registryCatalog?: (limit: number, last?: string) => Promise<string[]>;
};

/** Parses the registry route once and asks the bound authorizer whether the caller may proceed. */
@Injectable()
export class RegistryAccessGuard implements CanActivate {
  constructor(@Inject(REGISTRY_AUTHORIZER) private readonly authorizer: RegistryAuthorizer) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    await this.admit(ctx.switchToHttp().getRequest<RegistryRequest>());
    return true;
  }

  /** Parses the route and authorizes the caller (throws when refused); notes both on `req`. */
  async admit(req: RegistryRequest): Promise<void> {
    const route = parseRegistryPath(req.path);
    req.registryRoute = route;
    const mountFrom =
      route.kind === 'uploadStart' &&
      typeof req.query.from === 'string' &&
      typeof req.query.mount === 'string'
        ? req.query.from
        : undefined;
    if (mountFrom !== undefined) assertRepositoryName(mountFrom);
    // Deciding reads (and at most notes a key's last use): it runs again if the database
    // connection was lost meanwhile, instead of failing the request.
    const decision = await withRetry(() =>
      this.authorizer.authorize(req, {
        repository: 'name' in route ? route.name : undefined,
        actions: requiredActions(route, req.method),
        mountFrom,
        catalog: route.kind === 'catalog',
      }),
    );
    req.registryActor = decision.actor;
    req.registryMountAllowed = mountFrom !== undefined && decision.mountAllowed;
    req.registryCatalog = decision.catalog;
  }
}
