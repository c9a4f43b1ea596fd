import type { Request } from 'express';
import type { RegistryAction } from './routes.js';

/** What a registry request asks for; the Auth module decides (issue 3 plugs in here). */
export interface RegistryAccessRequest {
  /** Repository the request targets; undefined for `/v2/` and `/v2/_catalog`. */
  repository?: string;
  actions: RegistryAction[];
  /** Source repository of a cross-repository mount (needs pull there). */
  mountFrom?: string;
  catalog?: boolean;
}

export interface RegistryAccessDecision {
  /**
   * Whether a requested cross-repository mount may use its source. When false the upload POST
   * starts an ordinary session, exactly as if the source did not exist.
   */
  mountAllowed: boolean;
}

export interface RegistryAuthorizer {
  /** Throws a RegistryError (401 with WWW-Authenticate, or 403 DENIED) when access is refused. */
  authorize(req: Request, access: RegistryAccessRequest): Promise<RegistryAccessDecision>;
  /** Filters catalog entries down to what the caller may pull. */
  filterCatalog(req: Request, names: string[]): Promise<string[]>;
}

export const REGISTRY_AUTHORIZER = Symbol('REGISTRY_AUTHORIZER');

/** Open registry: every request is allowed. Used until an authorizer is bound. */
export class AllowAllAuthorizer implements RegistryAuthorizer {
  async authorize(): Promise<RegistryAccessDecision> {
    return { mountAllowed: true };
  }
  async filterCatalog(_req: Request, names: string[]): Promise<string[]> {
    return names;
  }
}
