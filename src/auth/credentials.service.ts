import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiKeysService } from '../api-keys/api-keys.service.js';
import { looksLikeApiKey } from '../api-keys/api-key-format.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { AccessFactsService } from '../repos/access-facts.service.js';
import { normalizeName } from '../users/names.js';
import type { UserEntity } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import { ATTEMPT_LIMITER, type AttemptLimiter, type LimitKey } from './attempt-limiter.js';
import type { Principal } from './principal.js';
import { SessionsService } from './sessions.service.js';

/** Too many failed sign-in attempts for the account or the address. */
export class TooManyAttemptsException extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    super(
      {
        statusCode: 429,
        message: 'too many failed sign-in attempts; try again later',
        error: 'Too Many Requests',
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

export const INVALID_CREDENTIALS = 'invalid username, password or API key';

/** Verifies every kind of credential and turns it into a Principal. */
@Injectable()
export class CredentialsService {
  constructor(
    private readonly users: UsersService,
    private readonly apiKeys: ApiKeysService,
    private readonly sessions: SessionsService,
    private readonly facts: AccessFactsService,
    @Inject(ATTEMPT_LIMITER) private readonly limiter: AttemptLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  static principalOf(
    user: Pick<UserEntity, 'id' | 'username' | 'isAdmin'>,
    method: Principal['method'],
    extra: Partial<Principal> = {},
  ): Principal {
    return { userId: user.id, username: user.username, isAdmin: user.isAdmin, method, ...extra };
  }

  private limitKeys(username: string, address: string | undefined): LimitKey[] {
    const keys: LimitKey[] = [
      { key: `account:${normalizeName(username)}`, limit: this.config.auth.rateLimitPerAccount },
    ];
    if (address)
      keys.push({ key: `address:${address}`, limit: this.config.auth.rateLimitPerAddress });
    return keys;
  }

  /**
   * A user name with a password, or with one of the user's API keys when `allowApiKey`.
   * Failed attempts are counted per account and per address; past the limit even correct
   * credentials get 429 until the window has passed.
   */
  async password(
    username: string,
    password: string,
    address: string | undefined,
    allowApiKey = true,
  ): Promise<Principal> {
    const keys = this.limitKeys(username, address);
    const wait = await this.limiter.blockedFor(keys);
    if (wait > 0) throw new TooManyAttemptsException(wait);
    if (allowApiKey && looksLikeApiKey(password)) {
      const viaKey = await this.apiKey(password).catch(() => null);
      if (viaKey && viaKey.username === normalizeName(username)) return viaKey;
    }
    const user = await this.users.authenticate(username, password);
    if (!user) {
      await this.limiter.recordFailure(keys);
      throw new UnauthorizedException(INVALID_CREDENTIALS);
    }
    await this.limiter.reset([keys[0].key]);
    return CredentialsService.principalOf(user, 'password');
  }

  /** An API key of an active user (key and user are cached facts, see CacheKeys). */
  async apiKey(key: string): Promise<Principal> {
    const verified = await this.apiKeys.verify(key);
    const user = verified ? await this.facts.activeUser(verified.userId) : null;
    if (!verified || !user) throw new UnauthorizedException(INVALID_CREDENTIALS);
    return CredentialsService.principalOf(user, 'api-key', { apiKeyId: verified.keyId });
  }

  /** The principal of a verified access token, if its session and user are still live. */
  async accessToken(claims: { sub?: unknown; sid?: unknown; typ?: unknown }): Promise<Principal> {
    if (
      claims.typ !== 'access' ||
      typeof claims.sub !== 'string' ||
      typeof claims.sid !== 'string'
    ) {
      throw new UnauthorizedException('invalid token');
    }
    const [user, live] = await Promise.all([
      this.facts.activeUser(claims.sub),
      this.sessions.isActive(claims.sid, claims.sub),
    ]);
    if (!user || !live) throw new UnauthorizedException('token revoked');
    return CredentialsService.principalOf(user, 'jwt', { sessionId: claims.sid });
  }

  /**
   * The principal behind a registry token, checked again on every request: the user must be
   * active, and the API key or session the token came from must not have been revoked.
   */
  async registryTokenSubject(claims: {
    sub?: string;
    sid?: string;
    akid?: string;
  }): Promise<Principal | null> {
    if (!claims.sub) return null;
    const user = await this.facts.activeUser(claims.sub);
    if (!user) throw new UnauthorizedException('token revoked');
    if (claims.akid && !(await this.apiKeys.isActive(claims.akid, user.id)))
      throw new UnauthorizedException('token revoked');
    if (claims.sid && !(await this.sessions.isActive(claims.sid, user.id)))
      throw new UnauthorizedException('token revoked');
    return CredentialsService.principalOf(user, claims.akid ? 'api-key' : 'jwt', {
      ...(claims.sid ? { sessionId: claims.sid } : {}),
      ...(claims.akid ? { apiKeyId: claims.akid } : {}),
    });
  }
}
