import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { JwtKeysService } from './jwt-keys.service.js';
import type { AccessEntry } from './scopes.js';
import { BoundedMap } from '../common/bounded-map.js';

export const JWT_ISSUER = 'aerugo';
export const JWT_ALGORITHM = 'HS256';
/** Audience of management API access tokens (registry tokens carry the registry service). */
export const API_AUDIENCE = 'aerugo-api';

export interface AccessTokenClaims {
  sub: string;
  sid: string;
  typ: 'access';
  iat: number;
  exp: number;
}

export interface RegistryTokenClaims {
  /** Absent for anonymous tokens. */
  sub?: string;
  typ: 'registry';
  access: AccessEntry[];
  /** Session of the refresh token the token was obtained with. */
  sid?: string;
  /** API key the token was obtained with. */
  akid?: string;
  /** Robot account the token was issued to (then there is no `sub`). */
  rid?: string;
  /** Credential generation of the password the token was obtained with (see UserEntity). */
  cg?: number;
  iat: number;
  exp: number;
}

/** At most this many verified registry tokens are remembered; the oldest verified go first. */
const MAX_VERIFIED_TOKENS = 4096;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Signs and verifies the HS256 JWTs (algorithm pinned; expiry, issuer and audience checked). */
@Injectable()
export class TokensService {
  /**
   * Registry tokens whose signature, algorithm, issuer, audience and shape were verified, by the
   * token's text, until they expire. Verifying is a pure function of the text and this node's
   * key, so a token seen again is not verified again (an HMAC and two JSON parses: a tenth of an
   * authorized manifest GET). What can revoke a token — its session, API key, robot, user or
   * grants — is not decided here: the authorizer checks it again on every request.
   */
  private readonly verified = new BoundedMap<string, RegistryTokenClaims>(MAX_VERIFIED_TOKENS);

  constructor(
    private readonly jwt: JwtService,
    private readonly keys: JwtKeysService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async signAccessToken(
    userId: string,
    sessionId: string,
  ): Promise<{ token: string; expiresIn: number }> {
    const expiresIn = this.config.auth.accessTokenTtlSeconds;
    const token = await this.jwt.signAsync(
      { sid: sessionId, typ: 'access' },
      {
        privateKey: this.keys.secret(),
        algorithm: JWT_ALGORITHM,
        expiresIn,
        issuer: JWT_ISSUER,
        audience: API_AUDIENCE,
        subject: userId,
        jwtid: randomUUID(),
      },
    );
    return { token, expiresIn };
  }

  async signRegistryToken(
    subject: { userId?: string; username: string } | null,
    access: AccessEntry[],
    origin: {
      sessionId?: string;
      apiKeyId?: string;
      robotId?: string;
      credentialGeneration?: number;
    },
  ): Promise<{ token: string; expiresIn: number; issuedAt: Date }> {
    const expiresIn = this.config.auth.registryTokenTtlSeconds;
    const issuedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const token = await this.jwt.signAsync(
      {
        typ: 'registry',
        access,
        ...(subject ? { name: subject.username } : {}),
        ...(origin.sessionId ? { sid: origin.sessionId } : {}),
        ...(origin.apiKeyId ? { akid: origin.apiKeyId } : {}),
        ...(origin.robotId ? { rid: origin.robotId } : {}),
        ...(origin.credentialGeneration !== undefined ? { cg: origin.credentialGeneration } : {}),
      },
      {
        privateKey: this.keys.secret(),
        algorithm: JWT_ALGORITHM,
        expiresIn,
        notBefore: 0,
        issuer: JWT_ISSUER,
        audience: this.config.auth.registryService,
        jwtid: randomUUID(),
        ...(subject?.userId ? { subject: subject.userId } : {}),
      },
    );
    return { token, expiresIn, issuedAt };
  }

  /**
   * Verifies a registry token; throws on a bad signature, algorithm, audience or expiry. The claims
   * are frozen (they may be shared by the requests that send the same token).
   */
  async verifyRegistryToken(token: string): Promise<RegistryTokenClaims> {
    const known = this.verified.get(token);
    if (known) {
      // jsonwebtoken's rule: expired from the second `exp` names on.
      if (Math.floor(Date.now() / 1000) < known.exp) return known;
      this.verified.delete(token);
    }
    const claims = await this.verify(token);
    if (typeof claims.exp === 'number') {
      this.verified.set(token, deepFreeze(claims));
    }
    return claims;
  }

  private async verify(token: string): Promise<RegistryTokenClaims> {
    const claims = await this.jwt.verifyAsync<RegistryTokenClaims>(token, {
      // @nestjs/jwt types this key as string | Buffer; jsonwebtoken takes the KeyObject as it is.
      publicKey: this.keys.secret() as unknown as Buffer,
      algorithms: [JWT_ALGORITHM],
      issuer: JWT_ISSUER,
      audience: this.config.auth.registryService,
    });
    if (claims.typ !== 'registry' || !Array.isArray(claims.access))
      throw new Error('not a registry token');
    if (claims.cg !== undefined && !Number.isInteger(claims.cg))
      throw new Error('malformed registry token');
    if (claims.rid !== undefined && (typeof claims.rid !== 'string' || !claims.akid))
      throw new Error('malformed registry token');
    return claims;
  }
}
