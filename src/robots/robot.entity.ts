import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { PatternGrant } from '../repos/permissions.js';

/** A machine account of a namespace (`<namespace>+<name>`); its credential is an API key. */
@Entity('robots')
export class RobotEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** The user or organization the robot belongs to. */
  @Column({ type: 'varchar', length: 255 })
  namespace: string;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  @Column({ type: 'varchar', length: 1024, nullable: true })
  description: string | null;

  /** Full repository names or patterns inside the namespace, with a level each. */
  @Column({ type: 'jsonb' })
  grants: PatternGrant[];

  @Column({ type: 'boolean' })
  disabled: boolean;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
