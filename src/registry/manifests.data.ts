import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { DigestAlgorithm } from './digest.js';

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

  /** Points the tags at the manifest (creating or moving them); returns those that moved, and from where. */
  async pointTags(
    m: EntityManager,
    repositoryId: string,
    tags: string[],
    sha256: string,
    algorithm: DigestAlgorithm,
  ): Promise<{ tag: string; from: string }[]> {
    if (!tags.length) return [];
    // The tags that already exist, locked until commit: those pointing elsewhere move.
    const before: { name: string; manifest_digest: string }[] = await m.query(
      `SELECT name, manifest_digest FROM tags WHERE repository_id = $1 AND name = ANY($2::text[])
        ORDER BY name FOR UPDATE`,
      [repositoryId, tags],
    );
    await m.query(
      `INSERT INTO tags (repository_id, name, manifest_digest, digest_algorithm)
       SELECT $1, t, $3, $4 FROM unnest($2::text[]) AS t
       ON CONFLICT (repository_id, name) DO UPDATE
         SET manifest_digest = EXCLUDED.manifest_digest,
             digest_algorithm = EXCLUDED.digest_algorithm, updated_at = now()`,
      [repositoryId, tags, sha256, algorithm],
    );
    return before
      .filter((t) => t.manifest_digest !== sha256)
      .map((t) => ({ tag: t.name, from: t.manifest_digest }));
  }

  /** Deletes a manifest and every tag pointing at it; the names of those tags. */
  async deleteManifest(
    m: EntityManager,
    repositoryId: string,
    manifestId: string,
    sha256: string,
  ): Promise<string[]> {
    // DELETE … RETURNING answers [rows, count].
    const [removed]: [{ name: string }[], number] = await m.query(
      `DELETE FROM tags WHERE repository_id = $1 AND manifest_digest = $2 RETURNING name`,
      [repositoryId, sha256],
    );
    await m.query(`DELETE FROM manifests WHERE id = $1`, [manifestId]);
    return removed.map((t) => t.name);
  }

  /** Deletes one tag; false when there was none. */
  async deleteTag(m: EntityManager, repositoryId: string, tag: string): Promise<boolean> {
    const res: [unknown[], number] = await m.query(
      `DELETE FROM tags WHERE repository_id = $1 AND name = $2`,
      [repositoryId, tag],
    );
    return res[1] > 0;
  }
}
