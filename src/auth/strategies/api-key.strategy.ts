import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import passport from 'passport';
import { parseCredentials } from '../credentials.js';
import { CredentialsService } from '../credentials.service.js';
import type { SignedInPrincipal } from '../principal.js';

type Verify = (req: Request, key: string, done: (err: unknown, user?: unknown) => void) => void;

/** A passport strategy reading an API key from `X-API-Key` or `Authorization: Bearer ak_…`. */
export class HeaderApiKeyStrategy extends passport.Strategy {
  override name = 'api-key';

  constructor(private readonly verify: Verify) {
    super();
  }

  override authenticate(req: Request): void {
    const creds = parseCredentials(req.headers);
    if (creds.kind !== 'api-key') return this.fail('API key required', 401);
    this.verify(req, creds.key, (err, user) => {
      if (err) return this.error(err as Error);
      if (!user) return this.fail('invalid API key', 401);
      this.success(user as Express.User);
    });
  }
}

@Injectable()
export class ApiKeyStrategy extends PassportStrategy(HeaderApiKeyStrategy, 'api-key') {
  constructor(private readonly credentials: CredentialsService) {
    super();
  }

  validate(_req: Request, key: string): Promise<SignedInPrincipal> {
    return this.credentials.apiKey(key);
  }
}
