import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { BasicStrategy as PassportBasicStrategy } from 'passport-http';
import { CredentialsService, withRetryAfter } from '../credentials.service.js';
import { actorOf } from '../decorators.js';
import type { SignedInPrincipal } from '../principal.js';

/**
 * `Authorization: Basic`, with the account password or one of the user's API keys (or a robot's
 * name and key, which ApiAuthGuard then refuses: robots do not use the management API).
 */
@Injectable()
export class BasicStrategy extends PassportStrategy(PassportBasicStrategy, 'basic') {
  constructor(private readonly credentials: CredentialsService) {
    super({ passReqToCallback: true });
  }

  validate(req: Request, username: string, password: string): Promise<SignedInPrincipal> {
    return withRetryAfter(
      req.res,
      this.credentials.basic(username, password, req.ip, actorOf(req, null)),
    );
  }
}
