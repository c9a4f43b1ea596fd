import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { bigintNumber } from '../database/transformers.js';

/** A blob known to the registry (its bytes live in the storage driver at its content address). */
@Entity('blobs')
export class BlobEntity {
  @PrimaryColumn({ type: 'varchar', length: 150 })
  digest: string;

  @Column({ type: 'bigint', transformer: bigintNumber })
  size: number;

  /** Lifecycle state (see blobs.service.ts); a gone blob has no row. */
  @Column({ type: 'varchar', length: 16, default: 'live' })
  state: 'live' | 'candidate' | 'deleting';

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

/** Links a blob into a repository: a blob is visible in a repository only through this link. */
@Entity('repository_blobs')
export class RepositoryBlobEntity {
  @PrimaryColumn({ name: 'repository_id', type: 'uuid' })
  repositoryId: string;

  @PrimaryColumn({ type: 'varchar', length: 150 })
  digest: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

/** An upload session. Everything a node needs to continue it lives here, not in memory. */
@Entity('uploads')
export class UploadEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  /** Null once the repository is deleted: the sweeper then removes the session and its bytes. */
  @Column({ name: 'repository_id', type: 'uuid', nullable: true })
  repositoryId: string | null;

  @Column({ type: 'bigint', transformer: bigintNumber })
  offset: number;

  /** The algorithm hashed while bytes arrive (`digest-algorithm`, or the POST's digest). */
  @Column({ name: 'hash_algorithm', type: 'varchar', length: 16 })
  hashAlgorithm: string;

  @Column({ name: 'driver_state', type: 'jsonb' })
  driverState: Record<string, unknown>;

  /** The lease of the request writing now (see UploadsService). */
  @Column({ name: 'lease_token', type: 'uuid', nullable: true })
  leaseToken: string | null;

  @Column({ name: 'lease_node', type: 'integer', nullable: true })
  leaseNode: number | null;

  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt: Date | null;

  /** Set once the digest was verified, before the blob is published. */
  @Column({ name: 'publishing_digest', type: 'varchar', length: 150, nullable: true })
  publishingDigest: string | null;

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

@Entity('manifests')
export class ManifestEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'repository_id', type: 'uuid' })
  repositoryId: string;

  /** sha256 digest of the exact bytes. */
  @Column({ type: 'varchar', length: 150 })
  digest: string;

  /** sha512 digest of the same bytes, so either algorithm finds the manifest. */
  @Column({ name: 'digest_sha512', type: 'varchar', length: 150 })
  digestSha512: string;

  @Column({ name: 'media_type', type: 'varchar', length: 255 })
  mediaType: string;

  @Column({ type: 'bytea' })
  content: Buffer;

  @Column({ type: 'integer' })
  size: number;

  @Column({ name: 'subject_digest', type: 'varchar', length: 150, nullable: true })
  subjectDigest: string | null;

  @Column({ name: 'artifact_type', type: 'varchar', length: 255, nullable: true })
  artifactType: string | null;

  @Column({ type: 'jsonb', nullable: true })
  annotations: Record<string, string> | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

/** What a manifest points at: blobs (config, layers) and child manifests (index entries). */
@Entity('manifest_references')
export class ManifestReferenceEntity {
  @PrimaryColumn({ name: 'manifest_id', type: 'uuid' })
  manifestId: string;

  @PrimaryColumn({ name: 'child_digest', type: 'varchar', length: 150 })
  childDigest: string;

  @Column({ type: 'varchar', length: 16 })
  kind: 'blob' | 'manifest';
}

@Entity('tags')
export class TagEntity {
  @PrimaryColumn({ name: 'repository_id', type: 'uuid' })
  repositoryId: string;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  name: string;

  @Column({ name: 'manifest_digest', type: 'varchar', length: 150 })
  manifestDigest: string;

  /** The algorithm the tag was pushed with, which its digest is reported in. */
  @Column({ name: 'digest_algorithm', type: 'varchar', length: 8 })
  digestAlgorithm: 'sha256' | 'sha512';

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

export const REGISTRY_ENTITIES = [
  BlobEntity,
  RepositoryBlobEntity,
  UploadEntity,
  ManifestEntity,
  ManifestReferenceEntity,
  TagEntity,
];
