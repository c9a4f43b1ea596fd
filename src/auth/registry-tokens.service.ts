import { Injectable } from '@nestjs/common';
import { RepoAccessService } from '../repos/repo-access.service.js';
import { principalName, type SignedInPrincipal } from './principal.js';
import {
  type AccessEntry,
  intersectActions,
  isCatalogScope,
  isRepositoryScope,
  requestedRepositoryActions,
} from './scopes.js';
import { TokensService } from './tokens.service.js';

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

  async issue(
    principal: SignedInPrincipal | null,
    scopes: AccessEntry[],
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
