import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, In, Repository } from 'typeorm';
import { CacheKeys } from '../cache/cache-keys.js';
import { CacheService } from '../cache/cache.service.js';
import { apiError } from '../common/api-error.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { isPgError, isReferencedError, PG_UNIQUE_VIOLATION } from '../database/db-errors.js';
import { NamespaceEntity, type NamespaceKind } from './namespace.entity.js';

/** The namespace of names shared by users and organizations (reservation is race-free). */
@Injectable()
export class NamespacesService {
  constructor(
    @InjectRepository(NamespaceEntity) private readonly namespaces: Repository<NamespaceEntity>,
    private readonly cache: CacheService,
    private readonly cacheKeys: CacheKeys,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Gives a namespace just created the default quota (DEFAULT_NAMESPACE_QUOTA_BYTES), if any. */
  private async applyDefaultQuota(manager: EntityManager, name: string): Promise<void> {
    const quota = this.config.defaultNamespaceQuotaBytes;
    if (quota !== undefined)
      await manager.query(`UPDATE namespaces SET quota_bytes = $2 WHERE name = $1`, [name, quota]);
  }

  /**
   * Claims `name` inside the caller's transaction; 409 when it is taken (by a user or an org). The
   * caller calls `forgetKind` once its transaction has committed.
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

  /** Frees `name` inside the caller's transaction; 409 while repositories still live under it. */
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

  /** Makes sure a namespace row exists for `name`, reserving it when nobody holds it yet. */
  async ensureHeld(name: string): Promise<void> {
    const res = await this.namespaces
      .createQueryBuilder()
      .insert()
      .values({ name, kind: 'reserved' })
      .orIgnore()
      .returning('name')
      .execute();
    if ((res.raw as unknown[]).length) {
      await this.applyDefaultQuota(this.namespaces.manager, name);
      await this.forgetKind(name);
    }
  }

  /** Drops the cached kind of a name (after a transaction that claimed or freed it committed). */
  async forgetKind(name: string): Promise<void> {
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
