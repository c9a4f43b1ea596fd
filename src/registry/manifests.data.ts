import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { DigestAlgorithm } from './digest.js';
import { ImmutableTagError, immutableRuleFor } from './tag-rules.js';

/** A manifest row to insert (exact bytes, with what the referrers API and the GC read). */
export interface NewManifest {
  repositoryId: string;
  sha256: string;
  sha512: string;
  mediaType: string;
  bytes: Buffer;
  subject: string | null;
  artifactType: string | null;
  annotations: Record<string, string> | null;
}

/** What pointing tags at a manifest changed (tags already pointing at it are in neither list). */
export interface TagChanges {
  /** Tags that did not exist. */
  created: string[];
  /** Tags that pointed at another manifest, with the sha256 digest they pointed at. */
  moved: { tag: string; from: string }[];
}

/**
 * The SQL of manifest writes, beside the blob SQL (blobs.data.ts): every statement runs in the
 * caller's seam transaction (EventsService.transaction). Child manifests an index references are
 * held like blobs (FOR KEY SHARE), so that a manifest deleted meanwhile waits for the index.
 */
@Injectable()
export class ManifestsData {
  /** The child manifests among `digests` (either algorithm) with their sizes, locked. */
  async lockChildren(
    m: EntityManager,
    repositoryId: string,
    digests: string[],
  ): Promise<Map<string, number>> {
    const found: { digest: string; digest_sha512: string; size: number }[] = await m.query(
      `SELECT digest, digest_sha512, size FROM manifests
        WHERE repository_id = $1 AND (digest = ANY($2) OR digest_sha512 = ANY($2))
        ORDER BY digest FOR KEY SHARE`,
      [repositoryId, digests],
    );
    return new Map(
      found.flatMap((f) => [
        [f.digest, f.size],
        [f.digest_sha512, f.size],
      ]),
    );
  }

  /** Inserts the manifest unless the repository has it; its id when it was inserted. */
  async insert(m: EntityManager, row: NewManifest): Promise<string | null> {
    const inserted: { id: string }[] = await m.query(
      `INSERT INTO manifests (repository_id, digest, digest_sha512, media_type, content, size, subject_digest, artifact_type, annotations)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (repository_id, digest) DO NOTHING RETURNING id`,
      [
        row.repositoryId,
        row.sha256,
        row.sha512,
        row.mediaType,
        row.bytes,
        row.bytes.length,
        row.subject,
        row.artifactType,
        row.annotations ? JSON.stringify(row.annotations) : null,
      ],
    );
    return inserted[0]?.id ?? null;
  }

  /** Records what a manifest references (the GC's root set reads these). */
  async insertReferences(
    m: EntityManager,
    manifestId: string,
    blobs: string[],
    manifests: string[],
  ): Promise<void> {
    const refs = [...blobs.map((d) => [d, 'blob']), ...manifests.map((d) => [d, 'manifest'])];
    if (!refs.length) return;
    await m.query(
      `INSERT INTO manifest_references (manifest_id, child_digest, kind)
       SELECT $1, d, k FROM unnest($2::text[], $3::text[]) AS t(d, k) ON CONFLICT DO NOTHING`,
      [manifestId, refs.map((r) => r[0]), refs.map((r) => r[1])],
    );
  }

  /**
   * Points the tags at a manifest, creating or moving them, under each tag row's lock: refused
   * (ImmutableTagError, nothing changed) when a tag that an immutable pattern of the repository
   * matches would move. Tags already pointing at the manifest count as neither created nor moved.
   */
  async pointTags(
    m: EntityManager,
    repositoryId: string,
    tags: string[],
    sha256: string,
    algorithm: DigestAlgorithm,
  ): Promise<TagChanges> {
    const changes: TagChanges = { created: [], moved: [] };
    if (!tags.length) return changes;
    const names = [...new Set(tags)].sort();
    // Creates the missing tags first, so that every tag has a row to lock: an insert racing a
    // concurrent creation of the same tag waits for it and then finds the row, which the locking
    // read below waits for in turn. So of two concurrent pushes of a new tag, the second sees the
    // first's digest and counts (and checks) a move.
    const inserted: { name: string }[] = await m.query(
      `INSERT INTO tags (repository_id, name, manifest_digest, digest_algorithm)
       SELECT $1, t, $3, $4 FROM unnest($2::text[]) AS t
       ON CONFLICT (repository_id, name) DO NOTHING RETURNING name`,
      [repositoryId, names, sha256, algorithm],
    );
    changes.created = inserted.map((r) => r.name).sort();
    const existing = names.filter((t) => !changes.created.includes(t));
    if (!existing.length) return changes;
    const before: { name: string; manifest_digest: string }[] = await m.query(
      `SELECT name, manifest_digest FROM tags
        WHERE repository_id = $1 AND name = ANY($2::text[]) ORDER BY name FOR UPDATE`,
      [repositoryId, existing],
    );
    const moved = before.filter((r) => r.manifest_digest !== sha256);
    if (moved.length) {
      const patterns = await this.immutablePatterns(m, repositoryId);
      for (const r of moved) {
        const rule = immutableRuleFor(patterns, r.name);
        if (rule) throw new ImmutableTagError(r.name, rule, 'moved');
      }
    }
    changes.moved = moved.map((r) => ({ tag: r.name, from: r.manifest_digest }));
    // Tags deleted since the insert above (a concurrent delete committed in between) are
    // created again by this push.
    const gone = existing.filter((t) => !before.some((r) => r.name === t));
    await m.query(
      `INSERT INTO tags (repository_id, name, manifest_digest, digest_algorithm)
       SELECT $1, t, $3, $4 FROM unnest($2::text[]) AS t
       ON CONFLICT (repository_id, name) DO UPDATE
         SET manifest_digest = EXCLUDED.manifest_digest,
             digest_algorithm = EXCLUDED.digest_algorithm, updated_at = now()`,
      [repositoryId, existing, sha256, algorithm],
    );
    changes.created.push(...gone);
    return changes;
  }

  /** The repository's immutable tag patterns, in the order they were set. */
  async immutablePatterns(m: EntityManager, repositoryId: string): Promise<string[]> {
    const rows: { pattern: string }[] = await m.query(
      `SELECT pattern FROM immutable_tag_patterns WHERE repository_id = $1 ORDER BY position`,
      [repositoryId],
    );
    return rows.map((r) => r.pattern);
  }

  /** Refuses (ImmutableTagError) when an immutable pattern of the repository matches one of `tags`. */
  private async assertDeletable(
    m: EntityManager,
    repositoryId: string,
    tags: string[],
  ): Promise<void> {
    if (!tags.length) return;
    const patterns = await this.immutablePatterns(m, repositoryId);
    for (const tag of tags) {
      const rule = immutableRuleFor(patterns, tag);
      if (rule) throw new ImmutableTagError(tag, rule, 'deleted');
    }
  }

  /**
   * Deletes a manifest and every tag pointing at it; the names of those tags. Refused, with
   * nothing deleted, when one of them is immutable.
   */
  async deleteManifest(
    m: EntityManager,
    repositoryId: string,
    manifestId: string,
    sha256: string,
  ): Promise<string[]> {
    const tags: { name: string }[] = await m.query(
      `SELECT name FROM tags WHERE repository_id = $1 AND manifest_digest = $2 ORDER BY name FOR UPDATE`,
      [repositoryId, sha256],
    );
    await this.assertDeletable(
      m,
      repositoryId,
      tags.map((t) => t.name),
    );
    // DELETE … RETURNING answers [rows, count].
    const [removed]: [{ name: string }[], number] = await m.query(
      `DELETE FROM tags WHERE repository_id = $1 AND manifest_digest = $2 RETURNING name`,
      [repositoryId, sha256],
    );
    // A tag committed between the locking read and the delete is checked too (throwing rolls
    // the delete back).
    await this.assertDeletable(
      m,
      repositoryId,
      removed.map((t) => t.name).filter((n) => !tags.some((t) => t.name === n)),
    );
    await m.query(`DELETE FROM manifests WHERE id = $1`, [manifestId]);
    return removed.map((t) => t.name);
  }

  /**
   * Deletes one tag; the digest it pointed at, or null when there was none. Refused, with
   * nothing deleted, when the tag is immutable.
   */
  async deleteTag(m: EntityManager, repositoryId: string, tag: string): Promise<string | null> {
    const rows: { manifest_digest: string }[] = await m.query(
      `SELECT manifest_digest FROM tags WHERE repository_id = $1 AND name = $2 FOR UPDATE`,
      [repositoryId, tag],
    );
    if (!rows.length) return null;
    await this.assertDeletable(m, repositoryId, [tag]);
    await m.query(`DELETE FROM tags WHERE repository_id = $1 AND name = $2`, [repositoryId, tag]);
    return rows[0].manifest_digest;
  }
}
