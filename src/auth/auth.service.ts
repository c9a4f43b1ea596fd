import type { Actor } from '../common/actor.js';
import { ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { apiError } from '../common/api-error.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { normalizeName } from '../users/names.js';
import type { UserEntity } from '../users/user.entity.js';
import { type CreateUserInput, UsersService } from '../users/users.service.js';
import { type AttemptLimiter, REGISTRATION_LIMITER } from './attempt-limiter.js';
import type { SessionClient } from './auth.entities.js';
import { CredentialsService, TooManyAttemptsException } from './credentials.service.js';
import type { TokenPairDto } from './dto/auth.dto.js';
import { signedInActor } from './decorators.js';
import type { UserPrincipal } from './principal.js';
import { SessionsService } from './sessions.service.js';
import { TokensService } from './tokens.service.js';

/** Registration, password changes and the sessions of the management API. */
@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly credentials: CredentialsService,
    private readonly sessions: SessionsService,
    private readonly tokens: TokensService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REGISTRATION_LIMITER) private readonly registrations: AttemptLimiter,
  ) {}

  /**
   * Self-registration: at most REGISTRATION_RATE_LIMIT_PER_ADDRESS attempts per client address per
   * window (every attempt counts, taken names included); the name the bootstrap administrator is
   * configured with stays free for it.
   */
  async register(
    input: Omit<CreateUserInput, 'isAdmin'>,
    address: string | undefined,
    by: Actor,
  ): Promise<UserEntity> {
    if (!this.config.auth.registrationEnabled)
      throw apiError(403, 'REGISTRATION_DISABLED', 'self-registration is disabled');
    const wait = await this.registrations.consume([
      {
        key: `register:address:${address ?? 'unknown'}`,
        limit: this.config.auth.registrationLimitPerAddress,
      },
    ]);
    if (wait > 0)
      throw new TooManyAttemptsException(wait, 'too many registrations from this address');
    const name = normalizeName(input.username);
    if (name === this.config.auth.adminUsername)
      throw apiError(409, 'NAME_RESERVED', `the name "${name}" is reserved`);
    return this.users.create({ ...input, isAdmin: false }, by);
  }

  /**
   * Changes the caller's password. A wrong current password counts as a failed sign-in of the
   * account from the caller's address (the same limits: 429 past them, even for the right one),
   * so that a leaked API key or access token cannot be used to guess it. The change raises the
   * user's credential generation (registry tokens issued with the old password stop working) and
   * ends every other session.
   */
  async changePassword(
    caller: UserPrincipal,
    current: string,
    next: string,
    address: string | undefined,
    by: Actor,
  ): Promise<void> {
    try {
      // Also limited per credential: a leaked key or token guesses from any address alike.
      await this.credentials.password(
        caller.username,
        current,
        address,
        false,
        [`credential:${caller.apiKeyId ?? caller.sessionId ?? caller.userId}`],
        by,
      );
    } catch (e) {
      if (e instanceof UnauthorizedException)
        throw new ForbiddenException('the current password is not correct');
      throw e;
    }
    await this.users.setPassword(caller.userId, next, by, caller.sessionId);
  }

  private async pair(
    userId: string,
    sessionId: string,
    refreshToken: string,
  ): Promise<TokenPairDto> {
    const access = await this.tokens.signAccessToken(userId, sessionId);
    return {
      accessToken: access.token,
      tokenType: 'Bearer',
      expiresIn: access.expiresIn,
      refreshToken,
      refreshExpiresIn: this.config.auth.refreshTokenTtlSeconds,
    };
  }

  /**
   * Password sign-in (API keys are not accepted here): starts a session (`auth.signed-in`; a wrong
   * password records `auth.sign-in.failed`). `by` is the request's (anonymous) actor.
   */
  async login(
    username: string,
    password: string,
    client: SessionClient,
    by: Actor,
  ): Promise<TokenPairDto> {
    const principal = await this.credentials.password(
      username,
      password,
      client.address ?? undefined,
      false,
      [],
      by,
    );
    const { session, refreshToken } = await this.sessions.start(principal.userId, 'api', client, {
      actor: signedInActor(by, principal),
      username: principal.username,
    });
    return this.pair(principal.userId, session.id, refreshToken);
  }

  async refresh(refreshToken: string, client: SessionClient, by: Actor): Promise<TokenPairDto> {
    const { session, refreshToken: next } = await this.sessions.rotate(refreshToken, client, by);
    if (!(await this.users.findActiveById(session.userId)))
      throw new UnauthorizedException('invalid or expired refresh token');
    return this.pair(session.userId, session.id, next);
  }

  /** Ends the session named by the refresh token, or the one the access token belongs to. */
  async logout(
    principal: UserPrincipal | null,
    refreshToken: string | undefined,
    by: Actor,
  ): Promise<void> {
    if (refreshToken) {
      const session = await this.sessions.sessionOfRefreshToken(refreshToken);
      if (!session || (principal && principal.userId !== session.userId))
        throw new UnauthorizedException('invalid or expired refresh token');
      await this.sessions.revoke(session.id, 'logout', by);
      return;
    }
    if (!principal?.sessionId)
      throw new UnauthorizedException('send the refresh token, or sign in with an access token');
    await this.sessions.revoke(principal.sessionId, 'logout', by);
  }
}
