import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { CredentialsService } from '../credentials.service.js';
import { JwtKeysService } from '../jwt-keys.service.js';
import type { UserPrincipal } from '../principal.js';
import { API_AUDIENCE, JWT_ALGORITHM, JWT_ISSUER } from '../tokens.service.js';

/** `Authorization: Bearer <access JWT>` on the management API. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    keys: JwtKeysService,
    private readonly credentials: CredentialsService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (
        _req: unknown,
        _raw: unknown,
        done: (err: unknown, key?: Buffer) => void,
      ) => {
        try {
          // Typed string | Buffer by passport-jwt; jsonwebtoken takes the KeyObject as it is.
          done(null, keys.secret() as unknown as Buffer);
        } catch (e) {
          done(e);
        }
      },
      algorithms: [JWT_ALGORITHM],
      issuer: JWT_ISSUER,
      audience: API_AUDIENCE,
      ignoreExpiration: false,
    });
  }

  validate(payload: { sub?: unknown; sid?: unknown; typ?: unknown }): Promise<UserPrincipal> {
    return this.credentials.accessToken(payload);
  }
}
