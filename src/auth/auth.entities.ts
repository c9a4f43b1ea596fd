import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

export type SessionKind = 'api' | 'registry';

/** One sign-in: a family of refresh tokens. Revoking it ends every token of the family. */
@Entity('auth_sessions')
export class AuthSessionEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  /** `api`: rotating refresh tokens of the management API; `registry`: docker login identity token. */
  @Column({ type: 'varchar', length: 8 })
  kind: SessionKind;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'revoked_reason', type: 'varchar', length: 32, nullable: true })
  revokedReason: string | null;

  /** User-Agent of the client at sign-in or at the last refresh/use. */
  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent: string | null;

  /** Client address (as TRUST_PROXY lets it be known) at sign-in or at the last refresh/use. */
  @Column({ name: 'client_address', type: 'varchar', length: 64, nullable: true })
  clientAddress: string | null;
}

/** Where a request of a session comes from, as recorded on the session. */
export interface SessionClient {
  userAgent: string | null;
  address: string | null;
}

export function sessionClientOf(req: {
  ip?: string;
  headers: Record<string, string | string[] | undefined>;
}): SessionClient {
  const ua = req.headers['user-agent'];
  return {
    userAgent: (typeof ua === 'string' ? ua : '').slice(0, 512) || null,
    address: req.ip ? req.ip.slice(0, 64) : null,
  };
}

@Entity('refresh_tokens')
export class RefreshTokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'session_id', type: 'uuid' })
  sessionId: string;

  /** SHA-256 (hex) of the token. */
  @Column({ name: 'token_hash', type: 'char', length: 64 })
  tokenHash: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  /** Set when the token was exchanged; presenting it again is reuse. */
  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;
}

/** Secrets shared by every node, such as the generated JWT signing key. */
@Entity('auth_secrets')
export class AuthSecretEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name: string;

  @Column({ type: 'text' })
  value: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

export const AUTH_ENTITIES = [AuthSessionEntity, RefreshTokenEntity, AuthSecretEntity];
