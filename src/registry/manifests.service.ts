import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CacheService } from '../cache/cache.service.js';
import { transaction } from '../database/transaction.js';
import { type DigestAlgorithm, digestOf, looksLikeDigest, parseDigest } from './digest.js';
import { RegistryError } from './errors.js';
import { MEDIA_TYPES, parseManifest } from './manifest.js';
import { assertTag } from './names.js';

export interface StoredManifest {
  id: string;
  digest: string;
  digestSha512: string;
  mediaType: string;
  content: Buffer;
  size: number;
}

export interface TagDetails {
  name: string;
  digest: string;
  mediaType: string;
  /** Bytes stored for the image: manifest, config and layers (and child images of an index). */
  size: number;
  pushedAt: Date;
}

export interface PutManifestResult {
  /** Digest in the algorithm the client asked for (sha256 unless it pushed by a sha512 digest). */
  digest: string;
  /** The tags the manifest now answers to (the reference when it is a tag, and `?tag=`s). */
  tags: string[];
  subject?: string;
}

/** A manifest found by a reference, with the digest to report for that reference. */
export interface ResolvedManifest {
  manifest: StoredManifest;
  /** For a digest, that digest; for a tag, the manifest's digest in the algorithm it was pushed by. */
  digest: string;
}

/** What a tag points at, as cached. */
interface TagTarget {
  digest: string;
  algorithm: DigestAlgorithm;
}

interface ManifestRow {
  id: string;
  digest: string;
  digest_sha512: string;
  media_type: string;
  content: Buffer;
  size: number;
}

function toStored(r: ManifestRow): StoredManifest {
  return {
    id: r.id,
    digest: r.digest,
    digestSha512: r.digest_sha512,
    mediaType: r.media_type,
    content: r.content,
    size: r.size,
  };
}

/** Every declared size must be the stored size: a wrong size would make clients fail to verify. */
function assertSizes(
  declared: Map<string, number>,
  stored: Map<string, number>,
  kind: 'blob' | 'manifest',
): void {
  for (const [digest, size] of declared) {
    const actual = stored.get(digest);
    if (actual !== undefined && actual !== size) {
      throw new RegistryError(
        'MANIFEST_INVALID',
        `the manifest declares ${size} bytes for ${kind} ${digest}, which has ${actual}`,
        { digest, declared: size, actual },
      );
    }
  }
}

function manifestUnknown(reference: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown to registry', { reference });
}

@Injectable()
export class ManifestsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cache: CacheService,
  ) {}

  private static tagKey(repositoryId: string, tag: string): string {
    return `tagref:${repositoryId}:${tag}`;
  }

  private static manifestKey(repositoryId: string, sha256: string): string {
    return `manifest:${repositoryId}:${sha256}`;
  }

  /** Validates and stores the exact bytes, then points the reference's tag (and `?tag=`s) at them. */
  async put(
    repositoryId: string,
    reference: string,
    bytes: Buffer,
    contentType: string | undefined,
    extraTags: string[],
  ): Promise<PutManifestResult> {
    const byDigest = looksLikeDigest(reference);
    const requested = byDigest ? parseDigest(reference) : undefined;
    if (!byDigest) assertTag(reference);
    extraTags.forEach(assertTag);
    const sha256 = digestOf('sha256', bytes);
    const sha512 = digestOf('sha512', bytes);
    if (requested && (requested.algorithm === 'sha256' ? sha256 : sha512) !== reference) {
      throw new RegistryError('DIGEST_INVALID', 'manifest digest does not match its content', {
        reference,
        actual: requested.algorithm === 'sha256' ? sha256 : sha512,
      });
    }
    const parsed = parseManifest(bytes, contentType);
    const tags = [...new Set([...(byDigest ? [] : [reference]), ...extraTags])];

    const algorithm: DigestAlgorithm = requested?.algorithm ?? 'sha256';
    // Pure database work: runs again on a fresh connection if its connection was lost before it
    // committed (see transaction.ts).
    await transaction(this.db, async (m) => {
      if (parsed.blobs.length) {
        const found: { digest: string; size: string }[] = await m.query(
          `SELECT rb.digest, b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
            WHERE rb.repository_id = $1 AND rb.digest = ANY($2)`,
          [repositoryId, parsed.blobs],
        );
        const have = new Map(found.map((f) => [f.digest, Number(f.size)]));
        const missing = parsed.blobs.find((d) => !have.has(d));
        if (missing)
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', 'blob unknown to registry', {
            digest: missing,
          });
        assertSizes(parsed.sizes, have, 'blob');
      }
      if (parsed.manifests.length) {
        const found: { digest: string; digest_sha512: string; size: number }[] = await m.query(
          `SELECT digest, digest_sha512, size FROM manifests
            WHERE repository_id = $1 AND (digest = ANY($2) OR digest_sha512 = ANY($2))`,
          [repositoryId, parsed.manifests],
        );
        const have = new Map(
          found.flatMap((f) => [
            [f.digest, f.size],
            [f.digest_sha512, f.size],
          ]),
        );
        const missing = parsed.manifests.find((d) => !have.has(d));
        if (missing)
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', 'manifest unknown to registry', {
            digest: missing,
          });
        assertSizes(parsed.sizes, have, 'manifest');
      }
      const inserted: { id: string }[] = await m.query(
        `INSERT INTO manifests (repository_id, digest, digest_sha512, media_type, content, size, subject_digest, artifact_type, annotations)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (repository_id, digest) DO NOTHING RETURNING id`,
        [
          repositoryId,
          sha256,
          sha512,
          parsed.mediaType,
          bytes,
          bytes.length,
          parsed.subject?.digest ?? null,
          parsed.artifactType ?? null,
          parsed.annotations ? JSON.stringify(parsed.annotations) : null,
        ],
      );
      if (inserted.length) {
        const refs = [
          ...parsed.blobs.map((d) => [d, 'blob']),
          ...parsed.manifests.map((d) => [d, 'manifest']),
        ];
        if (refs.length) {
          await m.query(
            `INSERT INTO manifest_references (manifest_id, child_digest, kind)
             SELECT $1, d, k FROM unnest($2::text[], $3::text[]) AS t(d, k) ON CONFLICT DO NOTHING`,
            [inserted[0].id, refs.map((r) => r[0]), refs.map((r) => r[1])],
          );
        }
      }
      if (tags.length) {
        await m.query(
          `INSERT INTO tags (repository_id, name, manifest_digest, digest_algorithm)
           SELECT $1, t, $3, $4 FROM unnest($2::text[]) AS t
           ON CONFLICT (repository_id, name) DO UPDATE
             SET manifest_digest = EXCLUDED.manifest_digest,
                 digest_algorithm = EXCLUDED.digest_algorithm, updated_at = now()`,
          [repositoryId, tags, sha256, algorithm],
        );
      }
    });
    await this.cache.invalidate(...tags.map((t) => ManifestsService.tagKey(repositoryId, t)));
    return {
      digest: algorithm === 'sha512' ? sha512 : sha256,
      tags,
      subject: parsed.subject?.digest,
    };
  }

  async find(repositoryId: string, reference: string): Promise<ResolvedManifest | null> {
    if (!looksLikeDigest(reference)) {
      assertTag(reference);
      const target = await this.cache.getOrLoad<TagTarget>(
        ManifestsService.tagKey(repositoryId, reference),
        async () => {
          const rows: { manifest_digest: string; digest_algorithm: DigestAlgorithm }[] =
            await this.db.query(
              `SELECT manifest_digest, digest_algorithm FROM tags WHERE repository_id = $1 AND name = $2`,
              [repositoryId, reference],
            );
          return rows.length
            ? { digest: rows[0].manifest_digest, algorithm: rows[0].digest_algorithm }
            : null;
        },
      );
      if (target === null) return null;
      const manifest = await this.findByDigest(repositoryId, target.digest);
      if (!manifest) return null;
      return {
        manifest,
        digest: target.algorithm === 'sha512' ? manifest.digestSha512 : manifest.digest,
      };
    }
    const manifest = await this.findByDigest(repositoryId, reference);
    return manifest && { manifest, digest: reference };
  }

  /** Manifests by sha256 digest are immutable while they exist: cached until deleted. */
  private async findByDigest(repositoryId: string, digest: string): Promise<StoredManifest | null> {
    const { algorithm } = parseDigest(digest);
    const load = async (): Promise<StoredManifest | null> => {
      const rows: ManifestRow[] = await this.db.query(
        `SELECT id, digest, digest_sha512, media_type, content, size FROM manifests
          WHERE repository_id = $1 AND ${algorithm === 'sha256' ? 'digest' : 'digest_sha512'} = $2`,
        [repositoryId, digest],
      );
      return rows.length ? toStored(rows[0]) : null;
    };
    if (algorithm !== 'sha256') return load();
    const cached = await this.cache.getOrLoad(
      ManifestsService.manifestKey(repositoryId, digest),
      async () => {
        const m = await load();
        return m && { ...m, content: m.content.toString('base64') };
      },
    );
    return cached && { ...cached, content: Buffer.from(cached.content, 'base64') };
  }

  async get(repositoryId: string, reference: string): Promise<ResolvedManifest> {
    const found = await this.find(repositoryId, reference);
    if (!found) throw manifestUnknown(reference);
    return found;
  }

  /** Deletes a tag, or a manifest by digest together with every tag pointing at it. */
  async delete(repositoryId: string, reference: string): Promise<void> {
    if (looksLikeDigest(reference)) {
      const { manifest: m } = await this.get(repositoryId, reference);
      const tags = await transaction(this.db, async (q) => {
        // DELETE … RETURNING answers [rows, count].
        const [removed]: [{ name: string }[], number] = await q.query(
          `DELETE FROM tags WHERE repository_id = $1 AND manifest_digest = $2 RETURNING name`,
          [repositoryId, m.digest],
        );
        await q.query(`DELETE FROM manifests WHERE id = $1`, [m.id]);
        return removed;
      });
      await this.cache.invalidate(
        ManifestsService.manifestKey(repositoryId, m.digest),
        ...tags.map((t) => ManifestsService.tagKey(repositoryId, t.name)),
      );
      return;
    }
    assertTag(reference);
    const res: [unknown[], number] = await transaction(this.db, (q) =>
      q.query(`DELETE FROM tags WHERE repository_id = $1 AND name = $2`, [repositoryId, reference]),
    );
    await this.cache.invalidate(ManifestsService.tagKey(repositoryId, reference));
    if (res[1] === 0) throw manifestUnknown(reference);
  }

  /**
   * Tags with what they point at, in one query: digest, media type, the bytes stored for the image
   * (manifest, config and layers; for an index, its child manifests and their blobs too) and when
   * the tag was last pushed or moved.
   */
  async listTagDetails(
    repositoryId: string,
    limit: number,
  ): Promise<{ tags: TagDetails[]; more: boolean }> {
    const rows: {
      name: string;
      digest: string;
      media_type: string;
      size: string;
      pushed_at: Date;
    }[] = await this.db.query(
      `WITH image_bytes AS (
           SELECT m.id, m.repository_id, m.digest, m.digest_sha512,
                  m.size + COALESCE((SELECT sum(b.size) FROM manifest_references r
                                       JOIN blobs b ON b.digest = r.child_digest
                                      WHERE r.manifest_id = m.id AND r.kind = 'blob'), 0) AS bytes
             FROM manifests m WHERE m.repository_id = $1)
         SELECT t.name, m.digest, m.media_type, t.updated_at AS pushed_at,
                i.bytes + COALESCE((SELECT sum(c.bytes) FROM manifest_references r
                                      JOIN image_bytes c ON c.digest = r.child_digest OR c.digest_sha512 = r.child_digest
                                     WHERE r.manifest_id = m.id AND r.kind = 'manifest'), 0) AS size
           FROM tags t
           JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
           JOIN image_bytes i ON i.id = m.id
          WHERE t.repository_id = $1
          ORDER BY t.name COLLATE "C"
          LIMIT $2`,
      [repositoryId, limit + 1],
    );
    const tags = rows.slice(0, limit).map((r) => ({
      name: r.name,
      digest: r.digest,
      mediaType: r.media_type,
      size: Number(r.size),
      pushedAt: r.pushed_at,
    }));
    return { tags, more: rows.length > limit };
  }

  /**
   * The platforms (os/architecture[/variant]) listed by the indexes among `digests` (sha256), by
   * digest; image manifests and unknown digests are left out.
   */
  async indexPlatforms(repositoryId: string, digests: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (!digests.length) return out;
    const rows: { digest: string; content: Buffer }[] = await this.db.query(
      `SELECT digest, content FROM manifests
        WHERE repository_id = $1 AND digest = ANY($2::text[]) AND media_type = ANY($3::text[])`,
      [repositoryId, digests, [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]],
    );
    for (const r of rows) {
      try {
        const doc = JSON.parse(r.content.toString('utf8')) as {
          manifests?: { platform?: { os?: unknown; architecture?: unknown; variant?: unknown } }[];
        };
        const platforms = (Array.isArray(doc.manifests) ? doc.manifests : [])
          .map((m) => m?.platform)
          .filter((p) => p && typeof p.os === 'string' && typeof p.architecture === 'string')
          .map((p) =>
            [p!.os, p!.architecture, typeof p!.variant === 'string' ? p!.variant : undefined]
              .filter(Boolean)
              .join('/'),
          );
        out.set(r.digest, platforms);
      } catch {
        // Stored manifests were parsed when pushed; an unreadable one lists no platforms.
      }
    }
    return out;
  }

  /**
   * One page of tags with the same details as listTagDetails, filtered by a substring of the name
   * (case-insensitive) and sorted by name, size or push time (ties by name), with the total.
   */
  async tagPage(
    repositoryId: string,
    opts: {
      q?: string;
      sort: 'name' | 'size' | 'pushedAt';
      descending: boolean;
      offset: number;
      limit: number;
    },
  ): Promise<{ tags: TagDetails[]; total: number }> {
    const dir = opts.descending ? 'DESC' : 'ASC';
    const order =
      opts.sort === 'size'
        ? `size ${dir}, t.name COLLATE "C"`
        : opts.sort === 'pushedAt'
          ? `t.updated_at ${dir}, t.name COLLATE "C"`
          : `t.name COLLATE "C" ${dir}`;
    const pattern = opts.q ? `%${opts.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
    const rows: {
      name: string;
      digest: string;
      media_type: string;
      size: string;
      pushed_at: Date;
      total: string;
    }[] = await this.db.query(
      `WITH image_bytes AS (
           SELECT m.id, m.repository_id, m.digest, m.digest_sha512,
                  m.size + COALESCE((SELECT sum(b.size) FROM manifest_references r
                                       JOIN blobs b ON b.digest = r.child_digest
                                      WHERE r.manifest_id = m.id AND r.kind = 'blob'), 0) AS bytes
             FROM manifests m WHERE m.repository_id = $1)
         SELECT t.name, m.digest, m.media_type, t.updated_at AS pushed_at,
                i.bytes + COALESCE((SELECT sum(c.bytes) FROM manifest_references r
                                      JOIN image_bytes c ON c.digest = r.child_digest OR c.digest_sha512 = r.child_digest
                                     WHERE r.manifest_id = m.id AND r.kind = 'manifest'), 0) AS size,
                count(*) OVER () AS total
           FROM tags t
           JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
           JOIN image_bytes i ON i.id = m.id
          WHERE t.repository_id = $1 AND ($2::text IS NULL OR t.name ILIKE $2::text)
          ORDER BY ${order}
          LIMIT $3 OFFSET $4`,
      [repositoryId, pattern, opts.limit, opts.offset],
    );
    let total = rows.length ? Number(rows[0].total) : 0;
    if (!rows.length && opts.offset > 0) {
      const counted: { n: string }[] = await this.db.query(
        `SELECT count(*) AS n FROM tags t WHERE t.repository_id = $1 AND ($2::text IS NULL OR t.name ILIKE $2::text)`,
        [repositoryId, pattern],
      );
      total = Number(counted[0].n);
    }
    return {
      tags: rows.map((r) => ({
        name: r.name,
        digest: r.digest,
        mediaType: r.media_type,
        size: Number(r.size),
        pushedAt: r.pushed_at,
      })),
      total,
    };
  }

  /** Tags in lexical (byte) order after `last`; `limit` undefined means all. */
  async listTags(
    repositoryId: string,
    limit: number | undefined,
    last: string | undefined,
  ): Promise<{ tags: string[]; more: boolean }> {
    const rows: { name: string }[] = await this.db.query(
      `SELECT name FROM tags WHERE repository_id = $1 AND ($2::text IS NULL OR name > $2::text COLLATE "C")
        ORDER BY name COLLATE "C" ${limit === undefined ? '' : 'LIMIT $3'}`,
      limit === undefined ? [repositoryId, last ?? null] : [repositoryId, last ?? null, limit + 1],
    );
    const names = rows.map((r) => r.name);
    if (limit !== undefined && names.length > limit)
      return { tags: names.slice(0, limit), more: true };
    return { tags: names, more: false };
  }

  /** The referrers index: manifests in the repository whose subject is `digest`. */
  async referrers(
    repositoryId: string | undefined,
    digest: string,
    artifactType?: string,
  ): Promise<Buffer> {
    parseDigest(digest);
    const rows: {
      digest: string;
      digest_sha512: string;
      media_type: string;
      size: number;
      artifact_type: string | null;
      annotations: Record<string, string> | null;
    }[] =
      repositoryId === undefined
        ? []
        : await this.db.query(
            `SELECT digest, digest_sha512, media_type, size, artifact_type, annotations FROM manifests
              WHERE repository_id = $1 AND subject_digest = $2 AND ($3::text IS NULL OR artifact_type = $3::text)
              ORDER BY created_at, digest`,
            [repositoryId, digest, artifactType ?? null],
          );
    const algorithm: DigestAlgorithm = digest.startsWith('sha512:') ? 'sha512' : 'sha256';
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: rows.map((r) => ({
        mediaType: r.media_type,
        digest: algorithm === 'sha512' ? r.digest_sha512 : r.digest,
        size: r.size,
        ...(r.artifact_type ? { artifactType: r.artifact_type } : {}),
        ...(r.annotations ? { annotations: r.annotations } : {}),
      })),
    };
    return Buffer.from(JSON.stringify(index));
  }
}
