import { createHash, randomBytes } from 'node:crypto';
import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { DataSource } from 'typeorm';
import { type Actor, systemActor } from '../../common/actor.js';
import { apiError } from '../../common/api-error.js';
import type { AppConfig, OidcConfig } from '../../config/config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { OrgsService } from '../../orgs/orgs.service.js';
import type { UserEntity } from '../../users/user.entity.js';
import { UsersService } from '../../users/users.service.js';
import type { SessionClient } from '../auth.entities.js';
import { SessionsService } from '../sessions.service.js';
import {
  groupsFromClaim,
  membershipChanges,
  safeReturnTo,
  usernameFromClaim,
} from './oidc-rules.js';

interface ProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

const LOGIN_TTL_SECONDS = 600;
const ID_TOKEN_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

function b64url(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * OpenID Connect sign-in (authorization code flow with PKCE). The sign-ins under way live in the
 * database (any node finishes what another began; each state is used once) and the state is also
 * in a cookie of the browser that began it (so that nobody can finish a sign-in in someone else's
 * browser). Accounts are linked by the provider's issuer and `sub`, never by name or e-mail.
 */
@Injectable()
export class OidcService {
  private readonly logger = new Logger('OIDC');
  private metadata?: Promise<ProviderMetadata>;
  private jwks?: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    private readonly users: UsersService,
    private readonly orgs: OrgsService,
    private readonly sessions: SessionsService,
  ) {}

  get enabled(): boolean {
    return this.config.oidc !== undefined;
  }

  private settings(): OidcConfig {
    if (!this.config.oidc) throw new NotFoundException('OpenID Connect sign-in is not configured');
    return this.config.oidc;
  }

  /** The provider's discovery document (fetched once per node; again after a failure). */
  private provider(): Promise<ProviderMetadata> {
    const oidc = this.settings();
    this.metadata ??= (async () => {
      const res = await fetch(`${oidc.issuer}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`discovery answered ${res.status}`);
      const m = (await res.json()) as Partial<ProviderMetadata>;
      for (const k of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const)
        if (typeof m[k] !== 'string') throw new Error(`discovery has no ${k}`);
      if (m.issuer!.replace(/\/+$/, '') !== oidc.issuer)
        throw new Error(`discovery names issuer ${m.issuer}, not ${oidc.issuer}`);
      this.jwks = createRemoteJWKSet(new URL(m.jwks_uri!));
      return m as ProviderMetadata;
    })().catch((e: Error) => {
      this.metadata = undefined;
      this.logger.warn(`OpenID provider discovery failed: ${e.message}`);
      throw apiError(502, 'UNAVAILABLE', 'the identity provider cannot be reached');
    });
    return this.metadata;
  }

  /** Starts a sign-in: the provider's authorization URL and the state for the browser's cookie. */
  async begin(
    returnTo: string | undefined,
    redirectUri: string,
  ): Promise<{ url: string; state: string }> {
    const oidc = this.settings();
    const target = safeReturnTo(returnTo);
    if (target === null)
      throw new BadRequestException('returnTo must be a path on this site, such as /repositories');
    const provider = await this.provider();
    const state = b64url(32);
    const nonce = b64url(32);
    const verifier = b64url(32);
    await this.db.query(`DELETE FROM oidc_logins WHERE expires_at < now()`);
    await this.db.query(
      `INSERT INTO oidc_logins (state, nonce, code_verifier, return_to, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      [state, nonce, verifier, target, LOGIN_TTL_SECONDS],
    );
    const url = new URL(provider.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: oidc.clientId,
      redirect_uri: redirectUri,
      scope: oidc.scopes,
      state,
      nonce,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    return { url: url.toString(), state };
  }

  /**
   * Finishes a sign-in: checks the state against the browser's cookie and takes it (once),
   * exchanges the code (with the PKCE verifier), verifies the ID token (signature, issuer,
   * audience, expiry, nonce), creates or links the user, applies the admin group and the
   * organization sync, and starts a session (`auth.signed-in` with `via: 'oidc'`).
   */
  async finish(
    query: { state?: string; code?: string; error?: string },
    cookieState: string | undefined,
    redirectUri: string,
    client: SessionClient,
    by: Actor,
  ): Promise<{ refreshToken: string; returnTo: string }> {
    const oidc = this.settings();
    if (!query.state || !cookieState || query.state !== cookieState)
      throw new BadRequestException('the sign-in state does not match: start the sign-in again');
    const rows = (await this.db.query(
      `DELETE FROM oidc_logins WHERE state = $1 AND expires_at > now()
       RETURNING nonce, code_verifier, return_to`,
      [query.state],
    )) as [{ nonce: string; code_verifier: string; return_to: string }[], number];
    const login = rows[0]?.[0];
    if (!login)
      throw new BadRequestException('the sign-in expired or was already used: start it again');
    if (query.error) throw new ForbiddenException('the identity provider refused the sign-in');
    if (!query.code) throw new BadRequestException('the identity provider sent no code');
    const provider = await this.provider();

    const res = await fetch(provider.token_endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(
          `${encodeURIComponent(oidc.clientId)}:${encodeURIComponent(oidc.clientSecret)}`,
        ).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: query.code,
        redirect_uri: redirectUri,
        code_verifier: login.code_verifier,
      }),
      signal: AbortSignal.timeout(10_000),
    }).catch(() => null);
    if (!res) throw apiError(502, 'UNAVAILABLE', 'the identity provider cannot be reached');
    const tokens = (await res.json().catch(() => ({}))) as { id_token?: unknown };
    if (!res.ok || typeof tokens.id_token !== 'string')
      throw new UnauthorizedException('the identity provider did not accept the sign-in code');

    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(tokens.id_token, this.jwks!, {
        issuer: provider.issuer,
        audience: oidc.clientId,
        algorithms: ID_TOKEN_ALGORITHMS,
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (e) {
      this.logger.warn(`ID token refused: ${(e as Error).message}`);
      throw new UnauthorizedException('the ID token did not verify');
    }
    if (claims.nonce !== login.nonce)
      throw new UnauthorizedException('the ID token did not verify');

    const provision = { ...systemActor('oidc'), requestId: by.requestId };
    let user = await this.linkedOrNew(oidc, claims, provision);
    if (!user.active) throw new ForbiddenException('this account is disabled');
    const groups = groupsFromClaim(claims[oidc.groupsClaim]);
    if (oidc.adminGroup !== undefined) {
      const admin = groups.includes(oidc.adminGroup);
      if (admin !== user.isAdmin)
        user = await this.users.adminUpdate(user.username, { isAdmin: admin }, '', provision);
    }
    if (oidc.syncOrgs) await this.syncOrgs(user, groups, provision);

    const { refreshToken } = await this.sessions.start(user.id, 'api', client, {
      actor: {
        principal: {
          kind: 'user',
          userId: user.id,
          username: user.username,
          isAdmin: user.isAdmin,
        },
        credential: 'token',
        ...(by.address ? { address: by.address } : {}),
        requestId: by.requestId,
      },
      username: user.username,
      via: 'oidc',
    });
    return { refreshToken, returnTo: login.return_to };
  }

  /** The user linked to the token's issuer and `sub`; else a new user, linked to it. */
  private async linkedOrNew(oidc: OidcConfig, claims: JWTPayload, by: Actor): Promise<UserEntity> {
    const linked = (await this.db.query(
      `SELECT user_id FROM oidc_identities WHERE issuer = $1 AND subject = $2`,
      [oidc.issuer, claims.sub],
    )) as { user_id: string }[];
    if (linked[0]) {
      const user = await this.users.findById(linked[0].user_id);
      if (user) return user;
    }
    const name = usernameFromClaim(claims[oidc.usernameClaim]);
    if (!name.ok) throw new ForbiddenException(name.message);
    if (await this.users.findByUsername(name.name))
      throw apiError(
        409,
        'CONFLICT',
        `an account named "${name.name}" exists and is not linked to this identity: an administrator must rename one of them`,
      );
    let user: UserEntity;
    try {
      // A password nobody knows: the account signs in through the provider (or with API keys).
      user = await this.users.create({ username: name.name, password: b64url(32) }, by);
    } catch (e) {
      if (e instanceof HttpException && e.getStatus() === 409)
        throw apiError(409, 'CONFLICT', `the name "${name.name}" is taken`);
      throw e;
    }
    await this.db.query(
      `INSERT INTO oidc_identities (issuer, subject, user_id) VALUES ($1, $2, $3)`,
      [oidc.issuer, claims.sub, user.id],
    );
    return user;
  }

  private async syncOrgs(user: UserEntity, groups: string[], by: Actor): Promise<void> {
    const memberships = await this.orgs.membershipsOf(user.id);
    const existing = new Set<string>();
    for (const g of new Set(groups.map((x) => x.trim().toLowerCase())))
      if (await this.orgs.findByName(g)) existing.add(g);
    const { join, leave } = membershipChanges(groups, existing, memberships);
    const asAdmin = { userId: user.id, isAdmin: true };
    for (const org of join)
      await this.orgs.addMember(org, user.username, 'member', asAdmin, by).catch((e: Error) => {
        this.logger.warn(`joining ${org} failed: ${e.message}`);
      });
    for (const org of leave)
      await this.orgs.removeMember(org, user.username, asAdmin, by).catch((e: Error) => {
        this.logger.warn(`leaving ${org} failed: ${e.message}`);
      });
  }
}
