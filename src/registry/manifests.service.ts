import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CacheKeys } from '../cache/cache-keys.js';
import { CacheService } from '../cache/cache.service.js';
import type { Actor } from '../common/actor.js';
import { TestHooks } from '../common/test-hooks.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { BlobsData } from './blobs.data.js';
import { ManifestsData } from './manifests.data.js';
import { type DigestAlgorithm, digestOf, looksLikeDigest, parseDigest } from './digest.js';
import { RegistryError } from './errors.js';
import { MEDIA_TYPES, parseManifest } from './manifest.js';
import { assertTag } from './names.js';

/** A repository as registry writes name it (id for the rows, name for the events). */
export interface RepoRef {
  id: string;
  name: string;
}

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
export class ManifestsService implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cache: CacheService,
    private readonly keys: CacheKeys,
    private readonly events: EventsService,
    private readonly blobs: BlobsData,
    private readonly data: ManifestsData,
    private readonly hooks: TestHooks,
  ) {}

  /** Cached tags and manifests are forgotten when the events that change them are delivered. */
  onModuleInit(): void {
    this.events.on('manifest.pushed', ({ payload: p }) =>
      this.cache.invalidate(...p.tags.map((t) => this.keys.tagRef(p.repositoryId, t))),
    );
    this.events.on('manifest.deleted', ({ payload: p }) =>
      this.cache.invalidate(
        this.keys.manifest(p.repositoryId, p.digest),
        ...p.tags.map((t) => this.keys.tagRef(p.repositoryId, t)),
      ),
    );
    this.events.on('tag.deleted', ({ payload: p }) =>
      this.cache.invalidate(this.keys.tagRef(p.repositoryId, p.tag)),
    );
  }

  /** Validates and stores the exact bytes, then points the reference's tag (and `?tag=`s) at them. */
  async put(
    repo: RepoRef,
    reference: string,
    bytes: Buffer,
    contentType: string | undefined,
    extraTags: string[],
    actor: Actor,
  ): Promise<PutManifestResult> {
    const repositoryId = repo.id;
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
    await this.events.transaction(async (m) => {
      if (parsed.blobs.length) {
        // Holds the links and blob rows until commit, so that no unlink or collection can take
        // a blob away between this check and the manifest that references it (see blobs.data.ts).
        const have = await this.blobs.lockLinked(m, repositoryId, parsed.blobs);
        const missing = parsed.blobs.find((d) => !have.has(d));
        if (missing)
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', 'blob unknown to registry', {
            digest: missing,
          });
        assertSizes(parsed.sizes, have, 'blob');
        await this.hooks.at('manifests.put.checked');
      }
      if (parsed.manifests.length) {
        const have = await this.data.lockChildren(m, repositoryId, parsed.manifests);
        const missing = parsed.manifests.find((d) => !have.has(d));
        if (missing)
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', 'manifest unknown to registry', {
            digest: missing,
          });
        assertSizes(parsed.sizes, have, 'manifest');
      }
      const insertedId = await this.data.insert(m, {
        repositoryId,
        sha256,
        sha512,
        mediaType: parsed.mediaType,
        bytes,
        subject: parsed.subject?.digest ?? null,
        artifactType: parsed.artifactType ?? null,
        annotations: parsed.annotations ?? null,
      });
      if (insertedId !== null)
        await this.data.insertReferences(m, insertedId, parsed.blobs, parsed.manifests);
      const changes = await this.data.pointTags(m, repositoryId, tags, sha256, algorithm);
      await this.events.record(
        m,
        event('manifest.pushed', actor, {
          repositoryId,
          repository: repo.name,
          digest: sha256,
          tags,
          mediaType: parsed.mediaType,
          size: bytes.length,
          created: insertedId !== null,
          moved: changes.moved,
          createdTags: changes.created,
        }),
      );
    });
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
        this.keys.tagRef(repositoryId, reference),
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
      this.keys.manifest(repositoryId, digest),
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
  async delete(repo: RepoRef, reference: string, actor: Actor): Promise<void> {
    const repositoryId = repo.id;
    if (looksLikeDigest(reference)) {
      const { manifest: found } = await this.get(repositoryId, reference);
      await this.events.transaction(async (q) => {
        const removed = await this.data.deleteManifest(q, repositoryId, found.id, found.digest);
        await this.events.record(
          q,
          event('manifest.deleted', actor, {
            repositoryId,
            repository: repo.name,
            digest: found.digest,
            tags: removed,
          }),
        );
      });
      return;
    }
    assertTag(reference);
    const deleted = await this.events.transaction(async (q) => {
      const digest = await this.data.deleteTag(q, repositoryId, reference);
      if (digest === null) return false;
      await this.events.record(
        q,
        event('tag.deleted', actor, {
          repositoryId,
          repository: repo.name,
          tag: reference,
          digest,
        }),
      );
      return true;
    });
    // Nothing was deleted, so nothing was recorded and nothing cached changed.
    if (!deleted) throw manifestUnknown(reference);
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
