import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { KeyAction } from '../auth/scopes.js';

@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** The owning user; null for a robot account's key. */
  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  /** The owning robot account; null for a user's key. */
  @Column({ name: 'robot_id', type: 'uuid', nullable: true })
  robotId: string | null;

  /** What the key may do: `pull`, `push`, `delete`, and `api` for the management API. */
  @Column({ type: 'text', array: true })
  actions: KeyAction[];

  /** Repository names or patterns the key is limited to; null: every repository. */
  @Column({ type: 'text', array: true, nullable: true })
  repositories: string[] | null;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  /** The first characters of the key, to tell keys apart in listings. */
  @Column({ type: 'varchar', length: 16 })
  prefix: string;

  /** SHA-256 (hex) of the whole key; the key itself is never stored. */
  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;
}
