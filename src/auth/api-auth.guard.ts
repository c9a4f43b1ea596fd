import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';
import { withRetry } from '../database/transaction.js';
import { parseCredentials } from './credentials.js';
import { AUTH_MODE_KEY, type AuthMode } from './decorators.js';
import type { SignedInPrincipal } from './principal.js';
import { scopeAllowsApi } from './scopes.js';

const STRATEGY = { jwt: 'jwt', basic: 'basic', 'api-key': 'api-key' } as const;

/**
 * Global guard of the management API. Routes marked @Authenticated() or @OptionalAuth() get
 * their caller verified by the passport strategy that matches the credentials the request
 * carries; other routes (the registry, health) are left alone.
 */
@Injectable()
export class ApiAuthGuard implements CanActivate {
  private readonly guards = {
    jwt: new (AuthGuard(STRATEGY.jwt))(),
    basic: new (AuthGuard(STRATEGY.basic))(),
    'api-key': new (AuthGuard(STRATEGY['api-key']))(),
  };

  constructor(private readonly reflector: Reflector) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const mode = this.reflector.getAllAndOverride<AuthMode | undefined>(AUTH_MODE_KEY, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    if (!mode) return true;
    const req = ctx.switchToHttp().getRequest<Request>();
    const creds = parseCredentials(req.headers);
    switch (creds.kind) {
      case 'none':
        if (mode === 'optional') return true;
        throw new UnauthorizedException('authentication required');
      case 'invalid':
        throw new UnauthorizedException(creds.reason);
      default: {
        // Verifying reads only: runs again if the database connection was lost meanwhile.
        const ok = await withRetry(
          () => this.guards[creds.kind].canActivate(ctx) as Promise<boolean>,
        );
        ApiAuthGuard.refuseUnlessApiAllowed((req as Request & { user?: SignedInPrincipal }).user);
        return ok;
      }
    }
  }

  /**
   * Robot accounts never use the management API, and API keys only with `api` in their scope:
   * both are refused with 403 (they are valid credentials, only not for this).
   */
  static refuseUnlessApiAllowed(p: SignedInPrincipal | undefined): void {
    if (p?.kind === 'robot')
      throw new ForbiddenException('robot accounts cannot use the management API');
    if (p && !scopeAllowsApi(p.keyScope))
      throw new ForbiddenException('this API key has no management API access');
  }
}
