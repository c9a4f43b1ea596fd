import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  SetMetadata,
  UnauthorizedException,
} from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import type { Request } from 'express';
import { type Actor, requestIdOf } from '../common/actor.js';
import type { UserPrincipal } from './principal.js';

export const AUTH_MODE_KEY = 'aerugo:auth-mode';
export type AuthMode = 'required' | 'optional';

/** Names of the OpenAPI security schemes (declared in main.ts). */
export const SECURITY_SCHEMES = { jwt: 'jwt', basic: 'basic', apiKey: 'api-key' } as const;

function documentSchemes() {
  return [
    ApiBearerAuth(SECURITY_SCHEMES.jwt),
    ApiBasicAuth(SECURITY_SCHEMES.basic),
    ApiSecurity(SECURITY_SCHEMES.apiKey),
    ApiUnauthorizedResponse({
      description: 'Missing, malformed, expired or revoked credentials',
      type: ErrorResponseDto,
    }),
    ApiTooManyRequestsResponse({
      description: 'Too many failed sign-in attempts',
      type: ErrorResponseDto,
    }),
    ApiForbiddenResponse({
      description: 'A robot account, or an API key without management API access (`api`)',
      type: ErrorResponseDto,
    }),
  ];
}

/**
 * The route needs a caller: an access JWT (`Authorization: Bearer <jwt>`), an API key
 * (`Authorization: Bearer ak_…` or `X-API-Key`), or HTTP Basic (password or API key).
 */
export function Authenticated() {
  return applyDecorators(
    SetMetadata(AUTH_MODE_KEY, 'required' satisfies AuthMode),
    ...documentSchemes(),
  );
}

/** Credentials are optional; when present they must be valid (`{}` in OpenAPI: anonymous allowed). */
export function OptionalAuth() {
  return applyDecorators(
    SetMetadata(AUTH_MODE_KEY, 'optional' satisfies AuthMode),
    ApiSecurity({}),
    ...documentSchemes(),
  );
}

/** The verified caller (`null` for anonymous callers of optional routes). */
export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): UserPrincipal | null => {
    const req = ctx.switchToHttp().getRequest<{ user?: UserPrincipal }>();
    return req.user ?? null;
  },
);

export function requirePrincipal(p: UserPrincipal | null): UserPrincipal {
  if (!p) throw new UnauthorizedException('authentication required');
  return p;
}

/** The actor of a management API request: the verified caller, its credential, address and id. */
export function actorOf(req: Request, p: UserPrincipal | null): Actor {
  return {
    principal: p
      ? { kind: 'user', userId: p.userId, username: p.username, isAdmin: p.isAdmin }
      : { kind: 'anonymous' },
    credential: p ? p.method : 'anonymous',
    ...(p?.apiKeyId ? { apiKeyId: p.apiKeyId } : {}),
    address: req.ip,
    requestId: requestIdOf(req),
  };
}

/** The request's actor once `p` has signed in during the request (address and request id kept). */
export function signedInActor(base: Actor, p: UserPrincipal): Actor {
  return {
    principal: { kind: 'user', userId: p.userId, username: p.username, isAdmin: p.isAdmin },
    credential: p.method,
    ...(p.apiKeyId ? { apiKeyId: p.apiKeyId } : {}),
    ...(base.address ? { address: base.address } : {}),
    requestId: base.requestId,
  };
}

/** Who makes this write (see actorOf), for the services to record with its event. */
export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const req = ctx.switchToHttp().getRequest<Request & { user?: UserPrincipal }>();
  return actorOf(req, req.user ?? null);
});
