import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import type { GrantLevel, Visibility } from './permissions.js';

@Entity('repositories')
export class RepositoryEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Full repository name, e.g. "acme/team/app". */
  @Index({ unique: true })
  @Column({ type: 'varchar', length: 255 })
  name: string;

  /** First path segment: the user or organization that holds the repository. */
  @Column({ type: 'varchar', length: 255 })
  namespace: string;

  @Column({ type: 'varchar', length: 8 })
  visibility: Visibility;

  @Column({ type: 'varchar', length: 4096, nullable: true })
  description: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  /** Last push activity (blob upload or manifest), at a resolution of a few seconds. */
  @Column({ name: 'last_pushed_at', type: 'timestamptz', nullable: true })
  lastPushedAt: Date | null;
}

@Entity('repository_user_permissions')
export class RepositoryUserPermissionEntity {
  @PrimaryColumn({ name: 'repository_id', type: 'uuid' })
  repositoryId: string;

  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 8 })
  level: GrantLevel;
}

@Entity('repository_team_permissions')
export class RepositoryTeamPermissionEntity {
  @PrimaryColumn({ name: 'repository_id', type: 'uuid' })
  repositoryId: string;

  @PrimaryColumn({ name: 'team_id', type: 'uuid' })
  teamId: string;

  @Column({ type: 'varchar', length: 8 })
  level: GrantLevel;
}

export const REPOS_ENTITIES = [
  RepositoryEntity,
  RepositoryUserPermissionEntity,
  RepositoryTeamPermissionEntity,
];
