import { Inject, Injectable } from '@nestjs/common';
import type { Actor } from '../common/actor.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { RepoAccessService } from '../repos/repo-access.service.js';
import { signedInActor } from './decorators.js';
import { principalName, type SignedInPrincipal } from './principal.js';
import {
  type AccessEntry,
  formatScope,
  intersectActions,
  isCatalogScope,
  isRepositoryScope,
  requestedRepositoryActions,
} from './scopes.js';
import { TokensService } from './tokens.service.js';

/** Whether a token's access goes beyond pulling (push, delete, or every action of a repository). */
export function grantsMoreThanPull(access: AccessEntry[]): boolean {
  return access.some((a) => a.type === 'repository' && a.actions.some((x) => x !== 'pull'));
}

export interface IssuedRegistryToken {
  token: string;
  expiresIn: number;
  issuedAt: Date;
  access: AccessEntry[];
}

/**
 * Issues registry tokens (Docker token specification): each requested scope is granted the
 * intersection of the requested and the allowed actions; scopes with nothing granted are left
 * out rather than refused.
 */
@Injectable()
export class RegistryTokensService {
  constructor(
    private readonly access: RepoAccessService,
    private readonly tokens: TokensService,
    private readonly events: EventsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async grant(principal: SignedInPrincipal | null, scopes: AccessEntry[]): Promise<AccessEntry[]> {
    const granted: AccessEntry[] = [];
    for (const scope of scopes) {
      if (isRepositoryScope(scope)) {
        const requested = requestedRepositoryActions(scope.actions);
        if (!requested.length) continue;
        const actions = intersectActions(
          requested,
          await this.access.principalActions(principal, scope.name),
        );
        if (actions.length) granted.push({ type: 'repository', name: scope.name, actions });
      } else if (isCatalogScope(scope)) {
        // Anyone may list the catalog; it only shows what the caller can pull.
        granted.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      }
    }
    return granted;
  }

  /**
   * Grants and signs a token. A token of a user that grants more than pulling (or any user's
   * token with AUDIT_PULLS=true) is recorded as `token.issued`, `by` being the request's actor:
   * pull-only tokens come with every pull and are counted, not audited, like pulls themselves.
   */
  async issue(
    principal: SignedInPrincipal | null,
    scopes: AccessEntry[],
    by?: Actor,
  ): Promise<IssuedRegistryToken> {
    const access = await this.grant(principal, scopes);
    if (principal?.kind === 'robot') {
      const signed = await this.tokens.signRegistryToken(
        { username: principalName(principal) },
        access,
        { apiKeyId: principal.apiKeyId, robotId: principal.robotId },
      );
      return { ...signed, access };
    }
    if (principal && by && (this.config.audit.pulls || grantsMoreThanPull(access)))
      await this.events.recordAlone(
        event('token.issued', signedInActor(by, principal), {
          userId: principal.userId,
          username: principal.username,
          kind: 'registry',
          scopes: access.map((a) => formatScope(a.type, a.name, a.actions)),
          grant:
            principal.method === 'password'
              ? 'password'
              : principal.method === 'api-key'
                ? 'api-key'
                : 'refresh-token',
          ...(principal.sessionId ? { sessionId: principal.sessionId } : {}),
        }),
      );
    const signed = await this.tokens.signRegistryToken(principal, access, {
      sessionId: principal?.sessionId,
      apiKeyId: principal?.apiKeyId,
      // A token issued with a password stops working when that password changes.
      credentialGeneration:
        principal?.method === 'password' ? principal.credentialGeneration : undefined,
    });
    return { ...signed, access };
  }
}
