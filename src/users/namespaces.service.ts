import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, In, Repository } from 'typeorm';
import { isPgError, PG_FOREIGN_KEY_VIOLATION, PG_UNIQUE_VIOLATION } from './db-errors.js';
import { NamespaceEntity, type NamespaceKind } from './namespace.entity.js';

/** The namespace of names shared by users and organizations (reservation is race-free). */
@Injectable()
export class NamespacesService {
  constructor(
    @InjectRepository(NamespaceEntity) private readonly namespaces: Repository<NamespaceEntity>,
  ) {}

  /** Claims `name` inside the caller's transaction; 409 when it is taken (by a user or an org). */
  async reserve(
    manager: EntityManager,
    name: string,
    kind: Exclude<NamespaceKind, 'reserved'>,
  ): Promise<void> {
    try {
      await manager.insert(NamespaceEntity, { name, kind });
    } catch (e) {
      if (isPgError(e, PG_UNIQUE_VIOLATION))
        throw new ConflictException(`the name "${name}" is already taken`);
      throw e;
    }
  }

  /** Frees `name` inside the caller's transaction; 409 while repositories still live under it. */
  async release(manager: EntityManager, name: string): Promise<void> {
    try {
      await manager.delete(NamespaceEntity, { name });
    } catch (e) {
      if (isPgError(e, PG_FOREIGN_KEY_VIOLATION)) {
        throw new ConflictException(`"${name}" still holds repositories; delete them first`);
      }
      throw e;
    }
  }

  /** Makes sure a namespace row exists for `name`, reserving it when nobody holds it yet. */
  async ensureHeld(name: string): Promise<void> {
    await this.namespaces
      .createQueryBuilder()
      .insert()
      .values({ name, kind: 'reserved' })
      .orIgnore()
      .execute();
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
