import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Actor } from '../common/actor.js';
import { apiError } from '../common/api-error.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { ManifestsData } from './manifests.data.js';
import type { RepoRef } from './manifests.service.js';
import { normalizePatterns } from './tag-rules.js';

/** The immutable tag patterns of a repository (rules: tag-rules.ts; enforced: manifests.data.ts). */
@Injectable()
export class ImmutableTagsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly events: EventsService,
    private readonly data: ManifestsData,
  ) {}

  async patterns(repositoryId: string): Promise<string[]> {
    return this.data.immutablePatterns(this.db.manager, repositoryId);
  }

  /** Replaces the patterns (400 when one is invalid or there are too many). */
  async replace(repo: RepoRef, patterns: string[], actor: Actor): Promise<string[]> {
    const checked = normalizePatterns(patterns);
    if (!checked.ok) throw apiError(400, 'VALIDATION_FAILED', checked.reason);
    await this.events.transaction(async (m) => {
      // Replacements of one repository's patterns take turns (two would otherwise both find
      // nothing to delete and insert the same rows). FOR NO KEY UPDATE leaves the FOR KEY SHARE
      // locks of concurrent pushes' inserts alone.
      const locked: unknown[] = await m.query(
        `SELECT id FROM repositories WHERE id = $1 FOR NO KEY UPDATE`,
        [repo.id],
      );
      if (!locked.length) throw apiError(404, 'NOT_FOUND', `repository "${repo.name}" not found`);
      await m.query(`DELETE FROM immutable_tag_patterns WHERE repository_id = $1`, [repo.id]);
      await m.query(
        `INSERT INTO immutable_tag_patterns (repository_id, pattern, position)
         SELECT $1, p, n FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n)`,
        [repo.id, checked.patterns],
      );
      await this.events.record(
        m,
        event('repository.immutable_tags.changed', actor, {
          repositoryId: repo.id,
          repository: repo.name,
          patterns: checked.patterns,
        }),
      );
    });
    return checked.patterns;
  }
}
