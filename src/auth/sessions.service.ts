import { Inject, Injectable, Logger, OnModuleInit, UnauthorizedException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { type EntityManager, IsNull, LessThan, MoreThan, Repository } from 'typeorm';
import { sameHash } from '../api-keys/api-key-format.js';
import { CacheKeys } from '../cache/cache-keys.js';
import { CacheService } from '../cache/cache.service.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import {
  AuthSessionEntity,
  RefreshTokenEntity,
  type SessionClient,
  type SessionKind,
} from './auth.entities.js';
import type { Actor } from '../common/actor.js';
import { event, type RecordedEvent } from '../events/events.js';
import { EventsService } from '../events/events.service.js';

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function newRefreshToken(): string {
  return `rt_${randomBytes(32).toString('base64url')}`;
}

const INVALID = 'invalid or expired refresh token';

const NO_CLIENT: SessionClient = { userAgent: null, address: null };

/** What a token naming a session is checked against (cached, see CacheKeys.sessionFacts). */
interface SessionFacts {
  userId: string;
  ended: boolean;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/**
 * Who presented a used refresh token again, when the caller did not say: someone holding the
 * session's token (its user, or whoever it leaked to), from the client's address.
 */
function reuseActor(client: SessionClient): Actor {
  return {
    principal: { kind: 'anonymous' },
    credential: 'anonymous',
    ...(client.address ? { address: client.address } : {}),
    requestId: randomUUID(),
  };
}

/** The columns a client updates (a client that told nothing keeps what was recorded). */
function clientColumns(c: SessionClient): Partial<AuthSessionEntity> {
  return {
    ...(c.userAgent !== null ? { userAgent: c.userAgent } : {}),
    ...(c.address !== null ? { clientAddress: c.address } : {}),
  };
}

/**
 * Sign-in sessions and their refresh tokens. Management API refresh tokens rotate: each is good
 * for one exchange, and presenting a used one again (a sign that it leaked) revokes the whole
 * family. Registry identity tokens (`docker login`) do not rotate, because clients keep
 * presenting the one they stored at login.
 */
@Injectable()
export class SessionsService implements OnModuleInit {
  private readonly logger = new Logger('Sessions');

  constructor(
    @InjectRepository(AuthSessionEntity) private readonly sessions: Repository<AuthSessionEntity>,
    @InjectRepository(RefreshTokenEntity) private readonly tokens: Repository<RefreshTokenEntity>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly events: EventsService,
    private readonly cache: CacheService,
    private readonly cacheKeys: CacheKeys,
  ) {}

  /**
   * A user's sessions end in the transaction of the write that ends them, so that they end if and
   * only if it commits: a password change ends every other session (`user.password.changed`), an
   * administrator's password reset or deactivation every session (`user.updated`). A deleted
   * user's sessions go with the user's row.
   */
  onModuleInit(): void {
    this.events.onRecord((m, e) => this.onUserEvent(m, e));
    this.events.on('session.revoked', ({ payload }) =>
      this.cache.invalidate(this.cacheKeys.sessionFacts(payload.sessionId)),
    );
    // After the commit of a write that ended a user's sessions (onUserEvent), their cached facts
    // are forgotten: every ended, unexpired session of the user (idempotent, so a relayed event
    // does it again harmlessly). Only Redis holds session facts.
    this.events.on('user.password.changed', ({ payload }) => this.forgetEnded(payload.userId));
    this.events.on('user.updated', ({ payload }) =>
      payload.active === false || payload.fields.includes('password')
        ? this.forgetEnded(payload.userId)
        : undefined,
    );
  }

  private async onUserEvent(m: EntityManager, e: RecordedEvent): Promise<void> {
    if (e.name === 'user.password.changed') {
      const p = (e as RecordedEvent<'user.password.changed'>).payload;
      await this.endSessions(m, p.userId, p.keptSessionId);
    } else if (e.name === 'user.updated') {
      const p = (e as RecordedEvent<'user.updated'>).payload;
      if (p.active === false || p.fields.includes('password')) await this.endSessions(m, p.userId);
    }
  }

  private expiry(): Date {
    return new Date(Date.now() + this.config.auth.refreshTokenTtlSeconds * 1000);
  }

  /**
   * Starts a session and returns its first refresh token. With `signedIn` (a password sign-in:
   * the actor and the user's name) it records `auth.signed-in` in the session's transaction.
   */
  async start(
    userId: string,
    kind: SessionKind,
    client: SessionClient = NO_CLIENT,
    signedIn?: { actor: Actor; username: string; via?: 'oidc' },
  ): Promise<{ session: AuthSessionEntity; refreshToken: string }> {
    const refreshToken = newRefreshToken();
    const expiresAt = this.expiry();
    const session = await this.events.transaction(async (m) => {
      await m.delete(AuthSessionEntity, { userId, expiresAt: LessThan(new Date()) });
      const s = await m.save(
        m.create(AuthSessionEntity, {
          userId,
          kind,
          expiresAt,
          lastUsedAt: null,
          revokedAt: null,
          revokedReason: null,
          userAgent: client.userAgent,
          clientAddress: client.address,
        }),
      );
      await m.insert(RefreshTokenEntity, {
        sessionId: s.id,
        tokenHash: hashToken(refreshToken),
        expiresAt,
      });
      if (signedIn)
        await this.events.record(
          m,
          event('auth.signed-in', signedIn.actor, {
            userId,
            username: signedIn.username,
            sessionId: s.id,
            via: signedIn.via ?? kind,
          }),
        );
      return s;
    });
    return { session, refreshToken };
  }

  private async find(
    token: string,
    kind: SessionKind,
  ): Promise<{ row: RefreshTokenEntity; session: AuthSessionEntity }> {
    if (typeof token !== 'string' || !token.startsWith('rt_') || token.length > 100)
      throw new UnauthorizedException(INVALID);
    const hash = hashToken(token);
    const row = await this.tokens.findOne({ where: { tokenHash: hash } });
    if (!row || !sameHash(row.tokenHash, hash)) throw new UnauthorizedException(INVALID);
    const session = await this.sessions.findOne({ where: { id: row.sessionId } });
    if (
      !session ||
      session.kind !== kind ||
      session.revokedAt !== null ||
      session.expiresAt.getTime() <= Date.now()
    ) {
      throw new UnauthorizedException(INVALID);
    }
    if (row.expiresAt.getTime() <= Date.now()) throw new UnauthorizedException(INVALID);
    return { row, session };
  }

  /** Exchanges a management API refresh token for a new one; reuse revokes the family. */
  async rotate(
    token: string,
    client: SessionClient = NO_CLIENT,
    by?: Actor,
  ): Promise<{ session: AuthSessionEntity; refreshToken: string }> {
    const { row, session } = await this.find(token, 'api');
    const claimed = await this.tokens.update(
      { id: row.id, usedAt: IsNull() },
      { usedAt: () => 'now()' },
    );
    if (!claimed.affected) {
      await this.revoke(session.id, 'refresh-token-reuse', by ?? reuseActor(client));
      this.logger.warn(`refresh token reused: session ${session.id} revoked`);
      throw new UnauthorizedException(INVALID);
    }
    const refreshToken = newRefreshToken();
    const expiresAt = this.expiry();
    await this.tokens.insert({
      sessionId: session.id,
      tokenHash: hashToken(refreshToken),
      expiresAt,
    });
    await this.sessions.update(
      { id: session.id },
      { expiresAt, lastUsedAt: () => 'now()', ...clientColumns(client) },
    );
    await this.cache.invalidate(this.cacheKeys.sessionFacts(session.id));
    return { session: { ...session, expiresAt }, refreshToken };
  }

  /** The session of a registry identity token (not rotated). */
  async useRegistryToken(
    token: string,
    client: SessionClient = NO_CLIENT,
  ): Promise<AuthSessionEntity> {
    const { session } = await this.find(token, 'registry');
    await this.sessions.update(
      { id: session.id },
      { lastUsedAt: () => 'now()', ...clientColumns(client) },
    );
    return session;
  }

  /** The user's live sessions (neither ended nor expired), most recently used first. */
  async listLive(
    userId: string,
    page: number,
    perPage: number,
  ): Promise<{ items: AuthSessionEntity[]; total: number }> {
    const [items, total] = await this.sessions
      .createQueryBuilder('s')
      .where('s.user_id = :userId AND s.revoked_at IS NULL AND s.expires_at > now()', { userId })
      .orderBy('COALESCE(s.last_used_at, s.created_at)', 'DESC')
      .addOrderBy('s.id', 'ASC')
      .offset((page - 1) * perPage)
      .limit(perPage)
      .getManyAndCount();
    return { items, total };
  }

  /**
   * Ends one live session of the user; false when the user has no such live session. Its refresh
   * token stops working, and so do its access and registry tokens: every node checks the session
   * on each request (`isActive`: in PostgreSQL, or in Redis, which the recorded `session.revoked`
   * invalidates before this returns).
   */
  async endOwn(userId: string, sessionId: string, reason: string, by: Actor): Promise<boolean> {
    return this.events.transaction(async (m) => {
      const res = await m.update(
        AuthSessionEntity,
        { id: sessionId, userId, revokedAt: IsNull(), expiresAt: MoreThan(new Date()) },
        { revokedAt: () => 'now()', revokedReason: reason },
      );
      if (!res.affected) return false;
      await this.events.record(m, event('session.revoked', by, { userId, sessionId, reason }));
      return true;
    });
  }

  /** The session a refresh token of either kind belongs to, if it is still live. */
  async sessionOfRefreshToken(token: string): Promise<AuthSessionEntity | null> {
    for (const kind of ['api', 'registry'] as const) {
      try {
        return (await this.find(token, kind)).session;
      } catch {
        // try the other kind
      }
    }
    return null;
  }

  /** Ends a session (once: `session.revoked` is recorded by the call that ended it). */
  async revoke(sessionId: string, reason: string, by: Actor): Promise<void> {
    await this.events.transaction(async (m) => {
      // UPDATE … RETURNING answers [rows, count].
      const [rows]: [{ user_id: string }[], number] = await m.query(
        `UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2
          WHERE id = $1 AND revoked_at IS NULL RETURNING user_id`,
        [sessionId, reason],
      );
      if (rows.length)
        await this.events.record(
          m,
          event('session.revoked', by, { userId: rows[0].user_id, sessionId, reason }),
        );
    });
  }

  /**
   * Whether the user's session is live (neither ended nor expired). Through the cache only when
   * it is shared (Redis, see CacheKeys.sessionFacts): with the memory cache each node reads
   * PostgreSQL, so that nodes sharing a database without Redis still refuse an ended session at
   * once on every one of them (the memory cache is private to a node).
   */
  async isActive(sessionId: string, userId: string): Promise<boolean> {
    const load = async (): Promise<SessionFacts | null> => {
      const row = await this.sessions.findOne({ where: { id: sessionId } });
      return row
        ? { userId: row.userId, ended: row.revokedAt !== null, expiresAt: row.expiresAt.getTime() }
        : null;
    };
    const s =
      this.cache.backend === 'redis'
        ? await this.cache.getOrLoad(this.cacheKeys.sessionFacts(sessionId), load)
        : await load();
    return !!s && s.userId === userId && !s.ended && s.expiresAt > Date.now();
  }

  /** Ends every session of the user but `keepSessionId`, in the caller's transaction. */
  private async endSessions(
    m: EntityManager,
    userId: string,
    keepSessionId?: string,
  ): Promise<void> {
    await m.query(
      `UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $3
        WHERE user_id = $1 AND revoked_at IS NULL AND ($2::text IS NULL OR id::text <> $2)`,
      [userId, keepSessionId ?? null, keepSessionId ? 'password-changed' : 'ended'],
    );
  }

  /** Forgets the cached facts of the user's ended sessions that have not expired yet. */
  private async forgetEnded(userId: string): Promise<void> {
    if (this.cache.backend !== 'redis') return;
    const rows: { id: string }[] = await this.sessions.query(
      `SELECT id FROM auth_sessions
        WHERE user_id = $1 AND revoked_at IS NOT NULL AND expires_at > now()`,
      [userId],
    );
    await this.cache.invalidate(...rows.map((r) => this.cacheKeys.sessionFacts(r.id)));
  }
}
