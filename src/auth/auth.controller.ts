import type { Actor } from '../common/actor.js';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { RegisterUserDto, UserDto } from '../users/dto/users.dto.js';
import { UsersService } from '../users/users.service.js';
import { sessionClientOf } from './auth.entities.js';
import { AuthService } from './auth.service.js';
import { withRetryAfter } from './credentials.service.js';
import {
  Authenticated,
  CurrentActor,
  CurrentPrincipal,
  OptionalAuth,
  requirePrincipal,
} from './decorators.js';
import { LoginDto, LogoutDto, RefreshDto, TokenPairDto } from './dto/auth.dto.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import type { UserPrincipal } from './principal.js';
import { clearRefreshCookie, refreshCookieOf, setRefreshCookie } from './refresh-cookie.js';

/** Moves the refresh token of a token pair into the refresh cookie. */
function toCookie(req: Request, res: Response, pair: TokenPairDto): TokenPairDto {
  const { refreshToken, ...rest } = pair;
  if (refreshToken) setRefreshCookie(req, res, refreshToken, pair.refreshExpiresIn);
  return rest;
}

@ApiTags('auth')
@ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
  ) {}

  @Post('register')
  @ApiOperation({ summary: 'Create an account (when self-registration is enabled)' })
  @ApiCreatedResponse({ type: UserDto })
  @ApiForbiddenResponse({ description: 'Self-registration is disabled', type: ErrorResponseDto })
  @ApiConflictResponse({
    description: 'Name or e-mail taken, or name reserved',
    type: ErrorResponseDto,
  })
  @ApiTooManyRequestsResponse({
    description: 'Too many registrations from this address (Retry-After)',
    type: ErrorResponseDto,
  })
  async register(
    @CurrentActor() actor: Actor,
    @Body() body: RegisterUserDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<UserDto> {
    return UserDto.of(await withRetryAfter(res, this.auth.register(body, req.ip, actor)), true);
  }

  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign in with user name and password: access and refresh token' })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiUnauthorizedResponse({ description: 'Wrong user name or password', type: ErrorResponseDto })
  @ApiTooManyRequestsResponse({
    description: 'Too many failed attempts for the account or address (Retry-After)',
    type: ErrorResponseDto,
  })
  async login(
    @CurrentActor() actor: Actor,
    @Body() body: LoginDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TokenPairDto> {
    const pair = await withRetryAfter(
      res,
      this.auth.login(body.username, body.password, sessionClientOf(req), actor),
    );
    return body.refreshCookie ? toCookie(req, res, pair) : pair;
  }

  @Post('refresh')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Exchange a refresh token for new tokens; a reused refresh token ends its session',
  })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiUnauthorizedResponse({
    description: 'Invalid, expired, revoked or reused refresh token',
    type: ErrorResponseDto,
  })
  async refresh(
    @CurrentActor() actor: Actor,
    @Body() body: RefreshDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TokenPairDto> {
    if (body.refreshToken) return this.auth.refresh(body.refreshToken, sessionClientOf(req), actor);
    const cookie = refreshCookieOf(req);
    if (!cookie)
      throw new BadRequestException('send refreshToken, or sign in with refreshCookie first');
    try {
      return toCookie(req, res, await this.auth.refresh(cookie, sessionClientOf(req), actor));
    } catch (e) {
      clearRefreshCookie(req, res);
      throw e;
    }
  }

  @Post('logout')
  @HttpCode(204)
  @OptionalAuth()
  @ApiOperation({ summary: "End a session (by refresh token, or the access token's own session)" })
  @ApiNoContentResponse({ description: 'Session ended' })
  async logout(
    @CurrentActor() actor: Actor,
    @CurrentPrincipal() p: UserPrincipal | null,
    @Body() body: LogoutDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    const cookie = refreshCookieOf(req);
    if (cookie) clearRefreshCookie(req, res);
    await this.auth.logout(p, body.refreshToken ?? cookie, actor);
  }

  @Get('me')
  @Authenticated()
  @ApiOperation({ summary: 'The caller' })
  @ApiOkResponse({ type: UserDto })
  async me(@CurrentPrincipal() p: UserPrincipal | null): Promise<UserDto> {
    const caller = requirePrincipal(p);
    return UserDto.of(await this.users.requireByUsername(caller.username), true);
  }
}
