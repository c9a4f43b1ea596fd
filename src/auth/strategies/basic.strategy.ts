import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { BasicStrategy as PassportBasicStrategy } from 'passport-http';
import { CredentialsService, withRetryAfter } from '../credentials.service.js';
import { actorOf } from '../decorators.js';
import type { UserPrincipal } from '../principal.js';

/** `Authorization: Basic`, with the account password or one of the user's API keys. */
@Injectable()
export class BasicStrategy extends PassportStrategy(PassportBasicStrategy, 'basic') {
  constructor(private readonly credentials: CredentialsService) {
    super({ passReqToCallback: true });
  }

  validate(req: Request, username: string, password: string): Promise<UserPrincipal> {
    return withRetryAfter(
      req.res,
      this.credentials.password(username, password, req.ip, true, actorOf(req, null)),
    );
  }
}
