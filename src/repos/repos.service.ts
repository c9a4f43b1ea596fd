import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In, Repository } from 'typeorm';
import { CacheKeys } from '../cache/cache-keys.js';
import { CacheService } from '../cache/cache.service.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { Actor } from '../common/actor.js';
import { apiError } from '../common/api-error.js';
import { escapeLike } from '../database/like.js';
import { event, type EventName } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { isPgError, PG_UNIQUE_VIOLATION } from '../database/db-errors.js';
import { withRetry } from '../database/transaction.js';
import { PerKeyInterval } from '../common/bounded-map.js';
import { namespaceOf } from '../users/names.js';
import { NamespacesService } from '../users/namespaces.service.js';
import type { GrantLevel, Visibility } from './permissions.js';
import {
  RepositoryEntity,
  RepositoryTeamPermissionEntity,
  RepositoryUserPermissionEntity,
} from './repository.entity.js';
import { type VisibilityScope, whereVisible } from './visible-to.js';

export type { VisibilityScope };

export interface RepoSearch {
  namespace?: string;
  q?: string;
  page: number;
  perPage: number;
}

/** Every event that changes a repository's cached access facts. */
const REPO_FACT_EVENTS: EventName[] = [
  'repository.created',
  'repository.updated',
  'repository.deleted',
  'repository.grants.changed',
];

/** How often push activity (`last_pushed_at`) is written per repository at most. */
const PUSH_NOTE_INTERVAL_MS = 5_000;

@Injectable()
export class ReposService implements OnModuleInit {
  private readonly logger = new Logger('Repos');
  /** Repositories whose push this node noted within the interval. */
  private readonly pushesNoted = new PerKeyInterval(PUSH_NOTE_INTERVAL_MS, 10_000);

  constructor(
    @InjectRepository(RepositoryEntity) private readonly repos: Repository<RepositoryEntity>,
    @InjectRepository(RepositoryUserPermissionEntity)
    private readonly userGrants: Repository<RepositoryUserPermissionEntity>,
    @InjectRepository(RepositoryTeamPermissionEntity)
    private readonly teamGrants: Repository<RepositoryTeamPermissionEntity>,
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly namespaces: NamespacesService,
    private readonly cache: CacheService,
    private readonly cacheKeys: CacheKeys,
    private readonly events: EventsService,
  ) {}

  /** A repository's cached facts are forgotten when an event that changes them is delivered. */
  onModuleInit(): void {
    for (const name of REPO_FACT_EVENTS)
      this.events.on(name, (e) =>
        this.cache.invalidate(
          this.cacheKeys.repoFacts((e.payload as { repository: string }).repository),
        ),
      );
    // A deleted team's grants went with it.
    this.events.on('team.deleted', (e) =>
      this.cache.invalidate(
        ...(e.payload.repositories ?? []).map((r) => this.cacheKeys.repoFacts(r)),
      ),
    );
  }

  findByName(name: string): Promise<RepositoryEntity | null> {
    return this.repos.findOne({ where: { name } });
  }

  async findByNames(names: string[]): Promise<RepositoryEntity[]> {
    if (!names.length) return [];
    return this.repos.find({ where: { name: In([...new Set(names)]) } });
  }

  /**
   * Returns the repository, creating it on first push (with the configured default visibility,
   * recording `repository.created`) and noting the push. Safe under concurrent first pushes. The
   * caller has been authorised to push, which for a new repository means it administers the
   * namespace; only a system administrator gets here for a name nobody holds, which then becomes
   * reserved.
   */
  async findOrCreate(name: string, actor: Actor): Promise<RepositoryEntity> {
    const found = await withRetry(() => this.findByName(name));
    if (found) {
      // Idempotent (a timestamp), so safe to run again after a lost connection.
      await withRetry(() => this.notePush(found.id));
      return found;
    }
    await this.events.transaction(async (m) => {
      await this.namespaces.ensureHeld(m, namespaceOf(name));
      const rows: { id: string; visibility: string }[] = await m.query(
        `INSERT INTO repositories (name, namespace, visibility, last_pushed_at)
         VALUES ($1, $2, $3, now()) ON CONFLICT (name) DO NOTHING RETURNING id, visibility`,
        [name, namespaceOf(name), this.config.defaultRepositoryVisibility],
      );
      if (rows.length) {
        await this.grantCreator(m, rows[0].id, name, actor);
        await this.events.record(
          m,
          event('repository.created', actor, {
            repositoryId: rows[0].id,
            repository: name,
            visibility: rows[0].visibility,
            via: 'push',
          }),
        );
      }
    });
    // A concurrent first push created it: its event invalidated the cached "not found".
    return (await withRetry(() => this.findByName(name)))!;
  }

  /**
   * Records push activity; writes at most every few seconds per repository (the UPDATE's own
   * condition, across nodes), and this node does not even ask within those seconds of its last
   * note (a push's every blob starts an upload here).
   */
  private async notePush(id: string): Promise<void> {
    if (!this.pushesNoted.take(id)) return;
    try {
      await this.db.query(
        `UPDATE repositories SET last_pushed_at = now()
          WHERE id = $1
            AND (last_pushed_at IS NULL OR last_pushed_at < now() - make_interval(secs => $2))`,
        [id, PUSH_NOTE_INTERVAL_MS / 1000],
      );
    } catch (e) {
      this.pushesNoted.forget(id);
      throw e;
    }
  }

  /**
   * The names the scope may see, in byte order after `last`, at most `limit` (the catalog). One
   * query: each way of seeing a repository (public, an administered namespace, a user grant, a
   * team grant) reads its own index from `last` on and stops at `limit`, so a page costs the
   * same however many repositories exist and however few of them the caller may see.
   */
  async listVisibleNames(scope: VisibilityScope, limit: number, last?: string): Promise<string[]> {
    if (limit <= 0) return [];
    if (scope.all) {
      const rows: { name: string }[] = await this.db.query(
        `SELECT name FROM repositories WHERE ($1::text IS NULL OR name > $1::text COLLATE "C")
          ORDER BY name COLLATE "C" LIMIT $2`,
        [last ?? null, limit],
      );
      return rows.map((r) => r.name);
    }
    const rows: { name: string }[] = await this.db.query(
      `SELECT name FROM (
          (SELECT name FROM repositories
            WHERE visibility = 'public' AND ($1::text IS NULL OR name > $1::text COLLATE "C")
            ORDER BY name COLLATE "C" LIMIT $2)
          UNION
          (SELECT name FROM repositories
            WHERE namespace = ANY($3::text[]) AND ($1::text IS NULL OR name > $1::text COLLATE "C")
            ORDER BY name COLLATE "C" LIMIT $2)
          UNION
          (SELECT r.name FROM repository_user_permissions p JOIN repositories r ON r.id = p.repository_id
            WHERE p.user_id = $4::uuid AND ($1::text IS NULL OR r.name > $1::text COLLATE "C")
            ORDER BY r.name COLLATE "C" LIMIT $2)
          UNION
          (SELECT r.name FROM repository_team_permissions p JOIN repositories r ON r.id = p.repository_id
            WHERE p.team_id = ANY($5::uuid[]) AND ($1::text IS NULL OR r.name > $1::text COLLATE "C")
            ORDER BY r.name COLLATE "C" LIMIT $2)
        ) visible ORDER BY name COLLATE "C" LIMIT $2`,
      [last ?? null, limit, scope.namespaces, scope.userId ?? null, scope.teamIds],
    );
    return rows.map((r) => r.name);
  }

  /** Bytes of the blobs linked into the repository (kept by a trigger on its links). */
  async usageBytes(repositoryId: string): Promise<number> {
    const rows: { usage: string }[] = await this.db.query(
      `SELECT usage_bytes AS usage FROM repositories WHERE id = $1`,
      [repositoryId],
    );
    return Number(rows[0]?.usage ?? 0);
  }

  /** Which of these repositories the scope may see (at least read), by id. */
  async visibleAmong(scope: VisibilityScope, repositoryIds: string[]): Promise<string[]> {
    if (!repositoryIds.length) return [];
    const qb = this.repos
      .createQueryBuilder('r')
      .select('r.id', 'id')
      .where('r.id IN (:...ids)', { ids: repositoryIds });
    const rows: { id: string }[] = await whereVisible(qb, 'r', scope).getRawMany();
    return rows.map((r) => r.id);
  }

  /** Creates a repository through the management API; 409 when it exists. */
  async create(
    name: string,
    input: { visibility?: Visibility; description?: string | null },
    actor: Actor,
  ): Promise<RepositoryEntity> {
    try {
      const saved = await this.events.transaction(async (m) => {
        await this.namespaces.ensureHeld(m, namespaceOf(name));
        const repo = await m.save(
          m.create(RepositoryEntity, {
            name,
            namespace: namespaceOf(name),
            visibility: input.visibility ?? this.config.defaultRepositoryVisibility,
            description: input.description ?? null,
            lastPushedAt: null,
          }),
        );
        await this.grantCreator(m, repo.id, name, actor);
        await this.events.record(
          m,
          event('repository.created', actor, {
            repositoryId: repo.id,
            repository: name,
            visibility: repo.visibility,
            via: 'api',
          }),
        );
        return repo;
      });
      this.logger.log(`repository "${name}" created`);
      return saved;
    } catch (e) {
      if (isPgError(e, PG_UNIQUE_VIOLATION))
        throw apiError(409, 'REPOSITORY_EXISTS', `repository "${name}" already exists`);
      throw e;
    }
  }

  /**
   * A plain member of an organization who creates one of its repositories (a member of a
   * repository creator team: the permission rules let nobody else) gets admin on it. Owners and
   * admins of the organization need no grant; robots create nothing.
   */
  private async grantCreator(
    m: EntityManager,
    repositoryId: string,
    name: string,
    actor: Actor,
  ): Promise<void> {
    if (actor.principal.kind !== 'user' || actor.principal.isAdmin) return;
    await m.query(
      `INSERT INTO repository_user_permissions (repository_id, user_id, level)
       SELECT $1, $2, 'admin' WHERE EXISTS (
         SELECT 1 FROM organizations o JOIN organization_members om ON om.organization_id = o.id
          WHERE o.name = $3 AND om.user_id = $2 AND om.role = 'member')
       ON CONFLICT DO NOTHING`,
      [repositoryId, actor.principal.userId, namespaceOf(name)],
    );
  }

  async update(
    repo: RepositoryEntity,
    input: { visibility?: Visibility; description?: string | null },
    actor: Actor,
  ): Promise<RepositoryEntity> {
    if (input.visibility !== undefined) repo.visibility = input.visibility;
    if (input.description !== undefined) repo.description = input.description;
    return this.events.transaction(async (m) => {
      const saved = await m.save(repo);
      await this.events.record(
        m,
        event('repository.updated', actor, {
          repositoryId: repo.id,
          repository: repo.name,
          visibility: saved.visibility,
          description: saved.description,
        }),
      );
      return saved;
    });
  }

  /** Deletes the repository; its manifests, tags, blob links and grants go with it (cascade). */
  async delete(repo: RepositoryEntity, actor: Actor): Promise<void> {
    await this.events.transaction(async (m) => {
      await m.delete(RepositoryEntity, { id: repo.id });
      await this.events.record(
        m,
        event('repository.deleted', actor, { repositoryId: repo.id, repository: repo.name }),
      );
    });
    this.logger.log(`repository "${repo.name}" deleted`);
  }

  async search(
    scope: VisibilityScope,
    opts: RepoSearch,
  ): Promise<{ items: RepositoryEntity[]; total: number }> {
    const qb = whereVisible(this.repos.createQueryBuilder('r'), 'r', scope);
    if (opts.namespace)
      qb.andWhere('r.namespace = :namespace', { namespace: opts.namespace.toLowerCase() });
    if (opts.q)
      qb.andWhere('r.name ILIKE :q', { q: `%${escapeLike(opts.q.trim().toLowerCase())}%` });
    const [items, total] = await qb
      .orderBy('r.name', 'ASC')
      .skip((opts.page - 1) * opts.perPage)
      .take(opts.perPage)
      .getManyAndCount();
    return { items, total };
  }

  // ---- grants --------------------------------------------------------------------------------

  async userGrant(repositoryId: string, userId: string): Promise<GrantLevel | null> {
    const row = await this.userGrants.findOne({ where: { repositoryId, userId } });
    return row?.level ?? null;
  }

  async teamGrantsOf(repositoryIds: string[]): Promise<RepositoryTeamPermissionEntity[]> {
    if (!repositoryIds.length) return [];
    return this.teamGrants.find({ where: { repositoryId: In(repositoryIds) } });
  }

  async userGrantsOf(
    repositoryIds: string[],
    userId?: string,
  ): Promise<RepositoryUserPermissionEntity[]> {
    if (!repositoryIds.length) return [];
    return this.userGrants.find({
      where: { repositoryId: In(repositoryIds), ...(userId ? { userId } : {}) },
    });
  }

  private grantsChanged(
    m: Parameters<EventsService['record']>[0],
    repo: Pick<RepositoryEntity, 'id' | 'name'>,
    change: Parameters<typeof event<'repository.grants.changed'>>[2]['change'],
    actor: Actor,
  ): Promise<void> {
    return this.events.record(
      m,
      event('repository.grants.changed', actor, {
        repositoryId: repo.id,
        repository: repo.name,
        change,
      }),
    );
  }

  /** Replaces every grant of the repository at once. */
  async replaceGrants(
    repo: Pick<RepositoryEntity, 'id' | 'name'>,
    users: { userId: string; level: GrantLevel }[],
    teams: { teamId: string; level: GrantLevel }[],
    actor: Actor,
  ): Promise<void> {
    const repositoryId = repo.id;
    await this.events.transaction(async (m) => {
      await m.delete(RepositoryUserPermissionEntity, { repositoryId });
      await m.delete(RepositoryTeamPermissionEntity, { repositoryId });
      if (users.length)
        await m.insert(
          RepositoryUserPermissionEntity,
          users.map((u) => ({ repositoryId, ...u })),
        );
      if (teams.length)
        await m.insert(
          RepositoryTeamPermissionEntity,
          teams.map((t) => ({ repositoryId, ...t })),
        );
      await this.grantsChanged(
        m,
        repo,
        { kind: 'replaced', users: users.length, teams: teams.length },
        actor,
      );
    });
  }

  /** Grants `level` to one user (adding or changing that grant only). */
  async setUserGrant(
    repo: Pick<RepositoryEntity, 'id' | 'name'>,
    userId: string,
    level: GrantLevel,
    actor: Actor,
  ): Promise<void> {
    await this.events.transaction(async (m) => {
      await m
        .createQueryBuilder()
        .insert()
        .into(RepositoryUserPermissionEntity)
        .values({ repositoryId: repo.id, userId, level })
        .orUpdate(['level'], ['repository_id', 'user_id'])
        .execute();
      await this.grantsChanged(m, repo, { kind: 'user', userId, level }, actor);
    });
  }

  /** Removes one user's grant; false when there was none. */
  async removeUserGrant(
    repo: Pick<RepositoryEntity, 'id' | 'name'>,
    userId: string,
    actor: Actor,
  ): Promise<boolean> {
    const removed = await this.events.transaction(async (m) => {
      const res = await m.delete(RepositoryUserPermissionEntity, { repositoryId: repo.id, userId });
      if (!res.affected) return false;
      await this.grantsChanged(m, repo, { kind: 'user', userId, level: null }, actor);
      return true;
    });
    return removed;
  }

  /** Grants `level` to one team (adding or changing that grant only). */
  async setTeamGrant(
    repo: Pick<RepositoryEntity, 'id' | 'name'>,
    teamId: string,
    level: GrantLevel,
    actor: Actor,
  ): Promise<void> {
    await this.events.transaction(async (m) => {
      await m
        .createQueryBuilder()
        .insert()
        .into(RepositoryTeamPermissionEntity)
        .values({ repositoryId: repo.id, teamId, level })
        .orUpdate(['level'], ['repository_id', 'team_id'])
        .execute();
      await this.grantsChanged(m, repo, { kind: 'team', teamId, level }, actor);
    });
  }

  /** Removes one team's grant; false when there was none. */
  async removeTeamGrant(
    repo: Pick<RepositoryEntity, 'id' | 'name'>,
    teamId: string,
    actor: Actor,
  ): Promise<boolean> {
    const removed = await this.events.transaction(async (m) => {
      const res = await m.delete(RepositoryTeamPermissionEntity, { repositoryId: repo.id, teamId });
      if (!res.affected) return false;
      await this.grantsChanged(m, repo, { kind: 'team', teamId, level: null }, actor);
      return true;
    });
    return removed;
  }
}
