import {
  BadRequestException,
  Injectable,
  Logger,
  NotFoundException,
  OnModuleInit,
} from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, type EntityManager, IsNull, Repository } from 'typeorm';
import { FULL_KEY_SCOPE, type KeyAction, type KeyScope } from '../auth/scopes.js';
import type { Actor } from '../common/actor.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { CacheKeys } from '../cache/cache-keys.js';
import { CacheService } from '../cache/cache.service.js';
import {
  displayPrefix,
  generateApiKey,
  hashApiKey,
  looksLikeApiKey,
  sameHash,
} from './api-key-format.js';
import { ApiKeyEntity } from './api-key.entity.js';
import { PerKeyInterval } from '../common/bounded-map.js';

/** A usable key: its owner (a user or a robot account) and its scope. */
export interface VerifiedApiKey {
  keyId: string;
  userId: string | null;
  robotId: string | null;
  /** The robot's namespace (robot keys only). */
  robotNamespace: string | null;
  scope: KeyScope;
}

/**
 * What the cache keeps of an unrevoked key (by hash and by id); expiry is checked on every use.
 * Owner and scope never change after creation, so revocation is the only write to invalidate.
 */
interface CachedApiKey {
  keyId: string;
  userId: string | null;
  robotId?: string | null;
  robotNamespace?: string | null;
  /** Absent in entries cached before keys had scopes: full scope. */
  actions?: KeyAction[];
  repositories?: string[] | null;
  /** Epoch milliseconds, or null for a key that does not expire. */
  expiresAt: number | null;
}

function verifiedOf(key: CachedApiKey): VerifiedApiKey {
  return {
    keyId: key.keyId,
    userId: key.userId,
    robotId: key.robotId ?? null,
    robotNamespace: key.robotNamespace ?? null,
    scope: {
      actions: key.actions ?? FULL_KEY_SCOPE.actions,
      repositories: key.repositories ?? null,
    },
  };
}

/** A key's last use is written at most this often (per key, per node; the SQL also checks it). */
const LAST_USED_INTERVAL_MS = 60_000;
/** Bound on the per-node memory of recent last-use writes. */
const MAX_LAST_USED_ENTRIES = 10_000;

/** A key as the events that take it away name it. */
export interface KeyRef {
  id: string;
  hash: string;
}

@Injectable()
export class ApiKeysService implements OnModuleInit {
  private readonly logger = new Logger('ApiKeys');
  /** Key id → when this node last wrote its last_used_at. */
  private readonly lastUsedWrites = new PerKeyInterval(
    LAST_USED_INTERVAL_MS,
    MAX_LAST_USED_ENTRIES,
  );

  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    @InjectDataSource() private readonly db: DataSource,
    private readonly cache: CacheService,
    private readonly cacheKeys: CacheKeys,
    private readonly events: EventsService,
  ) {}

  /**
   * A key's cached entries (by hash and by id) are forgotten when an event that makes it unusable
   * is delivered: its revocation, its owner's deactivation, or the deletion of its owner (user or
   * robot), whose event names the keys that went with it.
   */
  onModuleInit(): void {
    this.events.on('apikey.revoked', (e) =>
      this.forgetStored({ id: e.payload.apiKeyId }, e.payload.apiKeyId),
    );
    this.events.on('user.updated', (e) =>
      e.payload.active === false ? this.forgetStored({ userId: e.payload.userId }) : undefined,
    );
    for (const name of ['user.deleted', 'robot.deleted'] as const)
      this.events.on(name, (e) =>
        this.forget(
          (e.payload.apiKeyIds ?? []).map((id, i) => ({ id, hash: e.payload.apiKeyHashes?.[i] })),
        ),
      );
  }

  /** Forgets the cached entries of keys (by id, and by hash where known). */
  private forget(keys: { id: string; hash?: string }[]): Promise<void> {
    return this.cache.invalidate(
      ...keys.flatMap((k) => [
        this.cacheKeys.apiKeyById(k.id),
        ...(k.hash ? [this.cacheKeys.apiKeyByHash(k.hash)] : []),
      ]),
    );
  }

  /**
   * Forgets the keys of these rows as they are now (after the commit: revoked or deactivated keys
   * stay in the table); `alsoId` is forgotten even when its row has gone since (its owner was
   * deleted, whose event named its hash).
   */
  private async forgetStored(
    where: { id: string } | { userId: string },
    alsoId?: string,
  ): Promise<void> {
    const rows = await this.keys.find({ select: { id: true, keyHash: true }, where });
    const keys: { id: string; hash?: string }[] = rows.map((k) => ({ id: k.id, hash: k.keyHash }));
    if (alsoId && !rows.some((k) => k.id === alsoId)) keys.push({ id: alsoId });
    await this.forget(keys);
  }

  /** Creates a key; the returned secret is shown once and only its SHA-256 is kept. */
  async create(
    userId: string,
    name: string,
    expiresAt: Date | undefined,
    by: Actor,
    scope: KeyScope = FULL_KEY_SCOPE,
  ): Promise<{ key: ApiKeyEntity; secret: string }> {
    if (expiresAt && expiresAt.getTime() <= Date.now())
      throw new BadRequestException('expiresAt must be in the future');
    const secret = generateApiKey();
    const key = await this.events.transaction(async (m) => {
      const saved = await m.save(
        m.create(ApiKeyEntity, {
          userId,
          robotId: null,
          name,
          prefix: displayPrefix(secret),
          keyHash: hashApiKey(secret),
          actions: [...scope.actions],
          repositories: scope.repositories ? [...scope.repositories] : null,
          expiresAt: expiresAt ?? null,
          lastUsedAt: null,
          revokedAt: null,
        }),
      );
      await this.events.record(
        m,
        event('apikey.created', by, { apiKeyId: saved.id, userId, name }),
      );
      return saved;
    });
    this.logger.log(`API key ${key.id} created`);
    return { key, secret };
  }

  /**
   * Creates the key of a robot account in the caller's transaction (the robot's expiry and
   * disabling live on the robot). Its registry rights are the robot's grants; it has no `api`.
   */
  async createForRobot(
    m: EntityManager,
    robotId: string,
    name: string,
  ): Promise<{ key: ApiKeyEntity; secret: string }> {
    const secret = generateApiKey();
    const key = await m.save(
      m.create(ApiKeyEntity, {
        userId: null,
        robotId,
        name,
        prefix: displayPrefix(secret),
        keyHash: hashApiKey(secret),
        actions: ['pull', 'push', 'delete'],
        repositories: null,
        expiresAt: null,
        lastUsedAt: null,
        revokedAt: null,
      }),
    );
    return { key, secret };
  }

  /** A robot's keys, read in the transaction that deletes the robot (for its event). */
  async keysOfRobot(m: EntityManager, robotId: string): Promise<KeyRef[]> {
    const rows = await m.find(ApiKeyEntity, {
      select: { id: true, keyHash: true },
      where: { robotId },
    });
    return rows.map((k) => ({ id: k.id, hash: k.keyHash }));
  }

  /** Last use of each robot's newest key (robot id → time), for robot listings. */
  async lastUseOfRobots(robotIds: string[]): Promise<Map<string, Date | null>> {
    if (!robotIds.length) return new Map();
    const rows: { robot_id: string; last: Date | null }[] = await this.db.query(
      `SELECT robot_id, max(last_used_at) AS last FROM api_keys
        WHERE robot_id = ANY($1::uuid[]) AND revoked_at IS NULL GROUP BY robot_id`,
      [robotIds],
    );
    return new Map(rows.map((r) => [r.robot_id, r.last]));
  }

  /** The user's keys that have not been revoked (expired ones included), newest first. */
  list(userId: string): Promise<ApiKeyEntity[]> {
    return this.keys.find({ where: { userId, revokedAt: IsNull() }, order: { createdAt: 'DESC' } });
  }

  /**
   * Revokes one of the user's keys at once: requests and registry tokens using it stop working
   * (its cached entries are forgotten when `apikey.revoked` is delivered).
   */
  async revoke(userId: string, id: string, by: Actor): Promise<void> {
    const revoked = await this.events.transaction(async (m) => {
      const updated = await m
        .createQueryBuilder()
        .update(ApiKeyEntity)
        .set({ revokedAt: () => 'now()' })
        .where('id = :id AND user_id = :userId AND revoked_at IS NULL', { id, userId })
        .execute();
      if (!updated.affected) return false;
      await this.events.record(m, event('apikey.revoked', by, { apiKeyId: id, userId }));
      return true;
    });
    if (!revoked) throw new NotFoundException('API key not found');
    this.logger.log(`API key ${id} revoked`);
  }

  /** A user's keys, read in the transaction that deletes the user (for its event). */
  async keysOfUser(m: EntityManager, userId: string): Promise<KeyRef[]> {
    const rows = await m.find(ApiKeyEntity, {
      select: { id: true, keyHash: true },
      where: { userId },
    });
    return rows.map((k) => ({ id: k.id, hash: k.keyHash }));
  }

  /** The key's owner when the key is known, unexpired and not revoked; notes its use. */
  async verify(secret: string): Promise<VerifiedApiKey | null> {
    if (!looksLikeApiKey(secret)) return null;
    const hash = hashApiKey(secret);
    const key = await this.cache.getOrLoad<CachedApiKey>(
      this.cacheKeys.apiKeyByHash(hash),
      async () => {
        const row = await this.keys.findOne({ where: { keyHash: hash } });
        return row && sameHash(row.keyHash, hash) && this.usable(row) ? this.load(row) : null;
      },
    );
    if (!key || !this.unexpired(key)) return null;
    await this.noteUse(key.keyId);
    return verifiedOf(key);
  }

  /**
   * Writes last_used_at at most once a minute per key on this node; the UPDATE itself skips keys
   * another node noted within the minute. A failed write does not refuse the request.
   */
  private async noteUse(keyId: string): Promise<void> {
    if (!this.lastUsedWrites.take(keyId)) return;
    try {
      await this.db.query(
        `UPDATE api_keys SET last_used_at = now()
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
        [keyId],
      );
    } catch (e) {
      this.lastUsedWrites.forget(keyId);
      this.logger.warn(`could not note the use of API key ${keyId}: ${(e as Error).message}`);
    }
  }

  /** What the cache keeps of a key row, with its robot's namespace for robot keys. */
  private async load(key: ApiKeyEntity): Promise<CachedApiKey | null> {
    if (!key.robotId) return this.cached(key);
    const rows: { namespace: string }[] = await this.db.query(
      'SELECT namespace FROM robots WHERE id = $1',
      [key.robotId],
    );
    return rows.length ? { ...this.cached(key), robotNamespace: rows[0].namespace } : null;
  }

  private cached(key: ApiKeyEntity): CachedApiKey {
    return {
      keyId: key.id,
      userId: key.userId,
      robotId: key.robotId,
      actions: key.actions,
      repositories: key.repositories,
      expiresAt: key.expiresAt?.getTime() ?? null,
    };
  }

  private unexpired(key: CachedApiKey): boolean {
    return key.expiresAt === null || key.expiresAt > Date.now();
  }

  private usable(key: ApiKeyEntity): boolean {
    return key.revokedAt === null && this.unexpired(this.cached(key));
  }

  /**
   * The key when it is still usable and belongs to the owner (checked again for every registry
   * token that names it), with its scope.
   */
  async active(
    id: string,
    owner: { userId: string } | { robotId: string },
  ): Promise<VerifiedApiKey | null> {
    const key = await this.cache.getOrLoad<CachedApiKey>(
      this.cacheKeys.apiKeyById(id),
      async () => {
        const row = await this.keys.findOne({ where: { id } });
        return row && this.usable(row) ? this.load(row) : null;
      },
    );
    if (!key || !this.unexpired(key)) return null;
    const mine =
      'userId' in owner ? key.userId === owner.userId : (key.robotId ?? null) === owner.robotId;
    return mine ? verifiedOf(key) : null;
  }
}
