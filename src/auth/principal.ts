import type { PatternGrant } from '../repos/permissions.js';
import type { KeyScope } from './scopes.js';

/**
 * Who is calling, once credentials have been verified. A union, so that kinds of callers other
 * than users can be added without being fake users holding names in the shared `namespaces`
 * table:
 *
 * - `user`: a person's account. Holds a namespace (their name); may own organizations.
 * - `robot`: a machine account that belongs to a namespace and acts only through the grants given
 *   to it; it holds no name and owns nothing. Its only credential is its API key (src/robots/).
 * - `anonymous`: nobody signed in; pulls public repositories.
 *
 * The management API's routes serve users (`UserPrincipal`); the permission rules
 * (repos/permissions.ts) take every kind.
 */
export type Principal = UserPrincipal | RobotPrincipal | AnonymousPrincipal;

export interface UserPrincipal {
  kind: 'user';
  userId: string;
  username: string;
  /** System administrator: may manage every user and repository. */
  isAdmin: boolean;
  /** How the caller proved who they are. */
  method: 'jwt' | 'password' | 'api-key';
  /** The login session (access JWTs and tokens derived from a refresh token). */
  sessionId?: string;
  /** The API key used, directly or through a registry token obtained with it. */
  apiKeyId?: string;
  /** The scope of that API key (absent: not signed in with a key). */
  keyScope?: KeyScope;
  /** For password sign-ins: the user's credential generation the password was checked against. */
  credentialGeneration?: number;
}

export interface RobotPrincipal {
  kind: 'robot';
  robotId: string;
  /** The robot's name, unique within its namespace (shown as `<namespace>+<name>`). */
  name: string;
  /** The user or organization the robot belongs to. */
  namespace: string;
  method: 'api-key' | 'token';
  apiKeyId: string;
  /** Its grants: full repository names or patterns of its namespace, with a level each. */
  grants: PatternGrant[];
}

/** A verified caller: a user or a robot account. */
export type SignedInPrincipal = UserPrincipal | RobotPrincipal;

export interface AnonymousPrincipal {
  kind: 'anonymous';
}

/** A display name for any kind of principal. */
export function principalName(p: Principal): string {
  switch (p.kind) {
    case 'user':
      return p.username;
    case 'robot':
      return `${p.namespace}+${p.name}`;
    case 'anonymous':
      return 'anonymous';
  }
}
