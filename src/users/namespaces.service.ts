import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, In, Repository } from 'typeorm';
import { CacheKeys } from '../cache/cache-keys.js';
import { CacheService } from '../cache/cache.service.js';
import { apiError } from '../common/api-error.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { isPgError, isReferencedError, PG_UNIQUE_VIOLATION } from '../database/db-errors.js';
import { EventsService } from '../events/events.service.js';
import { namespaceOf } from './names.js';
import { NamespaceEntity, type NamespaceKind } from './namespace.entity.js';

/**
 * The namespace of names shared by users and organizations (reservation is race-free). Names are
 * claimed and freed inside the transactions of the writes that record `user.created`,
 * `org.created`, `repository.created` (a name nobody held becomes reserved), `user.deleted` and
 * `org.deleted`; the cached kind of the name is forgotten when those events are delivered.
 */
@Injectable()
export class NamespacesService implements OnModuleInit {
  constructor(
    @InjectRepository(NamespaceEntity) private readonly namespaces: Repository<NamespaceEntity>,
    private readonly cache: CacheService,
    private readonly cacheKeys: CacheKeys,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly events: EventsService,
  ) {}

  onModuleInit(): void {
    for (const name of ['user.created', 'user.deleted'] as const)
      this.events.on(name, (e) => this.forgetKind(e.payload.username));
    for (const name of ['org.created', 'org.deleted'] as const)
      this.events.on(name, (e) => this.forgetKind(e.payload.name));
    this.events.on('repository.created', (e) => this.forgetKind(namespaceOf(e.payload.repository)));
  }

  /** Gives a namespace just created the default quota (DEFAULT_NAMESPACE_QUOTA_BYTES), if any. */
  private async applyDefaultQuota(manager: EntityManager, name: string): Promise<void> {
    const quota = this.config.defaultNamespaceQuotaBytes;
    if (quota !== undefined)
      await manager.query(`UPDATE namespaces SET quota_bytes = $2 WHERE name = $1`, [name, quota]);
  }

  /**
   * Claims `name` inside the caller's transaction; 409 when it is taken (by a user or an org). The
   * caller records `user.created` or `org.created` in that transaction.
   */
  async reserve(
    manager: EntityManager,
    name: string,
    kind: Exclude<NamespaceKind, 'reserved'>,
  ): Promise<void> {
    try {
      await manager.insert(NamespaceEntity, { name, kind });
      await this.applyDefaultQuota(manager, name);
    } catch (e) {
      if (isPgError(e, PG_UNIQUE_VIOLATION))
        throw apiError(409, 'NAME_TAKEN', `the name "${name}" is already taken`);
      throw e;
    }
  }

  /**
   * Frees `name` inside the caller's transaction; 409 while repositories still live under it. The
   * caller records `user.deleted` or `org.deleted` in that transaction.
   */
  async release(manager: EntityManager, name: string): Promise<void> {
    try {
      await manager.delete(NamespaceEntity, { name });
    } catch (e) {
      // PostgreSQL 15 reports the ON DELETE RESTRICT of repositories as 23503, 18 as 23001.
      if (isReferencedError(e)) {
        throw apiError(
          409,
          'NAMESPACE_NOT_EMPTY',
          `"${name}" still holds repositories; delete them first`,
        );
      }
      throw e;
    }
  }

  /**
   * Makes sure a namespace row exists for `name` inside the caller's transaction, reserving it
   * when nobody holds it yet; the caller records `repository.created` in that transaction.
   */
  async ensureHeld(manager: EntityManager, name: string): Promise<void> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO namespaces (name, kind) VALUES ($1, 'reserved')
       ON CONFLICT (name) DO NOTHING RETURNING name`,
      [name],
    );
    if (rows.length) await this.applyDefaultQuota(manager, name);
  }

  /** Drops the cached kind of a name (its events are delivered after their commit). */
  private async forgetKind(name: string): Promise<void> {
    await this.cache.invalidate(this.cacheKeys.namespaceKind(name));
  }

  async kindOf(name: string): Promise<NamespaceKind | null> {
    const row = await this.namespaces.findOne({ where: { name: name.toLowerCase() } });
    return row?.kind ?? null;
  }

  async kinds(names: string[]): Promise<Map<string, NamespaceKind>> {
    if (!names.length) return new Map();
    const rows = await this.namespaces.find({ where: { name: In([...new Set(names)]) } });
    return new Map(rows.map((r) => [r.name, r.kind]));
  }
}
