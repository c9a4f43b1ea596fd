import type { Request } from 'express';
import type { Actor } from '../common/actor.js';
import type { RegistryAction } from './routes.js';

/** What a registry request asks for; the Auth module decides. */
export interface RegistryAccessRequest {
  /** Repository the request targets; undefined for `/v2/` and `/v2/_catalog`. */
  repository?: string;
  actions: RegistryAction[];
  /** Source repository of a cross-repository mount (needs pull there). */
  mountFrom?: string;
  catalog?: boolean;
}

/** Who made a registry request, resolved once by the access guard and passed to every write. */
export type RegistryActor = Actor;

export interface RegistryAccessDecision {
  actor: RegistryActor;
  /**
   * Whether a requested cross-repository mount may use its source. When false the upload POST
   * starts an ordinary session, exactly as if the source did not exist.
   */
  mountAllowed: boolean;
  /**
   * For `/v2/_catalog`: lists what this caller may pull (in byte order after `last`, at most
   * `limit`) when the actor alone does not say it (robots, scoped API keys).
   */
  catalog?: (limit: number, last?: string) => Promise<string[]>;
}

export interface RegistryAuthorizer {
  /** Throws a RegistryError (401 with WWW-Authenticate, or 403 DENIED) when access is refused. */
  authorize(req: Request, access: RegistryAccessRequest): Promise<RegistryAccessDecision>;
}

export const REGISTRY_AUTHORIZER = Symbol('REGISTRY_AUTHORIZER');
