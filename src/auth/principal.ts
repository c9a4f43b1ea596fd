/** Who is calling, once credentials have been verified. */
export interface Principal {
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
  /** For password sign-ins: the user's credential generation the password was checked against. */
  credentialGeneration?: number;
}
