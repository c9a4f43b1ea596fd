import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Repositories, blobs, upload sessions, manifests, references and tags. */
export class RegistryCore1763800000000 implements MigrationInterface {
  name = 'RegistryCore1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE repositories (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(255) COLLATE "C" NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE blobs (
        digest varchar(150) PRIMARY KEY,
        size bigint NOT NULL CHECK (size >= 0),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE repository_blobs (
        repository_id uuid NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        digest varchar(150) NOT NULL REFERENCES blobs(digest),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (repository_id, digest)
      )`);
    await q.query(`CREATE INDEX repository_blobs_digest ON repository_blobs (digest)`);
    await q.query(`
      CREATE TABLE uploads (
        id uuid PRIMARY KEY,
        repository_id uuid NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        "offset" bigint NOT NULL DEFAULT 0,
        hash_algorithm varchar(16) NOT NULL,
        hash_state bytea,
        driver_state jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX uploads_updated_at ON uploads (updated_at)`);
    await q.query(`
      CREATE TABLE manifests (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        repository_id uuid NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        digest varchar(150) NOT NULL,
        digest_sha512 varchar(150) NOT NULL,
        media_type varchar(255) NOT NULL,
        content bytea NOT NULL,
        size integer NOT NULL,
        subject_digest varchar(150),
        artifact_type varchar(255),
        annotations jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (repository_id, digest)
      )`);
    await q.query(`CREATE INDEX manifests_sha512 ON manifests (repository_id, digest_sha512)`);
    await q.query(
      `CREATE INDEX manifests_subject ON manifests (repository_id, subject_digest) WHERE subject_digest IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE manifest_references (
        manifest_id uuid NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
        child_digest varchar(150) NOT NULL,
        kind varchar(16) NOT NULL CHECK (kind IN ('blob', 'manifest')),
        PRIMARY KEY (manifest_id, child_digest)
      )`);
    await q.query(`CREATE INDEX manifest_references_child ON manifest_references (child_digest)`);
    await q.query(`
      CREATE TABLE tags (
        repository_id uuid NOT NULL,
        name varchar(128) COLLATE "C" NOT NULL,
        manifest_digest varchar(150) NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (repository_id, name),
        FOREIGN KEY (repository_id, manifest_digest)
          REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX tags_manifest ON tags (repository_id, manifest_digest)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'tags',
      'manifest_references',
      'manifests',
      'uploads',
      'repository_blobs',
      'blobs',
      'repositories',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
