import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiKeysService, type VerifiedApiKey } from '../api-keys/api-keys.service.js';
import { looksLikeApiKey } from '../api-keys/api-key-format.js';
import type { Actor } from '../common/actor.js';
import type { AppConfig } from '../config/config.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { APP_CONFIG } from '../config/config.module.js';
import { AccessFactsService } from '../repos/access-facts.service.js';
import { normalizeName } from '../users/names.js';
import type { UserEntity } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import {
  ATTEMPT_LIMITER,
  type AttemptLimiter,
  failureDelaySeconds,
  type LimitKey,
  signInLimitKeys,
} from './attempt-limiter.js';
import { parseRobotName } from '../common/name-grammar.js';
import { RobotsService } from '../robots/robots.service.js';
import { principalName, type SignedInPrincipal, type UserPrincipal } from './principal.js';
import { isFullScope } from './scopes.js';
import { SessionsService } from './sessions.service.js';
import { BoundedMap } from '../common/bounded-map.js';

/**
 * 429: too many failed sign-in attempts for the account or the address, too many registrations
 * from the address, or too many password checks under way for it. `headers` carries Retry-After
 * for whatever writes the error response; the controllers also set it on the response itself
 * (see withRetryAfter), which every exception filter keeps.
 */
export class TooManyAttemptsException extends HttpException {
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly retryAfterSeconds: number,
    readonly reason = 'too many failed sign-in attempts',
  ) {
    super(
      { statusCode: 429, message: `${reason}; try again later`, error: 'Too Many Requests' },
      HttpStatus.TOO_MANY_REQUESTS,
    );
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

/** Awaits `work`; on a 429 sets its Retry-After on the response before passing the error on. */
export async function withRetryAfter<T>(
  res: { setHeader(name: string, value: string): unknown } | undefined,
  work: Promise<T>,
): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof TooManyAttemptsException && res)
      for (const [name, value] of Object.entries(e.headers)) res.setHeader(name, value);
    throw e;
  }
}

/** Nobody signed in, from `address` (for failures recorded without the request's actor). */
function anonymousActor(address: string | undefined): Actor {
  return {
    principal: { kind: 'anonymous' },
    credential: 'anonymous',
    ...(address ? { address } : {}),
    requestId: randomUUID(),
  };
}

/** A verified user name and password, remembered briefly by this node (never the password). */
interface Remembered {
  userId: string;
  /** The user's credential generation when the password was verified. */
  generation: number;
  expiresAt: number;
}

/** At most this many verified credentials are remembered per node; the oldest go first. */
const MAX_REMEMBERED = 10_000;

export const INVALID_CREDENTIALS = 'invalid username, password or API key';

/**
 * Verifies every kind of credential and turns it into a Principal.
 *
 * Passwords cost an argon2 verification (bounded per node by PasswordHasherService). Clients
 * that send Basic credentials with every registry request would pay it on every request, so a
 * successful verification is remembered for AUTH_CREDENTIAL_CACHE_SECONDS under an HMAC of the
 * user name and password with a key that never leaves this process (never the password itself),
 * together with the user's credential generation: a password change or reset raises it, and
 * deactivation or deletion changes the user's facts, so the cached user facts (read through the
 * CacheService) end a remembered verification on every node at once. Concurrent checks of the same
 * credentials share one verification, and at most AUTH_PASSWORD_CHECKS_PER_ADDRESS verifications
 * run or wait at once for one client address (429 past it).
 */
@Injectable()
export class CredentialsService {
  private readonly logger = new Logger('Credentials');
  private readonly memoKey = randomBytes(32);
  private readonly remembered = new BoundedMap<string, Remembered>(MAX_REMEMBERED);
  private readonly verifying = new Map<string, Promise<UserEntity | null>>();
  private readonly checksByAddress = new Map<string, number>();

  constructor(
    private readonly users: UsersService,
    private readonly apiKeys: ApiKeysService,
    private readonly sessions: SessionsService,
    private readonly facts: AccessFactsService,
    private readonly robots: RobotsService,
    @Inject(ATTEMPT_LIMITER) private readonly limiter: AttemptLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly events: EventsService,
  ) {}

  static principalOf(
    user: Pick<UserEntity, 'id' | 'username' | 'isAdmin'>,
    method: UserPrincipal['method'],
    extra: Partial<Omit<UserPrincipal, 'kind'>> = {},
  ): UserPrincipal {
    return {
      kind: 'user',
      userId: user.id,
      username: user.username,
      isAdmin: user.isAdmin,
      method,
      ...extra,
    };
  }

  private limitKeys(
    username: string,
    address: string | undefined,
    extra: string[] = [],
  ): LimitKey[] {
    return signInLimitKeys(
      normalizeName(username),
      address,
      {
        perPair: this.config.auth.rateLimitPerAccount,
        perAddress: this.config.auth.rateLimitPerAddress,
      },
      extra,
    );
  }

  /**
   * Basic credentials of the registry and the management API: a robot's full name (`acme+ci`)
   * with its key, a user name with one of the user's API keys, or a user name with a password.
   * Keys are checked before the sign-in limits: password failures never refuse an API key or a
   * robot (a key has about 190 random bits; guessing one is hopeless anyway).
   */
  async basic(
    username: string,
    password: string,
    address: string | undefined,
    by?: Actor,
  ): Promise<SignedInPrincipal> {
    if (parseRobotName(username)) {
      const robot = looksLikeApiKey(password)
        ? await this.apiKey(password).catch(() => null)
        : null;
      if (robot?.kind === 'robot' && principalName(robot) === normalizeName(username)) return robot;
      throw new UnauthorizedException(INVALID_CREDENTIALS);
    }
    return this.password(username, password, address, true, [], by);
  }

  /**
   * A user name with a password, or with one of the user's API keys when `allowApiKey`.
   * Failed attempts are counted per account from this address and per address (and against
   * `extraLimits`, e.g. the credential asking to change the password): after a few, each failure
   * holds the pair for a growing delay; past the limit the pair (or the address) gets 429 even
   * with correct credentials until the window has passed. The account is never refused from
   * other addresses, and API keys are checked before any of it. A failed check is recorded
   * (`auth.sign-in.failed`, as `by`: the request's actor) before the 401.
   */
  async password(
    username: string,
    password: string,
    address: string | undefined,
    allowApiKey = true,
    extraLimits: string[] = [],
    by?: Actor,
  ): Promise<UserPrincipal> {
    if (allowApiKey && looksLikeApiKey(password)) {
      // A secret in the form of a key is a key, never a password guess: a revoked or mistyped
      // key (a CI job retrying with an old one) is refused without counting a failed sign-in.
      const viaKey = await this.apiKey(password).catch(() => null);
      if (viaKey?.kind === 'user' && viaKey.username === normalizeName(username)) return viaKey;
      throw new UnauthorizedException(INVALID_CREDENTIALS);
    }
    const keys = this.limitKeys(username, address, extraLimits);
    const wait = await this.limiter.blockedFor(keys);
    if (wait > 0) throw new TooManyAttemptsException(wait);
    const memo = createHmac('sha256', this.memoKey)
      .update(`${normalizeName(username)}\u0000${password}`, 'utf8')
      .digest('base64url');
    // No await between looking for a remembered verification and joining or starting one: a
    // verification that ends is remembered before it stops being shared, so concurrent requests
    // with the same credentials never verify twice.
    const remembered = this.remembered.get(memo);
    const known = remembered ? await this.rememberedPrincipal(memo, remembered) : null;
    if (known) return this.passwordsAllowed(known);
    const user = await this.verifyOnce(memo, username, password, address);
    if (!user) {
      const counts = await this.limiter.recordFailure(keys);
      const delay = failureDelaySeconds(
        counts[0] ?? 0,
        this.config.auth.failureDelaySeconds,
        this.config.auth.rateLimitPerAccount,
      );
      if (delay > 0) await this.limiter.hold(keys[0].key, delay * 1000);
      await this.recordFailure(username, by ?? anonymousActor(address));
      throw new UnauthorizedException(INVALID_CREDENTIALS);
    }
    await this.limiter.reset([keys[0].key]);
    return this.passwordsAllowed(
      CredentialsService.principalOf(user, 'password', {
        credentialGeneration: user.credentialGeneration,
      }),
    );
  }

  /**
   * LOCAL_PASSWORDS=admins: a correct password of a non-administrator is refused (they sign in
   * through OpenID Connect and use API keys for docker); the same 401 on every route.
   */
  private passwordsAllowed(p: UserPrincipal): UserPrincipal {
    if (this.config.auth.localPasswords === 'admins' && !p.isAdmin)
      throw new UnauthorizedException(
        'password sign-in is turned off for this account: sign in with single sign-on, or use an API key',
      );
    return p;
  }

  /**
   * Records a failed password check. The account is named only when the name is one (a name
   * nobody holds may be a password typed into the wrong field); the answer stays the same 401
   * either way. A failure to record is logged, never turned into another answer.
   */
  private async recordFailure(username: string, by: Actor): Promise<void> {
    try {
      const user = await this.users.findByUsername(normalizeName(username));
      await this.events.recordAlone(
        event('auth.sign-in.failed', by, user ? { userId: user.id, username: user.username } : {}),
      );
    } catch (e) {
      this.logger.warn(`recording a failed sign-in failed: ${(e as Error).message}`);
    }
  }

  /** The principal of a remembered verification, while the user's facts still match it. */
  private async rememberedPrincipal(memo: string, r: Remembered): Promise<UserPrincipal | null> {
    const user = r.expiresAt > Date.now() ? await this.facts.user(r.userId) : null;
    if (!user?.active || user.credentialGeneration !== r.generation) {
      if (this.remembered.get(memo) === r) this.remembered.delete(memo);
      return null;
    }
    return CredentialsService.principalOf(user, 'password', { credentialGeneration: r.generation });
  }

  /**
   * One argon2 verification per credentials at a time (concurrent callers share it), at most
   * AUTH_PASSWORD_CHECKS_PER_ADDRESS under way per client address.
   */
  private verifyOnce(
    memo: string,
    username: string,
    password: string,
    address: string | undefined,
  ): Promise<UserEntity | null> {
    const running = this.verifying.get(memo);
    if (running) return running;
    const slot = address ?? '';
    const checks = this.checksByAddress.get(slot) ?? 0;
    if (checks >= this.config.auth.passwordChecksPerAddress)
      throw new TooManyAttemptsException(1, 'too many password checks under way from this address');
    this.checksByAddress.set(slot, checks + 1);
    const verification = this.users
      .authenticate(username, password)
      .then((user) => {
        if (user) this.remember(memo, user);
        return user;
      })
      .finally(() => {
        this.verifying.delete(memo);
        const left = (this.checksByAddress.get(slot) ?? 1) - 1;
        if (left > 0) this.checksByAddress.set(slot, left);
        else this.checksByAddress.delete(slot);
      });
    this.verifying.set(memo, verification);
    return verification;
  }

  private remember(memo: string, user: UserEntity): void {
    const seconds = this.config.auth.credentialCacheSeconds;
    if (seconds <= 0) return;
    this.remembered.set(memo, {
      userId: user.id,
      generation: user.credentialGeneration,
      expiresAt: Date.now() + seconds * 1000,
    });
  }

  /**
   * An API key of an active user, or of a usable robot (key, user and robots are cached facts,
   * see CacheKeys). A user's principal carries the key's scope.
   */
  async apiKey(key: string): Promise<SignedInPrincipal> {
    const verified = await this.apiKeys.verify(key);
    if (!verified) throw new UnauthorizedException(INVALID_CREDENTIALS);
    return this.keyPrincipal(verified, 'api-key');
  }

  private async keyPrincipal(
    verified: VerifiedApiKey,
    method: 'api-key' | 'token',
  ): Promise<SignedInPrincipal> {
    if (verified.robotId) {
      const robot = verified.robotNamespace
        ? await this.robots.usable(verified.robotId, verified.robotNamespace)
        : null;
      if (!robot) throw new UnauthorizedException(INVALID_CREDENTIALS);
      return {
        kind: 'robot',
        robotId: robot.id,
        name: robot.name,
        namespace: robot.namespace,
        method,
        apiKeyId: verified.keyId,
        grants: robot.grants,
      };
    }
    const user = verified.userId ? await this.facts.activeUser(verified.userId) : null;
    if (!user) throw new UnauthorizedException(INVALID_CREDENTIALS);
    return CredentialsService.principalOf(user, 'api-key', {
      apiKeyId: verified.keyId,
      ...(isFullScope(verified.scope) ? {} : { keyScope: verified.scope }),
    });
  }

  /** The principal of a verified access token, if its session and user are still live. */
  async accessToken(claims: {
    sub?: unknown;
    sid?: unknown;
    typ?: unknown;
  }): Promise<UserPrincipal> {
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
    rid?: string;
    cg?: number;
  }): Promise<SignedInPrincipal | null> {
    if (claims.rid) {
      // A robot's token: its key and the robot must still be usable.
      const key = claims.akid
        ? await this.apiKeys.active(claims.akid, { robotId: claims.rid })
        : null;
      if (!key) throw new UnauthorizedException('token revoked');
      return this.keyPrincipal(key, 'token').catch(() => {
        throw new UnauthorizedException('token revoked');
      });
    }
    if (!claims.sub) return null;
    const user = await this.facts.activeUser(claims.sub);
    if (!user) throw new UnauthorizedException('token revoked');
    // Issued with a password that has changed since.
    if (claims.cg !== undefined && claims.cg !== user.credentialGeneration)
      throw new UnauthorizedException('token revoked');
    const key = claims.akid ? await this.apiKeys.active(claims.akid, { userId: user.id }) : null;
    if (claims.akid && !key) throw new UnauthorizedException('token revoked');
    if (claims.sid && !(await this.sessions.isActive(claims.sid, user.id)))
      throw new UnauthorizedException('token revoked');
    return CredentialsService.principalOf(user, claims.akid ? 'api-key' : 'jwt', {
      ...(claims.sid ? { sessionId: claims.sid } : {}),
      ...(claims.akid ? { apiKeyId: claims.akid } : {}),
      ...(key && !isFullScope(key.scope) ? { keyScope: key.scope } : {}),
    });
  }
}
