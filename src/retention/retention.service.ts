import { ForbiddenException, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { UserPrincipal } from '../auth/principal.js';
import { type Actor } from '../common/actor.js';
import { apiError } from '../common/api-error.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { ManifestsData } from '../registry/manifests.data.js';
import { AccessFactsService } from '../repos/access-facts.service.js';
import type { RepoRef } from '../registry/manifests.service.js';
import { ImmutableTagError } from '../registry/tag-rules.js';
import type { RetentionPolicyDto } from './dto/retention.dto.js';
import {
  decideRetention,
  effectivePolicy,
  EMPTY_POLICY,
  policyActs,
  type RetentionDecision,
  type RetentionPolicy,
} from './retention-rules.js';

interface PolicyRow {
  keep_latest: number | null;
  keep_pattern: string[] | null;
  delete_not_pulled_for_days: number | null;
  delete_untagged_after_days: number | null;
}

function fromRow(r: PolicyRow | undefined): RetentionPolicy {
  if (!r) return { ...EMPTY_POLICY };
  return {
    keepLatest: r.keep_latest,
    keepPattern: r.keep_pattern,
    deleteNotPulledForDays: r.delete_not_pulled_for_days,
    deleteUntaggedAfterDays: r.delete_untagged_after_days,
  };
}

function fromDto(d: RetentionPolicyDto): RetentionPolicy {
  return {
    keepLatest: d.keepLatest ?? null,
    keepPattern: d.keepPattern ? [...new Set(d.keepPattern)] : null,
    deleteNotPulledForDays: d.deleteNotPulledForDays ?? null,
    deleteUntaggedAfterDays: d.deleteUntaggedAfterDays ?? null,
  };
}

const POLICY_COLUMNS = `keep_latest, keep_pattern, delete_not_pulled_for_days, delete_untagged_after_days`;

/** What retention did (or, in a dry run, would do) in one pass over the repositories. */
export interface RetentionFigures {
  tagsDeleted: number;
  manifestsDeleted: number;
  errors: string[];
}

/**
 * Retention policies (rules: retention-rules.ts) and their application, which each garbage
 * collection run does first. Deletions go one by one through the registry's data layer in
 * transactions that record `tag.deleted` / `manifest.deleted` (so tag history, webhooks, audit and
 * caches follow as for any delete) with the system actor of the run, and re-check under the row
 * locks that the decision still holds: a tag that moved, an immutable tag, a manifest tagged or
 * referenced meanwhile is skipped.
 */
@Injectable()
export class RetentionService {
  private readonly logger = new Logger('Retention');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly events: EventsService,
    private readonly data: ManifestsData,
    private readonly facts: AccessFactsService,
  ) {}

  // ---- policies -----------------------------------------------------------------------------

  async repositoryPolicy(repositoryId: string): Promise<RetentionPolicy> {
    const [row]: PolicyRow[] = await this.db.query(
      `SELECT ${POLICY_COLUMNS} FROM repository_retention WHERE repository_id = $1`,
      [repositoryId],
    );
    return fromRow(row);
  }

  async namespacePolicy(namespace: string): Promise<RetentionPolicy> {
    const [row]: PolicyRow[] = await this.db.query(
      `SELECT ${POLICY_COLUMNS} FROM namespace_retention WHERE namespace = $1`,
      [namespace],
    );
    return fromRow(row);
  }

  /** Own policy, namespace default and what applies. */
  async describe(repo: RepoRef): Promise<{
    policy: RetentionPolicy;
    namespaceDefault: RetentionPolicy;
    effective: RetentionPolicy;
  }> {
    const policy = await this.repositoryPolicy(repo.id);
    const namespaceDefault = await this.namespacePolicy(namespaceOf(repo.name));
    return { policy, namespaceDefault, effective: effectivePolicy(namespaceDefault, policy) };
  }

  /** Replaces a repository's policy (all fields null: cleared). */
  async setRepositoryPolicy(repo: RepoRef, dto: RetentionPolicyDto, actor: Actor): Promise<void> {
    const p = fromDto(dto);
    await this.events.transaction(async (m) => {
      await m.query(
        `INSERT INTO repository_retention (repository_id, ${POLICY_COLUMNS}) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (repository_id) DO UPDATE SET keep_latest = $2, keep_pattern = $3,
           delete_not_pulled_for_days = $4, delete_untagged_after_days = $5, updated_at = now()`,
        [repo.id, p.keepLatest, p.keepPattern, p.deleteNotPulledForDays, p.deleteUntaggedAfterDays],
      );
      await this.events.record(
        m,
        event('repository.retention.changed', actor, {
          repositoryId: repo.id,
          repository: repo.name,
          policy: { ...p },
        }),
      );
    });
  }

  /** The namespace default, for the user, its organization's members and system administrators. */
  async getNamespacePolicy(caller: UserPrincipal, namespace: string): Promise<RetentionPolicy> {
    const name = namespace.toLowerCase();
    await this.requireNamespace(caller, name, false);
    return this.namespacePolicy(name);
  }

  /** Replaces a namespace's default (the user, organization admins, system administrators). */
  async setNamespacePolicy(
    caller: UserPrincipal,
    namespace: string,
    dto: RetentionPolicyDto,
    actor: Actor,
  ): Promise<RetentionPolicy> {
    const name = namespace.toLowerCase();
    await this.requireNamespace(caller, name, true);
    const p = fromDto(dto);
    await this.events.transaction(async (m) => {
      await m.query(
        `INSERT INTO namespace_retention (namespace, ${POLICY_COLUMNS}) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (namespace) DO UPDATE SET keep_latest = $2, keep_pattern = $3,
           delete_not_pulled_for_days = $4, delete_untagged_after_days = $5, updated_at = now()`,
        [name, p.keepLatest, p.keepPattern, p.deleteNotPulledForDays, p.deleteUntaggedAfterDays],
      );
      await this.events.record(
        m,
        event('namespace.retention.changed', actor, { namespace: name, policy: { ...p } }),
      );
    });
    return p;
  }

  /** 404 unless the caller belongs to the namespace; 403 when `admin` and the caller is not one. */
  private async requireNamespace(
    caller: UserPrincipal,
    name: string,
    admin: boolean,
  ): Promise<void> {
    const { standing } = await this.facts.namespaceStandingOf(caller, name);
    if (standing !== 'admin' && standing !== 'member')
      throw apiError(404, 'NOT_FOUND', `no namespace "${name}" you belong to`);
    if (admin && standing !== 'admin')
      throw new ForbiddenException('only the namespace admins may change its retention policy');
  }

  // ---- application --------------------------------------------------------------------------

  /** What retention would delete in a repository now. */
  async decide(repo: RepoRef): Promise<RetentionDecision & { effective: RetentionPolicy }> {
    const { effective } = await this.describe(repo);
    if (!policyActs(effective)) return { effective, tags: [], manifests: [] };
    return { effective, ...(await this.decideWith(this.db.manager, repo.id, effective)) };
  }

  private async decideWith(
    m: EntityManager,
    repositoryId: string,
    policy: RetentionPolicy,
  ): Promise<RetentionDecision> {
    const tags: { name: string; digest: string; pushed_at: Date; last_pulled_at: Date | null }[] =
      await m.query(
        `SELECT t.name, t.manifest_digest AS digest, t.updated_at AS pushed_at,
                ps.last_pulled_at
           FROM tags t LEFT JOIN pull_stats ps ON ps.repository_id = t.repository_id AND ps.tag = t.name
          WHERE t.repository_id = $1`,
        [repositoryId],
      );
    const manifests: {
      digest: string;
      created_at: Date;
      subject_digest: string | null;
      children: string[];
    }[] = await m.query(
      `SELECT mf.digest, mf.created_at, mf.subject_digest,
              coalesce(array_agg(r.child_digest) FILTER (WHERE r.child_digest IS NOT NULL), '{}') AS children
         FROM manifests mf
         LEFT JOIN manifest_references r ON r.manifest_id = mf.id AND r.kind = 'manifest'
        WHERE mf.repository_id = $1
        GROUP BY mf.id`,
      [repositoryId],
    );
    const history: { digest: string; at: Date }[] =
      policy.deleteUntaggedAfterDays === null
        ? []
        : await m.query(
            `SELECT d AS digest, h.created_at AS at FROM tag_history h,
                    unnest(ARRAY[h.old_digest, h.new_digest]) AS d
              WHERE h.repository_id = $1 AND d IS NOT NULL
                AND h.created_at >= now() - make_interval(days => $2)`,
            [repositoryId, policy.deleteUntaggedAfterDays],
          );
    const [{ now }]: { now: Date }[] = await m.query(`SELECT now() AS now`);
    return decideRetention({
      tags: tags.map((t) => ({
        name: t.name,
        digest: t.digest,
        pushedAt: t.pushed_at,
        lastPulledAt: t.last_pulled_at,
      })),
      manifests: manifests.map((x) => ({
        digest: x.digest,
        createdAt: x.created_at,
        subjectDigest: x.subject_digest,
        children: x.children,
      })),
      policy,
      immutablePatterns: await this.data.immutablePatterns(m, repositoryId),
      history,
      now,
    });
  }

  /**
   * Applies every repository's effective policy (a dry run only counts). Errors are collected per
   * repository; the pass goes on.
   */
  async applyAll(
    dryRun: boolean,
    actor: Actor,
    shouldStop: () => boolean,
  ): Promise<RetentionFigures> {
    const f: RetentionFigures = { tagsDeleted: 0, manifestsDeleted: 0, errors: [] };
    const repos: { id: string; name: string }[] = await this.db.query(
      `SELECT r.id, r.name FROM repositories r
        WHERE EXISTS (SELECT 1 FROM repository_retention x WHERE x.repository_id = r.id)
           OR EXISTS (SELECT 1 FROM namespace_retention x WHERE x.namespace = r.namespace)
        ORDER BY r.name`,
    );
    for (const repo of repos) {
      if (shouldStop()) break;
      try {
        const d = await this.decide(repo);
        if (dryRun) {
          f.tagsDeleted += d.tags.length;
          f.manifestsDeleted += d.manifests.length;
          continue;
        }
        for (const t of d.tags)
          if (await this.deleteTag(repo, t.name, t.digest, actor)) f.tagsDeleted++;
        // What holds a manifest (an index referencing it, a referrer naming it) goes first: each
        // pass deletes those nothing holds any more, until a pass makes no progress.
        let left = d.manifests;
        while (left.length) {
          const held: string[] = [];
          for (const digest of left) {
            const outcome = await this.deleteManifest(repo, digest, actor);
            if (outcome === 'deleted') f.manifestsDeleted++;
            else if (outcome === 'held') held.push(digest);
          }
          if (held.length === left.length) break;
          left = held;
        }
      } catch (e) {
        f.errors.push(`retention of ${repo.name}: ${(e as Error).message}`);
      }
    }
    if (!dryRun && (f.tagsDeleted || f.manifestsDeleted))
      this.logger.log(
        `Retention: ${f.tagsDeleted} tag(s), ${f.manifestsDeleted} manifest(s) deleted`,
      );
    return f;
  }

  /** Deletes a tag if it still points at `digest`; false when it moved, went or is immutable. */
  private async deleteTag(
    repo: RepoRef,
    tag: string,
    digest: string,
    actor: Actor,
  ): Promise<boolean> {
    try {
      return await this.events.transaction(async (m) => {
        const rows: { manifest_digest: string }[] = await m.query(
          `SELECT manifest_digest FROM tags WHERE repository_id = $1 AND name = $2 FOR UPDATE`,
          [repo.id, tag],
        );
        if (!rows.length || rows[0].manifest_digest !== digest) return false;
        const deleted = await this.data.deleteTag(m, repo.id, tag);
        if (deleted === null) return false;
        await this.events.record(
          m,
          event('tag.deleted', actor, {
            repositoryId: repo.id,
            repository: repo.name,
            tag,
            digest,
          }),
        );
        return true;
      });
    } catch (e) {
      if (e instanceof ImmutableTagError) return false;
      throw e;
    }
  }

  /**
   * Deletes a manifest if, under its row lock (which a tag or an index put takes too), no tag
   * points at it and no manifest of the repository references it or names it as subject.
   */
  private async deleteManifest(
    repo: RepoRef,
    digest: string,
    actor: Actor,
  ): Promise<'deleted' | 'held' | 'skipped'> {
    return this.events.transaction(async (m) => {
      const rows: { id: string }[] = await m.query(
        `SELECT id FROM manifests WHERE repository_id = $1 AND digest = $2 FOR UPDATE`,
        [repo.id, digest],
      );
      if (!rows.length) return 'skipped';
      const [held]: { tagged: boolean; holders: string[] }[] = await m.query(
        `SELECT EXISTS (SELECT 1 FROM tags WHERE repository_id = $1 AND manifest_digest = $2) AS tagged,
                ARRAY(SELECT p.digest FROM manifest_references r JOIN manifests p ON p.id = r.manifest_id
                       WHERE p.repository_id = $1 AND r.child_digest = $2 AND r.kind = 'manifest'
                      UNION
                      SELECT s.digest FROM manifests s WHERE s.repository_id = $1 AND s.subject_digest = $2
                     ) AS holders`,
        [repo.id, digest],
      );
      if (held.tagged) return 'skipped';
      if (held.holders.length) return 'held';
      const removed = await this.data.deleteManifest(m, repo.id, rows[0].id, digest);
      await this.events.record(
        m,
        event('manifest.deleted', actor, {
          repositoryId: repo.id,
          repository: repo.name,
          digest,
          tags: removed,
        }),
      );
      return 'deleted' as const;
    });
  }
}

function namespaceOf(repository: string): string {
  return repository.split('/')[0];
}
