import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Storage usage and quotas (src/quotas/): bytes of the blobs linked into each repository, and
 * into each namespace with every blob counted once (`namespace_blobs` counts the namespace's links
 * to each digest), kept up to date by triggers on `repository_blobs` in the transaction that adds
 * or removes a link, whoever does it (uploads, mounts, unlinks, garbage collection, a repository
 * deleted). A quota per namespace (NULL: none).
 */
export class Quotas1764400000201 implements MigrationInterface {
  name = 'Quotas1764400000201';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE namespaces
        ADD COLUMN usage_bytes bigint NOT NULL DEFAULT 0,
        ADD COLUMN quota_bytes bigint CHECK (quota_bytes >= 0)`);
    await q.query(`ALTER TABLE repositories ADD COLUMN usage_bytes bigint NOT NULL DEFAULT 0`);
    await q.query(`
      CREATE TABLE namespace_blobs (
        namespace varchar(255) COLLATE "C" NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
        digest varchar(150) NOT NULL,
        links integer NOT NULL CHECK (links > 0),
        PRIMARY KEY (namespace, digest)
      )`);
    await q.query(`
      UPDATE repositories r SET usage_bytes = COALESCE(
        (SELECT sum(b.size) FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
          WHERE rb.repository_id = r.id), 0)`);
    await q.query(`
      INSERT INTO namespace_blobs (namespace, digest, links)
      SELECT r.namespace, rb.digest, count(*) FROM repository_blobs rb
        JOIN repositories r ON r.id = rb.repository_id GROUP BY r.namespace, rb.digest`);
    await q.query(`
      UPDATE namespaces n SET usage_bytes = COALESCE(
        (SELECT sum(b.size) FROM namespace_blobs nb JOIN blobs b ON b.digest = nb.digest
          WHERE nb.namespace = n.name), 0)`);
    await q.query(`
      CREATE FUNCTION aerugo_link_usage() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        ns varchar;
        sz bigint;
        n integer;
      BEGIN
        IF TG_OP = 'INSERT' THEN
          SELECT namespace INTO ns FROM repositories WHERE id = NEW.repository_id;
          -- The namespace row first, then the repository's: one lock order for every writer.
          PERFORM 1 FROM namespaces WHERE name = ns FOR NO KEY UPDATE;
          SELECT size INTO sz FROM blobs WHERE digest = NEW.digest;
          UPDATE repositories SET usage_bytes = usage_bytes + sz WHERE id = NEW.repository_id;
          INSERT INTO namespace_blobs (namespace, digest, links) VALUES (ns, NEW.digest, 1)
            ON CONFLICT (namespace, digest) DO UPDATE SET links = namespace_blobs.links + 1
            RETURNING links INTO n;
          IF n = 1 THEN
            UPDATE namespaces SET usage_bytes = usage_bytes + sz WHERE name = ns;
          END IF;
          RETURN NEW;
        END IF;
        -- The links of a repository being deleted were accounted for by its BEFORE DELETE trigger.
        IF current_setting('aerugo.deleting_repository', true) = OLD.repository_id::text THEN
          RETURN OLD;
        END IF;
        SELECT namespace INTO ns FROM repositories WHERE id = OLD.repository_id;
        PERFORM 1 FROM namespaces WHERE name = ns FOR NO KEY UPDATE;
        SELECT size INTO sz FROM blobs WHERE digest = OLD.digest;
        UPDATE repositories SET usage_bytes = usage_bytes - sz WHERE id = OLD.repository_id;
        UPDATE namespace_blobs SET links = links - 1 WHERE namespace = ns AND digest = OLD.digest
          AND links > 1 RETURNING links INTO n;
        IF n IS NULL THEN
          DELETE FROM namespace_blobs WHERE namespace = ns AND digest = OLD.digest;
          UPDATE namespaces SET usage_bytes = usage_bytes - sz WHERE name = ns;
        END IF;
        RETURN OLD;
      END $$`);
    await q.query(`
      CREATE TRIGGER repository_blobs_usage AFTER INSERT OR DELETE ON repository_blobs
        FOR EACH ROW EXECUTE FUNCTION aerugo_link_usage()`);
    // A repository deleted: its namespace gives back what only it held, before the row goes (the
    // cascade that deletes its links runs after it, with no repository left to name the
    // namespace); those links' own trigger then skips them.
    await q.query(`
      CREATE FUNCTION aerugo_repository_unlink_all() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        d record;
        n integer;
      BEGIN
        PERFORM set_config('aerugo.deleting_repository', OLD.id::text, true);
        FOR d IN SELECT rb.digest, b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
                  WHERE rb.repository_id = OLD.id ORDER BY rb.digest LOOP
          n := NULL;
          UPDATE namespace_blobs SET links = links - 1
           WHERE namespace = OLD.namespace AND digest = d.digest AND links > 1 RETURNING links INTO n;
          IF n IS NULL THEN
            DELETE FROM namespace_blobs WHERE namespace = OLD.namespace AND digest = d.digest;
            UPDATE namespaces SET usage_bytes = usage_bytes - d.size WHERE name = OLD.namespace;
          END IF;
        END LOOP;
        RETURN OLD;
      END $$`);
    await q.query(`
      CREATE TRIGGER repositories_unlink_all BEFORE DELETE ON repositories
        FOR EACH ROW EXECUTE FUNCTION aerugo_repository_unlink_all()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS repositories_unlink_all ON repositories`);
    await q.query(`DROP FUNCTION IF EXISTS aerugo_repository_unlink_all()`);
    await q.query(`DROP TRIGGER IF EXISTS repository_blobs_usage ON repository_blobs`);
    await q.query(`DROP FUNCTION IF EXISTS aerugo_link_usage()`);
    await q.query(`DROP TABLE IF EXISTS namespace_blobs`);
    await q.query(`ALTER TABLE repositories DROP COLUMN IF EXISTS usage_bytes`);
    await q.query(
      `ALTER TABLE namespaces DROP COLUMN IF EXISTS usage_bytes, DROP COLUMN IF EXISTS quota_bytes`,
    );
  }
}
