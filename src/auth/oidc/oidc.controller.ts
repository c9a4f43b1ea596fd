import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiFoundResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiQuery,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Actor } from '../../common/actor.js';
import { ErrorResponseDto } from '../../common/error-response.dto.js';
import type { AppConfig } from '../../config/config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { sessionClientOf } from '../auth.entities.js';
import { CurrentActor } from '../decorators.js';
import { publicBaseUrl } from '../public-url.js';
import { setRefreshCookie } from '../refresh-cookie.js';
import { OidcService } from './oidc.service.js';

export class OidcStatusDto {
  @ApiProperty({ description: 'Whether single sign-on with OpenID Connect is configured' })
  enabled: boolean;

  @ApiProperty({
    required: false,
    description: 'Where the browser starts a sign-in (add ?returnTo=/path)',
    example: '/api/v1/auth/oidc/login',
  })
  loginUrl?: string;

  @ApiProperty({ description: 'Whether non-administrators may still sign in with a password' })
  localPasswords: boolean;
}

/**
 * The browser's state cookie: sent back only to these routes, and SameSite=Lax because the
 * provider's redirect back to the callback is a cross-site navigation (Strict would drop it).
 */
const STATE_COOKIE = 'aerugo_oidc_state';
const STATE_PATH = '/api/v1/auth/oidc';

function stateCookieOf(req: Request): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === STATE_COOKIE) return part.slice(i + 1).trim();
  }
  return undefined;
}

function stateCookie(req: Request, value: string, maxAge: number): string {
  return `${STATE_COOKIE}=${value}; Max-Age=${maxAge}; Path=${STATE_PATH}; HttpOnly; SameSite=Lax${req.secure ? '; Secure' : ''}`;
}

@ApiTags('auth')
@Controller('auth/oidc')
export class OidcController {
  constructor(
    private readonly oidc: OidcService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private redirectUri(req: Request): string {
    return `${publicBaseUrl(this.config.publicUrl, req)}${STATE_PATH}/callback`;
  }

  @Get()
  @ApiOperation({ summary: 'Whether single sign-on (OpenID Connect) is on, for the sign-in page' })
  @ApiOkResponse({ type: OidcStatusDto })
  status(): OidcStatusDto {
    return {
      enabled: this.oidc.enabled,
      ...(this.oidc.enabled ? { loginUrl: `${STATE_PATH}/login` } : {}),
      localPasswords: this.config.auth.localPasswords === 'all',
    };
  }

  @Get('login')
  @ApiOperation({
    summary: 'Start a single sign-on: redirects the browser to the identity provider',
  })
  @ApiQuery({
    name: 'returnTo',
    required: false,
    description: 'A path on this site to return to after signing in (default /)',
  })
  @ApiFoundResponse({ description: "Redirect to the identity provider's authorization page" })
  @ApiBadRequestResponse({
    description: 'returnTo is not a path on this site',
    type: ErrorResponseDto,
  })
  @ApiNotFoundResponse({ description: 'Single sign-on is not configured', type: ErrorResponseDto })
  async login(
    @Query('returnTo') returnTo: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const { url, state } = await this.oidc.begin(
      typeof returnTo === 'string' ? returnTo : undefined,
      this.redirectUri(req),
    );
    res.append('Set-Cookie', stateCookie(req, state, 600));
    res.redirect(302, url);
  }

  @Get('callback')
  @ApiOperation({
    summary:
      "The identity provider's redirect back: checks it, signs in (refresh cookie) and redirects to returnTo",
  })
  @ApiQuery({ name: 'state', required: false })
  @ApiQuery({ name: 'code', required: false })
  @ApiQuery({ name: 'error', required: false })
  @ApiFoundResponse({ description: 'Signed in: redirect to returnTo, with the refresh cookie' })
  @ApiBadRequestResponse({ description: 'Wrong, missing or used state', type: ErrorResponseDto })
  @ApiUnauthorizedResponse({
    description: 'The code or ID token did not verify',
    type: ErrorResponseDto,
  })
  async callback(
    @CurrentActor() actor: Actor,
    @Query('state') state: string | undefined,
    @Query('code') code: string | undefined,
    @Query('error') error: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const cookie = stateCookieOf(req);
    res.append('Set-Cookie', stateCookie(req, '', 0));
    const done = await this.oidc.finish(
      { state: str(state), code: str(code), error: str(error) },
      cookie,
      this.redirectUri(req),
      sessionClientOf(req),
      actor,
    );
    setRefreshCookie(req, res, done.refreshToken, this.config.auth.refreshTokenTtlSeconds);
    res.redirect(302, done.returnTo);
  }
}
