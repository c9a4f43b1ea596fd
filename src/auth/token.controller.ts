import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpException,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBasicAuth,
  ApiConsumes,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { sessionClientOf } from './auth.entities.js';
import { parseCredentials } from './credentials.js';
import { INVALID_CREDENTIALS, TooManyAttemptsException } from './credentials.service.js';
import {
  OAuthErrorDto,
  OAuthTokenDto,
  RegistryErrorDto,
  RegistryTokenDto,
  TokenFormDto,
  TokenQueryDto,
} from './dto/token.dto.js';
import { CredentialsService } from './credentials.service.js';
import type { SignedInPrincipal } from './principal.js';
import { RegistryTokensService } from './registry-tokens.service.js';
import { formatScope, parseScopes } from './scopes.js';
import { SessionsService } from './sessions.service.js';
import { actorOf, SECURITY_SCHEMES, signedInActor } from './decorators.js';

function registryError(status: number, code: string, message: string): HttpException {
  return new HttpException({ errors: [{ code, message }] }, status);
}

function oauthError(status: number, error: string, description: string): HttpException {
  return new HttpException({ error, error_description: description }, status);
}

/**
 * The token endpoint of the Docker token flow: registry clients get its address from the
 * WWW-Authenticate challenge of `/v2/`. Served at `/auth/token` and at `/api/v1/auth/token`.
 */
@ApiTags('auth')
@Controller('auth/token')
export class TokenController {
  constructor(
    private readonly credentials: CredentialsService,
    private readonly registryTokens: RegistryTokensService,
    private readonly sessions: SessionsService,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Registry token for the requested scopes (Docker token flow)',
    description:
      'With Basic credentials (password or API key) or none (anonymous: public repositories only). ' +
      'Granted actions are the intersection of requested and allowed; refused scopes are left out.',
  })
  @ApiSecurity({})
  @ApiBasicAuth(SECURITY_SCHEMES.basic)
  @ApiOkResponse({ type: RegistryTokenDto })
  @ApiBadRequestResponse({ description: 'Malformed query', type: RegistryErrorDto })
  @ApiUnauthorizedResponse({ description: 'Invalid credentials', type: RegistryErrorDto })
  @ApiTooManyRequestsResponse({
    description: 'Too many failed sign-in attempts',
    type: RegistryErrorDto,
  })
  async get(
    @Req() req: Request,
    @Query() query: TokenQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<RegistryTokenDto> {
    res.setHeader('Cache-Control', 'no-store');
    const actor = actorOf(req, null);
    const creds = parseCredentials(req.headers);
    let principal: SignedInPrincipal | null = null;
    try {
      if (creds.kind === 'basic')
        principal = await this.credentials.basic(creds.username, creds.password, req.ip, actor);
      else if (creds.kind === 'api-key') principal = await this.credentials.apiKey(creds.key);
      else if (creds.kind !== 'none')
        throw registryError(401, 'UNAUTHORIZED', 'use Basic credentials (password or API key)');
    } catch (e) {
      if (e instanceof TooManyAttemptsException) {
        res.setHeader('Retry-After', String(e.retryAfterSeconds));
        throw registryError(429, 'TOOMANYREQUESTS', e.reason);
      }
      if (e instanceof HttpException && e.getStatus() === 401) {
        res.setHeader('WWW-Authenticate', 'Basic realm="aerugo"');
        throw registryError(401, 'UNAUTHORIZED', INVALID_CREDENTIALS);
      }
      throw e;
    }
    const issued = await this.registryTokens.issue(principal, parseScopes(query.scope), actor);
    const body: RegistryTokenDto = {
      token: issued.token,
      access_token: issued.token,
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt.toISOString(),
    };
    if (
      query.offline_token === 'true' &&
      principal?.kind === 'user' &&
      principal.method === 'password'
    ) {
      body.refresh_token = (
        await this.sessions.start(principal.userId, 'registry', sessionClientOf(req), {
          actor: signedInActor(actor, principal),
          username: principal.username,
        })
      ).refreshToken;
    }
    return body;
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Registry token through the OAuth2 password or refresh_token grant',
    description:
      'The form `docker login` and containerd send. Wrong credentials or refresh tokens answer 401.',
  })
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiOkResponse({ type: OAuthTokenDto })
  @ApiBadRequestResponse({
    description: 'Missing fields or unsupported grant',
    type: OAuthErrorDto,
  })
  @ApiUnauthorizedResponse({
    description: 'Invalid credentials or refresh token',
    type: OAuthErrorDto,
  })
  @ApiTooManyRequestsResponse({
    description: 'Too many failed sign-in attempts',
    type: OAuthErrorDto,
  })
  async post(
    @Req() req: Request,
    @Body() body: TokenFormDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OAuthTokenDto> {
    res.setHeader('Cache-Control', 'no-store');
    const actor = actorOf(req, null);
    let principal: SignedInPrincipal;
    let refreshToken: string | undefined;
    try {
      if (body.grant_type === 'password') {
        if (!body.username || body.password === undefined) {
          throw oauthError(400, 'invalid_request', 'username and password are required');
        }
        principal = await this.credentials.basic(body.username, body.password, req.ip, actor);
        if (
          body.access_type === 'offline' &&
          principal.kind === 'user' &&
          principal.method === 'password'
        ) {
          refreshToken = (
            await this.sessions.start(principal.userId, 'registry', sessionClientOf(req), {
              actor: signedInActor(actor, principal),
              username: principal.username,
            })
          ).refreshToken;
        }
      } else {
        if (!body.refresh_token)
          throw oauthError(400, 'invalid_request', 'refresh_token is required');
        const session = await this.sessions.useRegistryToken(
          body.refresh_token,
          sessionClientOf(req),
        );
        principal = await this.credentials
          .registryTokenSubject({ sub: session.userId, sid: session.id })
          .then((p) => p!);
      }
    } catch (e) {
      if (e instanceof TooManyAttemptsException) {
        res.setHeader('Retry-After', String(e.retryAfterSeconds));
        throw oauthError(429, 'slow_down', e.reason);
      }
      if (e instanceof HttpException && e.getStatus() === 401) {
        throw oauthError(
          401,
          'invalid_grant',
          body.grant_type === 'password' ? INVALID_CREDENTIALS : 'invalid or expired refresh token',
        );
      }
      throw e;
    }
    const issued = await this.registryTokens.issue(principal, parseScopes(body.scope), actor);
    return {
      access_token: issued.token,
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt.toISOString(),
      scope: issued.access.map((a) => formatScope(a.type, a.name, a.actions)).join(' '),
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    };
  }
}
