import { ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { UserEntity } from '../users/user.entity.js';
import { type CreateUserInput, UsersService } from '../users/users.service.js';
import { CredentialsService } from './credentials.service.js';
import type { SessionClient } from './auth.entities.js';
import type { TokenPairDto } from './dto/auth.dto.js';
import type { Principal } from './principal.js';
import { SessionsService } from './sessions.service.js';
import { TokensService } from './tokens.service.js';

/** Registration and the sessions of the management API. */
@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly credentials: CredentialsService,
    private readonly sessions: SessionsService,
    private readonly tokens: TokensService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async register(input: Omit<CreateUserInput, 'isAdmin'>): Promise<UserEntity> {
    if (!this.config.auth.registrationEnabled)
      throw new ForbiddenException('self-registration is disabled');
    return this.users.create({ ...input, isAdmin: false });
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

  /** Password sign-in (API keys are not accepted here): starts a session. */
  async login(username: string, password: string, client: SessionClient): Promise<TokenPairDto> {
    const principal = await this.credentials.password(
      username,
      password,
      client.address ?? undefined,
      false,
    );
    const { session, refreshToken } = await this.sessions.start(principal.userId, 'api', client);
    return this.pair(principal.userId, session.id, refreshToken);
  }

  async refresh(refreshToken: string, client: SessionClient): Promise<TokenPairDto> {
    const { session, refreshToken: next } = await this.sessions.rotate(refreshToken, client);
    if (!(await this.users.findActiveById(session.userId)))
      throw new UnauthorizedException('invalid or expired refresh token');
    return this.pair(session.userId, session.id, next);
  }

  /** Ends the session named by the refresh token, or the one the access token belongs to. */
  async logout(principal: Principal | null, refreshToken: string | undefined): Promise<void> {
    if (refreshToken) {
      const session = await this.sessions.sessionOfRefreshToken(refreshToken);
      if (!session || (principal && principal.userId !== session.userId))
        throw new UnauthorizedException('invalid or expired refresh token');
      await this.sessions.revoke(session.id, 'logout');
      return;
    }
    if (!principal?.sessionId)
      throw new UnauthorizedException('send the refresh token, or sign in with an access token');
    await this.sessions.revoke(principal.sessionId, 'logout');
  }
}
