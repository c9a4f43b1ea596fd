import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { Actor } from '../common/actor.js';
import { apiError } from '../common/api-error.js';
import type { RecordedEvent } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { looksLikeDigest } from './digest.js';
import { RegistryError } from './errors.js';
import { ManifestsService, type RepoRef } from './manifests.service.js';
import { ImmutableTagError } from './tag-rules.js';

export type TagChange = 'created' | 'moved' | 'deleted';

export interface TagHistoryEntry {
  tag: string;
  action: TagChange;
  /** The sha256 digest the tag pointed at before (null when it was created). */
  oldDigest: string | null;
  /** The sha256 digest it points at after (null when it was deleted). */
  newDigest: string | null;
  actor: { kind: string; name: string | null };
  at: Date;
}

interface HistoryRow {
  tag: string;
  old: string | null;
  new: string | null;
}

/** The name of whoever acted, as history shows it (never an id or a credential). */
function actorName(actor: RecordedEvent['actor']): string | null {
  const p = actor.principal;
  switch (p.kind) {
    case 'user':
      return p.username;
    case 'robot':
      return p.name;
    case 'system':
      return p.name;
    default:
      return null;
  }
}

/** The tag changes an event records (pure). */
export function tagChangesOf(e: RecordedEvent): HistoryRow[] {
  switch (e.name) {
    case 'manifest.pushed': {
      const p = e.payload as RecordedEvent<'manifest.pushed'>['payload'];
      const created = (p.createdTags ?? []).map((tag) => ({ tag, old: null, new: p.digest }));
      const moved = (p.moved ?? []).map(({ tag, from }) => ({ tag, old: from, new: p.digest }));
      return [...created, ...moved];
    }
    case 'tag.deleted': {
      const p = e.payload as RecordedEvent<'tag.deleted'>['payload'];
      return [{ tag: p.tag, old: p.digest ?? null, new: null }];
    }
    case 'manifest.deleted': {
      const p = e.payload as RecordedEvent<'manifest.deleted'>['payload'];
      return p.tags.map((tag) => ({ tag, old: p.digest, new: null }));
    }
    default:
      return [];
  }
}

/**
 * Tag history: every creation, move and deletion of a tag (registry pushes and deletes,
 * management API deletes, restores), with who made it and when. Written by an in-transaction
 * subscriber of the events that change tags, so a history row commits with its change or not at
 * all and no write path can forget it. Rows go with their repository.
 */
@Injectable()
export class TagHistoryService implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly events: EventsService,
    private readonly manifests: ManifestsService,
  ) {}

  onModuleInit(): void {
    this.events.onRecord((m, e) => this.write(m, e));
  }

  private async write(m: EntityManager, e: RecordedEvent): Promise<void> {
    const rows = tagChangesOf(e);
    if (!rows.length) return;
    const repositoryId = (e.payload as { repositoryId: string }).repositoryId;
    await m.query(
      `INSERT INTO tag_history (repository_id, tag, action, old_digest, new_digest, actor_kind, actor_name, request_id, created_at)
       SELECT $1, t.tag, CASE WHEN t.old IS NULL THEN 'created' WHEN t.new IS NULL THEN 'deleted' ELSE 'moved' END,
              t.old, t.new, $5, $6, $7, $8
         FROM unnest($2::text[], $3::text[], $4::text[]) AS t(tag, old, new)`,
      [
        repositoryId,
        rows.map((r) => r.tag),
        rows.map((r) => r.old),
        rows.map((r) => r.new),
        e.actor.principal.kind,
        actorName(e.actor),
        e.requestId,
        e.occurredAt,
      ],
    );
  }

  /** One page of a tag's history, newest first, with the total. */
  async history(
    repositoryId: string,
    tag: string,
    offset: number,
    limit: number,
  ): Promise<{ items: TagHistoryEntry[]; total: number }> {
    const rows: {
      tag: string;
      action: TagChange;
      old_digest: string | null;
      new_digest: string | null;
      actor_kind: string;
      actor_name: string | null;
      created_at: Date;
      total: string;
    }[] = await this.db.query(
      `SELECT tag, action, old_digest, new_digest, actor_kind, actor_name, created_at,
              count(*) OVER () AS total
         FROM tag_history WHERE repository_id = $1 AND tag = $2
        ORDER BY id DESC LIMIT $3 OFFSET $4`,
      [repositoryId, tag, limit, offset],
    );
    let total = rows.length ? Number(rows[0].total) : 0;
    if (!rows.length && offset > 0) {
      const counted: { n: string }[] = await this.db.query(
        `SELECT count(*) AS n FROM tag_history WHERE repository_id = $1 AND tag = $2`,
        [repositoryId, tag],
      );
      total = Number(counted[0].n);
    }
    return {
      items: rows.map((r) => ({
        tag: r.tag,
        action: r.action,
        oldDigest: r.old_digest,
        newDigest: r.new_digest,
        actor: { kind: r.actor_kind, name: r.actor_name },
        at: r.created_at,
      })),
      total,
    };
  }

  /**
   * Moves a tag back to a digest it pointed at before, by pushing that manifest's stored bytes
   * to the tag again: the same transaction, checks (immutable tags, blobs still linked), event
   * and history as any push. Refused with 404 when the tag never pointed at the digest, 409
   * MANIFEST_GONE when the manifest is no longer in the repository, 409 TAG_IMMUTABLE when the
   * tag may not move. A restore to the digest the tag points at already changes nothing.
   */
  async restore(
    repo: RepoRef,
    tag: string,
    digest: string,
    actor: Actor,
  ): Promise<{ tag: string; digest: string; previousDigest: string | null }> {
    if (!looksLikeDigest(digest) || !digest.startsWith('sha256:'))
      throw apiError(400, 'VALIDATION_FAILED', `"${digest}" is not a sha256 digest`);
    const known: unknown[] = await this.db.query(
      `SELECT 1 FROM tag_history WHERE repository_id = $1 AND tag = $2
          AND (old_digest = $3 OR new_digest = $3) LIMIT 1`,
      [repo.id, tag, digest],
    );
    if (!known.length)
      throw apiError(
        404,
        'NOT_FOUND',
        `tag "${tag}" of "${repo.name}" never pointed at ${digest} (see its history)`,
      );
    const found = await this.manifests.find(repo.id, digest);
    if (!found)
      throw apiError(
        409,
        'MANIFEST_GONE',
        `manifest ${digest} is no longer in "${repo.name}": tag "${tag}" cannot be restored to it`,
      );
    const current = await this.manifests.find(repo.id, tag);
    // Already there: nothing moves, so nothing is written or recorded.
    if (current?.manifest.digest === digest) return { tag, digest, previousDigest: digest };
    try {
      await this.manifests.put(
        repo,
        tag,
        found.manifest.content,
        found.manifest.mediaType,
        [],
        actor,
      );
    } catch (e) {
      if (e instanceof ImmutableTagError) throw apiError(409, 'TAG_IMMUTABLE', e.message);
      if (e instanceof RegistryError)
        throw apiError(409, 'CONFLICT', `tag "${tag}" cannot be restored: ${e.message}`);
      throw e;
    }
    return { tag, digest, previousDigest: current?.manifest.digest ?? null };
  }
}
