import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export type NamespaceKind = 'user' | 'org' | 'reserved';

/** One name of the namespace shared by users and organizations. */
@Entity('namespaces')
export class NamespaceEntity {
  @PrimaryColumn({ type: 'varchar', length: 255 })
  name: string;

  @Column({ type: 'varchar', length: 8 })
  kind: NamespaceKind;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
