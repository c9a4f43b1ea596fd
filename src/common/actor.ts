import { randomUUID } from 'node:crypto';
import type { Request } from 'express';

/**
 * Who made a write, as every write path receives it (and records it with its event).
 *
 * - `user`: an authenticated user (management API, or the registry with a password, an API key
 *   or a registry token of that user).
 * - `robot`: a machine account of a namespace (see auth/principal.ts; none is issued yet).
 * - `anonymous`: nobody signed in (self-registration, anonymous pulls).
 * - `system`: the server itself (the administrator bootstrap, sweepers).
 */
export type ActorPrincipal =
  | { kind: 'user'; userId: string; username: string; isAdmin: boolean }
  | { kind: 'robot'; robotId: string; name: string; namespace: string }
  | { kind: 'anonymous' }
  | { kind: 'system'; name: string };

/** How the caller proved who they are. */
export type CredentialKind = 'anonymous' | 'password' | 'api-key' | 'token' | 'jwt' | 'system';

export interface Actor {
  principal: ActorPrincipal;
  credential: CredentialKind;
  /** The API key used, directly or through a registry token obtained with it. */
  apiKeyId?: string;
  /** The client address (honouring TRUST_PROXY). */
  address?: string;
  /** The request's id (its `X-Request-Id` when it sent a well-formed one). */
  requestId: string;
}

/** The id of the acting user; null for anonymous callers and the system. */
export function actorUserId(actor: Actor): string | null {
  return actor.principal.kind === 'user' ? actor.principal.userId : null;
}

/** The server acting on its own (`name` says which part of it). */
export function systemActor(name: string): Actor {
  return { principal: { kind: 'system', name }, credential: 'system', requestId: randomUUID() };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's id: the client's `X-Request-Id` when well formed, else a new one (kept on it). */
export function requestIdOf(req: Request): string {
  const r = req as Request & { requestId?: string };
  if (r.requestId) return r.requestId;
  const sent = req.headers['x-request-id'];
  r.requestId = typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
  return r.requestId;
}
