import { HttpException, Inject, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { RegistryError } from '../registry/errors.js';
import type {
  RegistryAccessDecision,
  RegistryAccessRequest,
  RegistryActor,
  RegistryAuthorizer,
} from '../registry/registry-access.js';
import { RepoAccessService } from '../repos/repo-access.service.js';
import { requestIdOf } from '../common/actor.js';
import { parseCredentials } from './credentials.js';
import { actorOf } from './decorators.js';
import { CredentialsService, TooManyAttemptsException } from './credentials.service.js';
import type { SignedInPrincipal } from './principal.js';
import { publicBaseUrl } from './public-url.js';
import { CATALOG_SCOPE, formatScope, grantedActions, type AccessEntry } from './scopes.js';
import { type RegistryTokenClaims, TokensService } from './tokens.service.js';

/** Who is calling the registry, worked out once per request. */
type Caller =
  | { kind: 'anonymous' }
  | { kind: 'token'; principal: SignedInPrincipal | null; access: AccessEntry[] }
  | { kind: 'user'; principal: SignedInPrincipal };

type CallerRequest = Request & { registryCaller?: Caller };

const DENIED = 'requested access to the resource is denied';

/**
 * Authorizes registry requests. Registry tokens (from `/auth/token`) are checked against their
 * `access` claims; Basic credentials and API keys sent straight to `/v2/` are checked against the
 * live permissions. Anonymous callers may pull public repositories without a token.
 */
@Injectable()
export class TokenRegistryAuthorizer implements RegistryAuthorizer {
  private readonly logger = new Logger('RegistryAuth');

  constructor(
    private readonly credentials: CredentialsService,
    private readonly tokens: TokensService,
    private readonly access: RepoAccessService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private challenge(req: Request, scope?: string, error?: string): string {
    const realm = `${publicBaseUrl(this.config.publicUrl, req)}/auth/token`;
    let header = `Bearer realm="${realm}",service="${this.config.auth.registryService}"`;
    if (scope) header += `,scope="${scope}"`;
    if (error) header += `,error="${error}"`;
    return header;
  }

  private unauthorized(
    req: Request,
    message: string,
    scope?: string,
    error?: string,
    detail?: unknown,
  ): RegistryError {
    return new RegistryError('UNAUTHORIZED', message, detail, 401, {
      'WWW-Authenticate': this.challenge(req, scope, error),
    });
  }

  private async caller(req: CallerRequest): Promise<Caller> {
    if (req.registryCaller) return req.registryCaller;
    const creds = parseCredentials(req.headers);
    let caller: Caller;
    try {
      switch (creds.kind) {
        case 'none':
          caller = { kind: 'anonymous' };
          break;
        case 'invalid':
          throw this.unauthorized(req, creds.reason);
        case 'basic':
          caller = {
            kind: 'user',
            principal: await this.credentials.basic(
              creds.username,
              creds.password,
              req.ip,
              actorOf(req, null),
            ),
          };
          break;
        case 'api-key':
          caller = { kind: 'user', principal: await this.credentials.apiKey(creds.key) };
          break;
        case 'jwt': {
          let claims: RegistryTokenClaims;
          try {
            claims = await this.tokens.verifyRegistryToken(creds.token);
          } catch {
            throw this.unauthorized(req, 'invalid or expired token', undefined, 'invalid_token');
          }
          const principal = await this.credentials.registryTokenSubject(claims);
          caller = { kind: 'token', principal, access: claims.access };
          break;
        }
      }
    } catch (e) {
      if (e instanceof RegistryError) throw e;
      if (e instanceof TooManyAttemptsException) {
        throw new RegistryError('TOOMANYREQUESTS', e.reason, undefined, 429, { ...e.headers });
      }
      if (e instanceof HttpException && e.getStatus() === 401) {
        throw this.unauthorized(
          req,
          'authentication failed',
          undefined,
          creds.kind === 'jwt' ? 'invalid_token' : undefined,
        );
      }
      throw e;
    }
    req.registryCaller = caller;
    return caller;
  }

  private static actor(caller: Caller, req: Request): RegistryActor {
    const p = caller.kind === 'anonymous' ? null : caller.principal;
    return {
      principal: !p
        ? { kind: 'anonymous' }
        : p.kind === 'robot'
          ? { kind: 'robot', robotId: p.robotId, name: p.name, namespace: p.namespace }
          : { kind: 'user', userId: p.userId, username: p.username, isAdmin: p.isAdmin },
      credential:
        caller.kind === 'anonymous'
          ? 'anonymous'
          : caller.kind === 'token'
            ? 'token'
            : p?.method === 'api-key'
              ? 'api-key'
              : 'password',
      ...(p?.apiKeyId ? { apiKeyId: p.apiKeyId } : {}),
      address: req.ip,
      requestId: requestIdOf(req),
    };
  }

  async authorize(req: Request, request: RegistryAccessRequest): Promise<RegistryAccessDecision> {
    const caller = await this.caller(req);
    const actor = TokenRegistryAuthorizer.actor(caller, req);
    const { repository, actions, mountFrom } = request;

    if (request.catalog) {
      if (caller.kind === 'anonymous')
        throw this.unauthorized(req, 'authentication required', CATALOG_SCOPE);
      if (
        caller.kind === 'token' &&
        !grantedActions(caller.access, 'registry', 'catalog').has('*')
      ) {
        throw this.unauthorized(req, 'insufficient scope', CATALOG_SCOPE, 'insufficient_scope');
      }
      const p = caller.principal;
      if (p && (p.kind === 'robot' || p.keyScope))
        return {
          actor,
          mountAllowed: false,
          catalog: (limit, last) => this.access.catalogFor(p, limit, last),
        };
      return { actor, mountAllowed: false };
    }
    if (repository === undefined) {
      // `/v2/`: tells clients whether (and where) to authenticate.
      if (caller.kind === 'anonymous') throw this.unauthorized(req, 'authentication required');
      return { actor, mountAllowed: false };
    }

    // A mount also needs pull on its source: the challenge names both scopes, so a token client
    // comes back with a token that allows the mount.
    let scope = formatScope('repository', repository, actions);
    if (mountFrom !== undefined && mountFrom !== repository)
      scope += ` ${formatScope('repository', mountFrom, ['pull'])}`;
    const detail = actions.map((a) => ({ Type: 'repository', Name: repository, Action: a }));
    const principal = caller.kind === 'anonymous' ? null : caller.principal;
    // Tokens carry what was granted when they were issued; permissions are checked live too
    // (from cached facts), so a revoked grant or a repository made private stops an issued token.
    const live = await this.access.principalActions(principal, repository);
    const granted =
      caller.kind === 'token' ? grantedActions(caller.access, 'repository', repository) : undefined;
    if (!actions.every((a) => live.includes(a) && (granted?.has(a) ?? true))) {
      if (principal && !actions.every((a) => live.includes(a)))
        throw new RegistryError('DENIED', DENIED, detail);
      if (granted)
        throw this.unauthorized(req, 'insufficient scope', scope, 'insufficient_scope', detail);
      throw this.unauthorized(req, 'authentication required', scope, undefined, detail);
    }
    if (mountFrom === undefined) return { actor, mountAllowed: false };
    // A mount from a repository the caller cannot pull behaves as if that repository did not
    // exist: the registry starts an ordinary upload instead. A token that only lacks the scope
    // the caller could have is answered with the challenge for it.
    const livePull = (await this.access.principalActions(principal, mountFrom)).includes('pull');
    if (!livePull) {
      this.logger.debug('cross-repository mount refused: no pull access to the source');
      return { actor, mountAllowed: false };
    }
    if (
      caller.kind === 'token' &&
      !grantedActions(caller.access, 'repository', mountFrom).has('pull')
    ) {
      throw this.unauthorized(req, 'insufficient scope', scope, 'insufficient_scope', [
        ...detail,
        { Type: 'repository', Name: mountFrom, Action: 'pull' },
      ]);
    }
    return { actor, mountAllowed: true };
  }
}
