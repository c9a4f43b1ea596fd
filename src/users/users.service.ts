import { escapeLike } from '../database/like.js';
import {
  BadRequestException,
  ConflictException,
  Injectable,
  Logger,
  NotFoundException,
  OnModuleInit,
} from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, type QueryDeepPartialEntity, Repository } from 'typeorm';
import { ApiKeysService } from '../api-keys/api-keys.service.js';
import { CacheKeys } from '../cache/cache-keys.js';
import { CacheService } from '../cache/cache.service.js';
import type { Actor } from '../common/actor.js';
import { apiError } from '../common/api-error.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { isPgError, PG_UNIQUE_VIOLATION } from '../database/db-errors.js';
import { checkNamespaceName, normalizeName } from './names.js';
import { NamespacesService } from './namespaces.service.js';
import { PasswordHasherService } from './password-hasher.service.js';
import { UserEntity } from './user.entity.js';

export interface CreateUserInput {
  username: string;
  password: string;
  email?: string | null;
  displayName?: string | null;
  isAdmin?: boolean;
}

export interface AdminUpdateInput {
  active?: boolean;
  isAdmin?: boolean;
  password?: string;
}

/**
 * Asked inside the transaction that deletes a user, before the delete (the Orgs module subscribes:
 * an organization must keep an owner). Throws to refuse.
 */
export interface UserDeletionCheck {
  assertMayDelete(manager: EntityManager, userId: string): Promise<void>;
}

export interface Page<T> {
  items: T[];
  total: number;
}

@Injectable()
export class UsersService implements OnModuleInit {
  private readonly logger = new Logger('Users');
  private readonly deletionChecks: UserDeletionCheck[] = [];

  constructor(
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    @InjectDataSource() private readonly db: DataSource,
    private readonly namespaces: NamespacesService,
    private readonly apiKeys: ApiKeysService,
    private readonly cache: CacheService,
    private readonly cacheKeys: CacheKeys,
    private readonly hasher: PasswordHasherService,
    private readonly events: EventsService,
  ) {}

  /**
   * The user's cached facts (name, flags, credential generation) are forgotten when the events
   * that change them are delivered. (NamespacesService forgets the name's kind, ApiKeysService the
   * user's keys, SessionsService ends sessions in the writes' transactions.)
   */
  onModuleInit(): void {
    for (const name of ['user.updated', 'user.password.changed', 'user.deleted'] as const)
      this.events.on(name, (e) =>
        this.cache.invalidate(this.cacheKeys.userFacts(e.payload.userId)),
      );
  }

  addDeletionCheck(check: UserDeletionCheck): void {
    this.deletionChecks.push(check);
  }

  async create(
    input: CreateUserInput,
    by: Actor,
    opts: { allowReserved?: boolean } = {},
  ): Promise<UserEntity> {
    const check = checkNamespaceName(input.username, opts);
    if (!check.ok) {
      if (check.reason === 'reserved') throw apiError(409, 'NAME_RESERVED', check.message);
      throw new BadRequestException(check.message);
    }
    const passwordHash = await this.hasher.hash(input.password);
    try {
      const created = await this.events.transaction(async (m) => {
        await this.namespaces.reserve(m, check.name, 'user');
        const user = m.create(UserEntity, {
          username: check.name,
          email: input.email ?? null,
          displayName: input.displayName ?? null,
          passwordHash,
          isAdmin: input.isAdmin ?? false,
          active: true,
        });
        const saved = await m.save(user);
        await this.events.record(
          m,
          event('user.created', by, { userId: saved.id, username: saved.username }),
        );
        return saved;
      });
      return created;
    } catch (e) {
      if (isPgError(e, PG_UNIQUE_VIOLATION))
        throw apiError(409, 'EMAIL_TAKEN', 'that e-mail address is already in use');
      throw e;
    }
  }

  findById(id: string): Promise<UserEntity | null> {
    return this.users.findOne({ where: { id } });
  }

  findByUsername(username: string): Promise<UserEntity | null> {
    return this.users.findOne({ where: { username: normalizeName(username) } });
  }

  async findByIds(ids: string[]): Promise<UserEntity[]> {
    if (!ids.length) return [];
    return this.users.find({ where: { id: In([...new Set(ids)]) } });
  }

  async findActiveById(id: string): Promise<UserEntity | null> {
    const user = await this.findById(id);
    return user?.active ? user : null;
  }

  /** The user, or 404. Deactivated users are only visible when `includeInactive`. */
  async requireByUsername(username: string, includeInactive = false): Promise<UserEntity> {
    const user = await this.findByUsername(username);
    if (!user || (!user.active && !includeInactive))
      throw new NotFoundException(`user "${normalizeName(username)}" not found`);
    return user;
  }

  async hasAdmin(): Promise<boolean> {
    return (await this.users.count({ where: { isAdmin: true, active: true } })) > 0;
  }

  /** The active user whose password this is, else null. Takes the same time for unknown names. */
  async authenticate(username: string, password: string): Promise<UserEntity | null> {
    const user = await this.findByUsername(username);
    const ok = await this.hasher.verify(user?.passwordHash, password);
    return ok && user && user.active ? user : null;
  }

  async search(opts: {
    q?: string;
    page: number;
    perPage: number;
    includeInactive: boolean;
  }): Promise<Page<UserEntity>> {
    const qb = this.users.createQueryBuilder('u');
    if (!opts.includeInactive) qb.andWhere('u.active = true');
    if (opts.q) {
      const pattern = `%${escapeLike(opts.q.trim())}%`;
      qb.andWhere('(u.username ILIKE :p OR u.display_name ILIKE :p)', { p: pattern });
    }
    const [items, total] = await qb
      .orderBy('u.username', 'ASC')
      .skip((opts.page - 1) * opts.perPage)
      .take(opts.perPage)
      .getManyAndCount();
    return { items, total };
  }

  async updateProfile(
    userId: string,
    input: { displayName?: string | null; email?: string | null },
    by: Actor,
  ): Promise<UserEntity> {
    const user = await this.findActiveById(userId);
    if (!user) throw new NotFoundException('user not found');
    if (input.displayName !== undefined) user.displayName = input.displayName;
    if (input.email !== undefined) user.email = input.email;
    try {
      return await this.events.transaction(async (m) => {
        const saved = await m.save(user);
        await this.events.record(
          m,
          event('user.updated', by, {
            userId: user.id,
            username: user.username,
            fields: Object.keys(input).filter((k) => input[k as keyof typeof input] !== undefined),
          }),
        );
        return saved;
      });
    } catch (e) {
      if (isPgError(e, PG_UNIQUE_VIOLATION))
        throw apiError(409, 'EMAIL_TAKEN', 'that e-mail address is already in use');
      throw e;
    }
  }

  /**
   * Sets a user's password (the caller has checked the current one) and raises their credential
   * generation, which revokes what was issued with the old password; every other session ends
   * with it (SessionsService, on `user.password.changed`).
   */
  async setPassword(
    userId: string,
    next: string,
    by: Actor,
    keepSessionId?: string,
  ): Promise<void> {
    const user = await this.findActiveById(userId);
    if (!user) throw new NotFoundException('user not found');
    const passwordHash = await this.hasher.hash(next);
    await this.events.transaction(async (m) => {
      await m.update(
        UserEntity,
        { id: user.id },
        { passwordHash, credentialGeneration: () => 'credential_generation + 1' },
      );
      await this.events.record(
        m,
        event('user.password.changed', by, {
          userId: user.id,
          username: user.username,
          ...(keepSessionId ? { keptSessionId: keepSessionId } : {}),
        }),
      );
    });
    this.logger.log(`password of "${user.username}" changed`);
  }

  /**
   * A system administrator's changes to a user. Deactivating or resetting the password ends their
   * sessions (SessionsService, on `user.updated`); deactivating also drops their cached keys.
   */
  async adminUpdate(
    username: string,
    input: AdminUpdateInput,
    actingUserId: string,
    by: Actor,
  ): Promise<UserEntity> {
    const user = await this.requireByUsername(username, true);
    if (user.id === actingUserId && (input.active === false || input.isAdmin === false)) {
      throw new ConflictException('administrators cannot deactivate or demote themselves');
    }
    const changes: QueryDeepPartialEntity<UserEntity> = {};
    if (input.active !== undefined) changes.active = input.active;
    if (input.isAdmin !== undefined) changes.isAdmin = input.isAdmin;
    if (input.password !== undefined) {
      changes.passwordHash = await this.hasher.hash(input.password);
      changes.credentialGeneration = () => 'credential_generation + 1';
    }
    if (Object.keys(changes).length)
      await this.events.transaction(async (m) => {
        await m.update(UserEntity, { id: user.id }, changes);
        await this.events.record(
          m,
          event('user.updated', by, {
            userId: user.id,
            username: user.username,
            fields: Object.keys(changes).map((k) => (k === 'passwordHash' ? 'password' : k)),
            ...(input.active !== undefined ? { active: input.active } : {}),
            ...(input.isAdmin !== undefined ? { isAdmin: input.isAdmin } : {}),
          }),
        );
      });
    return (await this.findById(user.id)) ?? user;
  }

  /** Deletes a user and frees their name; 409 while repositories still live in their namespace. */
  async delete(username: string, actingUserId: string, by: Actor): Promise<void> {
    const user = await this.requireByUsername(username, true);
    if (user.id === actingUserId)
      throw new ConflictException('administrators cannot delete themselves');
    await this.events.transaction(async (m) => {
      // The row lock holds off new keys meanwhile, so that the event names every key that goes.
      await m.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [user.id]);
      for (const check of this.deletionChecks) await check.assertMayDelete(m, user.id);
      // The user's keys go with the user: named in the event while they still exist.
      const keys = await this.apiKeys.keysOfUser(m, user.id);
      await m.delete(UserEntity, { id: user.id });
      await this.namespaces.release(m, user.username);
      await this.events.record(
        m,
        event('user.deleted', by, {
          userId: user.id,
          username: user.username,
          apiKeyIds: keys.map((k) => k.id),
          apiKeyHashes: keys.map((k) => k.hash),
        }),
      );
    });
    this.logger.log(`user "${user.username}" deleted`);
  }
}
